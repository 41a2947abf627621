"""The generated writers (encoder_gen.py) give the checked walk's exact answer on generated records:
the same tree for the store's walk, the same text for to_json, or the same refusal naming the same
field path. Covers the datetime text the writers take from orjson (any UTC time, whole seconds
included) and the fields written without a try block (a refusal still reaches the walk)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from factories import T0, build_call_record
from hostile import EXTREMES, HOSTILE, deep, in_trace, mutated, mutations
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.codec import encoder


def _outcome(write: Any) -> tuple[str, Any, Any]:
    """('ok', repr of the result, None) or ('refused', message, path): repr keeps -0.0 and types apart."""
    try:
        return ("ok", repr(write()), None)
    except tk.SerializationError as exc:
        return ("refused", str(exc), exc.path)


def _walk(obj: Any) -> Any:
    return encoder.encode(obj, compact=True, memo={}, fast=False)


def _reference_text(obj: Any) -> str:
    return codec.dumps(_walk(obj), root=type(obj).__name__)


def _assert_same(obj: Any) -> None:
    """The store's walk and to_json of `obj` agree with the field-by-field walk."""
    assert _outcome(lambda: encoder.encode(obj, compact=True, memo={})) == _outcome(lambda: _walk(obj))
    assert _outcome(obj.to_json) == _outcome(lambda: _reference_text(obj))


_PLUS5 = timezone(timedelta(hours=5))
_TIMES = st.datetimes(timezones=st.just(UTC)) | st.datetimes(timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)
_FREE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(["\ud83d", "a\ude00b", "é🧪中文", -0.0, 5e-324, 1e-05, 2**63, -(2**63) - 1]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(0, 3), inner, max_size=3)
        | st.tuples(inner)
    ),
    max_leaves=8,
)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_TIMES)
def test_any_utc_time_is_written_as_the_walk_writes_it(when: datetime) -> None:
    """A UTC time from year 1 to 9999, whole second or not, in a top-level, an inline-record and
    a list-of-records field, gets the walk's text from the store's walk and from to_json."""
    record = tk.LLMCallRecord(
        call_id="c",
        api_type="responses",
        started_at=when,
        tool_results=[tk.ToolCallResult(call_id="r", started_at=when)],
        chunks=[tk.LLMChunk(sequence_index=0, received_at=when)],
    )
    _assert_same(record)
    assert encoder.encode(record, compact=True)["started_at"] == codec.format_datetime(when)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    _FREE,
    st.sampled_from(["metadata", "raw", "arguments", "token_traces", "stop", "server"]),
    st.integers(0, 4),
)
def test_free_form_values_take_the_walks_answer(value: Any, where: str, extra_depth: int) -> None:
    """A generated free-form value (big ints, -0.0, NaN, lone surrogates, non-str keys, tuples),
    nested a little deeper, in each kind of free-form field, is written or refused as the walk does."""
    for _ in range(extra_depth):
        value = {"k": [value]}
    record = build_call_record()
    if where == "metadata":
        record.metadata = {"m": value}
    elif where == "raw":
        record.usage = dataclasses.replace(record.usage or tk.LLMUsage(), raw={"r": value})
    elif where == "arguments":
        record.output_tool_calls = [tk.ToolCallSpec(name="f", arguments_json="{}", arguments=value)]
    elif where == "token_traces":
        record.token_traces = [{"t": value}]
    elif where == "stop":
        record.request_params = tk.LLMRequestParams(stop=value)
    else:
        record.request_server_timing = {"s": value}
    _assert_same(record)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(mutations())
def test_a_hostile_value_in_any_field_takes_the_walks_answer(mutation: tuple[type, str, Any]) -> None:
    """Any field of any record type set to a wrong-typed or extreme value (in a trace where such a
    record lives) is written or refused, with the same path, exactly as the walk does."""
    cls, name, value = mutation
    try:
        obj = mutated(cls, name, value)
    except Exception:  # the constructor itself refuses it (e.g. an init=False field)
        return
    _assert_same(in_trace(obj, "s"))


@settings(derandomize=True, max_examples=200, deadline=None)
@given(HOSTILE, st.sampled_from(["name", "type", "json_mode", "n", "role", "model_name"]))
def test_fields_with_defaults_keep_the_walks_answer(value: Any, field: str) -> None:
    """Fields whose default compact JSON leaves out (str, bool, int, literal) compare a present
    value with it as the walk does: the default is left out, anything else is written or refused."""
    tool = tk.ToolDefinition(name="t")
    params = tk.LLMRequestParams()
    message = tk.LLMMessage(role="user")
    record = tk.LLMCallRecord(
        call_id="c", api_type="responses", tools=[tool], request_params=params, input_messages=[message]
    )
    holder: Any = {"name": tool, "type": tool, "json_mode": params, "n": params}.get(field, message)
    if field == "model_name":
        holder = record
    try:
        setattr(holder, field, value)
    except Exception:  # a frozen record: nothing to write
        return
    _assert_same(record)


def test_edge_values_named_in_the_issue_are_refused_or_written_as_the_walk_does() -> None:
    """Big ints, -0.0, NaN, lone surrogates, non-str keys, 101 levels of nesting and non-UTC times,
    each in a typed and a free-form place, give the walk's tree, text or refusal."""
    for value in [*EXTREMES, deep(101), {"d": deep(99)}, datetime(2026, 1, 1, tzinfo=_PLUS5)]:
        record = build_call_record()
        record.metadata = {"m": value}
        _assert_same(record)
        record = tk.LLMCallRecord(call_id="c", api_type="responses", latency_ms=value)
        _assert_same(record)
        record = tk.LLMCallRecord(call_id="c", api_type="responses", started_at=value)
        _assert_same(record)
    trace = in_trace(tk.LLMCallRecord(call_id="c", api_type="responses", started_at=T0), "s")
    _assert_same(trace)

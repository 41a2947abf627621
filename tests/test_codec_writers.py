"""The generated writers' shortcuts (issue 14) give the walk's exact answers: records written
inline several levels deep, free-form values at the nesting limit in every kind of field, and
floats orjson spells otherwise, which are the only reason a text is screened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from factories import T0, build_call_record, build_trace
from hostile import UnregisteredEnv
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.codec import encoder


def _written(write: Any) -> tuple[str, Any, Any]:
    """('ok', result, None) or ('refused', message, path) for one write."""
    try:
        return ("ok", write(), None)
    except tk.SerializationError as exc:
        return ("refused", str(exc), exc.path)


def _reference(obj: Any) -> str:
    return codec.dumps(encoder.encode(obj, compact=True, fast=False), root=type(obj).__name__)


def _nested(depth: int, leaf: Any) -> Any:
    """`leaf` inside `depth` alternating lists and dicts ({"k": [{"k": [...]}]})."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 == 0 else {"k": value}
    return value


def _placed(field: str, value: Any) -> tk.SessionTrace:
    """A trace holding `value` in one free-form field of each kind (dict, Any, list[Any], list[dict])."""
    time = tk.TimeRecord(event_time=T0)
    if field == "metadata":
        record = tk.LLMCallRecord(call_id="c", api_type="responses", metadata={"m": value})
    elif field == "arguments":
        spec = tk.ToolCallSpec(name="f", arguments_json="{}", arguments=value)
        record = tk.LLMCallRecord(
            call_id="c",
            api_type="responses",
            output_messages=[tk.LLMMessage(role="assistant", tool_calls=[spec])],
        )
    elif field == "token_traces":
        record = tk.LLMCallRecord(call_id="c", api_type="responses", token_traces=[{"t": value}])
    else:
        event = tk.RuntimeEvent(system_instance_id="r", time_record=time, event_metadata=[value])
        return tk.SessionTrace(session_id="s", created_at=T0, event_history=[event])
    event = tk.LMCAISEvent(system_instance_id="a", time_record=time, call_records=[record])
    return tk.SessionTrace(session_id="s", created_at=T0, event_history=[event])


@pytest.mark.parametrize("field", ["metadata", "arguments", "token_traces", "event_metadata"])
@pytest.mark.parametrize("extra", [-2, -1, 0, 1])
def test_free_form_nesting_limit_is_the_walks_in_every_field_kind(field: str, extra: int) -> None:
    """A free-form value nested to just under, at and past MAX_DEPTH is written or refused by
    to_json and by the store's walk exactly as the field-by-field walk does (same text or same path)."""
    depth_of_field = {"metadata": 1, "arguments": 0, "token_traces": 1, "event_metadata": 0}[field]
    trace = _placed(field, _nested(codec.MAX_DEPTH - depth_of_field + extra, "x"))
    expected = _written(lambda: _reference(trace))
    assert expected[0] == ("ok" if extra <= 0 else "refused")
    assert _written(trace.to_json) == expected
    walked = _written(lambda: codec.dumps(encoder.encode(trace, compact=True, memo={})))
    assert walked == expected


def test_records_three_levels_deep_are_refused_at_the_walks_path() -> None:
    """A wrong value in a part of a message of a call record (all written inline) is refused with
    the walk's path and message, by to_json and by the store's walk."""
    part = tk.LLMContentPart(type="text", text=7)  # type: ignore[arg-type]
    record = tk.LLMCallRecord(
        call_id="c", api_type="responses", output_messages=[tk.LLMMessage(role="assistant", parts=[part])]
    )
    expected = _written(lambda: _reference(record))
    assert expected[0] == "refused"
    assert expected[2] == "output_messages.0.parts.0.text"
    assert _written(record.to_json) == expected
    assert _written(lambda: codec.dumps(encoder.encode(record, compact=True, memo={}))) == expected


_TINY = st.floats(min_value=-2e-4, max_value=2e-4) | st.sampled_from(
    [1e-05, -1e-05, 1e-07, 5e-324, -5e-324, 9.99e-05, 1e-04, -1e-04, 0.0, -0.0, 1.5e-10]
)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(_TINY, st.sampled_from(["latency_ms", "metadata", "arguments", "token_traces", "event_metadata"]))
def test_floats_orjson_spells_otherwise_get_the_reference_text(value: float, field: str) -> None:
    """A float near or below 1e-4 in a typed float field or nested in any free-form field is
    written as json.dumps writes it, reads back equal, and its text is marked for the screen
    exactly when it is a non-zero float below 1e-4."""
    if field == "latency_ms":
        record = tk.LLMCallRecord(call_id="c", api_type="responses", latency_ms=value)
        trace = tk.SessionTrace(
            session_id="s",
            created_at=T0,
            event_history=[
                tk.LMCAISEvent(system_instance_id="a", time_record=tk.TimeRecord(T0), call_records=[record])
            ],
        )
    else:
        trace = _placed(field, _nested(3, value))
    assert trace.to_json() == _reference(trace)
    assert tk.SessionTrace.from_json(trace.to_json()) == trace
    written = encoder.text_data(trace)
    assert written is not None
    assert written[1] is (value != 0.0 and -1e-4 < value < 1e-4)


def test_full_record_and_trace_are_not_screened() -> None:
    """The fully populated call record and trace hold no value the text writers leave to the walk."""
    for obj in (build_call_record(), build_trace()):
        written = encoder.text_data(obj)
        assert written is not None
        assert written[1] is False
        assert obj.to_json() == _reference(obj)


def test_an_unregistered_subclass_is_refused_after_its_parent_was_written() -> None:
    """Once an EnvironmentEvent has been written (its writer called directly from then on), an
    unregistered subclass in the same place is still refused with the walk's message and path."""
    time = tk.TimeRecord(event_time=T0)
    parent = tk.SessionTrace(
        session_id="s",
        created_at=T0,
        event_history=[tk.EnvironmentEvent(system_instance_id="e", time_record=time)],
    )
    assert parent.to_json() == _reference(parent)
    assert codec.dumps(encoder.encode(parent, compact=True, memo={})) == _reference(parent)
    child = tk.SessionTrace(
        session_id="s",
        created_at=T0,
        event_history=[UnregisteredEnv(system_instance_id="u", time_record=time)],
    )
    expected = _written(lambda: _reference(child))
    assert expected[0] == "refused"
    assert expected[2] == "event_history.0"
    assert _written(child.to_json) == expected
    assert _written(lambda: codec.dumps(encoder.encode(child, compact=True, memo={}))) == expected


@settings(derandomize=True, max_examples=60, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0)))
def test_whole_second_utc_times_take_the_shortcut_with_the_walks_text(when: datetime) -> None:
    """A UTC time with zero microseconds, from year 1 to 9999, is written with ".000000" by
    to_json and by the store's walk exactly as the walk writes it, and needs no screen."""
    record = tk.ToolCallResult(call_id="c", started_at=when, completed_at=when)
    assert encoder.encode(record, compact=True, memo={}) == encoder.encode(record, compact=True, fast=False)
    assert record.to_json() == _reference(record)
    assert f'"started_at":"{codec.format_datetime(when)}"' in record.to_json()
    written = encoder.text_data(record)
    assert written is not None
    assert written[1] is False

"""The per-call fast paths give exactly what the general paths give: the request snapshot (a C JSON
round trip) equals plain(), the prebuilt encoder equals json.dumps, the chat usage fast path equals
the checked path, and a request handed over as JsonRequest is neither walked again nor aliased."""

from __future__ import annotations

import json
import math
from collections import UserDict
from enum import Enum, IntEnum
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_transport import VendorServer, openai_client
from trace_checks import load

import tracekit as tk
from tracekit.helpers._json import encode_json
from tracekit.helpers.base import PayloadProblem
from tracekit.helpers.sdk import JsonRequest, request_json
from tracekit.helpers.usage import from_anthropic, from_openai_chat, from_openai_responses
from tracekit.tracer import SessionTracer
from tracekit.tracing.capture import SKIP, plain, snapshot

SETTINGS = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class Colour(Enum):
    RED = "red"


class Size(IntEnum):
    BIG = 3


class Tagged(list[Any]):
    """A list subclass (plain() used to drop these; now both paths keep them as lists)."""


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=6)
    | st.sampled_from(['"true":', '"null":x', "{[", "\ud800"])
)
keys = st.text(max_size=5) | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
values = st.recursive(
    scalars | st.binary(max_size=4) | st.sampled_from([Colour.RED, Size.BIG, object(), int]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.lists(inner, max_size=3).map(Tagged)
        | st.dictionaries(keys, inner, max_size=4)
        | st.sets(st.integers(), max_size=2)
    ),
    max_leaves=24,
)


def _same(a: Any, b: Any) -> bool:
    """Equality that also compares types exactly and counts NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _pure(value: Any) -> bool:
    """Whether `value` holds only dicts with str keys, lists, str, int, float, bool and None."""
    if type(value) is dict:
        return all(type(k) is str and _pure(v) for k, v in value.items())
    if type(value) is list:
        return all(_pure(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


@SETTINGS
@given(values)
def test_snapshot_equals_plain(value: Any) -> None:
    """snapshot() copies any value as plain() does once the recorder has made both JSON-ready
    (request_json), and calls it pure only when it is."""
    copied, pure = snapshot(value)
    expected = plain(value)
    if expected is SKIP:
        assert copied is SKIP
        return
    assert _same(request_json(copied), request_json(expected))
    if pure:
        assert _pure(copied)
        assert request_json(copied) is copied


def test_snapshot_takes_the_general_path_for_what_json_writes_differently() -> None:
    """Bool and None keys, deep nesting and cycles are copied by plain(), never by the JSON round trip."""
    assert snapshot({True: 1, None: 2}) == ({"True": 1, "None": 2}, False)
    deep: list[Any] = []
    node = deep
    for _ in range(70):
        node.append([])
        node = node[0]
    copied, pure = snapshot(deep)
    assert pure is False
    assert copied == plain(deep) != deep  # plain() cuts what is nested past 64 levels
    cycle: list[Any] = [1]
    cycle.append(cycle)
    copied, pure = snapshot(cycle)
    assert pure is False
    assert copied[0] == 1


def test_snapshot_copies_so_later_mutation_cannot_reach_it() -> None:
    """The fast copy shares no container with the caller's value."""
    messages = [{"role": "user", "content": "hi", "meta": {"n": [1, 2]}}]
    copied, pure = snapshot(messages)
    messages[0]["content"] = "changed"
    messages[0]["meta"]["n"].append(3)  # type: ignore[index]
    assert pure is True
    assert copied == [{"role": "user", "content": "hi", "meta": {"n": [1, 2]}}]


@SETTINGS
@given(values)
def test_encode_json_equals_json_dumps(value: Any) -> None:
    """The prebuilt C encoder writes what json.dumps writes with the same options, or fails alike."""
    try:
        expected: Any = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        expected = type(exc)
    try:
        got: Any = encode_json(value)
    except (TypeError, ValueError, RecursionError) as exc:
        got = type(exc)
    assert got == expected


def test_encode_json_refuses_a_cycle_with_recursion_error() -> None:
    """A self-containing list raises RecursionError (no circular markers), which callers catch."""
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(RecursionError):
        encode_json(cycle)


counts = (
    st.none()
    | st.integers(min_value=-5, max_value=2**64)
    | st.sampled_from([0, 1, 2**63 - 1, 2**63, 1.0, 2.5, True, "3", float("nan")])
)


def _usage(top: list[str], nested: dict[str, list[str]]) -> st.SearchStrategy[dict[str, Any]]:
    """Usage objects with the given count keys and nested detail objects, any of them wrong-typed."""
    optional: dict[str, st.SearchStrategy[Any]] = dict.fromkeys(top, counts)
    for key, inner in nested.items():
        optional[key] = st.none() | st.just(5) | st.dictionaries(st.sampled_from(inner), counts)
    return st.fixed_dictionaries({}, optional=optional)


USAGES: dict[str, tuple[Any, st.SearchStrategy[dict[str, Any]]]] = {
    "openai_chat": (
        from_openai_chat,
        _usage(
            ["prompt_tokens", "completion_tokens", "total_tokens"],
            {
                "prompt_tokens_details": ["cached_tokens", "cache_write_tokens", "audio_tokens"],
                "completion_tokens_details": ["reasoning_tokens", "audio_tokens"],
            },
        ),
    ),
    "openai_responses": (
        from_openai_responses,
        _usage(
            ["input_tokens", "output_tokens", "total_tokens"],
            {
                "input_tokens_details": ["cached_tokens", "cache_write_tokens"],
                "output_tokens_details": ["reasoning_tokens"],
            },
        ),
    ),
    "anthropic": (
        from_anthropic,
        _usage(
            ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"],
            {
                "cache_creation": ["ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"],
                "output_tokens_details": ["thinking_tokens"],
            },
        ),
    ),
}


@pytest.mark.parametrize("vendor", sorted(USAGES))
def test_usage_fast_path_equals_the_checked_path(vendor: str) -> None:
    """Each vendor's usage on a dict gives what the checked path gives (fed a non-dict mapping)."""
    normalise, strategy = USAGES[vendor]

    @SETTINGS
    @given(strategy)
    def check(usage: dict[str, Any]) -> None:
        fast_problems: list[PayloadProblem] = []
        slow_problems: list[PayloadProblem] = []
        fast = normalise(usage, problems=fast_problems)
        slow = normalise(MappingProxyType(usage), problems=slow_problems)
        assert fast == slow
        assert [str(p) for p in fast_problems] == [str(p) for p in slow_problems]

    check()


def test_usage_fast_paths_keep_the_overflow_check() -> None:
    """A sum computed past 2**63-1 is still refused on the dict path of each vendor."""
    with pytest.raises(PayloadProblem, match=r"usage\.total_tokens: token counts add up beyond"):
        from_openai_chat({"prompt_tokens": 2**63 - 1, "completion_tokens": 1})
    with pytest.raises(PayloadProblem, match=r"usage\.total_tokens: token counts add up beyond"):
        from_openai_responses({"input_tokens": 2**63 - 1, "output_tokens": 1})
    with pytest.raises(PayloadProblem, match=r"usage\.input_tokens: token counts add up beyond"):
        from_anthropic({"input_tokens": 2**63 - 1, "cache_read_input_tokens": 1, "output_tokens": 1})


def test_request_json_passes_a_json_request_through() -> None:
    """request_json returns a JsonRequest itself (already pure JSON), and still walks a plain dict."""
    request = JsonRequest({"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]})
    assert request_json(request) is request
    walked = request_json({"model": "gpt-4.1", "tags": ("a", "b"), "colour": Colour.RED})
    assert walked == {"model": "gpt-4.1", "tags": ["a", "b"], "colour": "red"}


def test_instrumented_request_is_handed_over_once_and_unaliased() -> None:
    """instrument(client) records the request as sent even when the caller mutates it afterwards."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"), repeat=True)
    client = tk.instrument(openai_client(server))
    tracer = SessionTracer(strict=True)
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    with tracer.session() as trace:
        client.chat.completions.create(model="gpt-4.1", messages=messages, temperature=0.5)
        messages[0]["content"] = "mutated"
        messages.append({"role": "user", "content": "more"})
    record = trace.event_history[0].call_records[0]  # type: ignore[attr-defined]
    assert json.loads(record.request_raw_json) == {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.5,
    }
    assert [m.parts[0].text for m in record.input_messages] == ["hi"]
    assert record.request_params.temperature == 0.5
    assert record.output_text == "Hello! How can I assist you today?"


def test_decorator_defaults_left_out_are_dropped_once_and_live_ones_read_per_call() -> None:
    """A sentinel default never reaches the request; a mutable default is read at each call."""
    marker = UserDict[str, Any]  # a class: plain() leaves classes out
    stops: list[str] = ["END"]
    tracer = SessionTracer(strict=True)
    response = load("openai_chat", "response_basic")

    @tk.trace_llm_call(agent="a")
    def ask(model: str, messages: list[Any], stop: list[str] = stops, user: Any = marker) -> Any:
        return response

    with tracer.session() as trace:
        ask("gpt-4.1", [{"role": "user", "content": "hi"}])
        stops.append("STOP")
        ask("gpt-4.1", [{"role": "user", "content": "hi"}])
    first, second = (e.call_records[0] for e in trace.event_history)  # type: ignore[attr-defined]
    assert json.loads(first.request_raw_json) == {
        "model": "gpt-4.1",
        "messages": [{"role": "user", "content": "hi"}],
        "stop": ["END"],
    }
    assert first.request_params.stop == ["END"]
    assert second.request_params.stop == ["END", "STOP"]


def test_a_returned_dict_mutated_later_leaves_the_record_as_it_was() -> None:
    """A decorated function's plain dict response is read from a copy: later mutation cannot reach
    the record, and the record equals the one made from the untouched payload."""
    body = load("openai_chat", "response_basic")
    tracer = SessionTracer(strict=True)

    @tk.trace_llm_call(agent="a")
    def ask(model: str, messages: list[Any]) -> Any:
        return body

    with tracer.session() as trace:
        ask("gpt-4.1", [{"role": "user", "content": "hi"}])
    record = trace.event_history[0].call_records[0]  # type: ignore[attr-defined]
    expected = tk.record_from_response(
        load("openai_chat", "response_basic"),
        request={"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]},
    )
    body["usage"]["prompt_tokens_details"]["cached_tokens"] = 99
    body["choices"][0]["message"]["content"] = "changed"
    assert record.usage is not None
    assert record.usage.raw["prompt_tokens_details"]["cached_tokens"] == 0
    assert record.output_text == "Hello! How can I assist you today?"
    assert record.usage == expected.usage
    assert record.response_raw_json == expected.response_raw_json
    assert record.output_messages == expected.output_messages

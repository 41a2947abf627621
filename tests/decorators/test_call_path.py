"""The trimmed per-call path gives what the general path gives: pure request values copied without
JSON text, the decorator's request reader, the start time kept as nanoseconds, and the response
snapshot written by the class's pydantic serializer straight."""

from __future__ import annotations

import inspect
import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import load

import tracekit as tk
from tracekit.decorators import _argument_reader
from tracekit.helpers.sdk import JsonRequest, request_json, sdk_json_text
from tracekit.model import utc_now
from tracekit.tracer import SessionTracer
from tracekit.tracing import llm_call
from tracekit.tracing.capture import REQUEST_KEYS, SKIP, plain, snapshot

SETTINGS = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

pure_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
pure_values = st.recursive(
    pure_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)
odd_leaves = st.sampled_from([float("nan"), float("inf"), (1, 2), b"x", object()])


def _exact(a: Any, b: Any) -> bool:
    """Equality that also compares types and key order exactly."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_exact(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_exact(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _containers(value: Any) -> list[int]:
    """The ids of every dict and list inside `value` (itself included)."""
    if isinstance(value, dict):
        return [id(value), *(i for v in value.values() for i in _containers(v))]
    if isinstance(value, list):
        return [id(value), *(i for v in value for i in _containers(v))]
    return []


@SETTINGS
@given(st.lists(pure_values, max_size=4) | st.dictionaries(st.text(max_size=5), pure_values, max_size=4))
def test_a_pure_value_is_copied_as_the_json_round_trip_copies_it(value: Any) -> None:
    """snapshot() of a pure dict or list is what json.loads(json.dumps(value)) gives, pure, and
    shares no container with the caller's value."""
    copied, pure = snapshot(value)
    assert pure is True
    assert _exact(copied, json.loads(json.dumps(value)))
    assert not set(_containers(copied)) & set(_containers(value))


@SETTINGS
@given(pure_values, odd_leaves, st.integers(min_value=0, max_value=3))
def test_one_value_the_copy_does_not_take_sends_the_whole_value_the_general_way(
    value: Any, odd: Any, depth: int
) -> None:
    """A NaN, infinity, tuple, bytes or object anywhere inside makes snapshot() give what the
    general path gives (plain(), once made JSON-ready), never a half-made copy."""
    nested: Any = {"messages": [value, odd]}
    for _ in range(depth):
        nested = [nested]
    copied, pure = snapshot(nested)
    expected = plain(nested)
    assert json.dumps(request_json(copied)) == json.dumps(request_json(expected))
    assert pure is isinstance(odd, tuple)  # a tuple is JSON (a list) to the round trip; the rest is not


def test_nesting_past_the_copy_depth_takes_the_json_round_trip() -> None:
    """A pure value nested past 32 levels (but under plain()'s 64) is still copied exactly and pure."""
    deep: Any = "leaf"
    for i in range(40):
        deep = [deep] if i % 2 else {"k": deep}
    copied, pure = snapshot(deep)
    assert pure is True
    assert _exact(copied, json.loads(json.dumps(deep)))


def _reference_reader(
    func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """What the decorator's general argument reader records as the request (positional arguments,
    then keywords, then defaults not passed, named in REQUEST_KEYS, defaults plain() drops left
    out), and whether every value it read is pure JSON."""
    params = list(inspect.signature(func).parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    given_pairs = [*zip(positional, args, strict=False), *kwargs.items()]
    passed = {name for name, _ in given_pairs}
    defaults = [
        (p.name, p.default)
        for p in params
        if p.default is not p.empty and p.name in REQUEST_KEYS and plain(p.default) is not SKIP
    ]
    out: dict[str, Any] = {}
    pure = True
    for name, value in [*given_pairs, *((n, v) for n, v in defaults if n not in passed)]:
        if name in REQUEST_KEYS:
            pure = pure and snapshot(value)[1]
            copied = plain(value)
            if copied is not SKIP:
                out[name] = copied
    return out, pure


def ask(
    model: str, messages: Any = None, *extra: Any, temperature: Any = 0.5, tools: Any = int, **more: Any
) -> Any:
    """A user's LLM function with positional, defaulted, keyword-only, *args and **kwargs parameters."""
    return None


@SETTINGS
@given(
    st.lists(pure_values | odd_leaves, max_size=4),
    st.dictionaries(
        st.sampled_from(["temperature", "tools", "seed", "user", "other", "stop"]),
        pure_values | odd_leaves,
        max_size=4,
    ),
)
def test_the_request_reader_reads_what_the_general_reader_reads(
    args: list[Any], kwargs: dict[str, Any]
) -> None:
    """The decorator's request reader records the same names, in the same order, with the same
    values as the general reader, and hands over a JsonRequest exactly when every copy is pure."""
    args = ["gpt-4.1", *args]
    read = _argument_reader(ask, REQUEST_KEYS, request=True)
    got = read(tuple(args), dict(kwargs))
    expected, pure = _reference_reader(ask, tuple(args), kwargs)
    assert list(got) == list(expected)
    assert json.dumps(request_json(got)) == json.dumps(request_json(expected))
    assert (type(got) is JsonRequest) is pure


def test_the_start_time_is_the_wall_clock_at_the_call() -> None:
    """A record's started_at lies between utc_now() read just before and just after the call (the
    nanoseconds kept on the path round as utc_now() does), and its latency matches its end."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"), repeat=True)
    client = tk.instrument(openai_client(server))
    tracer = SessionTracer()
    with tracer.session() as trace:
        for _ in range(5):
            before = utc_now()
            client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "hi"}])
            after = utc_now()
            event = trace.event_history[-1]
            record = event.call_records[0]  # type: ignore[attr-defined]
            assert record.started_at is not None
            assert record.completed_at is not None
            assert before <= record.started_at <= record.completed_at <= after
            assert event.time_record.event_time == record.started_at
            assert record.started_at.utcoffset() == timedelta(0)


def test_the_hot_snapshot_writer_is_the_model_dump_json_text() -> None:
    """The serializer the hot path calls straight writes the very text sdk_json_text writes, for
    each SDK response class found deferrable (openai chat and responses, anthropic)."""
    chat = VendorServer().reply_json(load("openai_chat", "response_parallel_tools"), repeat=True)
    responses = VendorServer().reply_json(load("openai_responses", "response_function_call"), repeat=True)
    messages = VendorServer().reply_json(load("anthropic", "response_tool_use"), repeat=True)
    tracer = SessionTracer()
    with tracer.session():
        objects = [
            tk.instrument(openai_client(chat)).chat.completions.create(model="gpt-4.1", messages=[]),
            tk.instrument(openai_client(responses)).responses.create(model="gpt-4.1", input="hi"),
            tk.instrument(anthropic_client(messages)).messages.create(
                model="claude-sonnet-4-5", max_tokens=10, messages=[]
            ),
        ]
    for obj in objects:
        writer = llm_call._SNAPSHOT_WRITERS[type(obj)]
        written = writer(obj, by_alias=True, exclude_unset=True, warnings=False)
        assert written.decode() == sdk_json_text(obj)

"""Request capture: a JSON-ready deep copy of whatever the caller passed, never raising, never aliasing."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from trace_checks import load

import tracekit as tk
from tracekit.tracer import SessionTracer
from tracekit.tracing.capture import SKIP, plain

SETTINGS = settings(
    derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text()
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)
odd_values = (
    json_like | st.binary(max_size=8) | st.sets(st.integers(), max_size=3) | st.just(object()) | st.just(int)
)


def _as_json(value: Any) -> Any:
    """What JSON makes of `value` (tuples become lists, non-str keys become strings)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equality that counts NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@SETTINGS
@given(json_like)
def test_plain_copies_json_like_values_exactly(value: Any) -> None:
    """plain() of JSON-like data equals its JSON reading; mutating the original afterwards changes nothing."""
    original = copy.deepcopy(value)
    copied = plain(value)
    assert _same(copied, _as_json(original))
    if isinstance(value, dict):
        value.clear()
    elif isinstance(value, list):
        value.append("later")
    assert _same(copied, _as_json(original))


@SETTINGS
@given(odd_values)
def test_plain_never_raises_and_keeps_only_json(value: Any) -> None:
    """plain() of any value returns JSON-ready data or SKIP, never an exception."""
    copied = plain(value)
    if copied is not SKIP:
        json.dumps(copied)  # holds only JSON types (NaN aside, which json.dumps writes as NaN)


@SETTINGS
@given(model=odd_values, messages=odd_values, temperature=odd_values)
def test_decorated_call_never_raises_and_what_it_records_is_storable(
    model: Any, messages: Any, temperature: Any
) -> None:
    """Whatever the arguments, a decorated call returns its result and what it records round-trips."""
    body = load("openai_chat", "response_basic")

    @tk.trace_llm_call(provider="openai")
    def ask(model: Any, messages: Any, temperature: Any) -> dict[str, Any]:
        return body

    tracer = SessionTracer()
    with tracer.session() as trace:
        assert ask(model, messages, temperature) is body
    for event in trace.event_history:
        assert type(event).from_json(event.to_json()) == event

"""Live llm_call_start / llm_call_end events pair up: one start for each call recorded, also when a
decorated function's own record gives way to the instrumented calls made inside it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sdk_transport import VendorServer, openai_client
from trace_checks import load, records

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]
BODY = load("openai_chat", "response_basic")
KINDS = {"llm_call_start", "llm_call_end"}


def _kinds(tracer: SessionTracer, work: Callable[[], Any]) -> tuple[list[str], tk.SessionTrace]:
    """The llm_call_* kinds published while `work` runs in one session, in order, and its trace."""
    got: list[dict[str, Any]] = []
    with tracer.subscribe(got.append, kinds=KINDS), tracer.session() as trace:
        work()
    return [e["kind"] for e in got if e["kind"] in KINDS], trace


def test_a_function_wrapping_instrumented_calls_announces_each_call_once() -> None:
    """Two instrumented calls inside a decorated function: two starts and two ends (the function's
    own start stands for its first call), matching the two records."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)))

    @tk.trace_llm_call(agent="critic")
    def critique() -> None:
        client.chat.completions.create(model="gpt-4.1", messages=HI)
        client.chat.completions.create(model="gpt-4.1", messages=HI)

    kinds, trace = _kinds(SessionTracer(strict=True), critique)
    assert len(records(trace)) == 2
    assert kinds == ["llm_call_start", "llm_call_end", "llm_call_start", "llm_call_end"]


def test_a_function_recording_itself_announces_once() -> None:
    """A decorated function with no traced call inside: one start, one end."""

    @tk.trace_llm_call(agent="solo")
    def answer() -> dict[str, Any]:
        return BODY

    kinds, trace = _kinds(SessionTracer(strict=True), answer)
    assert len(records(trace)) == 1
    assert kinds == ["llm_call_start", "llm_call_end"]


def test_a_generator_re_yielding_an_instrumented_stream_announces_once() -> None:
    """A decorated generator that iterates an instrumented stream: the stream's one record has one
    start and one end."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)))

    @tk.trace_llm_call(agent="relay")
    def relay() -> Iterator[Any]:
        yield client.chat.completions.create(model="gpt-4.1", messages=HI)

    kinds, trace = _kinds(SessionTracer(strict=True), lambda: list(relay()))
    assert len(records(trace)) == 1
    assert kinds == ["llm_call_start", "llm_call_end"]


def test_nested_decorated_functions_pass_one_start_down() -> None:
    """A decorated function calling a decorated function that records itself: one record, one
    start and one end (the outer function's start is handed down to the inner call)."""

    @tk.trace_llm_call(agent="inner")
    def inner() -> dict[str, Any]:
        return BODY

    @tk.trace_llm_call(agent="outer")
    def outer() -> dict[str, Any]:
        return inner()

    kinds, trace = _kinds(SessionTracer(strict=True), outer)
    assert len(records(trace)) == 1
    assert kinds == ["llm_call_start", "llm_call_end"]

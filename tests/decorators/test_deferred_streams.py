"""Streams that reached their end are folded off the caller's path: the pending event is the eager
record (to every field that does not depend on when the call ran), its clock stopped at the end,
immune to later mutation of the chunk objects, completed once; strict and capture_content=False
tracers stay eager."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sdk_transport import VendorServer, anthropic_client, gemini_client, openai_client
from trace_checks import comparable, load

import tracekit as tk
from tracekit.tracer import SessionTracer
from tracekit.tracing.pending import PendingLMCAISEvent

HI = [{"role": "user", "content": "hi"}]
STREAMS = [
    ("openai_chat", "stream_text_usage"),
    ("openai_chat", "stream_tool_calls"),
    ("openai_responses", "stream_function_call"),
    ("anthropic", "stream_tool_use"),
    ("gemini", "stream_thinking"),
]


def _open(vendor: str, server: VendorServer, is_async: bool, **options: Any) -> Any:
    """The instrumented client's stream call for `vendor` (an awaitable when async)."""
    if vendor == "gemini":
        client = tk.instrument(gemini_client(server), **options)
        models = client.aio.models if is_async else client.models
        return models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    if vendor == "anthropic":
        messages = tk.instrument(anthropic_client(server, is_async=is_async), **options).messages
        return messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI, stream=True)
    client = tk.instrument(openai_client(server, is_async=is_async), **options)
    if vendor == "openai_chat":
        return client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
    return client.responses.create(model="gpt-4.1", input="hi", stream=True)


def _consume(
    vendor: str, name: str, tracer: SessionTracer, is_async: bool, **options: Any
) -> tuple[Any, list[Any]]:
    """Read one stream of the fixture to its end in a session: (its only event, as left right after
    the stream ended, and the chunk objects the caller got)."""
    server = VendorServer().reply_stream(vendor, load(vendor, name))  # type: ignore[arg-type]
    got: list[Any] = []
    with tracer.session() as trace:
        if is_async:

            async def run() -> None:
                async for chunk in await _open(vendor, server, True, **options):
                    got.append(chunk)

            asyncio.run(run())
        else:
            for chunk in _open(vendor, server, False, **options):
                got.append(chunk)
        assert len(trace.event_history) == 1
        return trace.event_history[0], got


def _chunks(record: tk.LLMCallRecord) -> list[tuple[Any, ...]]:
    """What the record kept of each chunk, times left out."""
    assert record.chunks is not None
    return [
        (c.sequence_index, c.event_type, c.choice_index, c.delta_text, c.raw, c.metadata)
        for c in record.chunks
    ]


def _mutate(obj: Any, depth: int = 0) -> None:
    """Overwrite every text and integer field of an SDK object tree and empty its lists."""
    if depth > 20:
        return
    for name, value in list(vars(obj).items()):
        if type(value) is str:
            obj.__dict__[name] = "MUTATED"
        elif type(value) is int:
            obj.__dict__[name] = 999
        elif isinstance(value, list):
            for item in value:
                if hasattr(item, "__pydantic_fields__"):
                    _mutate(item, depth + 1)
            value.clear()
        elif hasattr(value, "__pydantic_fields__"):
            _mutate(value, depth + 1)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("vendor", "name"), STREAMS)
def test_deferred_stream_record_is_the_eager_record(vendor: str, name: str, is_async: bool) -> None:
    """A stream read to its end leaves a pending event whose record equals the strict (eager) one,
    chunks, counts and content included, with its timing complete and consistent."""
    event, _ = _consume(vendor, name, SessionTracer(), is_async)
    assert type(event) is PendingLMCAISEvent
    record = event.call_records[0]
    assert type(event) is tk.LMCAISEvent
    eager_event, _ = _consume(vendor, name, SessionTracer(strict=True), is_async)
    assert type(eager_event) is tk.LMCAISEvent
    eager = eager_event.call_records[0]
    assert comparable(record) == comparable(eager)
    assert _chunks(record) == _chunks(eager)
    assert record.timing is not None
    assert eager.timing is not None
    assert (
        record.timing.chunk_count
        == eager.timing.chunk_count
        == len(load(vendor, name))
        - (vendor == "anthropic" and sum(c.get("type") == "ping" for c in load(vendor, name)))
    )
    assert (record.timing.ttft_ms is None) is (eager.timing.ttft_ms is None)
    assert record.chunks is not None
    assert record.latency_ms == record.chunks[-1].offset_ms
    assert record.started_at is not None
    assert record.completed_at is not None
    assert record.completed_at >= record.started_at
    assert event.latency_ms == record.latency_ms
    assert event.model_name == eager_event.model_name
    assert (event.input_tokens, event.output_tokens) == (eager_event.input_tokens, eager_event.output_tokens)


@pytest.mark.parametrize(("vendor", "name"), STREAMS)
def test_mutating_chunks_before_the_first_use_leaves_the_record(vendor: str, name: str) -> None:
    """Chunk objects changed by the caller after the stream ended, before the event was first read,
    do not change the record."""
    expected, _ = _consume(vendor, name, SessionTracer(strict=True), False)
    event, got = _consume(vendor, name, SessionTracer(), False)
    assert type(event) is PendingLMCAISEvent
    for chunk in got:
        _mutate(chunk)
    record = event.call_records[0]
    assert comparable(record) == comparable(expected.call_records[0])
    assert _chunks(record) == _chunks(expected.call_records[0])


def test_the_clock_stops_when_the_stream_ends() -> None:
    """An empty stream's latency is read when it ended, not when its event is first read later."""
    tracer = SessionTracer()

    @tk.trace_llm_call(provider="openai")
    def nothing(model: str) -> Any:
        return iter([])

    with tracer.session() as trace:
        assert list(nothing("gpt-4.1")) == []
        time.sleep(0.3)
        event = trace.event_history[0]
        assert type(event) is PendingLMCAISEvent
        record = event.call_records[0]
    assert record.latency_ms is not None
    assert 0.0 <= record.latency_ms < 250.0
    assert record.outcome == "incomplete"
    assert record.timing is not None
    assert record.timing.chunk_count == 0


def test_strict_and_content_free_tracers_finish_at_the_end() -> None:
    """A strict tracer (which must raise at the call) and capture_content=False record the stream eagerly."""
    strict, _ = _consume("openai_chat", "stream_text_usage", SessionTracer(strict=True), False)
    assert type(strict) is tk.LMCAISEvent
    bare, _ = _consume("openai_chat", "stream_text_usage", SessionTracer(), False, capture_content=False)
    assert type(bare) is tk.LMCAISEvent
    assert bare.call_records[0].output_text is None


def test_broken_out_of_stream_is_still_eager_and_incomplete() -> None:
    """A stream left before its end is finished by close(), as before (only an ended stream defers)."""
    server = VendorServer().reply_stream("openai_chat", load("openai_chat", "stream_text_usage"))
    with SessionTracer().session() as trace:
        stream = _open("openai_chat", server, False)
        next(stream)
        stream.close()
        event = trace.event_history[0]
        assert type(event) is tk.LMCAISEvent
        assert event.call_records[0].outcome == "incomplete"


def test_completed_once_from_many_threads() -> None:
    """Eight threads reading a pending stream event at once all get the one record, built once."""
    event, _ = _consume("anthropic", "stream_tool_use", SessionTracer(), False)
    assert type(event) is PendingLMCAISEvent
    seen: list[Any] = []
    barrier = threading.Barrier(8)

    def read() -> None:
        barrier.wait()
        seen.append(event.call_records[0])

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert all(record is seen[0] for record in seen)
    assert tk.LMCAISEvent.from_json(event.to_json()) == event

"""Streams cut short (broken out of, closed, cancelled, failed or collected) are recorded exactly once."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import anthropic
import pytest
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import load, only_record

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]


def _openai_stream_client() -> tuple[VendorServer, object]:
    server = VendorServer().reply_stream("openai_chat", load("openai_chat", "stream_text_usage"), repeat=True)
    return server, tk.instrument(openai_client(server))


def test_break_then_garbage_collected_is_incomplete_with_what_arrived(tracer: SessionTracer) -> None:
    """Breaking out after three chunks and dropping the stream records one incomplete call with them."""
    _, client = _openai_stream_client()
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)  # type: ignore[attr-defined]
        for i, _ in enumerate(stream):
            if i == 2:
                break
        assert trace.event_history == []  # still open: nothing recorded yet
        del stream
        gc.collect()
        rec = only_record(trace)
    assert rec.outcome == "incomplete"
    assert rec.output_text == "Hello! 👩"
    assert rec.timing is not None
    assert rec.timing.chunk_count == 3
    assert rec.usage is None
    assert rec.finish_reason is None


def test_close_records_once(tracer: SessionTracer) -> None:
    """close() after two chunks records one incomplete call; closing again and collecting add nothing."""
    _, client = _openai_stream_client()
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)  # type: ignore[attr-defined]
        next(stream)
        next(stream)
        stream.close()
        stream.close()
        del stream
        gc.collect()
        rec = only_record(trace)
    assert (rec.outcome, rec.output_text) == ("incomplete", "Hello")
    assert rec.timing is not None
    assert rec.timing.chunk_count == 2


def test_with_block_exit_records_once(tracer: SessionTracer) -> None:
    """Leaving `with stream:` after the first chunk closes the SDK stream and records one incomplete call."""
    _, client = _openai_stream_client()
    with tracer.session() as trace:
        with client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True) as stream:  # type: ignore[attr-defined]
            first = next(stream)
        assert first.choices[0].delta.role == "assistant"
        assert stream.response.is_closed
        rec = only_record(trace)
    assert rec.outcome == "incomplete"
    assert rec.timing is not None
    assert rec.timing.chunk_count == 1


def test_never_iterated_stream_collected(tracer: SessionTracer) -> None:
    """A stream dropped before any chunk was read is recorded once as incomplete with no chunks."""
    _, client = _openai_stream_client()
    with tracer.session() as trace:
        client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)  # type: ignore[attr-defined]
        gc.collect()
        rec = only_record(trace)
    assert rec.outcome == "incomplete"
    assert rec.chunks == []
    assert rec.input_messages[0].parts[0].text == "hi"


def test_async_cancel_mid_stream(tracer: SessionTracer) -> None:
    """A task cancelled while awaiting the second chunk records one cancelled call holding the first chunk."""
    chunks = load("anthropic", "stream_text")
    server = VendorServer().reply_stream("anthropic", chunks, delay_s=0.05)
    client = tk.instrument(anthropic_client(server, is_async=True))
    got_one = asyncio.Event()

    async def consume() -> None:
        stream = await client.messages.create(model="claude-x", max_tokens=10, messages=HI, stream=True)
        async for _ in stream:
            got_one.set()

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            task = asyncio.create_task(consume())
            await got_one.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return trace

    rec = only_record(asyncio.run(run()))
    assert rec.outcome == "cancelled"
    assert rec.error == {"type": "CancelledError", "message": ""}
    assert rec.timing is not None
    assert rec.timing.chunk_count == 1
    assert rec.model_name == "claude-3-opus-latest"


def test_async_cancel_before_first_chunk(tracer: SessionTracer) -> None:
    """A messages.stream() cancelled before its first chunk is still recorded (provider and request known)."""
    server = VendorServer().reply_stream("anthropic", load("anthropic", "stream_text"), delay_s=5.0)
    client = tk.instrument(anthropic_client(server, is_async=True))
    entered = asyncio.Event()

    async def consume() -> None:
        async with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
            entered.set()
            await stream.get_final_message()

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            task = asyncio.create_task(consume())
            await entered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return trace

    rec = only_record(asyncio.run(run()))
    assert (rec.provider, rec.api_type, rec.model_name, rec.outcome) == (
        "anthropic",
        "messages",
        "claude-x",
        "cancelled",
    )
    assert rec.chunks == []
    assert rec.request_params.max_tokens == 10


def test_error_event_mid_stream_is_recorded_and_reraised(tracer: SessionTracer) -> None:
    """An error event mid-stream raises the SDK's exception unchanged and records the error with what came."""
    server = VendorServer().reply_stream("anthropic", load("anthropic", "stream_error"))
    client = tk.instrument(anthropic_client(server))
    seen: list[str] = []

    def consume(stream: Any) -> None:
        for event in stream:
            seen.append(event.type)

    with tracer.session() as trace:
        stream = client.messages.create(model="claude-x", max_tokens=10, messages=HI, stream=True)
        with pytest.raises(anthropic.APIStatusError) as caught:
            consume(stream)
        rec = only_record(trace)
    assert seen == ["message_start", "content_block_start", "content_block_delta"]
    assert rec.outcome == "error"
    assert rec.error is not None
    assert rec.error["type"] == type(caught.value).__name__
    assert rec.output_text == "Hello"


def test_stream_outliving_its_session_records_nothing_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A stream collected after its session ended records nothing, raises nothing, and logs why."""
    _, client = _openai_stream_client()
    tracer = SessionTracer()
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)  # type: ignore[attr-defined]
        next(stream)
    with caplog.at_level(logging.WARNING, logger="tracekit.tracing.llm_call"):
        del stream
        gc.collect()
    assert trace.event_history == []
    assert "could not record the LLM call event" in caplog.text

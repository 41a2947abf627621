"""instrument(client) on the official openai client: every create/stream call recorded exactly once."""

from __future__ import annotations

import asyncio
import json

import openai
from sdk_transport import VendorServer, openai_client
from trace_checks import comparable, load, only_record, records

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]


def test_chat_create_sync_records_the_helpers_record() -> None:
    """A chat completion is recorded once, equal to record_from_response on the same JSON and request."""
    body = load("openai_chat", "response_basic")
    server = VendorServer().reply_json(body)
    client = tk.instrument(openai_client(server))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        resp = client.chat.completions.create(model="gpt-4.1", messages=HI, temperature=0.2)
    assert resp.choices[0].message.content == "Hello! How can I assist you today?"
    rec = only_record(trace)
    sent = server.requests[0].body
    assert sent == {"model": "gpt-4.1", "messages": HI, "temperature": 0.2}
    assert comparable(rec) == comparable(tk.record_from_response(body, request=sent))
    assert json.loads(rec.request_raw_json or "") == sent
    assert (rec.usage.input_tokens, rec.usage.output_tokens, rec.usage.total_tokens) == (19, 10, 29)
    assert rec.request_params.temperature == 0.2
    assert rec.metadata["agent_id"] == "openai"
    assert rec.latency_ms is not None
    assert rec.latency_ms > 0
    event = trace.event_history[0]
    assert isinstance(event, tk.LMCAISEvent)
    assert (event.system_instance_id, event.model_name, event.provider) == (
        "openai",
        "gpt-4.1-2025-04-14",
        "openai",
    )
    assert (event.input_tokens, event.output_tokens, event.total_tokens) == (19, 10, 29)
    assert event.latency_ms == rec.latency_ms


def test_chat_stream_sync_records_every_chunk_with_timing() -> None:
    """A streamed chat completion passes each SDK chunk through and records them all once, with TTFT."""
    chunks = load("openai_chat", "stream_text_usage")
    server = VendorServer().reply_stream("openai_chat", chunks)
    client = tk.instrument(openai_client(server), agent="writer")
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        assert isinstance(stream, openai.Stream)
        assert stream.response.status_code == 200
        got = [c.model_dump(mode="json", exclude_unset=True) for c in stream]
    assert got == chunks
    rec = only_record(trace)
    expected = tk.record_from_stream(chunks, request=server.requests[0].body)
    assert comparable(rec) == comparable(expected)
    assert rec.output_text == "Hello! 👩\u200d💻 Coder here."
    assert rec.outcome == "success"
    assert rec.metadata["agent_id"] == "writer"
    assert [c.raw for c in rec.chunks or []] == chunks
    timing = rec.timing
    assert timing is not None
    assert timing.chunk_count == len(chunks)
    assert timing.ttft_ms is not None
    assert rec.latency_ms is not None
    assert 0 < timing.ttft_ms <= rec.latency_ms
    offsets = [c.offset_ms for c in rec.chunks or []]
    assert offsets == sorted(offsets)


def test_chat_create_and_stream_async() -> None:
    """The async client's create and stream=True calls are recorded once each, as the helpers record them."""
    body = load("openai_chat", "response_parallel_tools")
    chunks = load("openai_chat", "stream_tool_calls")
    server = VendorServer().reply_json(body).reply_stream("openai_chat", chunks)
    client = tk.instrument(openai_client(server, is_async=True))
    tracer = SessionTracer(strict=True)

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            await client.chat.completions.create(model="gpt-4o-mini", messages=HI)
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HI, stream=True)
            assert isinstance(stream, openai.AsyncStream)
            assert len([c async for c in stream]) == len(chunks)
        return trace

    trace = asyncio.run(run())
    first, second = records(trace)
    assert comparable(first) == comparable(tk.record_from_response(body, request=server.requests[0].body))
    assert [c.call_id for c in first.output_tool_calls] == ["call_12345xyz", "call_67890abc", "call_99999def"]
    assert comparable(second) == comparable(tk.record_from_stream(chunks, request=server.requests[1].body))


def test_chat_completions_stream_helper_records_raw_chunks_once() -> None:
    """chat.completions.stream() keeps the SDK's helper events and get_final_completion(); one record."""
    chunks = load("openai_chat", "stream_text_usage")
    server = VendorServer().reply_stream("openai_chat", chunks)
    client = tk.instrument(openai_client(server))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace, client.chat.completions.stream(model="gpt-4.1", messages=HI) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert kinds[0] == "chunk"
    assert "content.done" in kinds
    assert final.choices[0].message.content == "Hello! 👩\u200d💻 Coder here."
    rec = only_record(trace)
    assert comparable(rec) == comparable(tk.record_from_stream(chunks, request=server.requests[0].body))
    assert rec.timing is not None
    assert rec.timing.chunk_count == len(chunks)


def test_responses_create_and_stream_helper() -> None:
    """responses.create and responses.stream() read only by get_final_response are recorded once each."""
    body = load("openai_responses", "response_text")
    chunks = load("openai_responses", "stream_text")
    server = VendorServer().reply_json(body).reply_stream("openai_responses", chunks)
    client = tk.instrument(openai_client(server))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        client.responses.create(model="gpt-4.1", input="hi")
        with client.responses.stream(model="gpt-4.1", input="hi") as stream:
            final = stream.get_final_response()
    first, second = records(trace)
    assert comparable(first) == comparable(tk.record_from_response(body, request=server.requests[0].body))
    assert final.output_text == second.output_text
    assert server.requests[1].body == {"model": "gpt-4.1", "input": "hi", "stream": True}
    expected = tk.record_from_stream(chunks, request=server.requests[1].body)
    assert comparable(second) == comparable(expected)
    assert second.api_type == "responses"
    assert second.outcome == "success"


def test_responses_stream_async_helper() -> None:
    """AsyncOpenAI responses.stream() under `async with` is recorded once, equal to the helper's record."""
    chunks = load("openai_responses", "stream_function_call")
    server = VendorServer().reply_stream("openai_responses", chunks)
    client = tk.instrument(openai_client(server, is_async=True))
    tracer = SessionTracer(strict=True)

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace, client.responses.stream(model="gpt-4.1", input="hi") as stream:
            async for _ in stream:
                pass
        return trace

    rec = only_record(asyncio.run(run()))
    expected = tk.record_from_stream(chunks, request=server.requests[0].body)
    assert comparable(rec) == comparable(expected)


def test_uninstrument_and_instrument_twice() -> None:
    """instrument twice records a call once; uninstrument restores the class's methods and records nothing."""
    body = load("openai_chat", "response_basic")
    server = VendorServer().reply_json(body, repeat=True)
    client = tk.instrument(tk.instrument(openai_client(server)))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        client.chat.completions.create(model="gpt-4.1", messages=HI)
        tk.uninstrument(client)
        client.chat.completions.create(model="gpt-4.1", messages=HI)
    assert len(records(trace)) == 1
    assert "create" not in vars(client.chat.completions)


def test_instrument_refuses_other_objects() -> None:
    """instrument() of something that is not a vendor client raises InvalidArgumentError naming the type."""
    import pytest

    with pytest.raises(tk.InvalidArgumentError, match=r"builtins\.dict"):
        tk.instrument({})

"""instrument(client) on the official anthropic and google-genai clients: each call recorded exactly once."""

from __future__ import annotations

import asyncio

from sdk_transport import VendorServer, anthropic_client, gemini_client
from trace_checks import comparable, load, only_record, records

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]


def test_anthropic_create_and_stream_true_sync() -> None:
    """messages.create, plain and stream=True, are recorded once each, equal to the helpers' records."""
    body = load("anthropic", "response_tool_use")
    chunks = load("anthropic", "stream_tool_use")
    server = VendorServer().reply_json(body).reply_stream("anthropic", chunks)
    client = tk.instrument(anthropic_client(server))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        client.messages.create(model="claude-opus-4-7", max_tokens=100, messages=HI, system="be brief")
        events = list(
            client.messages.create(model="claude-opus-4-7", max_tokens=100, messages=HI, stream=True)
        )
    assert [e.type for e in events] == [c["type"] for c in chunks if c["type"] != "ping"]
    first, second = records(trace)
    assert comparable(first) == comparable(tk.record_from_response(body, request=server.requests[0].body))
    assert [(m.role, m.parts[0].text) for m in first.input_messages] == [
        ("system", "be brief"),
        ("user", "hi"),
    ]
    assert [c.call_id for c in first.output_tool_calls] == ["toolu_01A09q90qw90lq917835lq9"]
    expected = tk.record_from_stream(chunks, request=server.requests[1].body)
    assert comparable(second) == comparable(expected)
    assert second.timing is not None
    assert second.timing.chunk_count == len(events)


def test_anthropic_messages_stream_every_way_of_reading() -> None:
    """messages.stream() read by text_stream, get_final_message() or iteration is recorded once each."""
    chunks = load("anthropic", "stream_text")
    server = VendorServer().reply_stream("anthropic", chunks, repeat=True)
    client = tk.instrument(anthropic_client(server))
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
            text = "".join(stream.text_stream)
        with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
            final = stream.get_final_message()
            assert stream.response.status_code == 200
        with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
            kinds = [event.type for event in stream]
    assert text == "Hello there!" == final.content[0].text
    assert "text" in kinds  # the SDK's derived events still reach the caller
    expected = tk.record_from_stream(chunks, request=server.requests[0].body)
    got = records(trace)
    assert len(got) == 3
    for rec in got:
        assert comparable(rec) == comparable(expected)
        assert rec.outcome == "success"
        assert rec.output_text == "Hello there!"


def test_anthropic_async_create_and_stream() -> None:
    """AsyncAnthropic create and `async with messages.stream()` are recorded once each."""
    body = load("anthropic", "response_text")
    chunks = load("anthropic", "stream_cumulative_usage")
    server = VendorServer().reply_json(body).reply_stream("anthropic", chunks)
    client = tk.instrument(anthropic_client(server, is_async=True), agent="critic")
    tracer = SessionTracer(strict=True)

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            await client.messages.create(model="claude-x", max_tokens=10, messages=HI)
            async with client.messages.stream(model="claude-x", max_tokens=10, messages=HI) as stream:
                await stream.get_final_message()
        return trace

    first, second = records(asyncio.run(run()))
    assert comparable(first) == comparable(tk.record_from_response(body, request=server.requests[0].body))
    assert comparable(second) == comparable(tk.record_from_stream(chunks, request=server.requests[1].body))
    assert first.metadata["agent_id"] == second.metadata["agent_id"] == "critic"


def test_gemini_generate_content_sync_and_stream() -> None:
    """generate_content and generate_content_stream are recorded once each, equal to the helpers' records."""
    body = load("gemini", "response_parallel_calls")
    chunks = load("gemini", "stream_text")
    server = VendorServer().reply_json(body).reply_stream("gemini", chunks)
    client = tk.instrument(gemini_client(server))
    tracer = SessionTracer(strict=True)
    request = {"model": "gemini-2.5-flash", "contents": "hi"}
    with tracer.session() as trace:
        client.models.generate_content(**request)
        got = list(client.models.generate_content_stream(**request))
    assert len(got) == len(chunks)
    first, second = records(trace)
    expected_first = tk.record_from_response(body, request=request)
    assert comparable(first, sdk_spelling=True) == comparable(expected_first, sdk_spelling=True)
    expected_second = tk.record_from_stream(chunks, request=request)
    assert comparable(second, sdk_spelling=True) == comparable(expected_second, sdk_spelling=True)
    assert second.output_text == "".join(c.text or "" for c in got)
    assert (second.usage.input_tokens, second.usage.output_tokens) == (7, 10)
    assert second.timing is not None
    assert second.timing.chunk_count == 3


def test_gemini_aio_generate_content_and_stream() -> None:
    """client.aio.models generate_content and generate_content_stream are recorded once each."""
    body = load("gemini", "response_implicit_caching")
    chunks = load("gemini", "stream_thinking")
    server = VendorServer().reply_json(body).reply_stream("gemini", chunks)
    client = tk.instrument(gemini_client(server))
    tracer = SessionTracer(strict=True)
    request = {"model": "gemini-2.5-pro", "contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            await client.aio.models.generate_content(**request)
            stream = await client.aio.models.generate_content_stream(**request)
            async for _ in stream:
                pass
        return trace

    first, second = records(asyncio.run(run()))
    expected_first = tk.record_from_response(body, request=request)
    assert comparable(first, sdk_spelling=True) == comparable(expected_first, sdk_spelling=True)
    expected_second = tk.record_from_stream(chunks, request=request)
    assert comparable(second, sdk_spelling=True) == comparable(expected_second, sdk_spelling=True)
    assert first.provider == second.provider == "google"


def test_gemini_uninstrument_covers_aio() -> None:
    """uninstrument removes the traced methods from both the sync and the aio side of a genai client."""
    server = VendorServer().reply_json(load("gemini", "response_parallel_calls"))
    client = tk.uninstrument(tk.instrument(gemini_client(server)))
    assert "generate_content" not in vars(client.models)
    assert "generate_content_stream" not in vars(client.aio.models)
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert trace.event_history == []
    assert only_record is not None

"""@trace_llm_call on the user's own sync, async and streaming functions around real SDK clients."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2 as httpx
import openai
import pytest
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import comparable, load, only_record, records

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]


class TimingOut(VendorServer):
    """A vendor endpoint that never answers in time."""

    def _answer(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)


def test_sync_function_request_from_arguments(tracer: SessionTracer) -> None:
    """A decorated sync function is recorded once, its request read from the vendor-named arguments."""
    body = load("openai_chat", "response_basic")
    server = VendorServer().reply_json(body)
    client = openai_client(server)

    @tk.trace_llm_call(agent="planner")
    def ask(
        messages: list[dict[str, str]], model: str = "gpt-4.1", *, temperature: float = 0.0, note: str = ""
    ) -> Any:
        return client.chat.completions.create(model=model, messages=messages, temperature=temperature)

    with tracer.session() as trace:
        resp = ask(HI, temperature=0.5, note="not part of the request")
    assert isinstance(resp, openai.types.chat.ChatCompletion)
    rec = only_record(trace)
    expected = tk.record_from_response(body, request={"messages": HI, "model": "gpt-4.1", "temperature": 0.5})
    assert comparable(rec) == comparable(expected)
    assert trace.event_history[0].system_instance_id == rec.metadata["agent_id"] == "planner"


def test_async_function_default_agent_is_qualname(tracer: SessionTracer) -> None:
    """A decorated async function is recorded once and, without agent=, its event is named by the function."""
    body = load("anthropic", "response_text")
    server = VendorServer().reply_json(body)
    client = anthropic_client(server, is_async=True)

    @tk.trace_llm_call
    async def reply(messages: list[dict[str, str]], system: str) -> Any:
        return await client.messages.create(model="claude-x", max_tokens=5, system=system, messages=messages)

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            await reply(HI, "terse")
        return trace

    assert inspect.iscoroutinefunction(reply)
    rec = only_record(asyncio.run(run()))
    expected = tk.record_from_response(body, request={"messages": HI, "system": "terse"})
    assert comparable(rec) == comparable(expected)
    assert rec.metadata["agent_id"] == reply.__qualname__


def test_generator_and_async_generator_functions(tracer: SessionTracer) -> None:
    """Decorated generator and async-generator functions pass their chunks through; one record each."""
    chunks = load("openai_chat", "stream_text_usage")

    @tk.trace_llm_call(provider="openai")
    def stream_sync(model: str) -> Iterator[dict[str, Any]]:
        yield from chunks

    @tk.trace_llm_call(provider="openai")
    async def stream_async(model: str) -> AsyncIterator[dict[str, Any]]:
        for chunk in chunks:
            yield chunk

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            assert list(stream_sync("gpt-4o")) == chunks
            assert [c async for c in stream_async("gpt-4o")] == chunks
        return trace

    first, second = records(asyncio.run(run()))
    expected = comparable(tk.record_from_stream(chunks, request={"model": "gpt-4o"}))
    assert comparable(first) == expected == comparable(second)


def test_function_returning_a_context_manager_stream(tracer: SessionTracer) -> None:
    """A function returning Anthropic's messages.stream() manager is timed from __enter__; one record."""
    chunks = load("anthropic", "stream_text")
    server = VendorServer().reply_stream("anthropic", chunks)
    client = anthropic_client(server)

    @tk.trace_llm_call(agent="writer")
    def open_stream(messages: list[dict[str, str]], max_tokens: int) -> Any:
        return client.messages.stream(model="claude-x", max_tokens=max_tokens, messages=messages)

    with tracer.session() as trace, open_stream(HI, 10) as stream:
        assert stream.get_final_text() == "Hello there!"
    rec = only_record(trace)
    assert comparable(rec) == comparable(
        tk.record_from_stream(chunks, request={"messages": HI, "max_tokens": 10})
    )


def test_no_session_records_nothing_and_returns_the_sdk_objects() -> None:
    """Outside a session the decorated function returns exactly what it did before; nothing is recorded."""
    server = VendorServer().reply_json(load("openai_chat", "response_basic"))
    server.reply_stream("openai_chat", load("openai_chat", "stream_text_usage"))
    client = openai_client(server)
    tracer = SessionTracer(strict=True)
    traced = tk.trace_llm_call(client.chat.completions.create)
    resp = traced(model="gpt-4.1", messages=HI)
    stream = traced(model="gpt-4.1", messages=HI, stream=True)
    assert type(resp) is openai.types.chat.ChatCompletion
    assert type(stream) is openai.Stream
    assert len(list(stream)) == 8
    assert tracer.sessions == {}
    assert tk.current_tracer() is None


def test_exception_recorded_and_reraised_unchanged(tracer: SessionTracer) -> None:
    """An HTTP error raises the SDK's exception unchanged and records outcome error with type and message."""
    server = VendorServer().reply_json({"error": {"message": "boom", "type": "server_error"}}, status=500)
    client = openai_client(server)
    raised: list[BaseException] = []

    @tk.trace_llm_call
    def ask(model: str, messages: list[dict[str, str]]) -> Any:
        try:
            return client.chat.completions.create(model=model, messages=messages)
        except openai.APIError as exc:
            raised.append(exc)
            raise

    with tracer.session() as trace, pytest.raises(openai.InternalServerError) as caught:
        ask("gpt-4.1", HI)
    assert caught.value is raised[0]
    rec = only_record(trace)
    assert (rec.provider, rec.api_type, rec.model_name, rec.outcome) == (
        "openai",
        "chat_completions",
        "gpt-4.1",
        "error",
    )
    assert rec.error == {"type": "InternalServerError", "message": str(caught.value)}
    assert rec.chunks is None
    assert rec.timing is None
    assert rec.latency_ms is not None
    assert rec.latency_ms > 0
    assert rec.input_messages[0].parts[0].text == "hi"


def test_timeout_and_cancellation_outcomes(tracer: SessionTracer) -> None:
    """A read timeout is recorded as outcome timeout, and a cancelled await as outcome cancelled."""
    client = tk.instrument(openai_client(TimingOut(), is_async=True))

    @tk.trace_llm_call(provider="anthropic")
    async def slow(model: str) -> None:
        await asyncio.sleep(10)

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            with pytest.raises(openai.APITimeoutError):
                await client.chat.completions.create(model="gpt-4.1", messages=HI)
            task = asyncio.create_task(slow("claude-x"))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return trace

    timed_out, cancelled = records(asyncio.run(run()))
    assert (timed_out.outcome, timed_out.error) == (
        "timeout",
        {"type": "APITimeoutError", "message": "Request timed out."},
    )
    assert (cancelled.outcome, cancelled.provider, cancelled.api_type) == (
        "cancelled",
        "anthropic",
        "messages",
    )


def test_capture_content_false_keeps_numbers_only(tracer: SessionTracer) -> None:
    """capture_content=False records usage, model and timing but no prompt or completion text."""
    chunks = load("openai_chat", "stream_tool_calls")
    server = VendorServer().reply_stream("openai_chat", chunks)
    client = tk.instrument(openai_client(server), capture_content=False)
    secret = "my secret prompt"
    with tracer.session() as trace:
        for _ in client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": secret}], stream=True
        ):
            pass
    rec = only_record(trace)
    full = tk.record_from_stream(
        chunks, request={"model": "gpt-4o", "messages": [{"role": "user", "content": secret}]}
    )
    text = rec.to_json()
    assert secret not in text
    assert "Paris" not in text
    assert "location" not in text
    assert rec.usage == full.usage
    assert rec.model_name == full.model_name
    assert [c.name for c in rec.output_tool_calls] == [c.name for c in full.output_tool_calls]
    assert [c.call_id for c in rec.output_tool_calls] == [c.call_id for c in full.output_tool_calls]
    assert rec.input_messages[0].parts[0].type == "text"
    assert rec.input_messages[0].parts[0].text is None
    assert rec.metadata["content_captured"] is False
    assert tk.LLMCallRecord.from_json(text) == rec


def test_recording_problem_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """An unreadable result is returned unchanged and logged; a strict tracer raises RecordingError."""

    @tk.trace_llm_call
    def odd(model: str) -> dict[str, int]:
        return {"answer": 42}

    lenient = SessionTracer()
    with caplog.at_level(logging.WARNING, logger="tracekit.tracing.llm_call"), lenient.session() as trace:
        assert odd("gpt-4.1") == {"answer": 42}
    assert trace.event_history == []
    assert "could not record the LLM response" in caplog.text
    with (
        SessionTracer(strict=True).session(),
        pytest.raises(tk.RecordingError, match="unrecognised response"),
    ):
        odd("gpt-4.1")


def test_wraps_keeps_name_doc_and_signature() -> None:
    """The decorated function keeps its name, docstring and signature."""

    def ask(model: str, messages: list[dict[str, str]]) -> str:
        """Ask the model."""
        return ""

    traced = tk.trace_llm_call(agent="a")(ask)
    assert (traced.__name__, traced.__doc__) == ("ask", "Ask the model.")
    assert inspect.signature(traced) == inspect.signature(ask)


def test_concurrent_sessions_and_threads_do_not_mix() -> None:
    """Decorated calls from 20 concurrent async sessions and 4 threads land in their own session only."""
    body = load("openai_chat", "response_basic")
    tracer = SessionTracer(strict=True)
    server = VendorServer().reply_json(body, repeat=True)
    aclient = tk.instrument(openai_client(server, is_async=True))
    client = tk.instrument(openai_client(server))

    async def session(n: int) -> tk.SessionTrace:
        async with tracer.session(session_id=f"a{n}") as trace:
            for _ in range(3):
                await aclient.chat.completions.create(model=f"m{n}", messages=HI)
                await asyncio.sleep(0)
        return trace

    async def many() -> list[tk.SessionTrace]:
        return await asyncio.gather(*(session(n) for n in range(20)))

    threaded: dict[int, tk.SessionTrace] = {}

    def worker(n: int) -> None:
        with tracer.session(session_id=f"t{n}") as trace:
            for _ in range(3):
                client.chat.completions.create(model=f"t{n}", messages=HI)
        threaded[n] = trace

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    traces = asyncio.run(many())
    for t in threads:
        t.join()
    for n, trace in enumerate(traces):
        assert [r.request_params.raw_params for r in records(trace)] == [{}, {}, {}]
        assert [r.to_dict()["request_raw_json"] for r in records(trace)] == [
            f'{{"model":"m{n}","messages":[{{"role":"user","content":"hi"}}]}}'
        ] * 3
    for n, trace in threaded.items():
        assert [r.to_dict()["request_raw_json"] for r in records(trace)] == [
            f'{{"model":"t{n}","messages":[{{"role":"user","content":"hi"}}]}}'
        ] * 3


def test_sync_function_returning_an_awaitable(tracer: SessionTracer) -> None:
    """A sync function that returns the SDK's coroutine is recorded when the coroutine is awaited."""
    body = load("openai_chat", "response_basic")
    client = openai_client(VendorServer().reply_json(body), is_async=True)
    ask = tk.trace_llm_call(agent="lazy")(lambda **kw: client.chat.completions.create(**kw))

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            pending = ask(model="gpt-4.1", messages=HI)
            assert trace.event_history == []
            await pending
        return trace

    rec = only_record(asyncio.run(run()))
    assert comparable(rec) == comparable(
        tk.record_from_response(body, request={"model": "gpt-4.1", "messages": HI})
    )


def test_failed_call_provider_from_model_name_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A plain exception is recorded under the provider its model name tells; with no clue, only logged."""

    @tk.trace_llm_call
    def ask(model: str) -> None:
        raise ValueError("bad input")

    tracer = SessionTracer()
    with caplog.at_level(logging.WARNING, logger="tracekit.tracing.llm_call"), tracer.session() as trace:
        with pytest.raises(ValueError, match="bad input"):
            ask("o3-mini")
        with pytest.raises(ValueError, match="bad input"):
            ask("my-local-model")
    rec = only_record(trace)
    assert (rec.provider, rec.api_type, rec.model_name, rec.outcome) == (
        "openai",
        "chat_completions",
        "o3-mini",
        "error",
    )
    assert rec.error == {"type": "ValueError", "message": "bad input"}
    assert "cannot tell which API the failed call used" in caplog.text

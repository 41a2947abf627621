"""A decorated function whose LLM calls are traced inside it (an instrumented client, another
decorated function) records each call once: by its innermost tracer, with the function's agent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sdk_transport import VendorServer, openai_client
from trace_checks import comparable, load, only_record, records

import tracekit as tk
from tracekit.decorators import traced_llm
from tracekit.tracer import SessionTracer
from tracekit.tracing.llm_call import CallSpec

HI = [{"role": "user", "content": "hi"}]
BODY = load("openai_chat", "response_basic")


def _events(trace: tk.SessionTrace) -> list[tk.LMCAISEvent]:
    return [e for e in trace.event_history if isinstance(e, tk.LMCAISEvent)]


def test_instrumented_call_inside_a_decorated_function_is_recorded_once() -> None:
    """The SDK call is recorded once, exactly as instrument alone records it, under the function's agent."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)))

    @tk.trace_llm_call(agent="planner")
    def plan(question: str) -> Any:
        return client.chat.completions.create(
            model="gpt-4.1", messages=[{"role": "user", "content": question}]
        )

    with SessionTracer(strict=True).session() as nested:
        plan("hi")
    with SessionTracer(strict=True).session() as alone:
        client.chat.completions.create(model="gpt-4.1", messages=HI)
    assert len(_events(nested)) == 1
    assert _events(nested)[0].system_instance_id == "planner"
    record = only_record(nested)
    assert record.metadata["agent_id"] == "planner"
    assert comparable(record) == comparable(only_record(alone))
    assert record.usage is not None
    assert record.usage.input_tokens == BODY["usage"]["prompt_tokens"]


def test_every_call_inside_is_kept_when_the_function_returns_text() -> None:
    """Two SDK calls inside a function returning a string: two records, none for the string."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)))

    @tk.trace_llm_call(agent="critic")
    def critique() -> str:
        first = client.chat.completions.create(model="gpt-4.1", messages=HI)
        second = client.chat.completions.create(model="gpt-4.1", messages=HI)
        return f"{first.choices[0].message.content} / {second.choices[0].message.content}"

    with SessionTracer(strict=True).session() as trace:
        assert critique().count("/") == 1
    assert [r.metadata["agent_id"] for r in records(trace)] == ["critic", "critic"]
    assert sum(r.usage.total_tokens for r in records(trace) if r.usage) == 2 * BODY["usage"]["total_tokens"]


def test_an_instrumented_client_with_its_own_agent_keeps_it() -> None:
    """instrument(client, agent=...) names its calls itself, inside a decorated function too."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)), agent="executor")

    @tk.trace_llm_call(agent="planner")
    def plan() -> Any:
        return client.chat.completions.create(model="gpt-4.1", messages=HI)

    with SessionTracer(strict=True).session() as trace:
        plan()
    assert [r.metadata["agent_id"] for r in records(trace)] == ["executor"]


def test_async_function_and_async_client_record_once() -> None:
    """The same for an async decorated function over the async SDK client."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True), is_async=True))

    @tk.trace_llm_call(agent="planner")
    async def plan() -> Any:
        return await client.chat.completions.create(model="gpt-4.1", messages=HI)

    async def run() -> tk.SessionTrace:
        async with SessionTracer(strict=True).session() as trace:
            await plan()
        return trace

    trace = asyncio.run(run())
    assert [r.metadata["agent_id"] for r in records(trace)] == ["planner"]


def test_nested_decorated_functions_record_the_innermost() -> None:
    """A decorated function calling another: the inner one's record stands, with its own agent."""

    @tk.trace_llm_call(agent="inner")
    def call_model() -> dict[str, Any]:
        return BODY

    @tk.trace_llm_call(agent="outer")
    def step() -> dict[str, Any]:
        return call_model()

    with SessionTracer(strict=True).session() as trace:
        step()
    assert [r.metadata["agent_id"] for r in records(trace)] == ["inner"]


def test_an_error_after_the_inner_call_leaves_its_record_alone() -> None:
    """The function raising after its SDK call: the error propagates, the call is recorded once, ok."""
    client = tk.instrument(openai_client(VendorServer().reply_json(BODY, repeat=True)))

    @tk.trace_llm_call(agent="planner")
    def plan() -> Any:
        client.chat.completions.create(model="gpt-4.1", messages=HI)
        raise KeyError("parse failed")

    with SessionTracer(strict=True).session() as trace, pytest.raises(KeyError):
        plan()
    assert [(r.outcome, r.metadata["agent_id"]) for r in records(trace)] == [("success", "planner")]


def test_a_stream_made_inside_and_returned_is_recorded_once() -> None:
    """A decorated function returning an instrumented stream: the stream's own record, once."""
    chunks = load("openai_chat", "stream_text_usage")
    client = tk.instrument(openai_client(VendorServer().reply_stream("openai_chat", chunks)))

    @tk.trace_llm_call(agent="writer")
    def write() -> Any:
        return client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)

    with SessionTracer(strict=True).session() as trace:
        for _ in write():
            pass
    assert [r.metadata["agent_id"] for r in records(trace)] == ["writer"]
    assert records(trace)[0].output_text


def test_a_call_inside_that_could_not_be_traced_leaves_the_function_recording_it() -> None:
    """An inner tracer that could not capture its request records nothing, so the function does."""

    def unreadable(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("request unreadable")

    inner = traced_llm(lambda: BODY, CallSpec(agent="inner", request_of=unreadable))

    @tk.trace_llm_call(agent="outer")
    def step() -> dict[str, Any]:
        return inner()

    with SessionTracer().session() as trace:
        step()
    assert [r.metadata["agent_id"] for r in records(trace)] == ["outer"]


def test_a_decorated_generator_re_yielding_an_instrumented_stream_records_it_once() -> None:
    """A generator re-yielding an instrumented stream's text: the stream's record alone, with the
    generator's agent, equal to the stream recorded without the generator."""
    chunks = load("openai_chat", "stream_text_usage")
    server = VendorServer().reply_stream("openai_chat", chunks, repeat=True)
    client = tk.instrument(openai_client(server))

    @tk.trace_llm_call(agent="writer")
    def write() -> Any:
        for chunk in client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    with SessionTracer(strict=True).session() as nested:
        text = "".join(write())
    with SessionTracer(strict=True).session() as alone:
        for _ in client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
            pass
    assert [r.metadata["agent_id"] for r in records(nested)] == ["writer"]
    assert records(nested)[0].output_text == text
    assert comparable(records(nested)[0]) == comparable(only_record(alone))


def test_a_decorated_generator_without_traced_calls_inside_records_itself() -> None:
    """A generator yielding chunks it made itself is still recorded by its decorator, once, and
    send() and close() reach it."""
    chunks = load("openai_chat", "stream_text_usage")
    seen: list[Any] = []

    @tk.trace_llm_call(agent="replayer")
    def replay() -> Any:
        try:
            for chunk in chunks:
                seen.append((yield chunk))
        finally:
            seen.append("closed")

    with SessionTracer(strict=True).session() as trace:
        stream = replay()
        assert next(stream) == chunks[0]
        assert stream.send("sent") == chunks[1]
        stream.close()
    assert seen == ["sent", "closed"]
    assert [(r.metadata["agent_id"], r.outcome) for r in records(trace)] == [("replayer", "incomplete")]


def test_an_async_decorated_generator_over_an_async_instrumented_stream_records_it_once() -> None:
    """The same for an async generator re-yielding the async client's stream."""
    chunks = load("openai_chat", "stream_text_usage")
    server = VendorServer().reply_stream("openai_chat", chunks, repeat=True)
    client = tk.instrument(openai_client(server, is_async=True))

    @tk.trace_llm_call(agent="writer")
    async def write() -> Any:
        async for chunk in await client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
            yield chunk

    async def main() -> tk.SessionTrace:
        async with SessionTracer(strict=True).session() as trace:
            assert len([c async for c in write()]) == len(chunks)
        return trace

    trace = asyncio.run(main())
    assert [r.metadata["agent_id"] for r in records(trace)] == ["writer"]
    assert records(trace)[0].outcome == "success"


def test_an_exception_thrown_into_a_decorated_generator_reaches_it() -> None:
    """throw() passes the exception into the generator, which may handle it and go on."""

    @tk.trace_llm_call(agent="replayer")
    def replay() -> Any:
        try:
            yield 1
        except KeyError:
            yield "handled"

    with SessionTracer().session():
        stream = replay()
        assert next(stream) == 1
        assert stream.throw(KeyError("x")) == "handled"
        with pytest.raises(StopIteration):
            next(stream)

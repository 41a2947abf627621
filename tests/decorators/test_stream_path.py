"""The stream proxy's per-chunk path: an SDK stream read as a `for` loop reads it, chunks after the
record ended reach the caller and not the record, a chunk the strict recorder refuses raises from
`next()`, and an iterator whose `__iter__` is broken is still read through its own `__next__`."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sdk_transport import VendorServer, openai_client
from trace_checks import load, only_record

import tracekit as tk
from tracekit.errors import RecordingError
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]
CHUNKS = load("openai_chat", "stream_text_usage")


class _Chunks:
    """A plain iterator over recorded chunk dicts, with no `close()` of its own: closing the proxy
    leaves it readable, as a socket-less iterator would be."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self._it = iter(chunks)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._it)


class _BrokenIter(_Chunks):
    """An iterator whose `__iter__` raises: `iter()` refuses it, its `__next__` still works."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        raise TypeError("this iterator cannot be re-iterated")


class _AsyncChunks:
    """A plain async iterator over recorded chunk dicts, with no `aclose()` of its own."""

    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self._it = iter(chunks)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        try:
            return next(self._it)
        except StopIteration:
            raise StopAsyncIteration from None


def test_sdk_stream_chunks_reach_the_caller_as_a_bare_loop_gets_them(tracer: SessionTracer) -> None:
    """An instrumented openai stream read by next() then a for loop gives the caller the bare stream's
    chunks in order, and records every one of them."""
    server = VendorServer().reply_stream("openai_chat", CHUNKS, repeat=True)
    bare = [
        c.model_dump()
        for c in openai_client(server).chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
    ]
    client = tk.instrument(openai_client(server))
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        got = [next(stream).model_dump(), next(stream).model_dump()]
        got.extend(c.model_dump() for c in stream)
        rec = only_record(trace)
    assert got == bare
    assert len(got) == len(CHUNKS)
    assert rec.timing is not None
    assert rec.timing.chunk_count == len(CHUNKS)
    assert (rec.outcome, rec.output_text) == ("success", "Hello! 👩\u200d💻 Coder here.")


def test_chunks_after_close_reach_the_caller_but_not_the_record(tracer: SessionTracer) -> None:
    """close() after two chunks ends the record with them; chunks still read from the stream after it
    reach the caller unchanged and are not added (strict: nothing raises)."""

    @tk.trace_llm_call(provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        return _Chunks(CHUNKS)

    with tracer.session() as trace:
        proxy = stream("gpt-4.1", HI)
        first = [next(proxy), next(proxy)]
        proxy.close()
        rest = list(proxy)
        rec = only_record(trace)
    assert first + rest == CHUNKS
    assert (rec.outcome, rec.output_text) == ("incomplete", "Hello")
    assert rec.timing is not None
    assert rec.timing.chunk_count == 2


def test_async_chunks_after_aclose_reach_the_caller_but_not_the_record(tracer: SessionTracer) -> None:
    """The async proxy: aclose() after two chunks ends the record with them; later chunks reach the
    caller and are not added."""

    @tk.trace_llm_call(provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        return _AsyncChunks(CHUNKS)

    async def run() -> list[Any]:
        proxy = stream("gpt-4.1", HI)
        got = [await proxy.__anext__(), await proxy.__anext__()]
        await proxy.aclose()
        got.extend([chunk async for chunk in proxy])
        return got

    with tracer.session() as trace:
        got = asyncio.run(run())
        rec = only_record(trace)
    assert got == CHUNKS
    assert (rec.outcome, rec.output_text) == ("incomplete", "Hello")
    assert rec.timing is not None
    assert rec.timing.chunk_count == 2


def test_an_iterator_iter_refuses_is_read_through_its_own_next(tracer: SessionTracer) -> None:
    """A returned iterator whose __iter__ raises is read through its own __next__: every chunk reaches
    the caller and the call is recorded as the stream it was."""

    @tk.trace_llm_call(provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        return _BrokenIter(CHUNKS)

    with tracer.session() as trace:
        got = list(stream("gpt-4.1", HI))
        rec = only_record(trace)
    assert got == CHUNKS
    assert (rec.outcome, rec.output_text, rec.finish_reason) == (
        "success",
        "Hello! 👩\u200d💻 Coder here.",
        "stop",
    )
    assert rec.timing is not None
    assert rec.timing.chunk_count == len(CHUNKS)


def test_a_chunk_the_strict_recorder_refuses_raises_from_next(tracer: SessionTracer) -> None:
    """Strict: a chunk whose `choices` is not an array raises RecordingError from next(), naming it;
    the chunk before it was handed over unchanged, and close() still records the call once."""
    bad = {**CHUNKS[1], "choices": "nope"}

    @tk.trace_llm_call(provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        return _Chunks([CHUNKS[0], bad, *CHUNKS[2:]])

    with tracer.session() as trace:
        proxy = stream("gpt-4.1", HI)
        assert next(proxy) == CHUNKS[0]
        with pytest.raises(RecordingError, match=r"^stream chunk 1: choices: expected an array"):
            next(proxy)
        proxy.close()
        del proxy
        gc.collect()
        rec = only_record(trace)
    assert rec.outcome == "incomplete"


def test_a_chunk_the_recorder_refuses_is_noted_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Not strict: the same chunk reaches the caller, the stream goes on, and the record carries the
    problem in its error (logged)."""
    bad = {**CHUNKS[1], "choices": "nope"}

    @tk.trace_llm_call(provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        return _Chunks([CHUNKS[0], bad, *CHUNKS[2:]])

    tracer = SessionTracer()
    with tracer.session() as trace:
        got = list(stream("gpt-4.1", HI))
        rec = only_record(trace)
    assert got == [CHUNKS[0], bad, *CHUNKS[2:]]
    assert rec.error is not None
    assert (rec.error["type"], rec.error["path"]) == ("malformed_payload", "chunks[1].choices")
    assert "unreadable stream chunk 1" in caplog.text

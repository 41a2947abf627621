"""A `for` loop over a traced stream reads it through the generator `StreamProxy.__iter__` returns:
the generator keeps the proxy alive while the loop runs, a loop broken out of records what arrived
exactly once, and a second loop over a consumed stream records nothing more."""

from __future__ import annotations

import gc
from typing import Any

from sdk_transport import VendorServer, openai_client
from trace_checks import load, only_record, records

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]
CHUNKS = load("openai_chat", "stream_text_usage")


def _client() -> Any:
    server = VendorServer().reply_stream("openai_chat", CHUNKS, repeat=True)
    return tk.instrument(openai_client(server))


def test_a_loop_over_an_unnamed_stream_records_every_chunk_once(tracer: SessionTracer) -> None:
    """A loop over the call's result with no name for the proxy (the loop's generator holds it) reads
    every chunk and records one successful call with all of them."""
    client = _client()
    with tracer.session() as trace:
        got = [
            c.model_dump() for c in client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        ]
        rec = only_record(trace)
    assert len(got) == len(CHUNKS)
    assert (rec.outcome, rec.output_text, rec.finish_reason) == (
        "success",
        "Hello! 👩\u200d💻 Coder here.",
        "stop",
    )
    assert rec.timing is not None
    assert rec.timing.chunk_count == len(CHUNKS)


def test_breaking_out_of_a_loop_over_an_unnamed_stream_records_what_arrived(tracer: SessionTracer) -> None:
    """Breaking out of a loop over the unnamed proxy after two chunks records one incomplete call
    with those two chunks as soon as the loop is left (the proxy was not dropped at the loop's start)."""
    client = _client()
    with tracer.session() as trace:
        for i, _ in enumerate(client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)):
            if i == 1:
                break
        gc.collect()
        rec = only_record(trace)
    assert (rec.outcome, rec.output_text) == ("incomplete", "Hello")
    assert rec.timing is not None
    assert rec.timing.chunk_count == 2


def test_a_named_stream_broken_out_of_is_recorded_when_dropped_not_before(tracer: SessionTracer) -> None:
    """Leaving a loop over a named proxy records nothing while the name holds it (the loop's generator
    dropped is no end of the stream); dropping it records one incomplete call with what arrived."""
    client = _client()
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        for i, _ in enumerate(stream):
            if i == 1:
                break
        gc.collect()
        assert records(trace) == []
        got = next(stream).model_dump()  # the proxy still reads on where the loop stopped
        assert got["choices"][0]["delta"]["content"] == CHUNKS[2]["choices"][0]["delta"]["content"]
        del stream
        gc.collect()
        rec = only_record(trace)
    assert (rec.outcome, rec.output_text) == ("incomplete", "Hello! 👩")
    assert rec.timing is not None
    assert rec.timing.chunk_count == 3


def test_a_second_loop_over_a_consumed_stream_yields_nothing_and_records_nothing(
    tracer: SessionTracer,
) -> None:
    """Looping again over a stream read to its end gives no chunks and leaves the one record as it was."""
    client = _client()
    with tracer.session() as trace:
        stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
        first = list(stream)
        again = list(stream)
        rec = only_record(trace)
    assert (len(first), again) == (len(CHUNKS), [])
    assert rec.timing is not None
    assert rec.timing.chunk_count == len(CHUNKS)

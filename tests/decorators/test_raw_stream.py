"""openai/anthropic SDK streams keep each chunk as its event's text (tracing/sse_tap.py) and fold it
where the record is finished: the record is exactly the one the SDK objects give (the tap switched
off), for every fixture stream, sync and async, through instrument(client) and @trace_llm_call;
the caller's chunks stay the SDK's own; streams cut short record once; a stream already started,
a stream helper's events and a non-SDK stream are handled as before."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hostile import exact
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sdk_transport import VendorServer, anthropic_client, openai_client
from trace_checks import comparable, load, only_record

import tracekit as tk
from tracekit.tracer import SessionTracer
from tracekit.tracing import sse_tap
from tracekit.tracing.llm_call import LLMCall

HI = [{"role": "user", "content": "hi"}]
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STREAMS = [
    (vendor, path.stem)
    for vendor in ("openai_chat", "openai_responses", "anthropic")
    for path in sorted((FIXTURES / vendor).glob("stream_*.json"))
]


@contextmanager
def tap_off() -> Iterator[None]:
    """The snapshot path: the tap's private switch off for the block."""
    sse_tap.ENABLED = False
    try:
        yield
    finally:
        sse_tap.ENABLED = True


def _client(vendor: str, server: VendorServer, is_async: bool) -> Any:
    if vendor == "anthropic":
        return anthropic_client(server, is_async=is_async)
    return openai_client(server, is_async=is_async)


def _create(vendor: str, client: Any) -> Any:
    """The SDK's streaming call for `vendor` (an awaitable for an async client)."""
    if vendor == "anthropic":
        return client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI, stream=True)
    if vendor == "openai_chat":
        return client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
    return client.responses.create(model="gpt-4.1", input="hi", stream=True)


def _call_of(stream: Any) -> LLMCall:
    call: LLMCall = object.__getattribute__(stream, "_tk_call")
    return call


def _read(vendor: str, name: str, how: str, is_async: bool) -> tuple[tk.LLMCallRecord, list[Any], bool]:
    """One fixture stream read to its end (an error mid-stream ends it): its record, the chunks the
    caller got, and whether the stream was tapped."""
    server = VendorServer().reply_stream(vendor, load(vendor, name))  # type: ignore[arg-type]
    client = _client(vendor, server, is_async)
    if how == "instrument":
        client = tk.instrument(client)
        opened: Any = lambda: _create(vendor, client)  # noqa: E731
    elif is_async:

        @tk.trace_llm_call(agent="raw")
        async def opened() -> Any:
            return await _create(vendor, client)

    else:

        @tk.trace_llm_call(agent="raw")
        def opened() -> Any:
            return _create(vendor, client)

    got: list[Any] = []
    tapped: list[bool] = []
    with SessionTracer().session() as trace:
        if is_async:

            async def run() -> None:
                stream = await opened()
                tapped.append(_call_of(stream)._raw is not None)
                try:
                    async for chunk in stream:
                        got.append(chunk)
                except Exception:  # an error event the SDK raises: the record says so
                    pass

            asyncio.run(run())
        else:
            stream = opened()
            tapped.append(_call_of(stream)._raw is not None)
            try:
                for chunk in stream:
                    got.append(chunk)
            except Exception:
                pass
            del stream
        return only_record(trace), got, tapped[0]


def _chunks(record: tk.LLMCallRecord) -> list[tuple[Any, ...]]:
    assert record.chunks is not None
    return [
        (c.sequence_index, c.event_type, c.choice_index, c.delta_text, c.raw, c.metadata)
        for c in record.chunks
    ]


def _same(record: tk.LLMCallRecord, expected: tk.LLMCallRecord) -> None:
    """The two records are exactly equal but for timing and identity: as JSON text, so key order,
    1 against 1.0 and -0.0 against 0.0 count (`exact` lets an int stand for an equal float)."""
    assert exact(comparable(record), comparable(expected))
    assert json.dumps(comparable(record), default=str) == json.dumps(comparable(expected), default=str)
    assert json.dumps(_chunks(record)) == json.dumps(_chunks(expected))
    assert record.timing is not None
    assert expected.timing is not None
    assert record.timing.chunk_count == expected.timing.chunk_count


def _mutate(obj: Any, depth: int = 0) -> None:
    """Overwrite every text and integer field of an SDK object tree and empty its lists."""
    if depth > 20:
        return
    for key, value in list(vars(obj).items()):
        if type(value) is str:
            obj.__dict__[key] = "MUTATED"
        elif type(value) is int:
            obj.__dict__[key] = 999
        elif isinstance(value, list):
            for item in value:
                if hasattr(item, "__pydantic_fields__"):
                    _mutate(item, depth + 1)
            value.clear()
        elif hasattr(value, "__pydantic_fields__"):
            _mutate(value, depth + 1)


@pytest.mark.parametrize("how", ["instrument", "decorator"])
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(("vendor", "name"), STREAMS)
def test_tapped_record_is_the_snapshot_record(vendor: str, name: str, is_async: bool, how: str) -> None:
    """Every openai/anthropic fixture stream is tapped and records exactly what the SDK objects
    give, and the caller gets the SDK's own chunk objects, equal to an untapped stream's."""
    record, got, tapped = _read(vendor, name, how, is_async)
    with tap_off():
        expected, expected_got, untapped = _read(vendor, name, how, is_async)
    assert tapped
    assert not untapped
    _same(record, expected)
    assert [type(c) for c in got] == [type(c) for c in expected_got]
    assert [c.model_dump() for c in got] == [c.model_dump() for c in expected_got]
    assert type(got[0]).__module__.partition(".")[0] in ("openai", "anthropic")


@pytest.mark.parametrize(("vendor", "name"), STREAMS)
def test_mutating_chunks_after_the_stream_leaves_the_record(vendor: str, name: str) -> None:
    """Chunk objects changed by the caller after the stream, before its event is first read, do not
    reach the record (it is folded from the events' texts)."""
    with tap_off():
        expected, _, _ = _read(vendor, name, "instrument", False)
    server = VendorServer().reply_stream(vendor, load(vendor, name))  # type: ignore[arg-type]
    client = tk.instrument(_client(vendor, server, False))
    with SessionTracer().session() as trace:
        got = []
        try:
            for chunk in _create(vendor, client):
                got.append(chunk)
        except Exception:
            pass
        for chunk in got:
            _mutate(chunk)
        record = only_record(trace)
    _same(record, expected)


def _cut(vendor: str, name: str, how: str) -> tk.LLMCallRecord:
    """A stream cut after two chunks by `how` (break + GC, close, an exception in a with block)."""
    server = VendorServer().reply_stream(vendor, load(vendor, name))  # type: ignore[arg-type]
    client = tk.instrument(_client(vendor, server, False))
    with SessionTracer().session() as trace:
        stream = _create(vendor, client)
        if how == "break":
            for i, _ in enumerate(stream):
                if i == 1:
                    break
            assert trace.event_history == []
            del stream
            gc.collect()
        elif how == "close":
            next(stream)
            next(stream)
            stream.close()
            stream.close()
        else:

            def leave_with_an_error() -> None:
                with stream:
                    next(stream)
                    next(stream)
                    raise KeyError("the caller's own")

            with pytest.raises(KeyError):
                leave_with_an_error()
            del stream
        gc.collect()
        return only_record(trace)


@pytest.mark.parametrize("how", ["break", "close", "raise"])
@pytest.mark.parametrize(("vendor", "name"), [STREAMS[0], STREAMS[-1], ("openai_responses", "stream_text")])
def test_cut_streams_record_once_as_before(vendor: str, name: str, how: str) -> None:
    """A tapped stream broken out of, closed or left by an exception records once what arrived,
    exactly as the snapshot path does."""
    record = _cut(vendor, name, how)
    with tap_off():
        expected = _cut(vendor, name, how)
    assert record.outcome == expected.outcome != "success"
    assert record.timing is not None
    assert record.timing.chunk_count == 2
    _same(record, expected)


def test_async_cancel_mid_stream_records_once() -> None:
    """A tapped async stream whose task is cancelled records one cancelled call with the chunk that
    arrived, as the snapshot path does."""

    def run_once() -> tk.LLMCallRecord:
        server = VendorServer().reply_stream("anthropic", load("anthropic", "stream_text"), delay_s=0.05)
        client = tk.instrument(anthropic_client(server, is_async=True))
        got_one = asyncio.Event()
        tapped: list[bool] = []

        async def consume() -> None:
            stream = await client.messages.create(model="claude-x", max_tokens=10, messages=HI, stream=True)
            tapped.append(_call_of(stream)._raw is not None)
            async for _ in stream:
                got_one.set()

        async def run() -> tk.SessionTrace:
            async with SessionTracer().session() as trace:
                task = asyncio.create_task(consume())
                await got_one.wait()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            return trace

        record = only_record(asyncio.run(run()))
        assert tapped == [sse_tap.ENABLED]
        return record

    record = run_once()
    with tap_off():
        expected = run_once()
    assert record.outcome == expected.outcome == "cancelled"
    assert record.timing is not None
    assert record.timing.chunk_count == 1
    _same(record, expected)


def test_a_started_stream_and_a_generator_take_the_snapshot_path() -> None:
    """An SDK stream whose iteration already started, and a generator of SDK chunks, are not tapped
    and record exactly as before."""
    chunks = load("openai_chat", "stream_text_usage")

    def run(started: bool) -> tk.LLMCallRecord:
        client = openai_client(VendorServer().reply_stream("openai_chat", chunks))

        @tk.trace_llm_call(agent="raw", provider="openai")
        def opened() -> Any:
            stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
            if started:
                next(stream)
                return stream
            return (chunk for chunk in list(stream))

        with SessionTracer().session() as trace:
            stream = opened()
            assert _call_of(stream)._raw is None
            assert len(list(stream)) == len(chunks) - started
            return only_record(trace)

    for started in (True, False):
        record = run(started)
        with tap_off():
            expected = run(started)
        _same(record, expected)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_stream_helpers_are_tapped_underneath(is_async: bool) -> None:
    """anthropic's messages.stream() and openai's chat.completions.stream() read the tapped raw
    stream: their text_stream and final message are the SDK's, the record the snapshot path's."""

    def run(vendor: str) -> tuple[tk.LLMCallRecord, str, Any, bool]:
        name = "stream_text" if vendor == "anthropic" else "stream_text_usage"
        server = VendorServer().reply_stream(vendor, load(vendor, name))  # type: ignore[arg-type]
        client = tk.instrument(_client(vendor, server, is_async))
        with SessionTracer().session() as trace:
            if vendor == "anthropic":
                manager = client.messages.stream(model="claude-x", max_tokens=10, messages=HI)
            else:
                manager = client.chat.completions.stream(model="gpt-4.1", messages=HI)
            if is_async:

                async def go() -> tuple[str, Any, bool]:
                    async with manager as stream:
                        tapped = _call_of(stream._raw_stream)._raw is not None
                        if vendor == "anthropic":
                            text = "".join([t async for t in stream.text_stream])
                            return text, await stream.get_final_message(), tapped
                        parts = [e.delta async for e in stream if e.type == "content.delta"]
                        return "".join(parts), await stream.get_final_completion(), tapped

                text, final, tapped = asyncio.run(go())
            else:
                with manager as stream:
                    tapped = _call_of(stream._raw_stream)._raw is not None
                    if vendor == "anthropic":
                        text = "".join(stream.text_stream)
                        final = stream.get_final_message()
                    else:
                        text = "".join(e.delta for e in stream if e.type == "content.delta")
                        final = stream.get_final_completion()
            return only_record(trace), text, final.model_dump(), tapped

    for vendor in ("anthropic", "openai_chat"):
        record, text, final, tapped = run(vendor)
        with tap_off():
            expected, expected_text, expected_final, untapped = run(vendor)
        assert tapped
        assert not untapped
        assert text == expected_text == record.output_text
        assert final == expected_final
        _same(record, expected)


NUMBERS = st.one_of(
    st.integers(-3, 3),
    st.integers(2**53, 2**64),
    st.floats(allow_nan=False, allow_infinity=False),
    st.just(-0.0),
    st.none(),
)
EXTRAS = st.dictionaries(
    st.sampled_from(["obfuscation", "zz", "aa"]), st.one_of(st.text(max_size=3), NUMBERS)
)


@settings(derandomize=True, max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    logprobs=st.lists(st.tuples(NUMBERS, NUMBERS), min_size=1, max_size=6),
    extras=st.lists(EXTRAS, max_size=6),
)
def test_numbers_and_unknown_fields_fold_exactly(
    logprobs: list[tuple[Any, Any]], extras: list[dict[str, Any]]
) -> None:
    """Chunks whose float fields carry ints (small, beyond a float's precision), -0.0, nulls, and
    fields the SDK's model does not declare record from the text exactly as from the SDK objects
    (types, key order and the SDK's int-to-float rule included)."""
    base = load("openai_chat", "stream_text_usage")
    chunks = []
    for i, chunk in enumerate(base):
        chunk = {**chunk, **(extras[i] if i < len(extras) else {})}
        if chunk["choices"] and i <= len(logprobs):
            first, top = logprobs[i - 1]
            choice = dict(chunk["choices"][0])
            choice["logprobs"] = {
                "content": [
                    {
                        "token": "t",
                        "logprob": first,
                        "bytes": None,
                        "top_logprobs": [{"token": "t", "logprob": top, "bytes": [116], "extra": top}],
                    }
                ],
                "refusal": None,
            }
            chunk["choices"] = [choice]
        chunks.append(chunk)

    def run() -> tk.LLMCallRecord:
        client = tk.instrument(openai_client(VendorServer().reply_stream("openai_chat", chunks)))
        with SessionTracer().session() as trace:
            for _ in client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
                pass
            return only_record(trace)

    record = run()
    with tap_off():
        expected = run()
    _same(record, expected)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_live_subscribers_get_the_chunks_usage_as_before(is_async: bool) -> None:
    """With a live subscriber a tapped stream still publishes each chunk's usage as it arrives
    (from the SDK's chunk object), the same events as the snapshot path."""

    def run() -> list[tuple[Any, ...]]:
        chunks = load("openai_chat", "stream_text_usage")
        client = tk.instrument(
            openai_client(VendorServer().reply_stream("openai_chat", chunks), is_async=is_async)
        )
        tracer = SessionTracer()
        got: list[dict[str, Any]] = []
        with tracer.subscribe(got.append, kinds={"token_usage", "llm_call_end"}), tracer.session():
            if is_async:

                async def go() -> bool:
                    stream = await client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
                    async for _ in stream:
                        pass
                    return _call_of(stream)._raw is not None

                tapped = asyncio.run(go())
            else:
                stream = client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
                for _ in stream:
                    pass
                tapped = _call_of(stream)._raw is not None
        assert tapped is sse_tap.ENABLED
        keys = ("kind", "partial", "raw_usage", "input_tokens", "output_tokens")
        return [tuple(event.get(key) for key in keys) for event in got]

    events = run()
    with tap_off():
        expected = run()
    assert events == expected
    assert [e[0] for e in events] == ["token_usage", "llm_call_end", "token_usage"]
    assert events[0][1] is True

"""Keep a streamed chunk as the vendor's own bytes: the text of the server-sent event the SDK built
it from, and its arrival, two appends per chunk (a str is immutable: mutation-safe by construction,
and nothing the cyclic GC tracks). The fold into the call's record happens where the record is
finished (sse_fold.py rebuilds each chunk exactly as its SDK object reads).

The official openai and anthropic SDKs (Stainless) build each chunk of a `Stream`/`AsyncStream`
from one event read from `self._decoder.iter_bytes(...)` (`aiter_bytes`), and make that iterator
when iteration starts. A stream not started yet gets a thin decoder of its own (`SSETap`) that
hands on every event unchanged and remembers the text of the last one: the SDK reads exactly one
event per chunk it yields, so that text is the chunk's. A chunk whose event the tap did not see (a
stream whose iteration had already started) or that the SDK builds from more than the text
(openai's assistant `thread.*` events) is recorded from its SDK object, as without the tap.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from tracekit.tracing.sse_fold import ChunkKind, chunk_kind, rebuild

__all__ = ["RawChunks", "SSETap", "tap_stream"]

_STAINLESS_STREAMS = frozenset(
    (
        ("openai", "Stream"),
        ("openai", "AsyncStream"),
        ("anthropic", "Stream"),
        ("anthropic", "AsyncStream"),
    )
)
"""The SDK stream classes (package, name) whose chunks are built one per event from its data (the
SDKs report `openai.Stream` for `openai._streaming.Stream`: the package is what is compared)."""

_STAINLESS_TYPES: dict[type, bool] = {}
"""Per stream class: whether it is (or subclasses) one of _STAINLESS_STREAMS (decided once)."""

ENABLED = True
"""Private switch (tests and benchmarks compare against the snapshot path with it off)."""


class SSETap:
    """The SDK's own SSE decoder, every event handed on unchanged; `data` is the text of the last
    event read (None for one the SDK builds from more than its text), cleared by the reader."""

    __slots__ = ("_decoder", "data")

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder
        self.data: str | None = None

    def iter_bytes(self, iterator: Iterator[bytes]) -> Iterator[Any]:
        """The decoder's events, each one's text noted as it passes."""
        for sse in self._decoder.iter_bytes(iterator):
            event = sse.event
            self.data = None if event is not None and event.startswith("thread.") else sse.data
            yield sse

    async def aiter_bytes(self, iterator: AsyncIterator[bytes]) -> AsyncIterator[Any]:
        """The decoder's events, each one's text noted as it passes (async)."""
        async for sse in self._decoder.aiter_bytes(iterator):
            event = sse.event
            self.data = None if event is not None and event.startswith("thread.") else sse.data
            yield sse

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._decoder, name)


class RawChunks:
    """A tapped stream's chunks as taken: their events' texts and their arrivals (perf_counter s),
    folded into the recorder (`add`) in arrival order by `fold()`."""

    __slots__ = ("_add", "_build", "_kind", "ats", "tap", "texts")

    def __init__(
        self, tap: SSETap, kind: ChunkKind, build: Callable[[Any], Any], add: Callable[[Any, float], None]
    ) -> None:
        self.tap = tap
        self._kind = kind
        self._build = build
        self._add = add
        self.texts: list[str] = []
        self.ats: list[float] = []

    def take(self, chunk: Any, at: float) -> None:
        """The per-chunk step: the text of the event the chunk was built from, and its arrival; a
        chunk the tap has no text for is folded at once from its SDK object, after those before it."""
        tap = self.tap
        text = tap.data
        if text is not None:
            tap.data = None
            self.texts.append(text)
            self.ats.append(at)
        else:
            self.fold()
            self._add(chunk, at)

    def fold(self) -> None:
        """Hand every chunk taken so far to the recorder, in order: the dict its SDK object reads
        as, or the SDK object itself where only the SDK can build it exactly."""
        texts, ats = self.texts, self.ats
        count = len(texts)
        if not count:
            return
        kind, build, add = self._kind, self._build, self._add
        try:
            for text, at in zip(texts[:count], ats[:count], strict=True):
                add(rebuild(kind, text, build)[1], at)
        finally:  # emptied in place: a proxy's loop holds the lists' `append`
            del texts[:count]
            del ats[:count]


def _unstarted(stream: Any) -> bool:
    """Whether the SDK stream has not read its first event yet (its decoder not yet asked)."""
    state = vars(stream)
    if "_iterator" not in state:  # anthropic: made on first use
        return True
    iterator = state["_iterator"]
    if inspect.isgenerator(iterator):
        return inspect.getgeneratorstate(iterator) == inspect.GEN_CREATED
    if inspect.isasyncgen(iterator):  # a started one holds the old decoder: the tap sees nothing
        return not iterator.ag_running
    return False


def tap_stream(stream: Any, add: Callable[[Any, float], None], is_async: bool) -> RawChunks | None:
    """Put an SSETap under an openai/anthropic SDK stream that has not started, and return what
    keeps its chunks (`add` is the recorder's, for the fold); None, leaving the stream untouched,
    for any other object or a stream the tap cannot read exactly."""
    if not ENABLED:
        return None
    cls = type(stream)
    stainless = _STAINLESS_TYPES.get(cls)
    if stainless is None:
        stainless = _STAINLESS_TYPES[cls] = any(
            (str(getattr(base, "__module__", "")).partition(".")[0], base.__name__) in _STAINLESS_STREAMS
            for base in cls.__mro__
        )
    if not stainless:
        return None
    try:
        state = vars(stream)
        decoder = state.get("_decoder")
        if decoder is None or type(decoder) is SSETap:
            return None
        if not callable(getattr(decoder, "aiter_bytes" if is_async else "iter_bytes", None)):
            return None
        options = state.get("_options")
        if options is not None and getattr(options, "synthesize_event_and_data", False):
            return None  # chunks built from {"data": ..., "event": ...}, not from the text alone
        process = stream._client._process_response_data
        cast_to = stream._cast_to
        response = stream.response
        if not callable(process) or not _unstarted(stream):
            return None
        kind = chunk_kind(cast_to)
        if kind is None:
            return None
    except Exception:  # an SDK object unlike the one this module knows: left as it is
        return None

    def build(data: Any) -> Any:
        """The chunk the SDK builds from parsed event data (its own function, the same inputs)."""
        return process(data=data, cast_to=cast_to, response=response)

    tap = SSETap(decoder)
    stream._decoder = tap
    return RawChunks(tap, kind, build, add)

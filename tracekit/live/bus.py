"""The live event bus: what a tracer records, delivered as it happens to subscribers and sinks.

    sub = tracer.subscribe(print, kinds={"token_usage", "tool_end"})   # a thread delivers
    async for ev in tracer.events(): ...                                # or an async iterator
    with tracer.subscribe(tk.NDJSONSink("events.ndjson")): ...          # one JSON object a line

Events are small dicts: `kind` (one of EVENT_KINDS), `seq` (this tracer's order), `t` (Unix
seconds), `session_id`, then the kind's fields. Publishing never blocks the agent: each
subscriber has its own bounded buffer drained by its own thread (within ~5 ms) or by its async
iterator; when it is full the event is dropped for that subscriber and counted, and the
subscriber receives an `events_dropped` event with the count where the loss happened. With no
subscriber, publishing is a single attribute check.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Any

from tracekit.errors import InvalidArgumentError
from tracekit.live.sink import NDJSONSink

__all__ = ["EVENT_KINDS", "Event", "EventBus", "LiveEvents", "Subscription"]

log = logging.getLogger(__name__)

EVENT_KINDS: tuple[str, ...] = (
    "session_start",
    "session_end",
    "timestep_start",
    "timestep_end",
    "llm_call_start",
    "llm_call_end",
    "token_usage",
    "tool_start",
    "tool_end",
    "events_dropped",
)
"""Every `kind` an event can have. `events_dropped` is per subscriber and always delivered."""

Event = dict[str, Any]
_STOP: Any = object()
_DROPPED: Any = object()
_POLL_S = 0.005  # how often an idle subscriber thread looks for new events


def _kinds(kinds: Iterable[str] | None) -> frozenset[str] | None:
    if kinds is None:
        return None
    if isinstance(kinds, str):
        raise InvalidArgumentError(f"kinds={kinds!r} is one string; pass a collection such as {{{kinds!r}}}")
    names = list(kinds) if isinstance(kinds, Iterable) else [kinds]
    if not isinstance(kinds, Iterable) or not all(isinstance(name, str) for name in names):
        raise InvalidArgumentError(f"kinds must be a collection of event kind names, got {kinds!r:.60}")
    chosen = frozenset(names)
    unknown = sorted(str(k) for k in chosen - set(EVENT_KINDS))
    if unknown:
        raise InvalidArgumentError(f"unknown event kind(s) {unknown}; use some of {', '.join(EVENT_KINDS)}")
    return chosen | {"events_dropped"}


def _buffer(buffer: int) -> int:
    if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
        raise InvalidArgumentError(f"buffer must be an int of at least 1 (events), got {buffer!r}")
    return buffer


class _Sink:
    """What the bus puts events into: a bounded buffer that counts what it had to drop.

    On the first drop since the reader last caught up, a marker takes the place of the dropped
    events in the buffer (one slot past the bound); the reader turns it into an `events_dropped`
    event carrying how many were dropped by then, so the report sits where the loss happened.
    """

    __slots__ = ("__weakref__", "_buf", "_marked", "dropped", "kinds", "maxsize")

    def __init__(self, kinds: frozenset[str] | None, maxsize: int) -> None:
        self.kinds = kinds
        self.maxsize = maxsize
        self.dropped = 0
        self._marked = False
        self._buf: deque[Any] = deque()

    def put(self, event: Event) -> None:
        buf = self._buf
        if len(buf) >= self.maxsize:
            self.dropped += 1
            if not self._marked:
                self._marked = True
                buf.append(_DROPPED)
            return
        buf.append(event)

    def stop(self) -> None:
        self._buf.append(_STOP)

    def _drop_notice(self, reported: int) -> Event | None:
        """The events_dropped event for drops since `reported`, or None when there were none."""
        self._marked = False
        count = self.dropped - reported
        if count <= 0:
            return None
        return {
            "kind": "events_dropped",
            "seq": None,
            "t": time.time(),
            "session_id": None,
            "count": count,
            "total": reported + count,
        }


class Subscription(_Sink):
    """A callback subscribed to a tracer's events, called in order on its own daemon thread, which
    checks the buffer every few milliseconds (publishing wakes no thread: it stays cheap).

    `close()` (or leaving `with`) delivers what is buffered, stops the thread and, when the
    callback is an NDJSONSink, closes it. `dropped` counts events that did not fit the buffer.
    """

    __slots__ = ("_bus", "_stopping", "_thread", "callback", "closed", "delivered")

    def __init__(
        self, bus: EventBus, callback: Callable[[Event], Any], kinds: frozenset[str] | None, maxsize: int
    ) -> None:
        super().__init__(kinds, maxsize)
        self._bus = bus
        self.callback = callback
        self.closed = False
        self.delivered = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tracekit-subscriber", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"Subscription({self.callback!r}, delivered={self.delivered}, dropped={self.dropped})"

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def stop(self) -> None:
        self._stopping.set()

    def close(self, timeout: float | None = 10.0) -> None:
        """Unsubscribe, deliver what is buffered (at most `timeout` s), stop the thread."""
        if self.closed:
            return
        self.closed = True
        self._bus.unsubscribe(self)
        self.stop()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if isinstance(self.callback, NDJSONSink):
            self.callback.close()

    def _run(self) -> None:
        reported = 0
        buf, callback, stopping = self._buf, self.callback, self._stopping
        while True:
            if not buf:
                if stopping.is_set():
                    break
                stopping.wait(_POLL_S)
                continue
            event = buf.popleft()
            if event is _DROPPED:
                notice = self._drop_notice(reported)
                if notice is not None:
                    reported = notice["total"]
                    self._call(callback, notice)
                continue
            try:
                callback(event)
                self.delivered += 1
            except Exception:
                log.exception(
                    "tracekit event subscriber %r failed on a %s event", callback, event.get("kind")
                )
        notice = self._drop_notice(reported)
        if notice is not None:
            self._call(callback, notice)

    def _call(self, callback: Callable[[Event], Any], event: Event) -> None:
        try:
            callback(event)
            self.delivered += 1
        except Exception:
            log.exception("tracekit event subscriber %r failed on a %s event", callback, event.get("kind"))


class LiveEvents(_Sink):
    """`async for ev in tracer.events()`: events in order, from a bounded buffer; ends when the
    tracer closes or `aclose()` is called (the `async for` loop's break does it too)."""

    __slots__ = ("_bus", "_done", "_reported", "_waiter")

    def __init__(self, bus: EventBus, kinds: frozenset[str] | None, maxsize: int) -> None:
        super().__init__(kinds, maxsize)
        self._bus = bus
        self._waiter: asyncio.Future[None] | None = None
        self._done = False
        self._reported = 0

    def put(self, event: Event) -> None:
        buf = self._buf
        if len(buf) >= self.maxsize:
            self.dropped += 1
            if not self._marked:
                self._marked = True
                buf.append(_DROPPED)
        else:
            buf.append(event)
        if self._waiter is not None:
            self._wake()

    def stop(self) -> None:
        self._buf.append(_STOP)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is None:
            return
        self._waiter = None
        loop = waiter.get_loop()
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            loop.call_soon(_wake, waiter)
        else:
            loop.call_soon_threadsafe(_wake, waiter)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        buf = self._buf
        while True:
            if self._done:
                raise StopAsyncIteration
            if buf:
                event = buf.popleft()
                if event is _STOP:
                    self._done = True
                    notice = self._drop_notice(self._reported)
                    if notice is not None:
                        self._reported = notice["total"]
                        return notice
                    raise StopAsyncIteration
                if event is _DROPPED:
                    notice = self._drop_notice(self._reported)
                    if notice is None:
                        continue
                    self._reported = notice["total"]
                    return notice
                return event  # type: ignore[no-any-return]
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            if buf:  # an event arrived between the check and setting the waiter
                self._waiter = None
                continue
            await waiter

    async def aclose(self) -> None:
        """Stop receiving events (buffered ones are discarded)."""
        self._done = True
        self._bus.unsubscribe(self)
        self._buf.clear()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class EventBus:
    """Hands each published event to every subscriber that wants its kind (never blocks)."""

    __slots__ = ("_lock", "active", "next_seq", "subscribers")

    def __init__(self) -> None:
        self.subscribers: tuple[_Sink, ...] = ()
        self.active = False
        """True while anything is subscribed: the one check publishers make first."""
        self._lock = threading.Lock()
        self.next_seq = itertools.count().__next__
        """The next event's `seq` (atomic under the GIL)."""

    def subscribe(
        self, callback: Callable[[Event], Any], kinds: Iterable[str] | None = None, *, buffer: int = 10_000
    ) -> Subscription:
        """Call `callback(event)` for each event (of `kinds`, default all) on a delivery thread."""
        if not callable(callback):
            raise InvalidArgumentError(
                f"subscribe() needs a callable taking one event dict, got {callback!r}"
            )
        sub = Subscription(self, callback, _kinds(kinds), _buffer(buffer))
        self._add(sub)
        return sub

    def events(self, kinds: Iterable[str] | None = None, *, buffer: int = 10_000) -> LiveEvents:
        """An async iterator over events published from now on (of `kinds`, default all)."""
        sink = LiveEvents(self, _kinds(kinds), _buffer(buffer))
        self._add(sink)
        return sink

    def _add(self, sink: _Sink) -> None:
        with self._lock:
            self.subscribers = (*self.subscribers, sink)
            self.active = True

    def unsubscribe(self, sink: _Sink) -> None:
        """Stop publishing to `sink` (no error when it is not subscribed)."""
        with self._lock:
            self.subscribers = tuple(s for s in self.subscribers if s is not sink)
            self.active = bool(self.subscribers)

    @property
    def dropped(self) -> int:
        """Events dropped so far by the current subscribers (full buffers)."""
        return sum(s.dropped for s in self.subscribers)

    def publish(self, event: Event) -> None:
        """Give one event (a fresh dict: kind, seq from `next_seq()`, t, session_id, fields) to the
        subscribers that want its kind; call only when `active`."""
        kind = event["kind"]
        for sink in self.subscribers:
            kinds = sink.kinds
            if kinds is None or kind in kinds:
                sink.put(event)

    def close(self, timeout: float | None = 10.0) -> None:
        """Deliver what subscribers have buffered and end every subscription and async iterator."""
        for sink in self.subscribers:
            if isinstance(sink, Subscription):
                sink.close(timeout)
            else:
                sink.stop()
                self.unsubscribe(sink)

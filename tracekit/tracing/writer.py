"""The tracer's background writer: finished sessions go to the store without the agent waiting.

One daemon thread with its own event loop takes traces from a bounded queue every `poll_s`
(50 ms; at once on flush) and saves them in batches through the store's atomic `save_sessions`;
ending a session only appends to the queue and wakes nothing. The store retries connection
failures with backoff and then spools; the writer then replays the spool every few seconds
(backing off) until the store is back, and at start. Traces carry their rewards and experiment link inside
`session_metadata`, so a spooled trace loses neither: the store saves them (once, by key) in the
trace's own atomic batch, on the first save and on a replay alike.

Queue policy when full: the producer blocks up to `block_s` for room, then writes the trace to
the store's spool itself (replayed later) — a trace is never dropped. At interpreter exit
pending traces are saved within `exit_timeout_s`, and whatever is left is spooled.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Coroutine, Mapping

# Imported for its side effect: it registers its exit hook now, so ours (registered later) runs first.
from concurrent.futures import thread as _futures_thread  # noqa: F401 - see the comment above
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tracekit.errors import StoreConnectionError, StoreError
from tracekit.model import SessionTrace
from tracekit.store.manager import TursoManager
from tracekit.tracing.hooks import Hooks

__all__ = ["FlushResult", "TraceWriter"]

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True, frozen=True)
class FlushResult:
    """What the writer did with the traces handed to it since the previous flush report.

    written: saved to the database; spooled: kept in the local spool for a later replay;
    failed: refused by the store as invalid data (`errors` maps session_id -> why);
    replayed: spooled traces saved since; pending: still queued or being saved at the timeout.
    """

    written: int = 0
    spooled: int = 0
    failed: int = 0
    replayed: int = 0
    pending: int = 0
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing is left pending."""
        return self.failed == 0 and self.pending == 0


class _Marker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class _Handoff:
    """A bounded FIFO from producers to the writer that does not wake the writer on put.

    The writer takes what is there every `poll_s` (or at once when flush, close or a full queue
    sets `wake`): ending a session only appends, so it never hands the CPU and the GIL to the
    writer thread at that moment (on a busy machine that wake-up alone cost the caller ~2 ms).
    """

    def __init__(self, maxsize: int, poll_s: float) -> None:
        self.maxsize = maxsize
        self.poll_s = poll_s
        self.wake = threading.Event()
        self._items: deque[Any] = deque()
        self._room = threading.Condition()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: SessionTrace, timeout: float) -> bool:
        """Append `item`; when full, wait up to `timeout` for room. False if there was none."""
        with self._room:
            if len(self._items) < self.maxsize:
                self._items.append(item)
                return True
        self.wake.set()
        deadline = time.monotonic() + timeout
        with self._room:
            while len(self._items) >= self.maxsize:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._room.wait(remaining)
            self._items.append(item)
            return True

    def put_control(self, item: Any) -> None:
        """Append a flush marker or the stop signal (never refused) and wake the writer."""
        with self._room:
            self._items.append(item)
        self.wake.set()

    def take(self, limit: int) -> list[Any]:
        """Up to `limit` traces, ending early after a control item; waits up to poll_s when empty."""
        if not self._items:
            self.wake.wait(self.poll_s)
        self.wake.clear()
        out: list[Any] = []
        with self._room:
            while self._items and len(out) < limit:
                item = self._items.popleft()
                out.append(item)
                if not isinstance(item, SessionTrace):
                    break
            self._room.notify_all()
        return out

    def drain(self) -> list[Any]:
        """Everything still queued, removed."""
        with self._room:
            items = list(self._items)
            self._items.clear()
            self._room.notify_all()
        return items


class TraceWriter:
    """Saves finished traces to `store` on a background thread; see the module doc for the policy."""

    def __init__(
        self,
        store: TursoManager,
        hooks: Hooks,
        *,
        queue_size: int = 10_000,
        block_s: float = 0.25,
        max_batch: int = 64,
        poll_s: float = 0.05,
        replay_interval_s: float = 1.0,
        max_replay_interval_s: float = 30.0,
        exit_timeout_s: float = 10.0,
    ) -> None:
        self.store = store
        self._hooks = hooks
        self._handoff = _Handoff(queue_size, poll_s)
        self._block_s = block_s
        self._max_batch = max_batch
        self._replay_interval_s = replay_interval_s
        self._max_replay_interval_s = max_replay_interval_s
        self._backoff_s = replay_interval_s
        self._next_replay_at = 0.0
        self.exit_timeout_s = exit_timeout_s
        self._lock = threading.Lock()
        self._counts = {"written": 0, "spooled": 0, "failed": 0, "replayed": 0}
        self._reported = dict(self._counts)
        self._errors: dict[str, str] = {}
        self._outstanding = 0
        self._inflight: list[SessionTrace] = []
        self._replay_pending = True  # check the spool once at start
        self._closed = False
        self._opened = False
        self._loop: asyncio.AbstractEventLoop | None = None
        store.on_replay(self._on_replayed)
        store.background_replay = False  # its loop runs only while this writer works: replay on our timer
        self._thread = threading.Thread(target=self._main, name="tracekit-writer", daemon=True)
        self._thread.start()
        _register_exit(self)

    # -- caller side ----------------------------------------------------------------------------

    def submit(self, trace: SessionTrace) -> None:
        """Hand a finished trace over: queued at once, or after up to block_s, or else spooled here."""
        if not self._closed:
            with self._lock:
                self._outstanding += 1
            if self._handoff.put(trace, self._block_s):
                return
            log.warning(
                "tracekit writer queue full (%d traces) for %.2fs; spooling session %r to %s",
                self._handoff.maxsize,
                self._block_s,
                trace.session_id,
                self.store.spool.path if self.store.spool else "nowhere (the store has no spool)",
            )
            with self._lock:
                self._outstanding -= 1
        self._spool_here(trace)

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Wait until every trace submitted before this call is saved or spooled (and async hooks
        have run), at most `timeout` seconds; report what happened since the previous report."""
        deadline = None if timeout is None else time.monotonic() + timeout
        on_writer = threading.current_thread() is self._thread  # from a save hook: do not wait on itself
        if self._thread.is_alive() and not self._closed and not on_writer:
            marker = _Marker()
            self._handoff.put_control(marker)
            marker.done.wait(_remaining(deadline))
        self._hooks.wait(_remaining(deadline))
        return self._report()

    def close(self, timeout: float | None = None) -> FlushResult:
        """Flush, stop the thread and close the store; what is still unsaved at the timeout is spooled."""
        if self._closed:
            return self._report()
        result = self.flush(timeout)
        self._closed = True
        leftovers: list[SessionTrace] = []
        if result.pending:  # the writer is stuck: spool what it has not confirmed (saves are idempotent)
            leftovers = [item for item in self._handoff.drain() if isinstance(item, SessionTrace)]
            with self._lock:
                leftovers.extend(self._inflight)
                self._outstanding -= len(leftovers)
            for trace in leftovers:
                self._spool_here(trace)
        self._handoff.put_control(_STOP)
        self._thread.join(timeout if not result.pending else 0.1)
        return _merge(result, self._report()) if leftovers else result

    def _report(self) -> FlushResult:
        with self._lock:
            delta = {name: self._counts[name] - self._reported[name] for name in self._counts}
            self._reported = dict(self._counts)
            errors, self._errors = self._errors, {}
            pending = max(self._outstanding, 0)
        return FlushResult(pending=pending, errors=errors, **delta)

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _done(self, n: int) -> None:
        with self._lock:
            self._outstanding -= n

    def _spool_here(self, trace: SessionTrace, *, count: bool = True) -> None:
        """Write one trace to the store's spool from the calling thread (never drops it)."""
        spool = self.store.spool
        if spool is None:  # ':memory:' has no spool: nothing outlives the process anyway
            self._fail(
                trace,
                StoreError(
                    f"session {trace.session_id!r} could not be saved and {self.store.url} has no spool"
                ),
            )
            return
        try:
            spool.append([trace.to_json()])
        except Exception as exc:
            log.exception("session %r could not be spooled to %s", trace.session_id, spool.path)
            self._fail(trace, exc)
            return
        self._replay_pending = True
        if count:
            self._count("spooled")
            self._hooks.emit("after_save", trace, "spooled")

    def _fail(self, trace: SessionTrace, exc: BaseException) -> None:
        with self._lock:
            self._counts["failed"] += 1
            self._errors[trace.session_id] = f"{type(exc).__name__}: {exc}"
        self._hooks.emit("after_save", trace, "failed")

    # -- writer thread --------------------------------------------------------------------------

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._run(self._replay())
            while self._step():
                pass
        finally:
            with contextlib.suppress(Exception):
                self._run(self.store.close())
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return self._loop.run_until_complete(coro)

    def _step(self) -> bool:
        """Take the next batch (up to a flush marker) and handle it; False to stop."""
        items = self._handoff.take(self._max_batch)
        if not items:
            if self._replay_pending and time.monotonic() >= self._next_replay_at:
                self._run(self._replay())
            return True
        item = items[-1]
        batch = [trace for trace in items if isinstance(trace, SessionTrace)]
        if batch:
            with self._lock:
                self._inflight = batch
            try:
                self._run(self._save(batch))
            except Exception:
                log.exception("tracekit writer: unexpected error saving %d session(s)", len(batch))
                for trace in batch:
                    self._spool_here(trace)
                self._done(len(batch))
            with self._lock:
                self._inflight = []
        if isinstance(item, _Marker):
            if self._replay_pending:
                self._run(self._replay())
            item.done.set()
        return item is not _STOP

    async def _save(self, batch: list[SessionTrace]) -> None:
        if not self._opened:
            await self._replay()  # open here, so a spool left from before is reconciled first
        for trace in batch:
            self._hooks.emit("before_save", trace)
        await self._store(batch)

    async def _store(self, batch: list[SessionTrace]) -> None:
        try:
            outcome = await self.store.save_sessions(batch)
        except Exception as exc:
            if len(batch) > 1:  # find the bad trace(s); the rest still go in
                for trace in batch:
                    await self._store([trace])
                return
            trace = batch[0]
            if isinstance(exc, ValueError):
                log.error("session %r cannot be stored and is not saved: %s", trace.session_id, exc)
                self._fail(trace, exc)
            else:
                log.error("saving session %r failed (%s); spooling it", trace.session_id, exc)
                self._spool_here(trace)
            self._done(1)
            return
        if outcome == "spooled":
            self._replay_pending = True
            self._count("spooled", len(batch))
            self._done(len(batch))
            for trace in batch:
                self._hooks.emit("after_save", trace, "spooled")
            return
        self._count("written", len(batch))
        self._done(len(batch))
        for trace in batch:
            self._hooks.emit("after_save", trace, "saved")
        if self._replay_pending:
            await self._replay()

    async def _replay(self) -> None:
        """Open the store and save what the spool holds, then apply those traces' rewards/links."""
        try:
            await self.store.open()  # replays the spool itself the first time
            self._opened = True
            if await asyncio.to_thread(_spooled_sessions, self.store):
                await self.store.replay_spool()
            after = await asyncio.to_thread(_spooled_sessions, self.store)
        except StoreConnectionError as exc:
            self._back_off()
            log.info("store still unreachable (%s); next replay attempt in %.1fs", exc, self._backoff_s)
            return
        except Exception:
            log.exception("tracekit writer: replaying the spool of %s failed", self.store.url)
            self._back_off()
            return
        if after:
            self._back_off()
        else:
            self._replay_pending = False
            self._backoff_s = self._replay_interval_s

    async def _on_replayed(self, traces: list[SessionTrace]) -> None:
        """The store replayed spooled traces (on open, on replay_spool, or in the background when
        its breaker closed), their rewards and experiment links with them: count them."""
        self._count("replayed", len({trace.session_id for trace in traces}))

    def _back_off(self) -> None:
        self._next_replay_at = time.monotonic() + self._backoff_s
        self._backoff_s = min(self._backoff_s * 2, self._max_replay_interval_s)


def _spooled_sessions(store: TursoManager) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]] | None]]:
    """session_id -> (metadata, session_metadata) of every trace in the store's spool."""
    out: dict[str, tuple[dict[str, Any], list[dict[str, Any]] | None]] = {}
    if store.spool is None:
        return out
    for entry in store.spool.read().entries:
        try:
            data = json.loads(entry.trace_json)
            out[str(data["session_id"])] = (data.get("metadata") or {}, data.get("session_metadata"))
        except (ValueError, KeyError, TypeError):
            continue  # not a trace; the store's replay reports it
    return out


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _merge(first: FlushResult, second: FlushResult) -> FlushResult:
    return FlushResult(
        written=first.written + second.written,
        spooled=first.spooled + second.spooled,
        failed=first.failed + second.failed,
        replayed=first.replayed + second.replayed,
        pending=second.pending,
        errors={**first.errors, **second.errors},
    )


def _register_exit(writer: TraceWriter) -> None:
    """Close `writer` at interpreter exit, before concurrent.futures stops accepting work.

    threading._register_atexit callbacks run (newest first) before the executors that
    asyncio.to_thread and the file: backend use are shut down; plain atexit runs after, when a
    save could only be spooled. Fall back to atexit where the private hook is missing.
    """
    ref = weakref.ref(writer)

    def at_exit() -> None:
        live = ref()
        if live is not None:
            live.close(live.exit_timeout_s)

    register = getattr(threading, "_register_atexit", None)
    try:
        if register is None:
            raise RuntimeError("threading._register_atexit is not available")
        register(at_exit)
    except RuntimeError:
        atexit.register(at_exit)

"""TursoManager: save, read back, query and roll up traces in Turso/libSQL (async).

    db = TursoManager("file:traces.db")          # or http(s)://, ws(s)://, libsql:// + token
    async with db:
        await db.save_session(trace)
        assert await db.get_session(trace.session_id) == trace

Saving is idempotent: a session saved again replaces its stored trace (one copy); of two
different traces with the same session_id, the one saved later wins. Rewards and experiment
links belong to the session id and survive a re-save. Each save is one atomic batch.

Saves never drop data silently: connection failures are retried with backoff, then the trace is
appended to a local spool file (see spool.py) and replayed by `replay_spool()` and on the next
successful open. Errors in the data itself (a NaN, an int beyond 64 bits) raise at once.

Against a server, a failure that is not just another writer holding the lock trips a circuit
breaker (breaker.py): later saves go straight to the spool, without waiting, until a cheap probe
sees the server answer; the spool is then replayed in the background. A write that lost the lock
to another writer (SQLITE_BUSY, sqld's TRANSACTION_TIMEOUT) is retried after a jittered pause for
up to `timeout_s`. Batches to a server are kept under `max_batch_bytes` (a batch still writing
after sqld's 5 s transaction limit is rolled back), and at most `max_inflight_saves` saves of one
manager are in flight at once.

A manager belongs to the event loop it first ran on; SyncTursoManager (sync.py) wraps one for
plain scripts and notebooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
import typing
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from tracekit import codec
from tracekit.analysis.aggregates import AggregateResult, GroupBy
from tracekit.errors import (
    InvalidArgumentError,
    NotFoundError,
    StoreConnectionError,
    StoreError,
    TracekitError,
)
from tracekit.model import LLMCallRecord, SessionTrace, is_valid_unicode
from tracekit.store import annotate, arguments, migrations, rollup, schema, writer
from tracekit.store.breaker import CircuitBreaker
from tracekit.store.carried import carried_statements
from tracekit.store.joined import Joiner, Waiting
from tracekit.store.libsql import Database, Result, Statement, StatementRows, is_busy, request_bytes
from tracekit.store.mapping import CallCost, session_key, trace_from_rows, trace_rows
from tracekit.store.queries import (
    MetadataValue,
    SessionFilter,
    SessionPage,
    SessionSummary,
    decode_cursor,
    encode_cursor,
)
from tracekit.store.spool import Spool, default_spool_path

__all__ = ["SaveOutcome", "TursoManager"]

log = logging.getLogger(__name__)

_REPLAY_CHUNK = 64
"""Spooled traces saved per batch on replay (one commit for many, instead of one each)."""

_PROBE_TIMEOUT_S = 2.0
"""The breaker's probe waits at most this long (or timeout_s when shorter) for the server."""

_MAX_BUSY_PAUSE_S = 2.0
"""The longest pause between retries of a write that lost the lock to another writer."""

SaveOutcome = Literal["saved", "spooled"]
"""What a save did: stored in the database, or kept in the local spool for a later replay."""

_READ_ONLY = re.compile(r"^\s*(SELECT|WITH|EXPLAIN|VALUES|PRAGMA\s+\w+\s*(;\s*)?$)", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]")
_WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|UPSERT|DROP|CREATE|ALTER|ATTACH|DETACH|VACUUM|REINDEX|BEGIN|COMMIT)\b"
    r"|\bREPLACE\b(?!\s*\()|;\s*\S",
    re.IGNORECASE,
)


_CALL_RECORD_PAGE = (
    "SELECT c.session_id, c.event_index, c.call_index, r.record_json FROM llm_calls c "
    "JOIN llm_call_records r ON r.session_id = c.session_id AND r.event_index = c.event_index "
    "AND r.call_index = c.call_index WHERE {where} "
    "ORDER BY c.session_id, c.event_index, c.call_index LIMIT ?"
)


def _call_record_queries(
    session_id: str | None, model: str | None, provider: str | None
) -> tuple[str, str, list[Any]]:
    """iter_call_records' first-page and next-page SQL (the next takes the last key seen, then the
    page size) and the filter parameters both start with."""
    conditions = ["+c.in_rollup = 1"]  # unary +: walk the primary key, not a roll-up index
    params: list[Any] = []
    for column, value in (("session_id", session_id), ("model_name", model), ("provider", provider)):
        if value is not None:
            conditions.append(f"c.{column} = ?" if column == "session_id" else f"+c.{column} = ?")
            params.append(value)
    first = _CALL_RECORD_PAGE.format(where=" AND ".join(conditions))
    conditions.append("(c.session_id, c.event_index, c.call_index) > (?, ?, ?)")
    return first, _CALL_RECORD_PAGE.format(where=" AND ".join(conditions)), params


def _is_read_only(sql: str) -> bool:
    """A single SELECT / WITH / EXPLAIN / VALUES statement with no data-changing keyword outside quotes."""
    return bool(_READ_ONLY.match(sql)) and not _WRITES.search(_QUOTED.sub("''", sql))


def _default_cost() -> CallCost:
    from tracekit.analysis import pricing

    def cost(record: LLMCallRecord) -> tuple[int | None, str | None]:
        priced = pricing.call_cost(record)
        if priced is None:
            return None, None
        return priced.nanousd, priced.price_table_version

    return cost


class TursoManager:
    """Async store of SessionTraces in a libSQL database (embedded `file:` or a sqld/Turso server).

    `auth_token` defaults to TURSO_AUTH_TOKEN or LIBSQL_AUTH_TOKEN; it is never logged or shown.
    `url`: `file:traces.db` and `file:./dir/t.db` are relative to the working directory (as in
    SQLite), `file:/abs/t.db` is absolute, `:memory:` is a private in-memory database; missing
    parent directories are created. `timeout_s` bounds every server round trip (and waits for
    other processes writing the same file); `retries` and `retry_backoff_s` shape the retry of
    saves on connection errors; `spool_path` is where unsaveable traces wait (default: beside a
    file database as `<file>.spool.jsonl`, under $TRACEKIT_SPOOL_DIR or ~/.cache/tracekit for a
    server, none for `:memory:`); `cost` prices a call (default: tracekit.analysis.pricing).
    `max_batch_bytes` bounds the request body of one batch sent to a server (libsql-client's hrana
    JSON as sent, about twice the SQL and values it carries): several sessions are split into batches
    under it, and the default stays under aiohttp's 1 MiB large-body ResourceWarning. One session
    always goes as one atomic batch: over HTTP, one whose body is past 1 MiB still draws that warning
    (a `ws://` or `libsql://` URL sends it over a WebSocket, which does not). `max_inflight_saves`
    bounds the saves this manager has in flight at once.
    """

    def __init__(
        self,
        url: str = "file:traces.db",
        auth_token: str | None = None,
        *,
        timeout_s: float = 30.0,
        retries: int = 3,
        retry_backoff_s: float = 0.2,
        spool_path: str | Path | None = None,
        cost: CallCost | None = None,
        max_batch_bytes: int = 1_000_000,
        max_inflight_saves: int = 2,
    ) -> None:
        self._db = Database(url, auth_token=auth_token, timeout_s=timeout_s)
        self.url = self._db.url
        self.retries = arguments.whole(retries, "retries", minimum=0)
        self.retry_backoff_s = arguments.duration(retry_backoff_s, "retry_backoff_s")
        self.max_batch_bytes = arguments.whole(max_batch_bytes, "max_batch_bytes", minimum=1)
        max_inflight_saves = arguments.whole(max_inflight_saves, "max_inflight_saves", minimum=1)
        if cost is not None and not callable(cost):
            raise InvalidArgumentError(
                "cost must be a function of a call record returning (nanousd, price version), "
                f"got {cost!r:.60}"
            )
        self.breaker = CircuitBreaker()
        """Open while the server is unreachable: saves then go straight to the spool."""
        self.background_replay = True
        """While the breaker is open, probe and replay in background tasks on this manager's loop;
        off for a loop that only runs now and then (the tracer's writer replays on its own timer)."""
        self._slot_count = max(1, max_inflight_saves)
        self._slots = asyncio.Semaphore(self._slot_count)
        self._joiner = Joiner()
        self._senders: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._replay_listeners: list[Callable[[list[SessionTrace]], Awaitable[None]]] = []
        self.spool: Spool | None = None
        """Where unsaveable traces wait; None for :memory: (nothing to be unreachable, nothing to outlive)."""
        if spool_path is not None:
            self.spool = Spool(arguments.file_path(spool_path, "spool_path").absolute())
        elif self._db.is_remote:
            self.spool = Spool(default_spool_path(self.url))
        elif self._db.path is not None:
            self.spool = Spool(self._db.path.with_name(self._db.path.name + ".spool.jsonl"))
        self._cost = cost
        self._opened = False
        self._open_lock = asyncio.Lock()
        self._spool_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TursoManager(url={self.url!r})"

    async def __aenter__(self) -> TursoManager:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, migrate the schema to this version, and replay any spooled traces."""
        async with self._open_lock:
            if self._opened:
                return
            await self._db.open()
            try:
                local = not self._db.is_remote
                if not await migrations.is_current(self._db, wal=local):  # one read; no DDL when current
                    if local:
                        await self._db.execute("PRAGMA journal_mode=WAL")
                    await migrations.migrate(self._db)
            except BaseException:
                await self._db.close()
                raise
            self._opened = True
        if self.spool is not None and await asyncio.to_thread(self.spool.exists):
            await self._replay(wait=False)  # another process replaying it already: leave it to that one

    async def close(self) -> None:
        """Close the connection (a later call reopens it); stops a background probe or replay
        (what it had not replayed stays spooled)."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        async with self._open_lock:
            self._opened = False
            await self._db.close()

    def on_replay(self, listener: Callable[[list[SessionTrace]], Awaitable[None]]) -> None:
        """Await `listener(traces)` after every replay that saved spooled traces (whichever path
        replayed them: open, replay_spool or the breaker's background replay); the tracer's writer
        applies those traces' rewards this way."""
        self._replay_listeners.append(listener)

    async def _ready(self) -> Database:
        if not self._opened:
            await self.open()
        return self._db

    # -- saving ---------------------------------------------------------------------------------

    async def save_session(self, trace: SessionTrace) -> SaveOutcome:
        """Store one trace atomically (replacing any earlier copy); see the module doc on failures."""
        return await self.save_sessions([trace])

    async def save_sessions(self, traces: Iterable[SessionTrace]) -> SaveOutcome:
        """Store several traces in one atomic batch; of repeated session_ids the last one wins."""
        if not isinstance(traces, Iterable) or isinstance(traces, str | bytes | Mapping | SessionTrace):
            raise InvalidArgumentError(f"save_sessions takes an iterable of SessionTrace, got {traces!r:.60}")
        latest = {session_key(trace): trace for trace in traces}
        if not latest:
            return "saved"
        cost = self._cost or _default_cost()
        saved_at = codec.format_datetime(datetime.now(UTC))
        # Encoding is CPU work: off the caller's loop, so the agent keeps running meanwhile.
        traces = list(latest.values())
        if self._opened and not self._db.is_remote:
            # embedded: encoded on the database's worker thread right before its write (one thread hop)
            return await self._send(traces, (False, _EmbeddedRows(traces, saved_at, cost)))
        if not self._db.is_remote:
            return await self._send(
                traces, (False, await asyncio.to_thread(_embedded_groups, traces, saved_at, cost))
            )
        batches = await asyncio.to_thread(_remote_batches, traces, saved_at, cost, self.max_batch_bytes)
        return await self._deliver(traces, batches)

    # -- failure handling: retry, circuit breaker, spool ------------------------------------------

    async def _deliver(self, traces: list[SessionTrace], batches: list[_Batch]) -> SaveOutcome:
        """Send a save to a server as its batches (see _remote_batches), in order; when any part is
        spooled every trace of the call is spooled (replay re-saves them idempotently, and the
        tracer applies rewards to what it replays)."""
        for group, statements in batches:
            if await self._send(group, (True, statements)) == "spooled":
                spooled = {id(trace) for trace in group}
                rest = [trace for trace in traces if id(trace) not in spooled]
                if rest:
                    await self._spool_traces(rest, "an earlier part of the same save was spooled")
                return "spooled"
        return "saved"

    async def _send(self, traces: list[SessionTrace], work: _SaveWork) -> SaveOutcome:
        """One atomic batch: retried while another writer holds the lock or the server blinks,
        spooled when the server stays unreachable (and straight away while the breaker is open).
        To a server, while every slot is busy, the save waits to be sent with others (joined.py)."""
        if self.breaker.is_open:
            return await self._skip_server(traces)
        remote, statements = work
        if remote and (self._slots.locked() or self._joiner.waiting()):
            return await self._send_joined(traces, typing.cast(list[Statement], statements))
        async with self._slots:
            outcome = await self._send_held(traces, work)
        self._drain_joined()
        return outcome

    async def _send_joined(self, traces: list[SessionTrace], statements: list[Statement]) -> SaveOutcome:
        """Queue the save behind the others waiting for a slot; a sender holding a slot sends it with
        the saves beside it in one batch and hands back its outcome."""
        entry = self._joiner.wait(traces, statements, request_bytes(statements))
        self._drain_joined()
        try:
            outcome: SaveOutcome = await asyncio.shield(entry.outcome)
        except asyncio.CancelledError:
            self._joiner.leave(entry)  # not sent yet: never sent (once taken, it is sent as in flight)
            raise
        return outcome

    def _drain_joined(self) -> None:
        """Start a sender for the waiting saves when one more may hold a slot."""
        if self._joiner.waiting() and len(self._senders) < self._slot_count:
            task = asyncio.get_running_loop().create_task(self._send_waiting())
            self._senders.add(task)
            task.add_done_callback(self._senders.discard)

    async def _send_waiting(self) -> None:
        """With a slot held, send the waiting saves, as many as fit one batch at a time, until none wait."""
        async with self._slots:
            while True:
                group = self._joiner.take(self.max_batch_bytes)
                if not group:
                    return
                try:
                    await self._send_group(group)
                except BaseException as exc:  # cancelled, or a failure outside the store's own errors
                    failure = (
                        exc
                        if isinstance(exc, Exception)
                        else StoreConnectionError(
                            f"saving to {self.url} stopped before this save was sent; save it again"
                        )
                    )
                    for entry in group:
                        if not entry.outcome.done():
                            entry.outcome.set_exception(failure)
                    raise

    async def _send_group(self, group: list[Waiting]) -> None:
        """Send waiting saves in one batch and set each one's outcome; a batch the server refuses for
        its data is sent again save by save, so each refusal reaches only its own save."""
        traces = [trace for entry in group for trace in entry.traces]
        statements = [statement for entry in group for statement in entry.statements]
        try:
            outcome = await self._send_held(traces, (True, statements))
        except StoreError as exc:
            if len(group) == 1:
                group[0].outcome.set_exception(exc)
                return
            for entry in group:
                try:
                    entry.outcome.set_result(await self._send_held(entry.traces, (True, entry.statements)))
                except StoreError as alone:
                    entry.outcome.set_exception(alone)
            return
        for entry in group:
            entry.outcome.set_result(outcome)

    async def _send_held(self, traces: list[SessionTrace], work: _SaveWork) -> SaveOutcome:
        """`_send` with a slot held."""
        if self.breaker.is_open:
            return await self._skip_server(traces)
        delay = self.retry_backoff_s
        failures = 0
        while True:
            try:
                db = await self._ready()
                await self._commit(db, work)
                return "saved"
            except StoreConnectionError as exc:
                failures += 1
                if is_busy(exc) or failures > self.retries:
                    # busy for timeout_s already (see _commit), or out of retries
                    if self._db.is_remote and not is_busy(exc):
                        self._trip(exc)
                    await self._spool_traces(traces, exc)
                    return "spooled"
                if self._db.is_remote:
                    self._trip(exc)
                log.warning(
                    "saving %d session(s) failed (%s); retry %d in %.2fs",
                    len(traces),
                    exc,
                    failures,
                    delay,
                )
                await asyncio.sleep(delay)
                delay *= 2
                if self._db.is_remote:
                    await self._reset_connection()
                    if not await self._probe():
                        await self._spool_traces(traces, exc)
                        return "spooled"
                    self.breaker.close()

    async def _commit(self, db: Database, work: _SaveWork) -> None:
        """One save's statements run atomically, retried after a jittered, growing pause (up to
        timeout_s in all) while the write loses the lock to another writer (SQLITE_BUSY, sqld's
        TRANSACTION_TIMEOUT)."""
        deadline = time.monotonic() + db.timeout_s
        pause = max(self.retry_backoff_s, 0.01)
        while True:
            try:
                await _write(db, work)
                self.breaker.close()  # it answered: whoever tripped it, the server is back
                return
            except StoreConnectionError as exc:
                wait = pause * random.uniform(0.5, 1.5)  # jitter: writers that collided do not retry in step
                if not is_busy(exc) or time.monotonic() + wait > deadline:
                    raise
                log.info("%s; retrying in %.2fs", exc, wait)
                await asyncio.sleep(wait)
                pause = min(pause * 2, _MAX_BUSY_PAUSE_S)

    def _trip(self, exc: StoreError) -> None:
        if not self.breaker.is_open:
            log.warning(
                "%s is unreachable (%s); saves go to the spool %s until it answers",
                self.url,
                exc,
                self.spool.path if self.spool else "(none: :memory:)",
            )
        self.breaker.trip()

    async def _skip_server(self, traces: list[SessionTrace]) -> SaveOutcome:
        """The breaker is open: spool now, and start a probe in the background when one is due."""
        if self.background_replay and self.breaker.claim_probe():
            self._in_background(self._probe_then_replay())
        await self._spool_traces(traces, "the server was unreachable at the last try", quiet=True)
        return "spooled"

    async def _probe(self) -> bool:
        """Whether the server answers a fresh connection within a short timeout."""
        try:
            await self._db.probe(min(self._db.timeout_s, _PROBE_TIMEOUT_S))
        except StoreConnectionError:
            return False
        except StoreError as exc:  # it answers, but refuses (a bad token): saves stay spooled
            log.warning("probing %s: %s", self.url, exc)
            return False
        return True

    async def _probe_then_replay(self) -> None:
        """Background: when the server answers, close the breaker and replay the spool."""
        if not await self._probe():
            return
        self.breaker.close()
        log.warning("%s answers again; replaying the spool in the background", self.url)
        await self._reset_connection()
        try:
            await self.open()  # opening replays the spool
        except StoreError as exc:
            log.warning("replaying the spool of %s in the background stopped (%s)", self.url, exc)

    def _in_background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reset_connection(self) -> None:
        """Drop the connection after a failure: the next call opens a fresh one (a WebSocket that
        died with the server cannot be reused)."""
        async with self._open_lock:
            if self._opened:
                self._opened = False
                await self._db.close()

    async def _spool_traces(
        self, traces: Iterable[SessionTrace], exc: StoreError | str, *, quiet: bool = False
    ) -> None:
        spool = self.spool
        if spool is None:
            raise (
                exc
                if isinstance(exc, StoreError)
                else StoreConnectionError(f"{self.url}: {exc}, and :memory: has no spool")
            )
        lines = [trace.to_json() for trace in traces]
        await asyncio.to_thread(spool.append, lines)
        (log.debug if quiet else log.error)(
            "could not save %d session(s) to %s (%s); spooled to %s for replay",
            len(lines),
            self.url,
            exc,
            spool.path,
        )

    async def replay_spool(self) -> int:
        """Save every spooled trace; returns how many this call saved (the rest stay spooled).

        Waits while another manager or process replays the same spool; lines it cannot parse
        (torn or corrupt) are moved to `<spool>.rejected` with a warning.
        """
        await self._ready()  # opening replays too (and must not run inside the replay below)
        return await self._replay(wait=True)

    async def _replay(self, *, wait: bool) -> int:
        spool = self.spool
        if spool is None:
            return 0
        async with self._spool_lock:
            stack = contextlib.ExitStack()
            lock = spool.replaying(wait=wait)
            entering = asyncio.ensure_future(asyncio.to_thread(stack.enter_context, lock))
            try:
                held = await asyncio.shield(entering)
            except asyncio.CancelledError:
                entering.add_done_callback(lambda _done: stack.close())
                raise
            try:
                return await self._replay_held(spool) if held else 0
            finally:
                await asyncio.to_thread(stack.close)

    async def _replay_chunk(self, chunk: list[tuple[str, SessionTrace]], spool: Spool) -> set[str]:
        """Save spooled traces in one batch, to a server in batches under max_batch_bytes (one by one
        when a batch is refused: batches already saved are saved again, idempotently); the spool ids saved."""
        db = await self._ready()
        cost = self._cost or _default_cost()
        saved_at = codec.format_datetime(datetime.now(UTC))
        latest = {trace.session_id: trace for _ident, trace in chunk}  # in spool order: the later wins
        traces = list(latest.values())
        try:
            if db.is_remote:
                batches = await asyncio.to_thread(
                    _remote_batches, traces, saved_at, cost, self.max_batch_bytes
                )
                for _group, statements in batches:
                    await self._commit(db, (True, statements))
            else:
                await self._commit(
                    db, (False, await asyncio.to_thread(_embedded_groups, traces, saved_at, cost))
                )
            return {ident for ident, _trace in chunk}
        except StoreConnectionError:
            raise
        except TracekitError as exc:
            if len(chunk) == 1:
                log.error(
                    "spooled session %r cannot be saved (%s); kept in %s",
                    chunk[0][1].session_id,
                    exc,
                    spool.path,
                )
                return set()
        saved: set[str] = set()
        for item in chunk:
            saved |= await self._replay_chunk([item], spool)
        return saved

    async def _replay_held(self, spool: Spool) -> int:
        """Replay under the spool's replay lock: save each entry, then drop the saved ones by id."""
        snapshot = await asyncio.to_thread(spool.read)
        if snapshot.rejected:
            log.warning(
                "%d torn or corrupt line(s) in the spool %s cannot be replayed; moved to %s",
                len(snapshot.rejected),
                spool.path,
                spool.rejected_path,
            )
        saved: set[str] = set()
        chunks: list[list[tuple[str, SessionTrace]]] = [[]]
        size = 0
        for index, entry in enumerate(snapshot.entries):
            try:
                item = (entry.spool_id, SessionTrace.from_json(entry.trace_json))
            except TracekitError as exc:
                log.error(
                    "spooled trace %d in %s cannot be read (%s); kept in the spool", index, spool.path, exc
                )
                continue
            weight = len(entry.trace_json)  # JSON text: about the size of the batch it becomes
            if chunks[-1] and (len(chunks[-1]) >= _REPLAY_CHUNK or size + weight > self.max_batch_bytes):
                chunks.append([])
                size = 0
            chunks[-1].append(item)
            size += weight
        try:
            for chunk in chunks:
                if chunk:
                    saved |= await self._replay_chunk(chunk, spool)
        except StoreConnectionError as exc:
            log.warning("replaying %s stopped (%s); the rest stays spooled", spool.path, exc)
        remaining = await asyncio.to_thread(spool.remove, saved, snapshot.rejected)
        log.info("replayed %d spooled session(s) into %s; %d remain", len(saved), self.url, remaining)
        replayed = [trace for chunk in chunks for ident, trace in chunk if ident in saved]
        for listener in list(self._replay_listeners):
            try:
                await listener(replayed)
            except Exception:  # a listener's bug must not undo a replay that landed
                log.exception("a replay listener of %s failed", self.url)
        return len(saved)

    # -- reading --------------------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionTrace:
        """The stored trace, equal to the one saved; NotFoundError when there is none."""
        if isinstance(session_id, str) and not is_valid_unicode(
            session_id
        ):  # never stored: KeyText refuses it
            raise NotFoundError(
                f"no session {session_id!r} in {self.url}: session ids are valid Unicode text"
            )
        db = await self._ready()
        results = await db.batch(
            [
                ("SELECT trace_json FROM sessions WHERE session_id = ?", [session_id]),
                ("SELECT step_json FROM timesteps WHERE session_id = ? ORDER BY position", [session_id]),
                (
                    "SELECT event_index, in_history, step_position, step_slot, event_json FROM events "
                    "WHERE session_id = ? ORDER BY event_index",
                    [session_id],
                ),
                (
                    "SELECT event_index, record_json FROM llm_call_records WHERE session_id = ? "
                    "ORDER BY event_index, call_index",
                    [session_id],
                ),
                (
                    "SELECT message_index, in_history, step_position, step_slot, message_json FROM messages "
                    "WHERE session_id = ? ORDER BY message_index",
                    [session_id],
                ),
            ]
        )
        if not results[0].rows:
            raise NotFoundError(
                f"no session {session_id!r} in {self.url}; list_sessions() shows what is stored"
            )
        return trace_from_rows(
            results[0].rows[0][0],
            [row[0] for row in results[1].rows],
            results[2].rows,
            results[3].rows,
            results[4].rows,
            decode=_trusted_trace,  # rows this store wrote: no field re-checked (damage still is)
        )

    async def delete_session(self, session_id: str) -> bool:
        """Delete a session with everything attached to it; False when it was not stored."""
        session_id = arguments.text(session_id, "session_id", optional=False) or ""
        db = await self._ready()
        tables = [
            schema.tool_calls,
            schema.llm_call_records,
            schema.llm_calls,
            schema.events,
            schema.messages,
            schema.timesteps,
            schema.session_metadata,
            schema.event_rewards,
            schema.outcome_rewards,
            schema.session_experiments,
            schema.sessions,
        ]
        results = await db.batch(writer.delete_statements(tables, [session_id]))
        return results[-1].rows_affected > 0

    async def list_sessions(
        self,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        experiment_id: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        min_reward: float | None = None,
        has_error: bool | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> SessionPage:
        """A page of matching sessions, oldest first; pass the page's `next_cursor` as `after`."""
        # one more row than the page is fetched (to know whether another page follows): 2**63 - 2 at most
        limit = arguments.whole(limit, "limit", minimum=1, maximum=2**63 - 2)
        flt = SessionFilter(
            created_after, created_before, experiment_id, model, metadata, min_reward, has_error
        )
        where, params = flt.where("s")
        if after is not None:
            where += " AND (s.created_at, s.session_id) > (?, ?)"
            params.extend(decode_cursor(after))
        db = await self._ready()
        result = await db.execute(
            "SELECT s.session_id, s.created_at, s.num_timesteps, s.num_events, s.num_messages, "
            f"s.num_llm_calls, s.has_error, s.metadata_json FROM sessions s WHERE {where} "
            "ORDER BY s.created_at, s.session_id LIMIT ?",
            [*params, limit + 1],
        )
        rows = result.rows[:limit]
        summaries = [
            SessionSummary(
                session_id=row[0],
                created_at=datetime.fromisoformat(row[1]),
                num_timesteps=row[2],
                num_events=row[3],
                num_messages=row[4],
                num_llm_calls=row[5],
                has_error=bool(row[6]),
                metadata=json.loads(row[7]),
            )
            for row in rows
        ]
        more = len(result.rows) > limit
        return SessionPage(summaries, encode_cursor(rows[-1][1], rows[-1][0]) if more else None)

    async def iter_call_records(
        self,
        *,
        session_id: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        page_size: int = 2000,
    ) -> AsyncGenerator[LLMCallRecord, None]:
        """Every counted call record (as aggregates count them) in (session, event, call) order,
        fetched `page_size` rows at a time so memory stays bounded however many there are."""
        read = codec.trusted_json_reader(LLMCallRecord)  # rows this store wrote: no field re-checked
        pages = self._call_record_pages(session_id, model, provider, page_size)
        try:
            async for texts in pages:
                for text in texts:  # a damaged row still goes through the full checks
                    yield read(text)
        finally:
            await pages.aclose()

    async def _call_record_pages(
        self, session_id: str | None, model: str | None, provider: str | None, page_size: int
    ) -> AsyncGenerator[list[str], None]:
        """iter_call_records' pages: the record JSON of up to `page_size` calls a page, keyset-paged
        (each page starts strictly after the last key seen, so a page costs the same wherever it
        starts). Against a server the next page is requested while the caller reads this one."""
        page_size = arguments.whole(page_size, "page_size", minimum=1)
        session_id = arguments.text(session_id, "session_id")
        model = arguments.text(model, "model")
        provider = arguments.text(provider, "provider")
        first_sql, next_sql, params = _call_record_queries(session_id, model, provider)
        pending: asyncio.Future[Result] | None = None
        try:
            result = await (await self._ready()).execute(first_sql, [*params, page_size])
            while True:
                rows = result.rows
                more = len(rows) == page_size
                if more:
                    last = rows[-1]
                    following = [*params, last[0], last[1], last[2], page_size]
                    db = await self._ready()
                    if db.is_remote:  # the round trip overlaps the caller's reading of this page
                        pending = asyncio.ensure_future(db.execute(next_sql, following))
                yield [row[3] for row in rows]
                if not more:
                    return
                if pending is not None:
                    result = await pending
                    pending = None
                else:
                    result = await (await self._ready()).execute(next_sql, following)
        finally:
            # a page nobody will read: cancelled, or its error retrieved (so it is not reported)
            if pending is not None and not pending.cancel() and not pending.cancelled():
                pending.exception()

    async def aggregate(
        self,
        by: GroupBy | None = None,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        experiment_id: str | None = None,
        model: str | None = None,
        metadata: Mapping[str, MetadataValue] | None = None,
        min_reward: float | None = None,
        has_error: bool | None = None,
        session_ids: Sequence[str] | None = None,
    ) -> AggregateResult:
        """Roll up the calls of the matching sessions in SQL; equals `tk.aggregate` over the same
        sessions, warnings included (session roll-ups are left empty: read the traces for those)."""
        flt = SessionFilter(
            created_after,
            created_before,
            experiment_id,
            model,
            metadata,
            min_reward,
            has_error,
            session_ids,  # type: ignore[arg-type]  # any iterable of ids: SessionFilter checks and keeps a tuple
        )
        return await rollup.aggregate(await self._ready(), by, flt)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a read-only query (SELECT / WITH / EXPLAIN / VALUES) and return rows as dicts."""
        if not isinstance(sql, str) or not _is_read_only(sql):
            raise StoreError(
                f"execute() runs read-only queries (SELECT, WITH, EXPLAIN, VALUES); got {str(sql)[:60]!r}. "
                "Change data through the manager's methods."
            )
        result: Result = await (await self._ready()).execute(sql, params)
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    # -- experiments and rewards (tracekit/store/annotate.py) ------------------------------------

    async def create_experiment(
        self,
        name: str,
        *,
        experiment_id: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Create an experiment and return its id (a new random id unless given)."""
        return await annotate.create_experiment(
            await self._ready(), name, experiment_id, description, metadata
        )

    async def link_session(self, experiment_id: str, session_id: str) -> None:
        """Add a stored session to an experiment (linking twice is harmless)."""
        await annotate.link_session(await self._ready(), self.url, experiment_id, session_id)

    async def session_experiments(self, session_id: str) -> list[dict[str, Any]]:
        """The experiments a session is linked to (id, name, description, metadata), oldest first."""
        return await annotate.session_experiments(await self._ready(), session_id)

    async def list_experiments(self) -> list[dict[str, Any]]:
        """Every experiment with its session count, oldest first."""
        return await annotate.list_experiments(await self._ready())

    async def add_outcome_reward(
        self,
        session_id: str,
        total_reward: float,
        *,
        achievements_count: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a session's outcome reward; returns its id."""
        return await annotate.add_outcome_reward(
            await self._ready(), self.url, session_id, total_reward, achievements_count, metadata
        )

    async def add_event_reward(
        self,
        session_id: str,
        reward_value: float,
        *,
        event_index: int | None = None,
        reward_type: str | None = None,
        key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> int:
        """Record a reward for one event of a session (its index in event_history); returns its id."""
        return await annotate.add_event_reward(
            await self._ready(), self.url, session_id, reward_value, event_index, reward_type, key, metadata
        )

    async def get_rewards(self, session_id: str) -> dict[str, list[dict[str, Any]]]:
        """A session's rewards: {"outcome": [...], "event": [...]}, each in the order recorded."""
        return await annotate.get_rewards(await self._ready(), session_id)

    # -- conversation metrics (tracekit/store/conversation.py) ---------------------------------

    async def conversation_metrics(self, session_id: str) -> dict[str, Any]:
        """{"turns": [tk.turn_metrics(step) for each completed timestep, in order]}, read from the
        store's columns (no record JSON parsed); NotFoundError when the session is not stored."""
        from tracekit.store.conversation import conversation_metrics

        session_id = arguments.text(session_id, "session_id", optional=False) or ""
        return await conversation_metrics(await self._ready(), self.url, session_id)


def _trusted_trace(data: dict[str, Any]) -> SessionTrace:
    return codec.from_trusted_dict(SessionTrace, data)


class _EmbeddedRows:
    """An embedded save's statement groups, built when first asked for, on the Database's worker
    thread just before the write (a retry after a busy lock reuses them)."""

    __slots__ = ("_cost", "_groups", "_saved_at", "_traces")

    def __init__(self, traces: list[SessionTrace], saved_at: str, cost: CallCost) -> None:
        self._traces = traces
        self._saved_at = saved_at
        self._cost = cost
        self._groups: list[StatementRows] | None = None

    def __call__(self) -> list[StatementRows]:
        if self._groups is None:
            self._groups = _embedded_groups(self._traces, self._saved_at, self._cost)
        return self._groups


_SaveWork = tuple[bool, list[Statement] | list[StatementRows] | _EmbeddedRows]


def _embedded_groups(traces: list[SessionTrace], saved_at: str, cost: CallCost) -> list[StatementRows]:
    """An embedded save's executemany groups: the traces' rows, then what they carry (rewards and
    experiment links, in the same batch)."""
    rows = [trace_rows(trace, saved_at=saved_at, cost=cost) for trace in traces]
    side = carried_statements(traces, saved_at)
    return writer.save_rows(rows) + [(sql, [params]) for sql, params in side]


async def _write(db: Database, work: _SaveWork) -> None:
    """Run one save's statements atomically."""
    remote, statements = work
    if remote:
        await db.batch(typing.cast(list[Statement], statements))
    elif isinstance(statements, _EmbeddedRows):
        await db.write_prepared(statements)
    else:
        await db.write(typing.cast(list[StatementRows], statements))


def _save_statements(traces: list[SessionTrace], saved_at: str, cost: CallCost) -> list[Statement]:
    """The multi-row INSERTs a server runs for `traces`, then those of what they carry."""
    rows = [trace_rows(trace, saved_at=saved_at, cost=cost) for trace in traces]
    return writer.save_statements(rows) + carried_statements(traces, saved_at)


_Batch = tuple[list[SessionTrace], list[Statement]]
"""Traces saved together in one atomic batch to a server, and that batch's statements."""


def _remote_batches(
    traces: list[SessionTrace], saved_at: str, cost: CallCost, max_bytes: int
) -> list[_Batch]:
    """A save's batches to a server: all of `traces` in one when its request body (request_bytes)
    fits `max_bytes`, else runs of consecutive traces, each batch's body under `max_bytes`; one trace
    is never split (alone, it goes as one batch however large). Each trace is encoded once; CPU work,
    run off the caller's event loop."""
    rows = [trace_rows(trace, saved_at=saved_at, cost=cost) for trace in traces]
    carried = [carried_statements([trace], saved_at) for trace in traces]

    def statements_of(begin: int, end: int) -> list[Statement]:
        return writer.save_statements(rows[begin:end]) + [s for side in carried[begin:end] for s in side]

    statements = statements_of(0, len(traces))
    if len(traces) == 1 or request_bytes(statements) <= max_bytes:
        return [(traces, statements)]
    # A run's batch (its traces' multi-row statements) is smaller than its traces' own batches sent
    # one after another in one request, which is at most the sum of their request_bytes: sizes add up.
    runs: list[tuple[int, int]] = []
    start = size = 0
    for index in range(len(traces)):
        weight = request_bytes(statements_of(index, index + 1))
        if index > start and size + weight > max_bytes:
            runs.append((start, index))
            start, size = index, 0
        size += weight
    runs.append((start, len(traces)))
    return [(traces[begin:end], statements_of(begin, end)) for begin, end in runs]

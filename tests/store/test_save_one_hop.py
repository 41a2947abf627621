"""An embedded save builds its rows on the database's worker thread and writes them in the same trip."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from storebuilders import make_trace

import tracekit as tk
from tracekit.errors import SerializationError, StoreError
from tracekit.store import TursoManager, writer
from tracekit.store.libsql import Database
from tracekit.store.manager import _EmbeddedRows
from tracekit.store.mapping import trace_rows
from tracekit.store.migrations import migrate


def _no_cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    return None, None


async def test_write_prepared_writes_the_groups_prepare_returns(tmp_path: Path) -> None:
    """write_prepared runs prepare() on the worker thread and stores exactly the rows it returned."""
    db = Database(f"file:{tmp_path / 't.db'}")
    await db.open()
    try:
        await migrate(db)
        saved_at = "2026-01-01T00:00:00.000000+00:00"
        rows = trace_rows(make_trace("s-1", steps=2), saved_at=saved_at, cost=_no_cost)
        await db.write_prepared(lambda: writer.save_rows([rows]))
        counts = await db.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM messages)")
        assert counts.rows == [(4, 4)]
    finally:
        await db.close()


async def test_write_prepared_passes_a_refusal_through_and_writes_nothing(tmp_path: Path) -> None:
    """A TracekitError raised by prepare() reaches the caller as it is (not wrapped in a StoreError),
    no transaction is left open, and the next write works."""
    db = Database(f"file:{tmp_path / 't.db'}")
    await db.open()
    try:
        await migrate(db)
        refusal = SerializationError("x: refused; fix it", path="x", value=1)

        def refuse() -> list[writer.StatementRows]:
            raise refusal

        with pytest.raises(SerializationError) as caught:
            await db.write_prepared(refuse)
        assert caught.value is refusal
        insert = "INSERT INTO session_metadata VALUES (?, ?, ?)"
        await db.write_prepared(lambda: [(insert, [("s", "k", "1")])])
        assert (await db.execute("SELECT session_id, key FROM session_metadata")).rows == [("s", "k")]
    finally:
        await db.close()


async def test_write_prepared_on_a_closed_database_is_a_store_error(tmp_path: Path) -> None:
    """write_prepared on a Database that is not open raises StoreError naming the database."""
    db = Database(f"file:{tmp_path / 't.db'}")
    with pytest.raises(StoreError, match=r"t\.db.* is closed"):
        await db.write_prepared(list)


async def test_refused_save_on_an_open_file_store_leaves_it_unchanged(tmp_path: Path) -> None:
    """On an open file: manager (the one-trip path) a trace with a NaN is refused with its field path
    before anything is written, the stored session stays equal, and the next save is stored."""
    async with TursoManager(f"file:{tmp_path / 't.db'}", cost=_no_cost) as db:
        good = make_trace("s-good", steps=3)
        assert await db.save_session(good) == "saved"
        bad = make_trace("s-good", steps=3, seed=1)
        bad.event_history[0].call_records[0].latency_ms = float("nan")  # type: ignore[attr-defined]
        with pytest.raises(SerializationError) as caught:
            await db.save_session(bad)
        assert caught.value.path == "session_time_steps.0.events.0.call_records.0.latency_ms"
        assert await db.get_session("s-good") == good
        other = make_trace("s-other", steps=1)
        assert await db.save_session(other) == "saved"
        assert await db.get_session("s-other") == other


def test_embedded_rows_are_built_once_for_a_retry() -> None:
    """_EmbeddedRows builds a save's groups on the first call only: a write retried after a busy lock
    reuses them (each call is priced once) instead of encoding the trace again."""
    priced: list[str] = []

    def cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
        priced.append(record.call_id)
        return None, None

    rows = _EmbeddedRows([make_trace("s-1", steps=3)], "2026-01-01T00:00:00.000000+00:00", cost)
    first = rows()
    assert rows() is first
    assert priced == ["call-0", "call-1", "call-2"]


async def test_timeout_bounds_the_write_not_the_preparation(tmp_path: Path) -> None:
    """timeout_s bounds write_prepared's write, not prepare(): a preparation longer than the timeout
    (a large session's encoding) still gets its rows written."""
    # the write itself must fit the timeout on a loaded machine; only the preparation exceeds it
    db = Database(f"file:{tmp_path / 't.db'}", timeout_s=0.5)
    await db.open()
    try:
        await migrate(db)
        insert = "INSERT INTO session_metadata VALUES (?, ?, ?)"

        def slow() -> list[writer.StatementRows]:
            time.sleep(0.8)
            return [(insert, [("s", "k", "1")])]

        await db.write_prepared(slow)
        assert (await db.execute("SELECT session_id, key FROM session_metadata")).rows == [("s", "k")]
    finally:
        await db.close()

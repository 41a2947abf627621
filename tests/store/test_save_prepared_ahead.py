"""An embedded save queued behind another is prepared on a second thread while the first commits."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tracekit.errors import SerializationError
from tracekit.store import writer
from tracekit.store.libsql import Database
from tracekit.store.migrations import migrate

_INSERT = "INSERT INTO session_metadata VALUES (?, ?, ?)"


async def _open(tmp_path: Path) -> Database:
    db = Database(f"file:{tmp_path / 't.db'}")
    await db.open()
    await migrate(db)
    return db


async def test_a_queued_save_is_prepared_on_the_preparer_thread_while_the_first_commits(
    tmp_path: Path,
) -> None:
    """With two saves in flight, the second's prepare() runs once, on the preparer thread, and both
    saves store exactly their rows."""
    db = await _open(tmp_path)
    threads: dict[str, list[str]] = {"first": [], "second": []}

    def prepare(name: str, pause: float) -> Callable[[], list[writer.StatementRows]]:
        def run() -> list[writer.StatementRows]:
            threads[name].append(threading.current_thread().name)
            time.sleep(pause)  # the first is still preparing when the second is queued
            return [(_INSERT, [(name, "k", "1")])]

        return run

    try:
        await asyncio.gather(
            db.write_prepared(prepare("first", 0.2)), db.write_prepared(prepare("second", 0))
        )
        rows = await db.execute("SELECT session_id FROM session_metadata ORDER BY session_id")
        assert rows.rows == [("first",), ("second",)]
        assert [name.split("_")[0] for name in threads["first"]] == ["tracekit-libsql"]
        assert [name.split("_")[0] for name in threads["second"]] == ["tracekit-prepare"]
    finally:
        await db.close()


async def test_a_refusal_found_ahead_is_raised_by_its_own_save_alone(tmp_path: Path) -> None:
    """A refusal raised by a save prepared ahead reaches that save's caller as the same exception,
    nothing of it is written, the save before it is stored, and the next save works."""
    db = await _open(tmp_path)
    refusal = SerializationError("x: refused; fix it", path="x", value=1)

    def first() -> list[writer.StatementRows]:
        time.sleep(0.2)
        return [(_INSERT, [("first", "k", "1")])]

    def refused() -> list[writer.StatementRows]:
        raise refusal

    try:
        results = await asyncio.gather(
            db.write_prepared(first), db.write_prepared(refused), return_exceptions=True
        )
        assert results[0] is None
        assert results[1] is refusal
        await db.write_prepared(lambda: [(_INSERT, [("third", "k", "1")])])
        rows = await db.execute("SELECT session_id FROM session_metadata ORDER BY session_id")
        assert rows.rows == [("first",), ("third",)]
    finally:
        await db.close()


async def test_a_cancelled_queued_save_is_not_written(tmp_path: Path) -> None:
    """A queued save whose caller is cancelled before the worker reaches it writes nothing, and the
    saves around it are stored."""
    db = await _open(tmp_path)

    def rows(name: str, pause: float = 0) -> Callable[[], list[writer.StatementRows]]:
        def run() -> list[writer.StatementRows]:
            time.sleep(pause)
            return [(_INSERT, [(name, "k", "1")])]

        return run

    try:
        first = asyncio.ensure_future(db.write_prepared(rows("first", 0.3)))
        await asyncio.sleep(0.05)  # the worker is preparing the first
        second = asyncio.ensure_future(db.write_prepared(rows("second")))
        await asyncio.sleep(0.01)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        await first
        await db.write_prepared(rows("third"))
        stored = await db.execute("SELECT session_id FROM session_metadata ORDER BY session_id")
        assert stored.rows == [("first",), ("third",)]
    finally:
        await db.close()

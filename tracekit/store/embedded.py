"""The embedded (`file:` and `:memory:`) backend: ONE stdlib sqlite3 connection kept open.

libsql-client's own `file:` backend opens and closes a connection on every call, so each save
re-read the schema, re-prepared its statements and, as the last connection closed, checkpointed
and deleted the WAL. Here one connection lives as long as the Database: the schema is read once,
statements are prepared once and reused from the connection's cache, and SQLite checkpoints the
WAL on its own schedule (every ~1000 pages).

Durability: `PRAGMA synchronous=FULL`. In WAL mode FULL syncs the WAL to disk at every commit,
so a save that returned survives a crash of the process, the OS or the power. NORMAL would sync
only at checkpoints: faster, but the last saves could vanish on a power loss or OS crash after
the caller was told they were stored, which a trace store must not do. Set explicitly, so a
SQLite built with another default cannot weaken it.

Methods are synchronous and run on the Database's one worker thread; sqlite3 errors are left to
the caller (libsql.py) to translate.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["FileConnection", "StatementRows", "sql_value"]

StatementRows = tuple[str, Sequence[Sequence[Any]]]
"""An SQL text run once per row of positional `?` parameters (executemany)."""

_STATEMENT_CACHE = 256
"""Prepared statements kept per connection: every table's INSERT, the deletes and the reads."""


def sql_value(value: Any) -> Any:
    """A parameter as libsql-client's transport would send it (so the file: and server paths
    bind the same values): finite floats only, bools as ints, datetimes as epoch milliseconds,
    buffers as bytes; ValueError/TypeError for the rest."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("Only finite floats (not Infinity or NaN) are supported")
        return value
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, str | int):
        return value
    return bytes(memoryview(value))


def _result(cursor: sqlite3.Cursor) -> tuple[tuple[str, ...], list[tuple[Any, ...]], int]:
    rows = cursor.fetchall()
    columns = tuple(description[0] for description in cursor.description or ())
    return columns, rows, cursor.rowcount


class FileConnection:
    """One open sqlite3 connection (autocommit; transactions are explicit) with a busy timeout,
    so other processes' writes to the same file are waited for rather than failed at once."""

    __slots__ = ("_conn",)

    def __init__(self, path: Path | None, busy_timeout_s: float) -> None:
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            isolation_level=None,
            check_same_thread=False,  # made on the worker thread, and only ever used there
            timeout=busy_timeout_s,
            cached_statements=_STATEMENT_CACHE,
        )
        try:
            self._conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            self._conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any]) -> tuple[tuple[str, ...], list[tuple[Any, ...]], int]:
        """One statement: (column names, rows, rows affected)."""
        return _result(self._conn.execute(sql, [sql_value(value) for value in params]))

    def batch(
        self, statements: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[tuple[tuple[str, ...], list[tuple[Any, ...]], int]]:
        """Statements in one transaction (all apply or none), each statement's result."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            results = [
                _result(conn.execute(sql, [sql_value(value) for value in params]))
                for sql, params in statements
            ]
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return results

    def write(self, groups: Sequence[StatementRows], committing: Callable[[], None] | None = None) -> None:
        """The save path: each SQL text run once per row (executemany on a cached prepared statement,
        no per-row Python), all in one write transaction taken up front (BEGIN IMMEDIATE, so a busy
        file is waited for at the start rather than failing half-way). Values are bound as given:
        the rows come from the mapping, which has already checked them. `committing()` is called
        as the COMMIT starts (prepared.py starts the next save's encoding there, beside the sync)."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in groups:
                conn.executemany(sql, rows)
            if committing is not None:
                committing()
            conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            # the original error is what the caller needs; a failed ROLLBACK means SQLite already did it
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL as the last connection closes)."""
        self._conn.close()

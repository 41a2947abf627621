"""SQL for saving traces: the deletes of a session's old rows, then its inserts.

INSERT text is compiled once per table by SQLAlchemy for SQLite. Two shapes of the same batch:
for a server (`save_statements`), multi-row INSERTs sized under SQLite's variable limit, so a
save is a few statements on the wire; for the embedded database (`save_rows`), one single-row
INSERT per table run over all its rows (executemany): one prepared statement per table whatever
the session's size, and no flattening of rows into parameter lists. Sessions are upserted (ON
CONFLICT DO UPDATE) rather than replaced, so rewards and experiment links attached to a session
survive a re-save.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import sqlite

from tracekit.store import schema
from tracekit.store.libsql import Statement, StatementRows
from tracekit.store.mapping import TraceRows

__all__ = [
    "MAX_VARIABLES",
    "TRACE_TABLES",
    "delete_statements",
    "insert_statements",
    "save_rows",
    "save_statements",
]

MAX_VARIABLES = 32766
"""SQLite's default SQLITE_MAX_VARIABLE_NUMBER since 3.32 (libsql and Python's sqlite3 are newer)."""

_DIALECT = sqlite.dialect()

TRACE_TABLES: tuple[Table, ...] = (
    schema.sessions,
    schema.session_metadata,
    schema.timesteps,
    schema.events,
    schema.messages,
    schema.llm_calls,
    schema.llm_call_records,
    schema.tool_calls,
)
"""Parents before children: the insert order (deletes run in reverse)."""


@functools.cache
def _single_row_sql(table: Table) -> tuple[str, str]:
    """(INSERT INTO t (cols) VALUES, the one-row '(?, ...)' group) compiled by SQLAlchemy."""
    text = str(insert(table).compile(dialect=_DIALECT))
    head, _sep, group = text.partition(" VALUES ")
    return head + " VALUES ", group.strip()


@functools.cache
def _upsert_suffix(table: Table) -> str:
    quote = _DIALECT.identifier_preparer.quote
    keys = [quote(c.name) for c in table.primary_key.columns]
    updates = ", ".join(
        f"{quote(c.name)} = excluded.{quote(c.name)}" for c in table.columns if not c.primary_key
    )
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"


@functools.cache
def _insert_sql(table: Table, nrows: int, upsert: bool) -> str:
    head, group = _single_row_sql(table)
    return head + ", ".join([group] * nrows) + (_upsert_suffix(table) if upsert else "")


@functools.cache
def row_sql(table: Table, upsert: bool) -> str:
    """The single-row INSERT (or upsert on the primary key) of `table`."""
    head, group = _single_row_sql(table)
    return head + group + (_upsert_suffix(table) if upsert else "")


def rows_per_statement(table: Table) -> int:
    """How many rows of `table` fit one INSERT under MAX_VARIABLES."""
    return max(1, MAX_VARIABLES // len(table.columns))


def insert_statements(
    table: Table, rows: Sequence[tuple[Any, ...]], *, upsert: bool = False
) -> list[Statement]:
    """Multi-row INSERTs (or upserts on the primary key) holding `rows`, each under the variable limit."""
    per = rows_per_statement(table)
    out: list[Statement] = []
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        params = list(itertools.chain.from_iterable(chunk))
        out.append((_insert_sql(table, len(chunk), upsert), params))
    return out


def delete_statements(tables: Iterable[Table], session_ids: Sequence[str]) -> list[Statement]:
    """DELETEs of every row of `session_ids` from `tables`, in the order given."""
    out: list[Statement] = []
    per = MAX_VARIABLES
    for table in tables:
        for start in range(0, len(session_ids), per):
            chunk = list(session_ids[start : start + per])
            marks = ", ".join("?" * len(chunk))
            out.append((f"DELETE FROM {table.name} WHERE session_id IN ({marks})", chunk))
    return out


def save_statements(traces: Sequence[TraceRows]) -> list[Statement]:
    """One atomic batch's statements: drop the sessions' old trace rows, then insert the new ones.

    Sessions are upserted; rewards and experiment links are not trace rows and are kept.
    """
    ids = [t.session_id for t in traces]
    statements = delete_statements(reversed(TRACE_TABLES[1:]), ids)
    for table in TRACE_TABLES:
        rows = [row for t in traces for row in t.tables.get(table.name, ())]
        if rows:
            statements.extend(insert_statements(table, rows, upsert=table is schema.sessions))
    return statements


def save_rows(traces: Sequence[TraceRows]) -> list[StatementRows]:
    """The same batch as `save_statements` for executemany: the deletes, then per table its
    single-row INSERT with all its rows (sessions upserted)."""
    ids = [t.session_id for t in traces]
    groups: list[StatementRows] = [
        (sql, [params]) for sql, params in delete_statements(reversed(TRACE_TABLES[1:]), ids)
    ]
    for table in TRACE_TABLES:
        if len(traces) == 1:
            rows = traces[0].tables.get(table.name, [])
        else:
            rows = [row for t in traces for row in t.tables.get(table.name, ())]
        if rows:
            groups.append((row_sql(table, table is schema.sessions), rows))
    return groups

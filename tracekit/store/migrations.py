"""Versioned schema migrations, applied in order when a store opens.

Each migration runs as one atomic batch together with its `schema_version` row, so a database
is always at exactly one recorded version. DDL uses IF NOT EXISTS and the version row INSERT OR
IGNORE, so two processes opening the same fresh database at once both succeed. A database
recorded at a version newer than this tracekit knows is refused (SchemaVersionError), never
written to.

Migrations build their DDL from schema.py's tables. Once a released table changes, the
migration that created it must keep the old DDL as literal text and a new migration must
ALTER it; the drift test in tests/store compares a migrated database with schema.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table

from tracekit.codec import format_datetime
from tracekit.errors import SchemaVersionError, StoreError
from tracekit.store import schema
from tracekit.store.libsql import Database

__all__ = ["MIGRATIONS", "Migration", "current_version", "is_current", "migrate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema history: its version, what it does, and its SQL statements."""

    version: int
    description: str
    statements: Callable[[], list[str]]


def _create(*tables: Table) -> Callable[[], list[str]]:
    return lambda: [ddl for table in tables for ddl in schema.table_ddl(table)]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "trace tables: sessions, session_metadata, timesteps, events, messages, llm_calls, "
        "llm_call_records, tool_calls",
        _create(
            schema.sessions,
            schema.session_metadata,
            schema.timesteps,
            schema.events,
            schema.messages,
            schema.llm_calls,
            schema.llm_call_records,
            schema.tool_calls,
        ),
    ),
    Migration(
        2,
        "experiments and rewards: experiments, session_experiments, outcome_rewards, event_rewards",
        _create(schema.experiments, schema.session_experiments, schema.outcome_rewards, schema.event_rewards),
    ),
)

assert [m.version for m in MIGRATIONS] == list(range(1, schema.SCHEMA_VERSION + 1))


async def current_version(db: Database) -> int:
    """The highest version recorded in schema_version (0 for a new database)."""
    for ddl in schema.table_ddl(schema.schema_version):
        await db.execute(ddl)
    result = await db.execute("SELECT max(version) FROM schema_version")
    value = result.rows[0][0] if result.rows else None
    return int(value) if value is not None else 0


async def is_current(db: Database, *, wal: bool) -> bool:
    """Whether `db` is at this tracekit's schema version (and, with `wal`, in WAL mode), read in one
    statement with no DDL: the check every open of an existing, current database makes."""
    sql = "SELECT (SELECT max(version) FROM schema_version)"
    if wal:
        sql += ", (SELECT journal_mode FROM pragma_journal_mode)"
    try:
        result = await db.execute(sql)
    except StoreError as exc:
        if "no such table" in str(exc):
            return False  # a new database: migrate() creates everything
        raise
    row = result.rows[0] if result.rows else ()
    return bool(row) and row[0] == schema.SCHEMA_VERSION and (not wal or str(row[1]).lower() == "wal")


async def migrate(db: Database, *, target: int = schema.SCHEMA_VERSION) -> int:
    """Bring `db` up to `target` (default: the latest); returns the version it is now at."""
    found = await current_version(db)
    if found > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{db.url} has schema version {found}, newer than this tracekit's {schema.SCHEMA_VERSION}; "
            "upgrade tracekit to read it (nothing was written)"
        )
    for migration in MIGRATIONS:
        if found < migration.version <= target:
            applied_at = format_datetime(datetime.now(UTC))
            statements: list[tuple[str, list[object]]] = [(sql, []) for sql in migration.statements()]
            statements.append(
                (
                    "INSERT OR IGNORE INTO schema_version (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    [migration.version, migration.description, applied_at],
                )
            )
            await db.batch(statements)
            log.info(
                "migrated %s to schema version %d (%s)", db.url, migration.version, migration.description
            )
            found = migration.version
    return found

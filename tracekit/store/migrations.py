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
from typing import Any

from sqlalchemy import Table

from tracekit.codec import format_datetime
from tracekit.errors import SchemaVersionError, StoreError
from tracekit.store import rollup_rows, schema
from tracekit.store.libsql import Database

__all__ = ["MIGRATIONS", "Migration", "current_version", "is_current", "migrate"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema history: its version, what it does, and its SQL statements."""

    version: int
    description: str
    statements: Callable[[], list[str]]


def _create(*tables: Table | list[str]) -> Callable[[], list[str]]:
    """The DDL of `tables` (schema.py's, without the indexes a later version adds) or literal DDL."""
    return lambda: [
        ddl
        for table in tables
        for ddl in (table if isinstance(table, list) else schema.table_ddl(table))
        if not _added_in_v4(ddl)
    ]


def _added_in_v4(ddl: str) -> bool:
    return any(f" {name} ON " in ddl for name in _V4_INDEXES)


_V1_SESSIONS = [
    "CREATE TABLE IF NOT EXISTS sessions (session_id TEXT NOT NULL, created_at TEXT NOT NULL, "
    "saved_at TEXT NOT NULL, num_timesteps INTEGER NOT NULL, num_events INTEGER NOT NULL, "
    "num_messages INTEGER NOT NULL, num_llm_calls INTEGER NOT NULL, has_error INTEGER NOT NULL, "
    "metadata_json TEXT NOT NULL, trace_json TEXT NOT NULL, PRIMARY KEY (session_id))",
    "CREATE INDEX IF NOT EXISTS ix_sessions_created_at ON sessions (created_at, session_id)",
]
"""sessions as version 1 created it (version 3 adds rollup_json)."""

_V1_LLM_CALLS = [
    "CREATE TABLE IF NOT EXISTS llm_calls (session_id TEXT NOT NULL, event_index INTEGER NOT NULL, "
    "call_index INTEGER NOT NULL, call_id TEXT NOT NULL, in_rollup INTEGER NOT NULL, step_id TEXT, "
    "system_instance_id TEXT NOT NULL, model_name TEXT NOT NULL, provider TEXT, api_type TEXT NOT NULL, "
    "started_at TEXT, completed_at TEXT, latency_ms FLOAT, ttft_ms FLOAT, decode_ms FLOAT, tpot_ms FLOAT, "
    "output_tokens_per_second FLOAT, chunk_count INTEGER, input_tokens INTEGER, output_tokens INTEGER, "
    "total_tokens INTEGER, reasoning_tokens INTEGER, reasoning_input_tokens INTEGER, "
    "reasoning_output_tokens INTEGER, cache_write_tokens INTEGER, cache_write_1h_tokens INTEGER, "
    "cache_read_tokens INTEGER, tool_use_input_tokens INTEGER, input_audio_tokens INTEGER, "
    "output_audio_tokens INTEGER, billable_input_tokens INTEGER, billable_output_tokens INTEGER, "
    "cost_nanousd INTEGER, price_table_version TEXT, finish_reason TEXT, outcome TEXT, "
    "tool_call_count INTEGER NOT NULL, PRIMARY KEY (session_id, event_index, call_index), "
    "FOREIGN KEY(session_id, event_index) REFERENCES events (session_id, event_index) ON DELETE CASCADE, "
    "FOREIGN KEY(session_id) REFERENCES sessions (session_id) ON DELETE CASCADE)",
    "CREATE INDEX IF NOT EXISTS ix_llm_calls_agent ON llm_calls (system_instance_id)",
    "CREATE INDEX IF NOT EXISTS ix_llm_calls_model ON llm_calls (model_name)",
    "CREATE INDEX IF NOT EXISTS ix_llm_calls_provider ON llm_calls (provider)",
    *(
        ddl
        for metric in ("latency_ms", "output_tokens_per_second", "tpot_ms", "ttft_ms")
        for ddl in (
            f"CREATE INDEX IF NOT EXISTS ix_llm_calls_rollup_{metric} ON llm_calls (in_rollup, {metric})",
            f"CREATE INDEX IF NOT EXISTS ix_llm_calls_rollup_model_{metric} "
            f"ON llm_calls (in_rollup, model_name, {metric})",
        )
    ),
    "CREATE INDEX IF NOT EXISTS ix_llm_calls_started_at ON llm_calls (started_at)",
    "CREATE INDEX IF NOT EXISTS ix_llm_calls_step ON llm_calls (step_id)",
]
"""llm_calls as version 1 created it (version 3 adds the provider and agent percentile indexes)."""


_V4_INDEXES = (
    "ix_llm_calls_rollup_timestep",
    *(
        f"ix_llm_calls_rollup_timestep_{metric}"
        for metric in ("latency_ms", "ttft_ms", "tpot_ms", "output_tokens_per_second")
    ),
    "ix_tool_calls_rollup_timestep",
)
"""The indexes version 4 adds (version 3 must not create them: its DDL comes from schema.py)."""


def _indexes(*tables: Table, version: int) -> list[str]:
    """CREATE INDEX statements of `tables` as of `version` (3: without version 4's indexes)."""
    return [
        ddl
        for table in tables
        for ddl in schema.table_ddl(table)
        if ddl.startswith("CREATE INDEX") and (version >= 4 or not _added_in_v4(ddl))
    ]


def _v3() -> list[str]:
    return [
        "ALTER TABLE sessions ADD COLUMN rollup_json TEXT",
        *_indexes(schema.sessions, schema.llm_calls, version=3),
    ]


def _v4() -> list[str]:
    """The timestep roll-up's indexes (one pass over llm_calls and tool_calls each, in the open that
    migrates: bounded, and atomic with its version row, so an open cut short redoes it whole); the
    plain step_id index goes (nothing reads it: the roll-up's covering index leads with in_rollup)."""
    created = [ddl for ddl in _indexes(schema.llm_calls, schema.tool_calls, version=4) if _added_in_v4(ddl)]
    return [*created, "DROP INDEX IF EXISTS ix_llm_calls_step"]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "trace tables: sessions, session_metadata, timesteps, events, messages, llm_calls, "
        "llm_call_records, tool_calls",
        _create(
            _V1_SESSIONS,
            schema.session_metadata,
            schema.timesteps,
            schema.events,
            schema.messages,
            _V1_LLM_CALLS,
            schema.llm_call_records,
            schema.tool_calls,
        ),
    ),
    Migration(
        2,
        "experiments and rewards: experiments, session_experiments, outcome_rewards, event_rewards",
        _create(schema.experiments, schema.session_experiments, schema.outcome_rewards, schema.event_rewards),
    ),
    Migration(
        3,
        "roll-up summaries: sessions.rollup_json (back-filled from the stored rows), percentile indexes "
        "by provider and agent",
        _v3,
    ),
    Migration(
        4,
        "timestep roll-up indexes: ix_llm_calls_rollup_timestep (covering) and its percentile indexes, "
        "ix_tool_calls_rollup_timestep; ix_llm_calls_step dropped",
        _v4,
    ),
)

assert [m.version for m in MIGRATIONS] == list(range(1, schema.SCHEMA_VERSION + 1))


async def current_version(db: Database) -> int:
    """The highest version recorded in schema_version (0 for a new database).

    One batch: on a sqld replica separate requests may read the local copy before the forwarded
    CREATE has replicated back ("no such table"); a batch runs as one unit on the primary."""
    statements: list[tuple[str, list[object]]] = [
        (ddl, []) for ddl in schema.table_ddl(schema.schema_version)
    ]
    statements.append(("SELECT max(version) FROM schema_version", []))
    result = (await db.batch(statements))[-1]
    value = result.rows[0][0] if result.rows else None
    return int(value) if value is not None else 0


async def is_current(db: Database, *, wal: bool) -> bool:
    """Whether `db` is at this tracekit's schema version with every session's roll-up summary
    back-filled (and, with `wal`, in WAL mode), read in one statement with no DDL: the check every
    open of an existing, current database makes. False sends the open through `migrate()`, which
    also resumes a back-fill cut short."""
    sql = (
        "SELECT (SELECT max(version) FROM schema_version), "
        "EXISTS (SELECT 1 FROM sessions INDEXED BY ix_sessions_without_summary WHERE rollup_json IS NULL)"
    )
    if wal:
        sql += ", (SELECT journal_mode FROM pragma_journal_mode)"
    try:
        result = await db.execute(sql)
    except StoreError as exc:
        if "no such" in str(exc):
            return False  # a new or older database (no table, column or index yet): migrate()
        raise
    row = result.rows[0] if result.rows else ()
    return (
        bool(row)
        and row[0] == schema.SCHEMA_VERSION
        and not row[1]
        and (not wal or str(row[2]).lower() == "wal")
    )


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
            try:
                await db.batch(statements)
            except StoreError as exc:
                # another process applied this migration first (ALTER TABLE has no IF NOT EXISTS)
                if "duplicate column" not in str(exc) or await _recorded(db) < migration.version:
                    raise
            log.info(
                "migrated %s to schema version %d (%s)", db.url, migration.version, migration.description
            )
            found = migration.version
    if target >= 3:
        await backfill_summaries(db)
    return found


async def _recorded(db: Database) -> int:
    result = await db.execute("SELECT max(version) FROM schema_version")
    value = result.rows[0][0] if result.rows else None
    return int(value) if value is not None else 0


_BACKFILL_CHUNK = 200
"""Sessions whose roll-up summaries are computed per batch when back-filling."""


def _columns(table: Table) -> str:
    """Every column of `table` in order, the wide *_json ones read as NULL (the summary needs none)."""
    return ", ".join("NULL" if c.name.endswith("_json") else c.name for c in table.columns)


async def backfill_summaries(db: Database) -> int:
    """Compute sessions.rollup_json from the stored rows for every session that has none (saved
    before version 3); returns how many were filled. Resumable and safe beside writers: a
    session saved meanwhile carries its own summary, which is never overwritten."""
    filled = 0
    after: str | None = None
    while True:
        try:
            found = await db.execute(
                "SELECT session_id FROM sessions INDEXED BY ix_sessions_without_summary "
                "WHERE rollup_json IS NULL AND (? IS NULL OR session_id > ?) ORDER BY session_id LIMIT ?",
                [after, after, _BACKFILL_CHUNK],
            )
        except StoreError as exc:
            # a sqld replica may not show the DDL it just forwarded to its primary yet: nothing to
            # fill here now; is_current() stays False until it is done, so the next open resumes it
            if "no such" not in str(exc):
                raise
            return filled
        ids = [row[0] for row in found.rows]
        if not ids:
            return filled
        after = ids[-1]
        marks = ", ".join("?" for _ in ids)
        tables = (schema.llm_calls, schema.tool_calls, schema.events, schema.messages)
        results = await db.batch(
            [
                (f"SELECT {_columns(t)} FROM {t.name} WHERE session_id IN ({marks}) ORDER BY session_id", ids)
                for t in tables
            ]
        )
        rows: dict[str, list[list[Any]]] = {sid: [[], [], [], []] for sid in ids}
        for i, result in enumerate(results):
            for row in result.rows:
                rows[row[0]][i].append(row)
        updates: list[tuple[str, list[object]]] = []
        for sid in ids:
            calls, tools, events, messages = rows[sid]
            summary = rollup_rows.session_summary(
                calls, tools, rollup_rows.warning_counts(calls, events, messages)
            )
            updates.append(
                (
                    "UPDATE sessions SET rollup_json = ? WHERE session_id = ? AND rollup_json IS NULL",
                    [summary, sid],
                )
            )
        await db.batch(updates)
        filled += len(ids)

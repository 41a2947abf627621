"""Schema versions: new databases get every migration, older ones upgrade, newer ones are refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from store.storebuilders import make_trace
from store.test_aggregates import _traces, assert_same

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.store import TursoManager, migrations, rollup, schema
from tracekit.store.libsql import Database, Statement
from tracekit.store.mapping import trace_rows
from tracekit.store.queries import SessionFilter
from tracekit.store.writer import TRACE_TABLES, insert_statements


def _cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    priced = pricing.call_cost(record)
    return (None, None) if priced is None else (priced.nanousd, priced.price_table_version)


def _old_save_statements(traces: list[tk.SessionTrace]) -> list[Statement]:
    """What tracekit wrote before schema version 3: today's rows, sessions without rollup_json."""
    statements: list[Statement] = []
    names = [c.name for c in schema.sessions.columns if c.name != "rollup_json"]
    for trace in traces:
        rows = trace_rows(trace, saved_at="2026-01-01T00:00:00.000000+00:00", cost=_cost)
        for table in TRACE_TABLES:
            if table is schema.sessions:
                statements += [
                    (
                        f"INSERT INTO sessions ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                        row[:-1],
                    )
                    for row in rows.tables[table.name]
                ]
            else:
                statements += insert_statements(table, rows.tables[table.name])
    return statements


async def _versions(db: TursoManager) -> list[tuple[int, str]]:
    rows = await db.execute("SELECT version, description FROM schema_version ORDER BY version")
    return [(r["version"], r["description"]) for r in rows]


async def test_new_database_records_every_migration(store: TursoManager) -> None:
    """A fresh database is at the latest version with one schema_version row per migration."""
    assert await _versions(store) == [(m.version, m.description) for m in migrations.MIGRATIONS]
    assert schema.SCHEMA_VERSION == 4


async def test_migrated_tables_match_schema_py(store: TursoManager) -> None:
    """Every table of schema.py exists with exactly its columns, in order, after migrating."""
    for table in schema.metadata.sorted_tables:
        rows = await store.execute(f"SELECT name FROM pragma_table_info('{table.name}') ORDER BY cid")
        assert [r["name"] for r in rows] == [c.name for c in table.columns], table.name


async def test_older_database_upgrades_on_open(tmp_path: Path) -> None:
    """A version-1 database holding a trace is upgraded to version 2 on open, with its data intact."""
    url = f"file:{tmp_path / 'old.db'}"
    trace = make_trace("old", steps=2)
    db = Database(url)
    await db.open()
    try:
        assert await migrations.migrate(db, target=1) == 1
        await db.batch(_old_save_statements([trace]))
        tables = {
            r[0] for r in (await db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows
        }
        assert "experiments" not in tables
    finally:
        await db.close()
    async with TursoManager(url) as upgraded:
        assert [v for v, _ in await _versions(upgraded)] == [1, 2, 3, 4]
        assert await upgraded.get_session("old") == trace
        exp = await upgraded.create_experiment("after-upgrade")
        await upgraded.link_session(exp, "old")
        assert [s.session_id for s in (await upgraded.list_sessions(experiment_id=exp)).sessions] == ["old"]


async def test_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    """A database recorded at a future version raises SchemaVersionError and gets no new rows."""
    url = f"file:{tmp_path / 'new.db'}"
    async with TursoManager(url) as db:
        await db.save_session(make_trace("kept", steps=1))
    raw = Database(url)
    await raw.open()
    try:
        await raw.execute(
            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
            [99, "from the future", datetime(2030, 1, 1, tzinfo=UTC).isoformat()],
        )
    finally:
        await raw.close()
    with pytest.raises(tk.SchemaVersionError, match="schema version 99, newer than this tracekit's 4"):
        await TursoManager(url).open()
    raw = Database(url)
    await raw.open()
    try:
        rows = (await raw.execute("SELECT count(*) FROM schema_version")).rows
        assert rows == [(5,)]
    finally:
        await raw.close()


async def test_migrating_twice_is_harmless(tmp_path: Path) -> None:
    """Running the migrations again on an up-to-date database changes nothing."""
    db = Database(f"file:{tmp_path / 'twice.db'}")
    await db.open()
    try:
        assert await migrations.migrate(db) == 4
        assert await migrations.migrate(db) == 4
        assert (await db.execute("SELECT count(*) FROM schema_version")).rows == [(4,)]
    finally:
        await db.close()


async def test_current_database_opens_with_one_read_and_no_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening an existing, current database reads its version (and WAL mode) and never runs migrate()."""
    url = f"file:{tmp_path / 'current.db'}"
    trace = make_trace("kept", steps=1)
    async with TursoManager(url) as db:
        await db.save_session(trace)

    async def refuse(*_args: object, **_kwargs: object) -> int:
        raise AssertionError("migrate() ran on a current database")

    monkeypatch.setattr(migrations, "migrate", refuse)
    async with TursoManager(url) as reopened:
        assert await reopened.get_session("kept") == trace


async def test_is_current_is_false_for_new_older_or_non_wal_databases(tmp_path: Path) -> None:
    """The open fast path is taken only at this version in WAL mode: a new file, an older version
    and a rollback-journal file all go through migrate()."""
    db = Database(f"file:{tmp_path / 'check.db'}")
    await db.open()
    try:
        assert await migrations.is_current(db, wal=True) is False  # no schema_version table yet
        assert await migrations.migrate(db, target=1) == 1
        assert await migrations.is_current(db, wal=False) is False  # older version
        assert await migrations.migrate(db) == schema.SCHEMA_VERSION
        assert await migrations.is_current(db, wal=False) is True
        assert await migrations.is_current(db, wal=True) is False  # rollback journal, not WAL yet
        await db.execute("PRAGMA journal_mode=WAL")
        assert await migrations.is_current(db, wal=True) is True
    finally:
        await db.close()


async def test_version_2_database_upgrades_with_summaries_back_filled(tmp_path: Path) -> None:
    """A database written at version 2 opens at version 3 with every session's rollup_json back-filled,
    equal to what a save writes today, and its roll-ups (from those summaries) equal tk.aggregate."""
    url = f"file:{tmp_path / 'v2.db'}"
    traces = _traces()
    db = Database(url)
    await db.open()
    try:
        assert await migrations.migrate(db, target=2) == 2
        await db.batch(_old_save_statements(traces))
        columns = {r[1] for r in (await db.execute("SELECT * FROM pragma_table_info('sessions')")).rows}
        assert "rollup_json" not in columns
    finally:
        await db.close()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as upgraded:
        assert [v for v, _ in await _versions(upgraded)] == [1, 2, 3, 4]
        stored = {
            r["session_id"]: r["rollup_json"]
            for r in await upgraded.execute("SELECT session_id, rollup_json FROM sessions")
        }
        fresh = {
            t.session_id: trace_rows(t, saved_at="x", cost=_cost).tables["sessions"][0][-1] for t in traces
        }
        assert stored == fresh
        for by in (None, "model", "provider", "agent", "session", "timestep"):
            assert_same(await upgraded.aggregate(by=by), tk.aggregate(traces, by=by))
        assert await upgraded.get_session("odd") == traces[8]


async def test_sessions_without_summaries_roll_up_from_their_call_rows(tmp_path: Path) -> None:
    """A selected session with no rollup_json (a back-fill cut short) makes the roll-up read the call
    rows instead, still equal to tk.aggregate; the next open resumes the back-fill."""
    url = f"file:{tmp_path / 'partial.db'}"
    traces = _traces()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        await db.save_sessions(traces)
    raw = Database(url)
    await raw.open()
    try:
        await raw.execute("UPDATE sessions SET rollup_json = NULL WHERE session_id IN ('s1', 'odd')")
        assert await migrations.is_current(raw, wal=True) is False
        for by in (None, "model", "session"):
            assert_same(await rollup.aggregate(raw, by, SessionFilter()), tk.aggregate(traces, by=by))
        chosen = [t for t in traces if t.session_id in ("s1", "s3")]
        assert_same(
            await rollup.aggregate(raw, "agent", SessionFilter(session_ids=("s1", "s3"))),
            tk.aggregate(chosen, by="agent"),
        )
    finally:
        await raw.close()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        rows = await db.execute("SELECT count(*) AS n FROM sessions WHERE rollup_json IS NULL")
        assert rows == [{"n": 0}]
        assert_same(await db.aggregate(by="model"), tk.aggregate(traces, by="model"))
    raw = Database(url)
    await raw.open()
    try:
        assert await migrations.is_current(raw, wal=True) is True
        assert await migrations.backfill_summaries(raw) == 0
    finally:
        await raw.close()

"""by="timestep" roll-ups from the timestep indexes (schema version 4), equal to tk.aggregate."""

from __future__ import annotations

from pathlib import Path

import pytest
from store.storebuilders import at, llm_call, make_trace
from store.test_aggregates import assert_same

import tracekit as tk
from tracekit.store import TursoManager, migrations, rollup
from tracekit.store.libsql import Database
from tracekit.store.queries import SessionFilter


def _traces() -> list[tk.SessionTrace]:
    """Sessions sharing step ids ("step-0".. "step-3"), plus calls in no timestep and in a step
    whose id is "" (both the missing key), over several models, outcomes and tool calls."""
    traces = [make_trace(f"t{i}", steps=2 + i % 3, seed=i, created=i) for i in range(6)]
    for i, trace in enumerate(traces[:3]):
        loose = tk.LMCAISEvent(
            system_instance_id="solo",
            time_record=tk.TimeRecord(at(300 + i)),
            call_records=[llm_call(500 + i, model="claude-sonnet-4-5")],
        )
        trace.event_history.append(loose)
    unnamed = tk.LMCAISEvent(
        system_instance_id="solo",
        time_record=tk.TimeRecord(at(400)),
        call_records=[llm_call(600, model="gpt-4o", tools=2)],
    )
    traces[4].session_time_steps.append(tk.SessionTimeStep(step_id="", step_index=9, events=[unnamed]))
    traces[4].event_history.append(unnamed)
    return traces


@pytest.mark.parametrize("picks_per_call", [0, 10**9], ids=["index-picks", "index-windows"])
async def test_timestep_roll_up_equals_python_on_both_pick_paths(
    store: TursoManager, monkeypatch: pytest.MonkeyPatch, picks_per_call: int
) -> None:
    """Unfiltered by="timestep" equals tk.aggregate whether percentiles are picked per rank by index
    position (few steps) or by one window walk of each timestep index (many small steps)."""
    monkeypatch.setattr(rollup, "_PICKS_PER_CALL", picks_per_call)
    traces = _traces()
    await store.save_sessions(traces)
    assert_same(await store.aggregate(by="timestep"), tk.aggregate(traces, by="timestep"))


async def test_filtered_timestep_roll_up_equals_python(store: TursoManager) -> None:
    """by="timestep" over a session filter (the row windows) equals tk.aggregate on those sessions."""
    traces = _traces()
    await store.save_sessions(traces)
    chosen = [traces[1], traces[4]]
    assert_same(
        await store.aggregate(by="timestep", session_ids=["t1", "t4"]), tk.aggregate(chosen, by="timestep")
    )


async def test_timestep_warnings_fall_back_to_rows_without_a_summary(tmp_path: Path) -> None:
    """A session with no roll-up summary (a back-fill cut short) makes by="timestep" count its warnings
    from its rows, still equal to tk.aggregate (warnings included)."""
    url = f"file:{tmp_path / 'partial.db'}"
    traces = _traces()
    traces[5].event_history.append(
        tk.LMCAISEvent(system_instance_id="x", time_record=tk.TimeRecord(at(900)), call_records=[])
    )
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        await db.save_sessions(traces)
    raw = Database(url)
    await raw.open()
    try:
        await raw.execute("UPDATE sessions SET rollup_json = NULL WHERE session_id IN ('t2', 't5')")
        expected = tk.aggregate(traces, by="timestep")
        assert any("t5" in w for w in expected.warnings)
        assert_same(await rollup.aggregate(raw, "timestep", SessionFilter()), expected)
    finally:
        await raw.close()


async def test_timestep_sums_walk_the_covering_index_without_a_sort(store: TursoManager) -> None:
    """The unfiltered timestep statements read only ix_llm_calls_rollup_timestep and
    ix_tool_calls_rollup_timestep, in their order: no temporary b-tree, no table rows."""
    sums, tools = rollup._group_statements("timestep", SessionFilter(), rollup._SPLITS[0])
    for (sql, params), index in (
        (sums, "ix_llm_calls_rollup_timestep"),
        (tools, "ix_tool_calls_rollup_timestep"),
    ):
        plan = [row["detail"] for row in await store.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        assert plan == [f"SEARCH {'c' if 'llm' in index else 't'} USING COVERING INDEX {index} (in_rollup=?)"]


async def test_version_3_database_gains_the_timestep_indexes_on_open(tmp_path: Path) -> None:
    """A version-3 database (its version-4 indexes dropped, ix_llm_calls_step back) opens at version 4
    with the timestep indexes built over its rows and ix_llm_calls_step gone; its timestep roll-up
    equals tk.aggregate."""
    url = f"file:{tmp_path / 'v3.db'}"
    traces = _traces()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        await db.save_sessions(traces)
    raw = Database(url)
    await raw.open()
    try:
        await raw.batch(
            [
                ("DELETE FROM schema_version WHERE version = 4", []),
                *((f"DROP INDEX {name}", []) for name in migrations._V4_INDEXES),
                ("CREATE INDEX ix_llm_calls_step ON llm_calls (step_id)", []),
            ]
        )
        assert await migrations.current_version(raw) == 3
        assert await migrations.is_current(raw, wal=True) is False
    finally:
        await raw.close()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as upgraded:
        rows = await upgraded.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        names = {r["name"] for r in rows}
        assert set(migrations._V4_INDEXES) <= names
        assert "ix_llm_calls_step" not in names
        assert_same(await upgraded.aggregate(by="timestep"), tk.aggregate(traces, by="timestep"))

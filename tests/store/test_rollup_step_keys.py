"""by="timestep" over rows whose step id is "" (another writer's spelling of "no step"), and the
unpriced line counted from the timestep rows themselves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from store.test_aggregates import assert_same
from store.test_rollup_timestep import _traces

import tracekit as tk
from tracekit.store import TursoManager, rollup
from tracekit.store.libsql import Database, Result, Statement


async def _saved_with_empty_step_ids(tmp_path: Path) -> tuple[str, list[tk.SessionTrace]]:
    """The timestep traces saved, then every NULL step id of their call and tool rows set to ""."""
    url = f"file:{tmp_path / 'steps.db'}"
    traces = _traces()
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        await db.save_sessions(traces)
    raw = Database(url)
    await raw.open()
    try:
        await raw.batch(
            [
                ("UPDATE llm_calls SET step_id = '' WHERE step_id IS NULL", []),
                ("UPDATE tool_calls SET step_id = '' WHERE step_id IS NULL", []),
            ]
        )
        blank = await raw.execute("SELECT count(*) FROM llm_calls WHERE step_id = ''")
        assert blank.rows[0][0] == 4  # three calls outside every step, one in the step named ""
    finally:
        await raw.close()
    return url, traces


@pytest.mark.parametrize("picks_per_call", [0, 40, 10**9], ids=["index-picks", "default", "index-windows"])
async def test_empty_step_ids_are_the_missing_key_unfiltered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, picks_per_call: int
) -> None:
    """Unfiltered by="timestep" merges "" step ids into the None group, as tk.aggregate does, on every
    percentile path (a "" key used to raise KeyError out of the row-window picks)."""
    monkeypatch.setattr(rollup, "_PICKS_PER_CALL", picks_per_call)
    url, traces = await _saved_with_empty_step_ids(tmp_path)
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        result = await db.aggregate(by="timestep")
    assert result.groups[-1].key is None
    assert result.groups[-1].call_count == 4
    assert_same(result, tk.aggregate(traces, by="timestep"))


async def test_empty_step_ids_are_the_missing_key_filtered(tmp_path: Path) -> None:
    """A filtered by="timestep" roll-up (row windows keyed by step) merges "" into the None group too."""
    url, traces = await _saved_with_empty_step_ids(tmp_path)
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        result = await db.aggregate(by="timestep", session_ids=["t0", "t4"])
    assert_same(result, tk.aggregate([traces[0], traces[4]], by="timestep"))


async def test_timestep_unpriced_line_needs_no_count_of_the_calls(
    store: TursoManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By timestep over every session the unpriced line's "without usable token counts" comes from the
    timestep rows (each keyed by one model), so no statement counts the unpriced calls again."""
    traces = _traces()
    await store.save_sessions(traces)
    expected = tk.aggregate(traces, by="timestep")
    assert "1 without usable token counts" in expected.warnings[-1]
    sent: list[str] = []
    execute, batch = Database.execute, Database.batch

    async def recording(self: Database, sql: str, params: Sequence[Any] = ()) -> Result:
        sent.append(sql)
        return await execute(self, sql, params)

    async def recording_batch(self: Database, statements: Sequence[Statement]) -> list[Result]:
        sent.extend(sql for sql, _ in statements)
        return await batch(self, statements)

    monkeypatch.setattr(Database, "execute", recording)
    monkeypatch.setattr(Database, "batch", recording_batch)
    result = await store.aggregate(by="timestep")
    assert any("ix_llm_calls_rollup_timestep " in sql for sql in sent)
    assert [sql for sql in sent if "cost_nanousd IS NULL AND" in sql] == []
    assert_same(result, expected)

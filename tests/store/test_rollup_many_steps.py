"""by="timestep" over thousands of sessions whose step ids are their own (a group a step, as uuids per
step give): each one-row step built straight from its row, equal to tk.aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from store.storebuilders import make_trace
from store.test_aggregates import assert_same
from store.test_rollup_timestep import _traces

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.libsql import Database, Result, Statement


def _distinct_step_traces(sessions: int) -> list[tk.SessionTrace]:
    """`sessions` sessions of three steps each, every step id unique to its session but step 0 of
    every 50th session (shared: a step of several group rows), plus the timestep traces (calls in
    no step, steps shared across sessions)."""
    traces = [make_trace(f"u{i:04d}", steps=3, seed=i, created=i) for i in range(sessions)]
    for i, trace in enumerate(traces):
        for step in trace.session_time_steps:
            if i % 50 or step.step_index:
                step.step_id = f"{trace.session_id}-{step.step_id}"
    return traces + _traces()


async def test_many_distinct_steps_equal_python(store: TursoManager, monkeypatch: pytest.MonkeyPatch) -> None:
    """1,200 sessions, ~3,600 distinct steps: the by-step results (every group, the total, the
    warnings) equal tk.aggregate's, and the picks are read one pivoted row a step (the many-steps
    path), not a row a rank."""
    traces = _distinct_step_traces(1200)
    await store.save_sessions(traces)
    expected = tk.aggregate(traces, by="timestep")
    assert len(expected.groups) > 3500
    sent: list[str] = []
    batch = Database.batch

    async def recording_batch(self: Database, statements: Sequence[Statement]) -> list[Result]:
        sent.extend(sql for sql, _ in statements)
        return await batch(self, statements)

    monkeypatch.setattr(Database, "batch", recording_batch)
    result = await store.aggregate(by="timestep")
    assert sum("max(CASE WHEN rn = 1 THEN v END)" in sql for sql in sent) == 4
    assert_same(result, expected)
    shared = next(g for g in result.groups if g.key == "step-0")
    assert shared.call_count == 24 + 6  # step 0 of every 50th session, and of each timestep trace


async def test_many_distinct_steps_with_changed_counts_read_again(
    store: TursoManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call added between the sums and the picks (a step's pick count disagrees with its sums):
    the roll-up is read again and equals tk.aggregate over the sessions as they end up."""
    traces = _distinct_step_traces(200)
    await store.save_sessions(traces)
    late = make_trace("late", steps=2, seed=7, created=9)
    batch = Database.batch
    calls = 0

    async def racing_batch(self: Database, statements: Sequence[Statement]) -> list[Any]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the picks batch of the first attempt: a session lands first
            await batch(self, statements)  # (read, then discarded: the counts moved)
            monkeypatch.setattr(Database, "batch", batch)
            await store.save_sessions([late])
        return await batch(self, statements)

    monkeypatch.setattr(Database, "batch", racing_batch)
    result = await store.aggregate(by="timestep")
    assert_same(result, tk.aggregate([*traces, late], by="timestep"))


def _picks_sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The window pick statements (pivoted or not) sent from now on (recorded off Database.batch)."""
    sent: list[str] = []
    batch = Database.batch

    async def recording_batch(self: Database, statements: Sequence[Statement]) -> list[Result]:
        sent.extend(sql for sql, _ in statements if "row_number()" in sql)
        return await batch(self, statements)

    monkeypatch.setattr(Database, "batch", recording_batch)
    return sent


@pytest.mark.parametrize("zero", [False, True], ids=["nonzero", "a-zero-latency"])
async def test_one_value_steps_read_no_picks(
    store: TursoManager, monkeypatch: pytest.MonkeyPatch, zero: bool
) -> None:
    """Every step its own with one call (one value a column): each value is its own min, max and
    percentiles, so no pick is read, and the result equals tk.aggregate. A 0.0 value (its sum cannot
    tell 0.0 from -0.0) makes the picks be read."""
    traces = [make_trace(f"v{i:04d}", steps=2, seed=i, created=i) for i in range(1000)]
    for trace in traces:
        for step in trace.session_time_steps:
            step.step_id = f"{trace.session_id}-{step.step_id}"
    if zero:
        call = traces[3].session_time_steps[1].events[0].call_records[0]  # type: ignore[attr-defined]
        call.latency_ms = 0.0
    await store.save_sessions(traces)
    sent = _picks_sent(monkeypatch)
    result = await store.aggregate(by="timestep")
    expected = tk.aggregate(traces, by="timestep")
    assert_same(result, expected)
    assert [repr(g.latency_ms) for g in result.groups] == [repr(g.latency_ms) for g in expected.groups]
    assert len(sent) == (4 if zero else 0)

"""Eight real processes writing to one store at once: every session stored once, equal to what was
written, on an embedded file and on one sqld, through the manager and through the tracer's writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reliability.procs import run_all
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager

WRITERS, SESSIONS, STEPS = 8, 50, 1


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "file":
        return f"file:{tmp_path / 'traces.db'}"
    return str(request.getfixturevalue("fresh_sqld").url)


async def _check_stored(url: str, expected: dict[str, tk.SessionTrace], spool: Path) -> None:
    async with TursoManager(url, spool_path=spool) as db:
        rows = await db.execute("SELECT session_id FROM sessions ORDER BY session_id")
        assert [row["session_id"] for row in rows] == sorted(expected)
        counts = await db.execute("SELECT count(*) AS n FROM timesteps")
        assert counts == [{"n": sum(len(t.session_time_steps) for t in expected.values())}]
        for session_id, trace in expected.items():
            assert await db.get_session(session_id) == trace
    assert not spool.exists()


@pytest.mark.parametrize("backend", ["file", pytest.param("sqld", marks=pytest.mark.sqld)])
async def test_eight_processes_saving_directly_lose_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """8 processes x 50 save_session calls at once to one store: all 400 return "saved" and are
    stored exactly once, each equal to the trace written."""
    url = _url(backend, tmp_path, request)
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl"):
        pass  # the schema once, before the writers race
    spool = tmp_path / "spool.jsonl"
    runs = run_all("direct", url, spool, [f"w{w}" for w in range(WRITERS)], SESSIONS, STEPS)
    assert [(r.errors, r.returncode) for r in runs] == [([], 0)] * WRITERS
    outcomes = {sid: outcome for run in runs for sid, outcome in run.outcomes.items()}
    expected = {
        f"w{w}-{i}": make_trace(f"w{w}-{i}", steps=STEPS, seed=i)
        for w in range(WRITERS)
        for i in range(SESSIONS)
    }
    assert outcomes == dict.fromkeys(expected, "saved")
    await _check_stored(url, expected, spool)


@pytest.mark.parametrize("backend", ["file", pytest.param("sqld", marks=pytest.mark.sqld)])
async def test_eight_processes_through_the_tracer_lose_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """8 processes x 50 sessions through SessionTracer's background writer to one store: each
    flush reports 50 written and nothing else, and all 400 read back equal to the live traces."""
    url = _url(backend, tmp_path, request)
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl"):
        pass
    spool = tmp_path / "spool.jsonl"
    runs = run_all("tracer", url, spool, [f"t{w}" for w in range(WRITERS)], SESSIONS, STEPS)
    assert [(r.errors, r.returncode) for r in runs] == [([], 0)] * WRITERS
    flushes = [json.loads(r.flush or "{}") for r in runs]
    assert (
        flushes
        == [{"written": SESSIONS, "spooled": 0, "failed": 0, "replayed": 0, "pending": 0, "errors": {}}]
        * WRITERS
    )
    traces = [tk.SessionTrace.from_json(text) for run in runs for text in run.traces]
    expected = {trace.session_id: trace for trace in traces}
    assert len(expected) == WRITERS * SESSIONS
    await _check_stored(url, expected, spool)

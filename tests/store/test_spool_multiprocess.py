"""One spool shared by real processes: no save lost, none replayed twice, lines appended during a
replay kept."""

from __future__ import annotations

import json
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

import pytest
import spool_worker
from store.storebuilders import make_trace

from tracekit.store import TursoManager
from tracekit.store.server import free_port


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    """Real processes forked from a server that imported tracekit once (no import per child)."""
    context = multiprocessing.get_context("forkserver")
    # the installed package, not spool_worker: Python 3.11's forkserver ignores the test sys.path
    context.set_forkserver_preload(["tracekit.store"])
    return context


def _run(
    context: ForkServerContext, jobs: list[tuple[Callable[..., None], tuple[Any, ...]]], work: Path, name: str
) -> list[dict[str, Any]]:
    """Start every job in its own process, release them together, and collect their JSON results."""
    go = work / f"go-{name}"
    outs = [work / f"{name}-{i}.json" for i in range(len(jobs))]
    procs = [
        context.Process(target=fn, args=(*args, go, out)) for (fn, args), out in zip(jobs, outs, strict=True)
    ]
    for proc in procs:
        proc.start()
    go.touch()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0, f"{proc.name} exited with {proc.exitcode}"
    return [json.loads(out.read_text(encoding="utf-8")) for out in outs]


def _session_ids(phase: str, writers: int, count: int) -> list[str]:
    return [f"{phase}{w}-{i}" for w in range(writers) for i in range(count)]


async def test_eight_processes_share_one_spool(
    forkserver: ForkServerContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """8 processes x 50 saves to a store that is down all spool to one file; 2 processes then replay
    it while 2 others keep spooling 25 each; a last replay leaves every one of the 450 sessions
    stored exactly once and the spool gone."""
    spool = tmp_path / "shared.spool.jsonl"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    up = f"file:{tmp_path / 'traces.db'}"
    started = time.monotonic()

    writers_a = [(spool_worker.spool_sessions, (down, spool, f"a{w}", 50)) for w in range(8)]
    results_a = _run(forkserver, writers_a, tmp_path, "a")
    assert [r["outcomes"] for r in results_a] == [["spooled"] * 50] * 8
    assert len(spool.read_bytes().splitlines()) == 400

    async with TursoManager(up, spool_path=tmp_path / "unused.jsonl"):
        pass  # create the schema once, so the replayers below only read it
    replayers = [(spool_worker.replay_spool, (up, spool, 3)) for _ in range(2)]
    writers_b = [(spool_worker.spool_sessions, (down, spool, f"b{w}", 25)) for w in range(2)]
    results_b = _run(forkserver, replayers + writers_b, tmp_path, "b")
    assert [r["outcomes"] for r in results_b[2:]] == [["spooled"] * 25] * 2

    caplog.set_level(logging.INFO, logger="tracekit.store.manager")
    async with TursoManager(up, spool_path=spool) as db:
        await db.replay_spool()
        final = sum(spool_worker.replayed_count(record) for record in caplog.records)
        elapsed = time.monotonic() - started

        replayed = [int(r["replayed"]) for r in results_b[:2]]
        assert sum(replayed) + final == 450  # each spooled line replayed exactly once
        expected = _session_ids("a", 8, 50) + _session_ids("b", 2, 25)
        stored = await db.execute("SELECT session_id FROM sessions ORDER BY session_id")
        assert sorted(row["session_id"] for row in stored) == sorted(expected)
        counts = await db.execute(
            "SELECT (SELECT count(*) FROM llm_calls) AS calls, (SELECT count(*) FROM timesteps) AS steps, "
            "(SELECT count(*) FROM events) AS events, (SELECT count(*) FROM messages) AS messages"
        )
        one = make_trace("x", steps=1)
        assert counts == [
            {
                "calls": 450,
                "steps": 450,
                "events": 450 * len(one.event_history),
                "messages": 450 * len(one.markov_blanket_message_history),
            }
        ]
        for session_id in expected[::25]:
            index = int(session_id.rsplit("-", 1)[1])
            assert await db.get_session(session_id) == make_trace(session_id, steps=1, seed=index)
    assert not spool.exists()
    assert not spool.with_name(spool.name + ".rejected").exists()
    sys.stderr.write(  # the figures, shown with -s
        f"\n8x50 + 2x25 spooled by 10 processes, replayed by 3 ({replayed} + {final}): 450/450 stored, "
        f"0 twice, spool empty, {elapsed:.1f} s\n"
    )

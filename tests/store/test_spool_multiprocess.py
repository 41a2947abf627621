"""One spool shared by real processes: no save lost, none replayed twice, lines appended during a
replay kept."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store.storebuilders import make_trace

from tracekit.store import TursoManager
from tracekit.store.server import free_port

WORKER = Path(__file__).with_name("spool_worker.py")
TESTS = Path(__file__).resolve().parents[1]


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(TESTS), str(TESTS / "store")]))
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _results(procs: list[subprocess.Popen[str]], go: Path) -> list[dict[str, object]]:
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    return results


def _session_ids(phase: str, writers: int, count: int) -> list[str]:
    return [f"{phase}{w}-{i}" for w in range(writers) for i in range(count)]


async def test_eight_processes_share_one_spool(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """8 processes x 50 saves to a store that is down all spool to one file; 2 processes then replay
    it while 2 others keep spooling 25 each; a last replay leaves every one of the 450 sessions
    stored exactly once and the spool gone."""
    spool = tmp_path / "shared.spool.jsonl"
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    up = f"file:{tmp_path / 'traces.db'}"
    started = time.monotonic()

    go_a = tmp_path / "go-a"
    writers_a = [_start(["spool", down, str(spool), f"a{w}", "50", str(go_a)]) for w in range(8)]
    results_a = _results(writers_a, go_a)
    assert [r["outcomes"] for r in results_a] == [["spooled"] * 50] * 8
    assert len(spool.read_bytes().splitlines()) == 400

    async with TursoManager(up, spool_path=tmp_path / "unused.jsonl"):
        pass  # create the schema once, so the replayers below only read it
    go_b = tmp_path / "go-b"
    replayers = [_start(["replay", up, str(spool), "3", str(go_b)]) for _ in range(2)]
    writers_b = [_start(["spool", down, str(spool), f"b{w}", "25", str(go_b)]) for w in range(2)]
    results_b = _results(replayers + writers_b, go_b)
    assert [r["outcomes"] for r in results_b[2:]] == [["spooled"] * 25] * 2

    caplog.set_level(logging.INFO, logger="tracekit.store.manager")
    async with TursoManager(up, spool_path=spool) as db:
        await db.replay_spool()
        final = sum(int(r.args[0]) for r in caplog.records if r.msg.startswith("replayed %d spooled"))  # type: ignore[index]
        elapsed = time.monotonic() - started

        replayed = [int(r["replayed"]) for r in results_b[:2]]  # type: ignore[call-overload]
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
    sys.stderr.write(
        f"\n8x50 + 2x25 spooled by 10 processes, replayed by 3 ({replayed} + {final}): 450/450 stored, "
        f"0 twice, spool empty, {elapsed:.1f} s\n"
    )

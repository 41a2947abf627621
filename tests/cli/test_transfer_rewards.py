"""`tracekit export | import` carries the rewards and experiment links a SessionTracer recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clirunner import Cli

import tracekit as tk
from tracekit.store.sync import SyncTursoManager


def _traced_store(url: str) -> str:
    """One session with an outcome reward, an event reward and an experiment, saved by the tracer."""
    tracer = tk.SessionTracer(store=url)
    with tracer.session(session_id="rewarded", experiment_id="exp-7") as trace:
        with tracer.timestep("turn-1", turn_number=1):
            tracer.record_message("hello", "user")
            tracer.record_event(tk.EnvironmentEvent(system_instance_id="env", reward=0.25))
            tracer.record_reward(0.25, event=0, reward_type="step", key="k1", metadata={"why": "greeted"})
        tracer.record_reward(1.5, achievements_count=3, metadata={"judge": "exact"})
    assert trace.session_id == "rewarded"
    result = tracer.flush(timeout=30)
    assert result.written == 1
    tracer.close()
    return "rewarded"


def _rewards(url: str, session_id: str) -> dict[str, list[dict[str, Any]]]:
    """The stored rewards without the ids and times the target store assigns anew."""
    with SyncTursoManager(url) as db:
        stored = db.get_rewards(session_id)
    return {
        kind: [{k: v for k, v in row.items() if k not in ("reward_id", "created_at")} for row in rows]
        for kind, rows in stored.items()
    }


def test_import_restores_tracer_rewards_and_experiment_once(cli: Cli) -> None:
    """Rewards and the experiment link come back in the new store, once, and min_reward sees them."""
    src = f"file:{cli.cwd / 'src.db'}"
    dst = f"file:{cli.cwd / 'dst.db'}"
    sid = _traced_store(src)
    before = _rewards(src, sid)
    assert [r["total_reward"] for r in before["outcome"]] == [1.5]
    assert [(r["reward_value"], r["event_index"], r["reward_type"], r["key"]) for r in before["event"]] == [
        (0.25, 0, "step", "k1")
    ]
    out = cli.cwd / "all.jsonl"
    assert cli.json("export", "--db", src, "--out", str(out))["sessions"] == 1
    assert cli.json("import", str(out), "--db", dst)["imported"] == 1
    assert _rewards(dst, sid) == before
    assert cli.json("import", str(out), "--db", dst)["imported"] == 1  # again: nothing doubled
    assert _rewards(dst, sid) == before
    with SyncTursoManager(dst) as db:
        assert [s.session_id for s in db.list_sessions(min_reward=1.0).sessions] == [sid]
        assert db.list_sessions(min_reward=2.0).sessions == []
        assert [s.session_id for s in db.list_sessions(experiment_id="exp-7").sessions] == [sid]


def test_import_refuses_a_malformed_reward_naming_its_path(cli: Cli) -> None:
    """A carried reward with a wrong-typed value names the line and field path; nothing is saved."""
    good = tk.SessionTrace(session_id="ok-1").to_json()
    bad = tk.SessionTrace(
        session_id="bad-1",
        session_metadata=[
            {"note": 1},
            {"tracekit_reward": {"reward_key": "r1", "kind": "outcome", "value": "high", "metadata": {}}},
        ],
    ).to_json()
    path: Path = cli.cwd / "bad.jsonl"
    path.write_text(good + "\n" + bad + "\n", encoding="utf-8")
    done = cli("import", str(path), "--db", "file:target.db")
    assert done.returncode == 1
    head = f"tracekit import: error: invalid SessionTrace ({path} line 2): 1 problem(s); "
    assert done.stderr.startswith(head)
    assert "session_metadata[1].tracekit_reward.value: must be a finite number (got 'high')" in done.stderr
    assert not (cli.cwd / "target.db").exists()

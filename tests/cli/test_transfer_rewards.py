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


def _store_with_direct_side_tables(url: str) -> None:
    """A tracer session plus a reward and an experiment link added straight to the store."""
    _traced_store(url)
    with SyncTursoManager(url) as db:
        db.save_session(tk.SessionTrace(session_id="plain"))
        db.add_outcome_reward("plain", 0.75, achievements_count=2, metadata={"grader": "human"})
        db.add_event_reward("rewarded", -1.0, event_index=0, reward_type="penalty", key="late")
        db.create_experiment("ablation", experiment_id="exp-9", description="no tools", metadata={"seed": 3})
        db.link_session("exp-9", "plain")
        db.link_session("exp-9", "rewarded")


def _without_stored_key(rewards: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Rewards with the import's idempotence key dropped from their metadata."""

    def strip(row: dict[str, Any]) -> dict[str, Any]:
        return {**row, "metadata": {k: v for k, v in row["metadata"].items() if k != "tracekit_reward_key"}}

    return {kind: [strip(r) for r in rows] for kind, rows in rewards.items()}


def test_export_carries_rewards_and_links_added_straight_to_the_store(cli: Cli) -> None:
    """Rewards from db.add_*_reward and links from db.link_session come back in the new store, once,
    with the experiment's name, description and metadata."""
    src = f"file:{cli.cwd / 'src.db'}"
    dst = f"file:{cli.cwd / 'dst.db'}"
    _store_with_direct_side_tables(src)
    out = cli.cwd / "all.jsonl"
    assert cli.json("export", "--db", src, "--out", str(out))["sessions"] == 2
    for _ in range(2):  # importing the same export twice doubles nothing
        assert cli.json("import", str(out), "--db", dst)["imported"] == 2
        for sid in ("plain", "rewarded"):
            assert _without_stored_key(_rewards(dst, sid)) == _without_stored_key(_rewards(src, sid))
    with SyncTursoManager(dst) as db:
        assert [r["total_reward"] for r in db.get_rewards("plain")["outcome"]] == [0.75]
        assert [s.session_id for s in db.list_sessions(min_reward=0.5).sessions] == ["rewarded", "plain"]
        assert db.session_experiments("plain") == [
            {"experiment_id": "exp-9", "name": "ablation", "description": "no tools", "metadata": {"seed": 3}}
        ]
        assert [e["experiment_id"] for e in db.session_experiments("rewarded")] == ["exp-7", "exp-9"]
    again = cli.cwd / "again.jsonl"  # a second hop carries the same side tables, nothing added twice
    assert cli.json("export", "--db", dst, "--out", str(again))["sessions"] == 2
    third = f"file:{cli.cwd / 'third.db'}"
    assert cli.json("import", str(again), "--db", third)["imported"] == 2
    for sid in ("plain", "rewarded"):
        assert _without_stored_key(_rewards(third, sid)) == _without_stored_key(_rewards(src, sid))


def test_export_of_a_session_without_side_tables_is_its_stored_trace(cli: Cli) -> None:
    """A session with no rewards or links is exported exactly as stored (its to_json line)."""
    src = f"file:{cli.cwd / 'src.db'}"
    trace = tk.SessionTrace(session_id="bare", session_metadata=[{"run": 1}])
    with SyncTursoManager(src) as db:
        db.save_session(trace)
        stored = db.get_session("bare")
    out = cli.cwd / "bare.jsonl"
    assert cli.json("export", "--db", src, "--out", str(out))["sessions"] == 1
    assert out.read_text(encoding="utf-8") == stored.to_json() + "\n"

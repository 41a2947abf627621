"""The demo run: its stored numbers equal aggregates computed independently from the bundled payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clirunner import Cli

import tracekit as tk
from tracekit.demo import run_demo, sdks_available
from tracekit.demo.requests import request_kwargs
from tracekit.demo.script import EXPERIMENT, SESSIONS, Call, load_payload
from tracekit.store import SyncTursoManager

COMPARED = (
    "call_count",
    "success_count",
    "error_count",
    "incomplete_count",
    "calls_without_usage",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_nanousd",
    "unpriced_call_count",
    "tool_calls_count",
    "tool_calls_by_name",
)
"""Every roll-up field that does not depend on the wall clock."""


def _expected_record(call: Call) -> tk.LLMCallRecord:
    """The record of one scripted call, rebuilt straight from its payload (no tracer, no SDK)."""
    payload = load_payload(call.payload)
    request = request_kwargs(call)
    if not call.stream:
        return tk.record_from_response(payload, request=request)
    chunks = payload if call.cut_after is None else payload[: call.cut_after]
    recorder = tk.StreamRecorder(request=request)
    for chunk in chunks:
        recorder.add(chunk)
    return recorder.finish()


def _expected(by_agent: bool) -> dict[str | None, dict[str, Any]]:
    calls = [call for session in SESSIONS for turn in session.turns for call in turn.calls]
    records = [(call.agent, _expected_record(call)) for call in calls]
    if by_agent:
        agents = sorted({agent for agent, _ in records})
        return {
            a: tk.aggregate([r for agent, r in records if agent == a]).total.to_dict() | {"key": a}
            for a in agents
        }
    return {g.key: g.to_dict() for g in tk.aggregate([r for _, r in records], by="model").groups}


def _stored(url: str, session_ids: tuple[str, ...], by: str) -> dict[str | None, dict[str, Any]]:
    with SyncTursoManager(url) as db:
        result = db.aggregate(by, session_ids=list(session_ids))  # type: ignore[arg-type]
    return {g.key: g.to_dict() for g in result.groups}


def _pick(groups: dict[str | None, dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {key: {f: group[f] for f in COMPARED} for key, group in groups.items()}


@pytest.mark.parametrize("use_sdk", [True, False], ids=["sdk-clients", "decorated-functions"])
def test_demo_numbers_equal_aggregates_of_the_bundled_payloads(tmp_path: Path, use_sdk: bool) -> None:
    """Tokens, cost, outcomes and tool calls by model and by agent equal tk.aggregate over the payloads."""
    if use_sdk:
        assert sdks_available(), "the dev extra installs the vendor SDKs"
    url = f"file:{tmp_path / 'traces.db'}"
    run = run_demo(url, delay_scale=0, use_sdk=use_sdk)
    assert run.replay == ("sdk" if use_sdk else "decorators")
    assert (len(run.session_ids), run.call_count, run.failed_calls) == (3, 17, 1)
    assert (run.flush.written, run.flush.spooled, run.flush.failed) == (3, 0, 0)
    assert _pick(_stored(url, run.session_ids, "model")) == _pick(_expected(by_agent=False))
    assert _pick(_stored(url, run.session_ids, "agent")) == _pick(_expected(by_agent=True))


def test_demo_sessions_carry_rewards_tools_experiment_and_the_two_bad_calls(tmp_path: Path) -> None:
    """Sessions carry turn and outcome rewards, the experiment, a failed tool, a failed call, a cut stream."""
    url = f"file:{tmp_path / 'traces.db'}"
    run = run_demo(url, delay_scale=0, use_sdk=False)
    with SyncTursoManager(url) as db:
        listed = db.list_sessions(experiment_id=EXPERIMENT)
        assert sorted(s.session_id for s in listed.sessions) == sorted(run.session_ids)
        traces = [db.get_session(sid) for sid in run.session_ids]
        rewards = [db.get_rewards(sid) for sid in run.session_ids]
    assert [[r["total_reward"] for r in rw["outcome"]] for rw in rewards] == [[1.0], [0.0], [0.5]]
    assert [[r["reward_value"] for r in rw["event"]] for rw in rewards] == [
        [0.5, 1.0],
        [1.0, 0.0],
        [0.5, 0.75],
    ]
    assert [t.metadata["task"] for t in traces] == ["trip-planning", "weather-report", "support-desk"]
    records = [
        r for t in traces for e in t.event_history if isinstance(e, tk.LMCAISEvent) for r in e.call_records
    ]
    outcomes = [r.outcome for r in records]
    assert outcomes.count("error") == 1
    assert outcomes.count("incomplete") == 1
    failed = next(r for r in records if r.outcome == "error")
    assert failed.model_name == "claude-3-opus-latest"
    results = {(res.call_id, res.status) for r in records for res in r.tool_results}
    assert ("call_99999def", "error") in results
    assert ("call_12345xyz", "ok") in results
    assert {
        e.system_instance_id for t in traces for e in t.event_history if isinstance(e, tk.LMCAISEvent)
    } == {
        "planner",
        "researcher",
        "writer",
        "analyst",
        "critic",
        "scheduler",
        "summarizer",
    }


def test_demo_twice_adds_sessions_and_fresh_replaces_them(tmp_path: Path) -> None:
    """A second run adds three new sessions; --fresh deletes the earlier demo sessions first."""
    cli = Cli(tmp_path)
    first = cli.json("demo", "--no-delay", "--replay", "decorators")
    second = cli.json("demo", "--no-delay", "--replay", "decorators")
    assert set(first["session_ids"]).isdisjoint(second["session_ids"])
    assert (second["sft"]["sessions_seen"], second["sft"]["train"]) == (3, 15)  # this run's successful calls
    assert len(cli.json("sessions")["sessions"]) == 6
    fresh = cli.json("demo", "--no-delay", "--replay", "decorators", "--fresh")
    assert fresh["deleted_sessions"] == 6
    listed = cli.json("sessions")["sessions"]
    assert sorted(s["session_id"] for s in listed) == sorted(fresh["session_ids"])
    report = Path(fresh["report"])
    assert report.parent == tmp_path
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_demo_text_output_says_where_everything_is(tmp_path: Path) -> None:
    """Without --json the demo prints how it replayed, the stats tables, and the store and report paths."""
    done = Cli(tmp_path)("demo", "--no-delay", "--replay", "decorators")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "replayed 3 sessions, 17 LLM calls" in out
    assert "@tk.trace_llm_call-decorated functions" in out
    assert "by model" in out
    assert "by agent" in out
    assert f"store:       file:{tmp_path / 'traces.db'}" in out
    assert f"HTML report: {tmp_path / 'tracekit-demo-report.html'}" in out
    assert (
        f"SFT file:    {tmp_path / 'tracekit-demo-sft.jsonl'} (15 examples from the successful calls)" in out
    )
    assert len((tmp_path / "tracekit-demo-sft.jsonl").read_text(encoding="utf-8").splitlines()) == 15
    assert done.stderr == ""
    stats = json.loads(Cli(tmp_path)("stats", "--json", "--by", "model").stdout)
    assert stats["total"]["call_count"] == 17

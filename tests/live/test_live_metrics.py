"""tracer.live_metrics(): running totals equal tk.aggregate so far, per agent, tools, warnings."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from factories import build_call_record
from trace_checks import load

import tracekit as tk
from tracekit.tracer import SessionTracer


def _call(agent: str, record: tk.LLMCallRecord, tracer: SessionTracer) -> None:
    tracer.record_event(tk.LMCAISEvent(system_instance_id=agent, call_records=[record]))


def test_running_totals_equal_the_aggregate_at_each_poll() -> None:
    """After each batch of calls the live numbers equal tk.aggregate over the session so far."""
    tracer = SessionTracer(strict=True)
    with tracer.session(session_id="s") as trace:
        _call("planner", build_call_record(), tracer)
        first = tracer.live_metrics()
        _call("writer", tk.record_from_response(load("openai_chat", "response_basic")), tracer)
        _call(
            "planner", tk.LLMCallRecord(call_id="x", api_type="messages", model_name="unknown-model"), tracer
        )
        second = tracer.live_metrics("s")
        aggregate = tk.aggregate([trace], by="agent")
    assert (first["llm_calls"], first["input_tokens"], first["output_tokens"]) == (1, 1200, 40)
    total = aggregate.total
    assert {k: second[k] for k in ("llm_calls", "success", "errors", "incomplete")} == {
        "llm_calls": total.call_count,
        "success": total.success_count,
        "errors": total.error_count,
        "incomplete": total.incomplete_count,
    }
    for name in ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert second[name] == getattr(total, name), name
    assert (second["cost_nanousd"], second["unpriced_calls"]) == (
        total.cost_nanousd,
        total.unpriced_call_count,
    )
    assert second["cache_write_tokens"] is None
    assert [(a["agent"], a["llm_calls"], a["input_tokens"], a["cost_nanousd"]) for a in second["agents"]] == [
        (g.key, g.call_count, g.input_tokens, g.cost_nanousd) for g in aggregate.groups
    ]
    assert second["tool_calls_requested"] == 1
    assert second["warnings"] == [
        "1 of 3 LLM call(s) are unpriced and not in cost_usd; add prices with tk.set_price(...) or "
        "tk.load_prices(path)"
    ]
    assert (second["session_id"], second["sessions"], second["open_sessions"]) == ("s", 1, 1)


def test_tools_by_name_with_success_rate_and_median() -> None:
    """Tool runs are counted by name with their success rate and nearest-rank p50 duration."""

    @tk.trace_tool()
    def flaky(ok: bool) -> str:
        if not ok:
            raise ValueError("nope")
        return "fine"

    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        for ok in (True, False, True, True):
            with contextlib.suppress(ValueError):
                flaky(ok)
        metrics = tracer.live_metrics()
    durations = sorted(
        e.metadata["duration_ms"] for e in trace.event_history if isinstance(e, tk.EnvironmentEvent)
    )
    assert metrics["tools"] == [
        {
            "name": "flaky",
            "runs": 4,
            "succeeded": 3,
            "failed": 1,
            "success_rate": 0.75,
            "p50_ms": durations[1],
        }
    ]
    assert metrics["tool_messages"] == 8


def test_tool_only_session_carries_the_aggregates_warning() -> None:
    """A session with tool calls and agent switches but no LLM call warns exactly as tk.aggregate does."""

    @tk.trace_tool()
    def search(q: str) -> str:
        return q

    tracer = SessionTracer(strict=True)
    with tracer.session(session_id="no-llm") as trace:
        search("a")
        tracer.record_event(tk.RuntimeEvent(system_instance_id="switch:planner->writer"))
        live = tracer.live_metrics()
    assert live["llm_calls"] == 0
    assert live["input_tokens"] is None
    assert live["warnings"] == list(tk.aggregate([trace]).warnings)
    assert live["warnings"][0].startswith("session 'no-llm': no LLM calls recorded, yet it has 1 runtime")


def test_finished_sessions_stay_counted_with_a_store(tmp_path: Path) -> None:
    """With a store the finished trace is handed over; its totals stay in live_metrics."""
    tracer = SessionTracer(f"file:{tmp_path / 't.db'}")
    try:
        for sid in ("a", "b"):
            with tracer.session(session_id=sid):
                _call("planner", build_call_record(), tracer)
        assert tracer.sessions == {}
        metrics = tracer.live_metrics()
        assert (metrics["sessions"], metrics["open_sessions"], metrics["llm_calls"]) == (2, 0, 2)
        assert metrics["input_tokens"] == 2400
        assert tracer.live_metrics("b")["llm_calls"] == 1
    finally:
        tracer.close(timeout=30)


def test_unknown_session_is_refused() -> None:
    """live_metrics for a session the tracer never saw raises InvalidArgumentError naming it."""
    with pytest.raises(tk.InvalidArgumentError, match="'nope'"):
        SessionTracer().live_metrics("nope")

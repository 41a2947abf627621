"""db.conversation_metrics: completed turns from the store's columns equal tk.turn_metrics on the trace."""

from __future__ import annotations

import pytest
from factories import T0, at, build_call_record

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.tracer import SessionTracer


def _trace() -> tk.SessionTrace:
    """Three turns (two with calls, one with tools only) and one turn that never completed."""

    @tk.trace_tool()
    def lookup(key: str) -> str:
        return key

    tracer = SessionTracer(strict=True)
    streamed = build_call_record()
    streamed.call_id = "call-2"
    streamed.timing = tk.LLMTiming(ttft_ms=120.5, decode_ms=300.25)
    unmeasured = tk.LLMCallRecord(call_id="call-3", api_type="messages", provider="anthropic")
    with tracer.session(session_id="conv-1") as trace:
        with tracer.timestep("t1", turn_number=1):
            tracer.record_event(
                tk.LMCAISEvent(system_instance_id="planner", call_records=[build_call_record()])
            )
            lookup("a")
        with tracer.timestep("t2", turn_number=2):
            tracer.record_event(tk.LMCAISEvent(system_instance_id="", call_records=[streamed, unmeasured]))
            tracer.record_event(tk.LMCAISEvent(system_instance_id="empty"))
        with tracer.timestep("t3"):
            lookup("b")
            tracer.record_event(tk.RuntimeEvent(system_instance_id="router"))
        with tracer.timestep("t4", turn_number=4):
            tracer.record_event(tk.LMCAISEvent(system_instance_id="late", call_records=[build_call_record()]))
    for index, step in enumerate(trace.session_time_steps):
        step.timestamp = at(1000 * index)
        step.completed_at = at(1000 * index + 250.5)
    trace.session_time_steps[3].completed_at = None
    trace.created_at = T0
    return trace


async def test_conversation_metrics_equal_turn_metrics(store: TursoManager) -> None:
    """Completed timesteps, in order, read from columns, equal tk.turn_metrics of the stored trace."""
    trace = _trace()
    await store.save_session(trace)
    got = await store.conversation_metrics("conv-1")
    stored = await store.get_session("conv-1")
    expected = [tk.turn_metrics(s) for s in stored.session_time_steps if s.completed_at is not None]
    assert got == {"turns": expected}
    assert [t["turnId"] for t in got["turns"]] == ["t1", "t2", "t3"]
    assert [len(t["steps"]) for t in got["turns"]] == [1, 2, 0]
    assert got["turns"][1]["steps"][0]["agent"] is None
    assert got["turns"][1]["steps"][0]["genTotalMs"] == 420.75
    assert got["turns"][1]["steps"][1] == {
        "callId": "call-3",
        "agent": None,
        "model": None,
        "provider": "anthropic",
        "outcome": None,
        "usage": {
            "inputTokens": None,
            "outputTokens": None,
            "cacheReadTokens": None,
            "cacheWriteTokens": None,
        },
    }
    assert got["turns"][1]["usage"]["inputTokens"] == 1200  # the unmeasured call adds nothing
    assert got["turns"][0]["durationMs"] == 250.5
    assert len(got["turns"][2]["warnings"]) == 1
    assert got["turns"][2]["warnings"][0].startswith(
        "turn 't3': no LLM calls recorded, yet it has 1 runtime event(s), 2 tool message(s) and 0 LM"
    )


async def test_conversation_metrics_of_an_unknown_session(store: TursoManager) -> None:
    """A session that is not stored raises NotFoundError naming it."""
    with pytest.raises(tk.NotFoundError, match="'nope'"):
        await store.conversation_metrics("nope")


def test_sync_manager_gives_the_same(tmp_path: object) -> None:
    """SyncTursoManager.conversation_metrics is the async one's answer."""
    from tracekit.store import SyncTursoManager

    with SyncTursoManager(f"file:{tmp_path}/c.db") as db:  # type: ignore[str-bytes-safe]
        db.save_session(_trace())
        assert [t["turnId"] for t in db.conversation_metrics("conv-1")["turns"]] == ["t1", "t2", "t3"]

"""Per-step and per-turn metrics in the camelCase shape, checked against hand-computed fixture timings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from factories import T0, at, build_call_record
from trace_checks import load

import tracekit as tk
from tracekit.tracer import SessionTracer


def _streamed() -> tk.LLMCallRecord:
    """The OpenAI chat stream fixture, chunk i arriving at 250 + 125*i ms after the call started."""
    recorder = tk.StreamRecorder(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        provider="openai",
        api_type="chat_completions",
        call_id="call-stream",
        clock=lambda: 10.0,
        now=lambda: T0,
    )
    for index, chunk in enumerate(load("openai_chat", "stream_text_usage")):
        recorder.add(chunk, received_at=10.25 + 0.125 * index)
    record = recorder.finish()
    record.metadata["agent_id"] = "writer"
    return record


def test_step_of_a_stream_has_hand_computed_timing() -> None:
    """First content at chunk 1 (375 ms), last chunk 7 (1125 ms): decode 750, genTotal = ttft + decode."""
    step = tk.step_metrics(_streamed())
    assert step == {
        "callId": "call-stream",
        "agent": "writer",
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "outcome": "success",
        "usage": {"inputTokens": 19, "outputTokens": 11, "cacheReadTokens": 0, "cacheWriteTokens": None},
        "ttftMs": 375.0,
        "decodeMs": 750.0,
        "genTotalMs": 1125.0,
        "durationMs": step["durationMs"],
    }
    assert step["durationMs"] == _streamed().latency_ms
    assert "tps" not in str(step).lower()


def test_step_of_an_unstreamed_call_has_no_stream_timing() -> None:
    """A complete response has no ttftMs/decodeMs/genTotalMs keys; durationMs only when measured."""
    record = tk.record_from_response(load("openai_chat", "response_basic"))
    assert tk.step_metrics(record, agent="a") == {
        "callId": record.call_id,
        "agent": "a",
        "model": "gpt-4.1-2025-04-14",
        "provider": "openai",
        "outcome": "success",
        "usage": {"inputTokens": 19, "outputTokens": 10, "cacheReadTokens": 0, "cacheWriteTokens": None},
    }
    record.latency_ms = 640.5
    assert tk.step_metrics(record)["durationMs"] == 640.5


def _turn(tracer: SessionTracer) -> tk.SessionTimeStep:
    with tracer.timestep("turn-1", turn_number=1) as step:
        tracer.record_event(tk.LMCAISEvent(system_instance_id="planner", call_records=[build_call_record()]))
        tracer.record_event(tk.LMCAISEvent(system_instance_id="writer", call_records=[_streamed()]))
    step.timestamp = T0
    step.completed_at = at(2500.25)
    return step


def test_turn_sums_usage_over_steps_in_order() -> None:
    """Turn usage sums what steps reported (None stays None), durationMs from its start and end."""
    tracer = SessionTracer(strict=True)
    with tracer.session():
        step = _turn(tracer)
    turn = tk.turn_metrics(step)
    assert turn == {
        "turnId": "turn-1",
        "turnNumber": 1,
        "startedAt": "2026-03-14T15:09:26.535897+00:00",
        "completedAt": "2026-03-14T15:09:29.036147+00:00",
        "durationMs": 2500.25,
        "usage": {"inputTokens": 1219, "outputTokens": 51, "cacheReadTokens": 1024, "cacheWriteTokens": None},
        "steps": [tk.step_metrics(build_call_record(), agent="planner"), tk.step_metrics(_streamed())],
        "warnings": [],
    }
    assert [s["genTotalMs"] for s in turn["steps"]] == [812.5, 1125.0]


def test_turn_in_flight_has_no_end_and_tool_only_turn_warns() -> None:
    """tracer.turn_metrics() mid-turn has no completedAt/durationMs; a turn with only tools warns."""

    @tk.trace_tool()
    def search(q: str) -> str:
        return q

    tracer = SessionTracer(strict=True)
    with tracer.session(), tracer.timestep("turn-2", turn_number=2):
        search("x")
        tracer.record_event(tk.RuntimeEvent(system_instance_id="router"))
        turn = tracer.turn_metrics()
    assert set(turn) == {"turnId", "turnNumber", "startedAt", "usage", "steps", "warnings"}
    assert turn["usage"] == {
        "inputTokens": None,
        "outputTokens": None,
        "cacheReadTokens": None,
        "cacheWriteTokens": None,
    }
    assert turn["warnings"] == [
        "turn 'turn-2': no LLM calls recorded, yet it has 1 runtime event(s), 2 tool message(s) and 0 LM "
        "event(s) without call records; its LLM tokens and cost are missing from these totals. Put each "
        "call's LLMCallRecord (e.g. from tk.record_from_response) in LMCAISEvent.call_records."
    ]


def test_wrong_arguments_are_refused() -> None:
    """step_metrics/turn_metrics refuse what they do not take; turn_metrics() needs a session."""
    with pytest.raises(tk.InvalidArgumentError, match="LLMCallRecord"):
        tk.step_metrics({"call_id": "x"})  # type: ignore[arg-type]
    with pytest.raises(tk.InvalidArgumentError, match="SessionTimeStep"):
        tk.turn_metrics(tk.SessionTrace())  # type: ignore[arg-type]
    with pytest.raises(tk.NoActiveSessionError):
        SessionTracer().turn_metrics()


def test_duration_is_exact_for_microsecond_times() -> None:
    """durationMs is the exact difference of the stored microsecond times."""
    step = tk.SessionTimeStep(step_id="s", timestamp=T0, completed_at=T0 + timedelta(microseconds=1))
    assert tk.turn_metrics(step)["durationMs"] == 0.001

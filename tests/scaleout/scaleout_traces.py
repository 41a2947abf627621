"""The sessions the scale-out writers save, rebuilt identically by the test that reads them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import tracekit as tk

T0 = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
MODELS = ("gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash")


def scaleout_trace(session_id: str, seed: int) -> tk.SessionTrace:
    """A session of two timesteps, each one LLM call (model and tokens vary with `seed`) and a reward."""
    trace = tk.SessionTrace(
        session_id=session_id, created_at=T0, metadata={"writer": session_id, "seed": seed}
    )
    for step in range(2):
        at = T0 + timedelta(seconds=seed * 10 + step)
        call = tk.LLMCallRecord(
            call_id=f"{session_id}-call-{step}",
            api_type="chat_completions",
            provider="openai",
            model_name=MODELS[(seed + step) % len(MODELS)],
            started_at=at,
            completed_at=at + timedelta(milliseconds=250 + seed),
            latency_ms=250.0 + seed,
            usage=tk.LLMUsage(
                input_tokens=100 + seed, output_tokens=10 + step, total_tokens=110 + seed + step
            ),
            output_text=f"answer {seed}.{step}",
            outcome="success",
        )
        event = tk.LMCAISEvent(
            system_instance_id="agent",
            time_record=tk.TimeRecord(at),
            model_name=call.model_name,
            call_records=[call],
        )
        reward = tk.EnvironmentEvent(
            system_instance_id="env", time_record=tk.TimeRecord(at), reward=0.5 * step
        )
        trace.session_time_steps.append(
            tk.SessionTimeStep(step_id=f"turn-{step}", timestamp=at, turn_number=step, events=[event, reward])
        )
        trace.event_history += [event, reward]
    return trace

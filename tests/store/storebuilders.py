"""Trace builders for the store tests: varied models, outcomes, numbers and shapes (deterministic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import tracekit as tk

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
MODELS = ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash", "unknown-model-x")


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def llm_call(i: int, *, model: str, outcome: str | None = "success", tools: int = 1) -> tk.LLMCallRecord:
    """A call record whose numbers vary with `i` (some unreported, to exercise None handling)."""
    streamed = i % 3 != 0
    return tk.LLMCallRecord(
        call_id=f"call-{i}",
        api_type="chat_completions",
        provider=None if model.startswith("unknown") else model.split("-")[0],
        model_name=model,
        started_at=at(i),
        completed_at=at(i + 0.5),
        latency_ms=100.0 + (i * 37) % 250 + 0.125,
        input_messages=[tk.LLMMessage(role="user", parts=[tk.LLMContentPart(type="text", text=f"q{i}")])],
        output_text=f"answer {i}",
        output_tool_calls=[
            tk.ToolCallSpec(
                name=f"tool_{k % 2}", arguments_json=f'{{"k": {k}}}', arguments={"k": k}, call_id=f"t{k}"
            )
            for k in range(tools)
        ],
        usage=None
        if i % 11 == 5
        else tk.LLMUsage(
            input_tokens=1000 + i,
            output_tokens=50 + i % 7,
            total_tokens=1050 + i + i % 7,
            cache_read_tokens=None if i % 2 else 512,
            reasoning_tokens=i % 4 or None,
        ),
        timing=tk.LLMTiming(
            ttft_ms=20.0 + i % 13, tpot_ms=3.5 + (i % 5) / 4, output_tokens_per_second=80.0 + i % 9
        )
        if streamed
        else None,
        finish_reason="stop",
        outcome=outcome,  # type: ignore[arg-type]
        error={"type": "rate_limit"} if outcome == "error" else None,
    )


def make_trace(session_id: str, *, steps: int = 3, seed: int = 0, created: float = 0.0) -> tk.SessionTrace:
    """A session of `steps` timesteps, each with an LLM event (one call), an environment event
    and two messages; models, outcomes and numbers vary with `seed`."""
    trace = tk.SessionTrace(
        session_id=session_id, created_at=at(created), metadata={"seed": seed, "run": "r1"}
    )
    for s in range(steps):
        i = seed * 1000 + s
        outcome = ("success", "success", "error", "incomplete", None)[i % 5]
        call = llm_call(i, model=MODELS[(seed + s) % len(MODELS)], outcome=outcome, tools=s % 3)
        lm = tk.LMCAISEvent(
            system_instance_id=f"agent-{seed % 2}",
            time_record=tk.TimeRecord(at(created + s)),
            model_name=call.model_name,
            call_records=[call],
        )
        env = tk.EnvironmentEvent(
            system_instance_id="env", time_record=tk.TimeRecord(at(created + s + 0.5)), reward=s * 0.5
        )
        msgs = [
            tk.SessionEventMarkovBlanketMessage(
                content=tk.SessionMessageContent(text=f"obs {s}"),
                message_type="observation",
                time_record=tk.TimeRecord(at(created + s + 0.1)),
            ),
            tk.SessionEventMarkovBlanketMessage(
                content=tk.SessionMessageContent(json_payload=f'{{"action": {s}}}'),
                message_type="tool_call",
                time_record=tk.TimeRecord(at(created + s + 0.2)),
            ),
        ]
        step = tk.SessionTimeStep(
            step_id=f"step-{s}",
            step_index=s,
            timestamp=at(created + s),
            events=[lm, env],
            markov_blanket_messages=msgs,
        )
        trace.session_time_steps.append(step)
        trace.event_history.extend([lm, env])
        trace.markov_blanket_message_history.extend(msgs)
    return trace

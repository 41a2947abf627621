"""Builders of fully populated, deterministic model objects (fixed times and ids) for any test."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import tracekit as tk

T0 = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


@tk.register_event_type
@dataclass(slots=True)
class JudgeEvent(tk.BaseEvent):
    """A user-defined event type, registered the documented way."""

    event_type: ClassVar[str] = "test_judge"

    verdict: str = ""
    score: float | None = None


def at(ms: float) -> datetime:
    """T0 plus `ms` milliseconds."""
    return T0 + timedelta(milliseconds=ms)


def build_call_record() -> tk.LLMCallRecord:
    """An LLM call with every kind of nested value: messages, parts, tools, chunks, usage, timing."""
    tool_call = tk.ToolCallSpec(
        name="get_weather",
        arguments_json='{"city": "Zürich", "unit": "c"}',
        arguments={"city": "Zürich", "unit": "c"},
        call_id="call_abc123",
        index=0,
    )
    return tk.LLMCallRecord(
        call_id="call-0001",
        api_type="chat_completions",
        provider="openai",
        model_name="gpt-4o-2024-08-06",
        started_at=at(0),
        completed_at=at(812.5),
        latency_ms=812.5,
        request_params=tk.LLMRequestParams(temperature=0.2, max_tokens=256, stop=["\n\n"], seed=7),
        input_messages=[
            tk.LLMMessage(role="system", parts=[tk.LLMContentPart(type="text", text="You are terse.")]),
            tk.LLMMessage(
                role="user",
                parts=[
                    tk.LLMContentPart(type="text", text="Weather in Zürich? 🌦️ 天气"),
                    tk.LLMContentPart(type="image", uri="https://example.com/sky.png", mime_type="image/png"),
                ],
            ),
        ],
        tool_choice="auto",
        tools=[
            tk.ToolDefinition(
                name="get_weather",
                description="Current weather for a city",
                parameters={"type": "object", "properties": {"city": {"type": "string"}}},
            )
        ],
        response_id="chatcmpl-123",
        output_messages=[
            tk.LLMMessage(
                role="assistant",
                parts=[tk.LLMContentPart(type="reasoning", text="Need the tool.")],
                tool_calls=[tool_call],
            )
        ],
        output_text=None,
        reasoning_text="Need the tool.",
        output_tool_calls=[tool_call],
        usage=tk.LLMUsage(
            input_tokens=1200,
            output_tokens=40,
            total_tokens=1240,
            reasoning_tokens=12,
            cache_read_tokens=1024,
            raw={"prompt_tokens": 1200, "completion_tokens": 40, "total_tokens": 1240},
        ),
        finish_reason="tool_calls",
        tool_results=[
            tk.ToolCallResult(
                call_id="call_abc123",
                output_text="12°C, drizzle",
                status="ok",
                started_at=at(900),
                completed_at=at(950.25),
                duration_ms=50.25,
            )
        ],
        chunks=[
            tk.LLMChunk(
                sequence_index=0, received_at=at(300), offset_ms=300.0, event_type="chunk", raw={"id": "c"}
            ),
            tk.LLMChunk(
                sequence_index=1, received_at=at(812.5), offset_ms=812.5, delta_text="é", choice_index=0
            ),
        ],
        timing=tk.LLMTiming(ttft_ms=300.0, decode_ms=512.5, tpot_ms=13.141025641025641, chunk_count=2),
        outcome="success",
        metadata={"attempt": 1, "tags": ["a", "b"], "nested": {"ok": True, "none": None}},
    )


def build_trace() -> tk.SessionTrace:
    """A session with two timesteps holding every event kind (incl. a custom one) and messages."""
    llm = tk.LMCAISEvent(
        system_instance_id="agent-main",
        time_record=tk.TimeRecord(event_time=at(0), message_time=1),
        model_name="gpt-4o-2024-08-06",
        provider="openai",
        input_tokens=1200,
        output_tokens=40,
        total_tokens=1240,
        latency_ms=812.5,
        call_records=[build_call_record()],
    )
    runtime = tk.RuntimeEvent(
        system_instance_id="runtime", time_record=tk.TimeRecord(at(860)), actions=[3, 1]
    )
    env = tk.EnvironmentEvent(
        system_instance_id="sandbox",
        time_record=tk.TimeRecord(at(1000)),
        reward=0.75,
        terminated=True,
        system_state_after={"pos": [1, 2], "label": "done \"quoted\" 'x'"},
    )
    judge = JudgeEvent(
        system_instance_id="judge", time_record=tk.TimeRecord(at(1100)), verdict="pass", score=0.9
    )
    to_agent = tk.SessionEventMarkovBlanketMessage(
        content=tk.SessionMessageContent(text="What's the weather in Zürich?"),
        message_type="user_input",
        time_record=tk.TimeRecord(at(-5), message_time=0),
        metadata={"from_system_role": "human", "to_system_role": "agent"},
    )
    to_env = tk.SessionEventMarkovBlanketMessage(
        content=tk.SessionMessageContent(json_payload='{"tool": "get_weather"}'),
        message_type="tool_call",
        time_record=tk.TimeRecord(at(870)),
    )
    step1 = tk.SessionTimeStep(
        step_id="turn-1",
        step_index=0,
        timestamp=at(-5),
        turn_number=1,
        events=[llm, runtime],
        markov_blanket_messages=[to_agent, to_env],
        step_metadata={"note": "first"},
        completed_at=at(900),
    )
    step2 = tk.SessionTimeStep(step_id="turn-2", step_index=1, timestamp=at(950), events=[env, judge])
    return tk.SessionTrace(
        session_id="session-🧪-0001",
        created_at=at(-10),
        session_time_steps=[step1, step2],
        event_history=[llm, runtime, env, judge],
        markov_blanket_message_history=[to_agent, to_env],
        metadata={"experiment": "baseline", "seed": 42, "lr": 0.001},
        session_metadata=[{"kind": "config", "value": {"k": 1}}],
    )


class SdkObject:
    """Stands in for a vendor SDK (pydantic) object: only `model_dump` is available.

    With `takes_exclude_unset=False` it refuses keyword arguments, like an older SDK would."""

    def __init__(self, data: dict[str, Any], *, takes_exclude_unset: bool = True) -> None:
        self._data = data
        self._takes = takes_exclude_unset

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        """A fresh deep copy of the object's fields."""
        if kwargs and not self._takes:
            raise TypeError("model_dump() got an unexpected keyword argument 'exclude_unset'")
        return copy.deepcopy(self._data)


def without_chunks(record: tk.LLMCallRecord) -> dict[str, Any]:
    """The record as a dict minus what depends on how a stream was chunked (chunks, timing)."""
    data = record.to_dict()
    del data["chunks"], data["timing"]
    return data

"""A crafted store for the SFT export tests, built once per backend (embedded file and a live sqld).

Sessions (oldest first), each with its agent, calls and numbers chosen so every filter picks a
different subset:
- s-a (planner, reward 1.0, experiment exp-1, team red): a1 asks for a tool (100 tokens, 200 ms,
  event reward 0.1), an environment event, a2 answers with the tool result (150 tokens, 300 ms,
  event reward 0.9);
- s-b (critic, reward 0.2, team blue): b1 Anthropic's fixture call, b2 the same example as a1
  (a duplicate unless a1 is filtered out), b3 a failed call;
- s-c (planner, no reward, experiment exp-1): c1 Gemini's fixture call, c2 a tool result that
  answers no call (an orphan).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tracekit as tk
from tracekit.store import SyncTursoManager
from tracekit.store.server import start_sqld

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
T0 = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)


def _load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def text(role: str, value: str) -> tk.LLMMessage:
    """A one-text-part message."""
    return tk.LLMMessage(role=role, parts=[tk.LLMContentPart(type="text", text=value)])  # type: ignore[arg-type]


WEATHER = tk.ToolDefinition(
    name="get_weather",
    description="Current weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
CALL = tk.ToolCallSpec(
    name="get_weather", arguments_json='{"city":"Paris"}', arguments={"city": "Paris"}, call_id="call_1"
)


def chat_call(
    call_id: str,
    messages: list[tk.LLMMessage],
    *,
    answer: str | None = None,
    calls: list[tk.ToolCallSpec] | None = None,
    tokens: int | None = None,
    latency_ms: float | None = None,
    finish: str = "stop",
    outcome: str = "success",
    model: str = "gpt-4o",
) -> tk.LLMCallRecord:
    """An OpenAI chat call record built in code."""
    return tk.LLMCallRecord(
        call_id=call_id,
        api_type="chat_completions",
        provider="openai",
        model_name=model,
        latency_ms=latency_ms,
        input_messages=messages,
        tools=[WEATHER],
        output_text=answer,
        output_tool_calls=list(calls or []),
        usage=None
        if tokens is None
        else tk.LLMUsage(input_tokens=tokens - 10, output_tokens=10, total_tokens=tokens),
        finish_reason=finish,
        outcome=outcome,  # type: ignore[arg-type]
    )


def _records() -> dict[str, tk.LLMCallRecord]:
    system, user = text("system", "You are terse."), text("user", "Weather in Paris?")
    a1 = chat_call("a1", [system, user], calls=[CALL], tokens=100, latency_ms=200.0, finish="tool_calls")
    history = [
        system,
        user,
        tk.LLMMessage(role="assistant", tool_calls=[CALL]),
        tk.LLMMessage(role="tool", parts=[tk.LLMContentPart(type="text", text="18C")], tool_call_id="call_1"),
    ]
    a2 = chat_call("a2", history, answer="Sunny, 18C.", tokens=150, latency_ms=300.0)
    b1 = tk.record_from_response(
        _load("anthropic", "response_text"), request=_load("anthropic", "request_tool_result")
    )
    b2 = chat_call("b2", [system, user], calls=[CALL], tokens=100, latency_ms=200.0, finish="tool_calls")
    b3 = chat_call("b3", [system, user], outcome="error", tokens=None)
    gemini_request = {
        "system_instruction": {"parts": [{"text": "You are a storyteller."}]},
        "contents": [{"role": "user", "parts": [{"text": "Who is Red Riding Hood looking for?"}]}],
    }
    c1 = tk.record_from_response(_load("gemini", "response_implicit_caching"), request=gemini_request)
    c2 = chat_call(
        "c2", [user, history[3]], answer="It is 18C.", tokens=80, latency_ms=50.0, model="mystery-model"
    )
    return {"a1": a1, "a2": a2, "b1": b1, "b2": b2, "b3": b3, "c1": c1, "c2": c2}


def _event(agent: str, record: tk.LLMCallRecord, seconds: float) -> tk.LMCAISEvent:
    return tk.LMCAISEvent(
        system_instance_id=agent,
        time_record=tk.TimeRecord(T0 + timedelta(seconds=seconds)),
        model_name=record.model_name,
        call_records=[record],
    )


def _traces(records: dict[str, tk.LLMCallRecord]) -> list[tk.SessionTrace]:
    env = tk.EnvironmentEvent(system_instance_id="env", time_record=tk.TimeRecord(T0), reward=1.0)
    a = tk.SessionTrace(
        session_id="s-a",
        created_at=T0,
        event_history=[_event("planner", records["a1"], 0), env, _event("planner", records["a2"], 1)],
        metadata={"task": "weather", "team": "red"},
    )
    b = tk.SessionTrace(
        session_id="s-b",
        created_at=T0 + timedelta(seconds=1),
        event_history=[_event("critic", records[k], i) for i, k in enumerate(("b1", "b2", "b3"))],
        metadata={"task": "weather", "team": "blue"},
    )
    c = tk.SessionTrace(
        session_id="s-c",
        created_at=T0 + timedelta(seconds=2),
        event_history=[_event("planner", records[k], i) for i, k in enumerate(("c1", "c2"))],
        metadata={"task": "story"},
    )
    return [a, b, c]


@dataclass(slots=True)
class Crafted:
    """The crafted store: its URL, the records in it, and the experiment id."""

    url: str
    records: dict[str, tk.LLMCallRecord]
    experiment_id: str


def _fill(url: str) -> Crafted:
    records = _records()
    db = SyncTursoManager(url)
    try:
        db.save_sessions(_traces(records))
        db.add_outcome_reward("s-a", 1.0)
        db.add_outcome_reward("s-b", 0.2)
        db.add_event_reward("s-a", 0.1, event_index=0)
        db.add_event_reward("s-a", 0.9, event_index=2)
        db.add_event_reward("s-a", 0.3, event_index=2)
        experiment = db.create_experiment("exp-1", experiment_id="exp-1")
        db.link_session(experiment, "s-a")
        db.link_session(experiment, "s-c")
    finally:
        db.close()
    return Crafted(url, records, experiment)


@pytest.fixture(scope="module", params=["file", pytest.param("sqld", marks=pytest.mark.sqld)])
def crafted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crafted]:
    """The crafted store on an embedded file database, or on a live sqld of its own."""
    folder = tmp_path_factory.mktemp("sft-store")
    if request.param == "file":
        yield _fill(f"file:{folder / 'traces.db'}")
        return
    server = start_sqld(folder / "db.sqld")
    try:
        yield _fill(server.url)
    finally:
        server.stop()

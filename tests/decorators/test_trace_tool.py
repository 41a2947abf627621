"""@trace_tool: tool runs recorded (arguments, result or error, duration), linked to the model's tool call."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sdk_transport import VendorServer, openai_client
from trace_checks import load, only_record

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "weather?"}]


def _ask_for_tools(tracer: SessionTracer) -> Any:
    server = VendorServer().reply_json(load("openai_chat", "response_parallel_tools"))
    client = tk.instrument(openai_client(server))
    return client.chat.completions.create(model="gpt-4o-mini", messages=HI)


def test_tool_with_call_id_parameter_links_result_to_the_call_record(tracer: SessionTracer) -> None:
    """Each run adds an event, messages agent -> tool runtime -> agent, and a ToolCallResult on its record."""

    @tk.trace_tool()
    def get_weather(location: str, call_id: str) -> dict[str, Any]:
        return {"location": location, "celsius": 21}

    with tracer.session() as trace:
        resp = _ask_for_tools(tracer)
        for call in resp.choices[0].message.tool_calls[:2]:
            get_weather(json.loads(call.function.arguments)["location"], call_id=call.id)
    rec = only_record(trace)
    assert [r.call_id for r in rec.tool_results] == ["call_12345xyz", "call_67890abc"]
    first = rec.tool_results[0]
    assert (first.output_text, first.status, first.error_message) == (
        '{"location":"Paris, France","celsius":21}',
        "ok",
        None,
    )
    assert first.duration_ms is not None
    assert first.duration_ms >= 0
    assert first.started_at is not None
    assert first.completed_at is not None
    assert first.completed_at >= first.started_at
    tool_events = [e for e in trace.event_history if isinstance(e, tk.EnvironmentEvent)]
    assert [e.system_instance_id for e in tool_events] == ["get_weather", "get_weather"]
    assert tool_events[1].system_state_before == {
        "arguments": {"location": "Bogotá, Colombia", "call_id": "call_67890abc"}
    }
    assert tool_events[1].metadata["call_id"] == "call_67890abc"
    assert tool_events[1].metadata["status"] == "ok"
    messages = trace.markov_blanket_message_history
    assert [
        (m.message_type, m.metadata["from_system_role"], m.metadata["to_system_role"]) for m in messages
    ] == [
        ("tool_call", "agent", "tool_runtime"),
        ("tool_result", "tool_runtime", "agent"),
    ] * 2
    assert [m.metadata["call_id"] for m in messages] == ["call_12345xyz"] * 2 + ["call_67890abc"] * 2
    assert messages[1].content.as_text() == '{"location":"Paris, France","celsius":21}'
    assert tk.SessionTrace.from_json(trace.to_json()) == trace


def test_call_id_keyword_taken_by_the_wrapper(tracer: SessionTracer) -> None:
    """call_id= passed to a tool without such a parameter is taken by the wrapper and links the run."""

    @tk.trace_tool(name="email")
    def send_email(to: str, body: str) -> str:
        return f"sent to {to}"

    with tracer.session() as trace:
        _ask_for_tools(tracer)
        assert send_email("bob@email.com", "Hi bob", call_id="call_99999def") == "sent to bob@email.com"
    (result,) = only_record(trace).tool_results
    assert (result.call_id, result.output_text, result.metadata) == (
        "call_99999def",
        "sent to bob@email.com",
        {"tool_name": "email"},
    )
    assert send_email("x", "y", call_id="ignored outside a session") == "sent to x"


def test_tool_error_recorded_and_reraised(tracer: SessionTracer) -> None:
    """A failing tool re-raises its exception unchanged; event, result message and ToolCallResult carry it."""
    boom = ValueError("no such city")

    @tk.trace_tool()
    async def get_weather(location: str, tool_call_id: str) -> str:
        raise boom

    async def run() -> tk.SessionTrace:
        async with tracer.session() as trace:
            _ask_for_tools(tracer)
            with pytest.raises(ValueError, match="no such city") as caught:
                await get_weather("Atlantis", tool_call_id="call_12345xyz")
            assert caught.value is boom
        return trace

    trace = asyncio.run(run())
    (result,) = only_record(trace).tool_results
    assert (result.status, result.error_message, result.output_text) == (
        "error",
        "ValueError: no such city",
        None,
    )
    event = trace.event_history[-1]
    assert isinstance(event, tk.EnvironmentEvent)
    assert event.system_state_after == {"error": {"type": "ValueError", "message": "no such city"}}
    assert (event.metadata["status"], event.metadata["outcome"]) == ("error", "error")
    reply = trace.markov_blanket_message_history[-1]
    assert json.loads(reply.content.as_text()) == {"error": {"type": "ValueError", "message": "no such city"}}


def test_unlinked_tool_and_non_json_result(tracer: SessionTracer) -> None:
    """A run with no matching tool call is still recorded; a result JSON cannot hold is kept as its repr."""

    class Point:
        def __repr__(self) -> str:
            return "Point(1, 2)"

    @tk.trace_tool
    def locate(name: str) -> Point:
        return Point()

    with tracer.session() as trace:
        locate("home")
    assert [type(e).__name__ for e in trace.event_history] == ["EnvironmentEvent"]
    assert trace.event_history[0].system_state_after == {"result": "Point(1, 2)"}
    assert "call_id" not in trace.markov_blanket_message_history[0].metadata


def test_tool_outside_a_session_runs_untouched() -> None:
    """With no active session the tool runs and nothing is recorded or raised."""
    calls = []

    @tk.trace_tool()
    def act(x: int) -> int:
        calls.append(x)
        return x * 2

    assert act(21) == 42
    assert calls == [21]

"""What the tracer publishes on its bus (each called only when `bus.active`): session and
timestep start/end, LLM call start, stream usage, and the events and messages it records."""

from __future__ import annotations

import time
from typing import Any

from tracekit.analysis.pricing import call_cost
from tracekit.live.bus import EventBus
from tracekit.model import (
    BaseEvent,
    EnvironmentEvent,
    LMCAISEvent,
    SessionEventMarkovBlanketMessage,
    SessionTimeStep,
    SessionTrace,
)

__all__ = [
    "event_recorded",
    "llm_call_started",
    "message_recorded",
    "session_ended",
    "session_started",
    "stream_usage",
    "timestep_ended",
    "timestep_started",
]


def session_started(bus: EventBus, trace: SessionTrace) -> None:
    """A session opened."""
    bus.publish(
        {
            "kind": "session_start",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": trace.session_id,
            "metadata": trace.metadata,
        }
    )


def session_ended(bus: EventBus, trace: SessionTrace) -> None:
    """A session closed (its trace is complete)."""
    bus.publish(
        {
            "kind": "session_end",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": trace.session_id,
            "timesteps": len(trace.session_time_steps),
            "events": len(trace.event_history),
        }
    )


def timestep_started(bus: EventBus, step: SessionTimeStep, trace: SessionTrace) -> None:
    """A timestep opened."""
    bus.publish(
        {
            "kind": "timestep_start",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": trace.session_id,
            "step_id": step.step_id,
            "turn_number": step.turn_number,
        }
    )


def timestep_ended(bus: EventBus, step: SessionTimeStep, trace: SessionTrace) -> None:
    """A timestep closed; `duration_ms` from its timestamp to completed_at."""
    end = step.completed_at
    bus.publish(
        {
            "kind": "timestep_end",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": trace.session_id,
            "step_id": step.step_id,
            "turn_number": step.turn_number,
            "duration_ms": None if end is None else (end - step.timestamp).total_seconds() * 1000.0,
        }
    )


def llm_call_started(bus: EventBus, trace: SessionTrace | None, agent: str, request: dict[str, Any]) -> None:
    """An LLM call was sent (its record, with the call_id, comes with llm_call_end)."""
    model = request.get("model")
    bus.publish(
        {
            "kind": "llm_call_start",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": None if trace is None else trace.session_id,
            "agent": agent,
            "model": model if isinstance(model, str) else None,
        }
    )


def stream_usage(bus: EventBus, trace: SessionTrace | None, agent: str, chunk: Any) -> None:
    """A stream chunk carrying the vendor's usage arrived: published as it came (`raw_usage`,
    cumulative in Anthropic/Gemini streams), marked partial; the normalised usage follows at the end."""
    if isinstance(chunk, dict):
        raw = chunk.get("usage") or chunk.get("usageMetadata") or chunk.get("usage_metadata")
    else:
        raw = getattr(chunk, "usage", None) or getattr(chunk, "usage_metadata", None)
    if not raw:
        return
    dump = getattr(raw, "model_dump", None)
    if callable(dump):
        raw = dump(mode="json", exclude_none=True)
    bus.publish(
        {
            "kind": "token_usage",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": None if trace is None else trace.session_id,
            "agent": agent,
            "partial": True,
            "raw_usage": raw,
        }
    )


def event_recorded(bus: EventBus, event: BaseEvent, trace: SessionTrace, step: SessionTimeStep) -> None:
    """llm_call_end + token_usage per call record of an LMCAISEvent; tool_end for a tool run."""
    sid = trace.session_id
    if isinstance(event, LMCAISEvent):
        for record in event.call_records:
            base = {
                "session_id": sid,
                "step_id": step.step_id,
                "agent": event.system_instance_id or None,
                "call_id": record.call_id,
                "model": record.model_name or None,
                "provider": record.provider,
            }
            timing = record.timing
            received = "tracekit_received" in record.metadata
            bus.publish(
                {
                    "kind": "llm_call_end",
                    "seq": bus.next_seq(),
                    "t": time.time(),
                    **base,
                    "outcome": record.outcome,
                    "latency_ms": record.latency_ms,
                    "ttft_ms": None if timing is None else timing.ttft_ms,
                    "tool_calls": [c.name for c in record.output_tool_calls],
                    "received": received,
                },
            )
            usage = record.usage
            cost = call_cost(record)
            bus.publish(
                {
                    "kind": "token_usage",
                    "seq": bus.next_seq(),
                    "t": time.time(),
                    **base,
                    "partial": False,
                    "input_tokens": None if usage is None else usage.input_tokens,
                    "output_tokens": None if usage is None else usage.output_tokens,
                    "total_tokens": None if usage is None else usage.total_tokens,
                    "cache_read_tokens": None if usage is None else usage.cache_read_tokens,
                    "cache_write_tokens": None if usage is None else usage.cache_write_tokens,
                    "reasoning_tokens": None if usage is None else usage.reasoning_tokens,
                    "cost_usd": None if cost is None else cost.nanousd / 1e9,
                },
            )
    elif isinstance(event, EnvironmentEvent):
        meta = event.metadata
        name, status = meta.get("tool_name"), meta.get("status")
        if isinstance(name, str) and status in ("ok", "error"):
            fields = {
                "kind": "tool_end",
                "seq": bus.next_seq(),
                "t": time.time(),
                "session_id": sid,
                "step_id": step.step_id,
                "tool_name": name,
                "call_id": meta.get("call_id"),
                "success": status == "ok",
                "duration_ms": meta.get("duration_ms"),
            }
            if status == "error":
                fields["outcome"] = meta.get("outcome")
            bus.publish(fields)


def message_recorded(bus: EventBus, message: SessionEventMarkovBlanketMessage, trace: SessionTrace) -> None:
    """tool_start when the agent hands a call to the tool runtime (a `tool_call` message)."""
    if message.message_type != "tool_call":
        return
    meta = message.metadata
    bus.publish(
        {
            "kind": "tool_start",
            "seq": bus.next_seq(),
            "t": time.time(),
            "session_id": trace.session_id,
            "step_id": meta.get("step_id"),
            "tool_name": meta.get("tool_name"),
            "call_id": meta.get("call_id"),
        }
    )

"""A session as a timeline of what happened, step by step: LLM calls (model, tokens, latency,
cost, outcome), tool runs, messages between systems and rewards. Used by `tracekit show` and
the HTML report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tracekit.analysis.pricing import estimate_cost
from tracekit.codec import format_datetime
from tracekit.model import (
    BaseEvent,
    EnvironmentEvent,
    LLMCallRecord,
    LMCAISEvent,
    SessionEventMarkovBlanketMessage,
    SessionTrace,
)

__all__ = ["EntryKind", "TimelineEntry", "session_timeline"]

EntryKind = Literal["step", "llm_call", "tool", "message", "reward", "event"]

_SNIPPET = 120


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of a session timeline: when (absolute and ms since the session began), which
    step, what kind, a one-line summary and the numbers behind it."""

    kind: EntryKind
    step_id: str | None
    at: datetime | None
    offset_ms: float | None
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (times as ISO-8601 UTC text)."""
        return {
            "kind": self.kind,
            "step_id": self.step_id,
            "at": None if self.at is None else format_datetime(self.at),
            "offset_ms": self.offset_ms,
            "summary": self.summary,
            "details": dict(self.details),
        }


def _snippet(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _call_entry(agent: str, record: LLMCallRecord) -> tuple[str, dict[str, Any]]:
    usage = record.usage
    ttft = None if record.timing is None else record.timing.ttft_ms
    details: dict[str, Any] = {
        "agent": agent,
        "model": record.model_name,
        "provider": record.provider,
        "api_type": record.api_type,
        "stream": record.request_params.stream,
        "outcome": record.outcome,
        "finish_reason": record.finish_reason,
        "input_tokens": None if usage is None else usage.input_tokens,
        "output_tokens": None if usage is None else usage.output_tokens,
        "cache_read_tokens": None if usage is None else usage.cache_read_tokens,
        "reasoning_tokens": None if usage is None else usage.reasoning_tokens,
        "latency_ms": record.latency_ms,
        "ttft_ms": ttft,
        "cost_usd": estimate_cost(record.model_name, usage),
        "tool_calls": [c.name for c in record.output_tool_calls],
        "error": None if record.error is None else str(record.error.get("message", record.error)),
        "output": _snippet(record.output_text),
    }
    tokens = "no usage" if usage is None else f"{usage.input_tokens} in / {usage.output_tokens} out"
    latency = "" if record.latency_ms is None else f", {record.latency_ms:.0f} ms"
    first = "" if ttft is None else f" (TTFT {ttft:.0f} ms)"
    cost = details["cost_usd"]
    price = ", unpriced" if cost is None else f", ${cost:.6f}"
    tools = f" -> tools {', '.join(details['tool_calls'])}" if details["tool_calls"] else ""
    summary = f"{agent}: {record.model_name} [{record.outcome or '?'}] {tokens}{latency}{first}{price}{tools}"
    return summary, details


def _event_entries(event: BaseEvent) -> list[tuple[EntryKind, str, dict[str, Any]]]:
    if isinstance(event, LMCAISEvent):
        out: list[tuple[EntryKind, str, dict[str, Any]]] = []
        for record in event.call_records:
            summary, details = _call_entry(event.system_instance_id, record)
            out.append(("llm_call", summary, details))
        return out
    if isinstance(event, EnvironmentEvent) and "tool_name" in event.metadata:
        meta = event.metadata
        duration = meta.get("duration_ms")
        took = f" in {duration:.0f} ms" if isinstance(duration, int | float) else ""
        details = {
            "tool": meta["tool_name"],
            "status": meta.get("status"),
            "call_id": meta.get("call_id"),
            "duration_ms": duration,
            "arguments": (event.system_state_before or {}).get("arguments"),
            "result": event.system_state_after,
        }
        return [("tool", f"tool {meta['tool_name']} {meta.get('status', '?')}{took}", details)]
    if isinstance(event, EnvironmentEvent) and event.reward is not None:
        reason = event.metadata.get("reason")
        suffix = f" ({reason})" if isinstance(reason, str) else ""
        details = {"source": event.system_instance_id, "reward": event.reward, "terminated": event.terminated}
        return [("reward", f"{event.system_instance_id} reward {event.reward:g}{suffix}", details)]
    return [
        ("event", f"{event.event_type} from {event.system_instance_id}", {"event_type": event.event_type})
    ]


def _message_entry(message: SessionEventMarkovBlanketMessage) -> tuple[EntryKind, str, dict[str, Any]]:
    content = message.content
    text = content.text if content.text is not None else content.json_payload
    sender = message.metadata.get("from_system_role") or message.metadata.get("from_system_instance_id")
    receiver = message.metadata.get("to_system_role") or message.metadata.get("to_system_instance_id")
    route = f" {sender} -> {receiver}" if sender or receiver else ""
    details = {
        "message_type": message.message_type,
        "from": sender,
        "to": receiver,
        "content": _snippet(text),
    }
    return "message", f"{message.message_type}{route}: {_snippet(text)}", details


def session_timeline(
    trace: SessionTrace, outcome_rewards: Sequence[Mapping[str, Any]] = ()
) -> list[TimelineEntry]:
    """The trace's steps in order, each followed by its events and messages in time order; then the
    outcome rewards (rows of `get_rewards(...)["outcome"]`) when given."""
    start = trace.created_at

    def offset(at: datetime | None) -> float | None:
        return None if at is None else round((at - start).total_seconds() * 1000.0, 3)

    entries: list[TimelineEntry] = []
    for step in trace.session_time_steps:
        took = (
            ""
            if step.completed_at is None
            else f", {(step.completed_at - step.timestamp).total_seconds() * 1000.0:.0f} ms"
        )
        entries.append(
            TimelineEntry(
                "step",
                step.step_id,
                step.timestamp,
                offset(step.timestamp),
                f"step {step.step_id} (turn {step.turn_number}){took}",
                {
                    "turn_number": step.turn_number,
                    "events": len(step.events),
                    "messages": len(step.markov_blanket_messages),
                },
            )
        )
        items: list[tuple[datetime, int, EntryKind, str, dict[str, Any]]] = []
        for event in step.events:
            for kind, summary, details in _event_entries(event):
                items.append((event.time_record.event_time, len(items), kind, summary, details))
        for message in step.markov_blanket_messages:
            kind, summary, details = _message_entry(message)
            items.append((message.time_record.event_time, len(items), kind, summary, details))
        for at, _, kind, summary, details in sorted(items, key=lambda item: (item[0], item[1])):
            entries.append(TimelineEntry(kind, step.step_id, at, offset(at), summary, details))
    for reward in outcome_rewards:
        value = reward.get("total_reward")
        entries.append(
            TimelineEntry(
                "reward",
                None,
                None,
                None,
                f"outcome reward {value:g}" if isinstance(value, int | float) else "outcome reward",
                {"outcome": True, **{k: _plain(v) for k, v in reward.items()}},
            )
        )
    return entries


def _plain(value: Any) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value

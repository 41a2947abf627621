"""The result types of `tk.aggregate` (rules in analysis/aggregates.py): frozen, JSON-ready via to_dict()."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "GROUP_BY_VALUES",
    "TOOL_MESSAGE_TYPES",
    "AggregateResult",
    "Distribution",
    "GroupAggregate",
    "GroupBy",
    "SessionRollup",
]

GroupBy = Literal["model", "provider", "agent", "session", "timestep"]
"""What `aggregate(..., by=...)` can group calls by."""

GROUP_BY_VALUES: tuple[GroupBy, ...] = ("model", "provider", "agent", "session", "timestep")

TOOL_MESSAGE_TYPES: frozenset[str] = frozenset({"tool_call", "tool_result", "tool"})
"""Markov-blanket message types counted as tool activity in session roll-ups."""


@dataclass(frozen=True, slots=True)
class Distribution:
    """count, mean, min, nearest-rank p50/p90/p99 and max of the reported values (None when count is 0)."""

    count: int = 0
    mean: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "count": self.count,
            "mean": self.mean,
            "min": self.min,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
        }


@dataclass(frozen=True, slots=True)
class GroupAggregate:
    """The roll-up of one group of LLM calls (or of all of them, as `AggregateResult.total`)."""

    key: str | None
    call_count: int = 0
    success_count: int = 0
    error_count: int = 0
    incomplete_count: int = 0
    calls_without_usage: int = 0
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    cost_usd: float | None = None
    cost_nanousd: int | None = None
    unpriced_call_count: int = 0
    price_table_versions: tuple[str, ...] = ()
    latency_ms: Distribution = field(default_factory=Distribution)
    ttft_ms: Distribution = field(default_factory=Distribution)
    tpot_ms: Distribution = field(default_factory=Distribution)
    output_tokens_per_second: Distribution = field(default_factory=Distribution)
    tool_calls_count: int = 0
    tool_calls_by_name: dict[str, int] = field(default_factory=dict)
    models: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples become lists, distributions dicts)."""
        return {
            "key": self.key,
            "call_count": self.call_count,
            "success_count": self.success_count,
            "error_count": self.error_count,
            "incomplete_count": self.incomplete_count,
            "calls_without_usage": self.calls_without_usage,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cost_usd": self.cost_usd,
            "cost_nanousd": self.cost_nanousd,
            "unpriced_call_count": self.unpriced_call_count,
            "price_table_versions": list(self.price_table_versions),
            "latency_ms": self.latency_ms.to_dict(),
            "ttft_ms": self.ttft_ms.to_dict(),
            "tpot_ms": self.tpot_ms.to_dict(),
            "output_tokens_per_second": self.output_tokens_per_second.to_dict(),
            "tool_calls_count": self.tool_calls_count,
            "tool_calls_by_name": dict(self.tool_calls_by_name),
            "models": list(self.models),
            "providers": list(self.providers),
        }


@dataclass(frozen=True, slots=True)
class SessionRollup:
    """Session-level facts of one SessionTrace: span in time, counts by type, reward, warnings."""

    session_id: str
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_ms: float | None = None
    timestep_count: int = 0
    events_by_type: dict[str, int] = field(default_factory=dict)
    messages_by_type: dict[str, int] = field(default_factory=dict)
    llm_call_count: int = 0
    runtime_event_count: int = 0
    tool_message_count: int = 0
    total_reward: float | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; datetimes as ISO-8601 UTC text with microseconds."""
        from tracekit.codec import format_datetime

        return {
            "session_id": self.session_id,
            "started_at": None if self.started_at is None else format_datetime(self.started_at),
            "ended_at": None if self.ended_at is None else format_datetime(self.ended_at),
            "duration_ms": self.duration_ms,
            "timestep_count": self.timestep_count,
            "events_by_type": dict(self.events_by_type),
            "messages_by_type": dict(self.messages_by_type),
            "llm_call_count": self.llm_call_count,
            "runtime_event_count": self.runtime_event_count,
            "tool_message_count": self.tool_message_count,
            "total_reward": self.total_reward,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class AggregateResult:
    """What `aggregate` returns: the total, the groups in key order, session roll-ups and warnings.

    `warnings` gathers every session warning plus a line for unpriced calls, so a report built
    from it cannot show "$0.00" without saying why.
    """

    by: GroupBy | None
    total: GroupAggregate
    groups: tuple[GroupAggregate, ...] = ()
    sessions: tuple[SessionRollup, ...] = ()
    warnings: tuple[str, ...] = ()

    def group(self, key: str | None) -> GroupAggregate:
        """The group with this key; KeyError naming the keys present when there is none."""
        for group in self.groups:
            if group.key == key:
                return group
        raise KeyError(f"no group {key!r}; groups present: {[g.key for g in self.groups]}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (`json.dumps` takes it as is)."""
        return {
            "by": self.by,
            "total": self.total.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "sessions": [s.to_dict() for s in self.sessions],
            "warnings": list(self.warnings),
        }

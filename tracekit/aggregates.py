"""Roll LLM calls up into tokens, cost, latency and tool-call totals (pure: no I/O, no clock).

`aggregate(items, by=None)` takes LLMCallRecords, LMCAISEvents and SessionTraces (mixed allowed)
and returns an `AggregateResult`: the `total`, one `GroupAggregate` per group key (empty when
`by` is None) and one `SessionRollup` per SessionTrace. The store's SQL roll-ups copy the rules
below exactly; these Python results are the oracle they are tested against.

Where calls are found
- a bare LLMCallRecord is one call; an LMCAISEvent contributes each of its `call_records`;
- a SessionTrace contributes the call records of the LMCAISEvents in `event_history`, or, when
  `event_history` is empty, of the events of its timesteps in order (never both: no double count).

Group keys (`by`); a missing key groups under None
- "model": `record.model_name` ("" counts as missing);
- "provider": `record.provider` ("" counts as missing);
- "agent": `system_instance_id` of the LMCAISEvent holding the record; a bare record uses
  `record.metadata["agent_id"]` when it is a non-empty str;
- "session": `session_id` of the SessionTrace holding the record (bare records and events: None);
- "timestep": `step_id` of the timestep whose `events` hold the record's LMCAISEvent (the same
  object, or failing that an equal event, as after a from_dict round trip); "" or not in any
  timestep counts as missing; bare records and events: None.
Groups are ordered by key: str keys sorted ascending (code-point order), None last.

Per-group numbers (`GroupAggregate`)
- call_count: calls; success_count: outcome "success"; error_count: outcome "error", "timeout"
  or "cancelled"; incomplete_count: outcome "incomplete". A call with outcome None is in none
  of the three (call_count - success - error - incomplete = calls with no outcome reported).
- calls_without_usage: usage is None, or reports neither input_tokens nor output_tokens.
- input/output/total/cache_read/cache_write/reasoning tokens: integer sums of the values the
  calls reported (`usage.<field>_tokens`); unreported values add nothing (never guessed).
- cost_nanousd: integer sum of `pricing.call_cost(record).nanousd` over priced calls;
  cost_usd = cost_nanousd / 1e9; unpriced_call_count: calls whose cost is None (unknown model,
  or input/output tokens not reported); price_table_versions: sorted distinct versions of the
  priced calls' costs.
- latency_ms (`record.latency_ms`), ttft_ms, tpot_ms and output_tokens_per_second
  (`record.timing.*`): a `Distribution` over the values reported (None and non-finite skipped).
- tool_calls_count: total `len(record.output_tool_calls)`; tool_calls_by_name: name -> count,
  keys sorted; models / providers: sorted distinct non-empty model names / providers.

Distribution over n values: count = n; mean = math.fsum(values) / n; min; max; pP (P in 50, 90,
99) is nearest-rank: sorted ascending, the value at 1-based rank ceil(P * n / 100) computed in
integers. Every field but count is None when n == 0 (never NaN, never 0 for "missing").

Session roll-ups (`SessionRollup`, one per SessionTrace, sorted by session_id then content)
- started_at / ended_at: earliest and latest time seen anywhere in the trace (created_at,
  timestep timestamp/completed_at, event and message times, call started_at/completed_at);
  duration_ms = (ended_at - started_at) in milliseconds;
- timestep_count, events_by_type (event_type -> count), messages_by_type (message_type -> count,
  from markov_blanket_message_history, or the timesteps' messages when that is empty);
- llm_call_count, runtime_event_count, tool_message_count (messages whose message_type is in
  TOOL_MESSAGE_TYPES), total_reward: math.fsum of EnvironmentEvent rewards that are not None
  (None when there are none);
- warnings, among them "no LLM calls recorded" when the session has runtime events, tool
  messages or LMCAISEvents but not a single LLMCallRecord. Warnings are also logged.
"""

from __future__ import annotations

import logging
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

logger = logging.getLogger(__name__)

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
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float = 0.0
    cost_nanousd: int = 0
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

"""What the HTML report shows, gathered in one pass over the matching sessions: the store's roll-ups
(collect_stats) plus, from each trace, its session roll-up, per-call samples (latency, TTFT, cost
over time), tool-call outcomes and its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracekit.analysis.aggregate_types import SessionRollup
from tracekit.analysis.aggregates import aggregate
from tracekit.analysis.pricing import estimate_cost
from tracekit.codec import format_datetime
from tracekit.model import LMCAISEvent, SessionTrace
from tracekit.report.stats import (
    Progress,
    SessionFilters,
    StoreStats,
    collect_stats,
    iter_sessions,
)
from tracekit.report.timeline import TimelineEntry, session_timeline
from tracekit.store.manager import TursoManager

__all__ = ["CallSample", "ReportData", "SessionView", "ToolOutcome", "collect_report"]


@dataclass(frozen=True, slots=True)
class CallSample:
    """One counted LLM call's time, agent, model, latency, TTFT and cost (None = not reported / unpriced)."""

    at: datetime | None
    session_id: str
    agent: str
    model: str
    latency_ms: float | None
    ttft_ms: float | None
    cost_usd: float | None
    outcome: str | None


@dataclass(slots=True)
class ToolOutcome:
    """Per tool name: calls the models asked for, results ok, results failed, and calls with no result."""

    name: str
    requested: int = 0
    ok: int = 0
    failed: int = 0
    no_result: int = 0


@dataclass(frozen=True, slots=True)
class SessionView:
    """One session's header numbers and timeline."""

    session_id: str
    created_at: datetime
    metadata: dict[str, Any]
    timeline: tuple[TimelineEntry, ...]


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything the report renders."""

    url: str
    generated_at: datetime
    stats: StoreStats
    samples: tuple[CallSample, ...]
    tools: tuple[ToolOutcome, ...]
    sessions: tuple[SessionView, ...]
    sessions_total: int


def _samples(trace: SessionTrace) -> list[CallSample]:
    out = []
    for event in trace.event_history:
        if isinstance(event, LMCAISEvent):
            for record in event.call_records:
                out.append(
                    CallSample(
                        at=record.completed_at or record.started_at or event.time_record.event_time,
                        session_id=trace.session_id,
                        agent=event.system_instance_id,
                        model=record.model_name,
                        latency_ms=record.latency_ms,
                        ttft_ms=None if record.timing is None else record.timing.ttft_ms,
                        cost_usd=estimate_cost(record.model_name, record.usage),
                        outcome=record.outcome,
                    )
                )
    return out


def _add_tools(trace: SessionTrace, tools: dict[str, ToolOutcome]) -> None:
    for event in trace.event_history:
        if not isinstance(event, LMCAISEvent):
            continue
        for record in event.call_records:
            results = {r.call_id: r for r in record.tool_results if r.call_id is not None}
            for call in record.output_tool_calls:
                outcome = tools.setdefault(call.name, ToolOutcome(call.name))
                outcome.requested += 1
                result = results.get(call.call_id) if call.call_id is not None else None
                if result is None:
                    outcome.no_result += 1
                elif result.status == "error":
                    outcome.failed += 1
                else:
                    outcome.ok += 1


async def collect_report(
    db: TursoManager,
    filters: SessionFilters | None = None,
    *,
    max_timelines: int = 50,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ReportData:
    """Gather the report's data for the matching sessions (timelines for the first `max_timelines`)."""
    from tracekit.model import utc_now

    filters = filters or SessionFilters()
    stats = await collect_stats(db, filters, by=("model", "agent", "provider", "experiment"), sessions=False)
    rollups: list[SessionRollup] = []
    samples: list[CallSample] = []
    tools: dict[str, ToolOutcome] = {}
    views: list[SessionView] = []
    seen = 0
    async for trace in iter_sessions(db, filters):
        seen += 1
        rollups.extend(aggregate([trace]).sessions)
        samples.extend(_samples(trace))
        _add_tools(trace, tools)
        if len(views) < max_timelines:
            rewards = (await db.get_rewards(trace.session_id)).get("outcome", [])
            views.append(
                SessionView(
                    trace.session_id,
                    trace.created_at,
                    dict(trace.metadata),
                    tuple(session_timeline(trace, rewards)),
                )
            )
        if progress is not None:
            progress(seen, None)
    warnings = [w for s in rollups for w in s.warnings]
    warnings.extend(w for w in stats.warnings if w not in warnings)
    full = StoreStats(stats.total, stats.groups, tuple(rollups), tuple(warnings), filters)
    samples.sort(key=lambda s: ("" if s.at is None else format_datetime(s.at), s.session_id))
    return ReportData(
        url=db.url,
        generated_at=now or utc_now(),
        stats=full,
        samples=tuple(samples),
        tools=tuple(sorted(tools.values(), key=lambda t: t.name)),
        sessions=tuple(views),
        sessions_total=seen,
    )

"""The walk over a SessionTrace: which events count, which timestep holds each, session roll-ups.

Rules are documented in tracekit/analysis/aggregates.py (the store copies them); this module holds the
trace-shaped half of the computation so aggregates.py stays about calls.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES, SessionRollup
from tracekit.model import (
    BaseEvent,
    EnvironmentEvent,
    LMCAISEvent,
    RuntimeEvent,
    SessionEventMarkovBlanketMessage,
    SessionTrace,
)

__all__ = ["history_step_ids", "session_rollup", "session_warnings", "trace_events", "unpriced_warning"]


def trace_events(trace: SessionTrace) -> tuple[list[BaseEvent], list[str | None] | None]:
    """The events whose calls count (event_history, else the timesteps' events) and, for the
    timestep fallback, the step_id of each."""
    if trace.event_history:
        return list(trace.event_history), None
    events: list[BaseEvent] = []
    steps: list[str | None] = []
    for step in trace.session_time_steps:
        for event in step.events:
            events.append(event)
            steps.append(step.step_id or None)
    return events, steps


def history_step_ids(trace: SessionTrace, events: list[BaseEvent]) -> list[str | None]:
    """step_id of the timestep holding each event_history entry: by identity, else by equality
    (each timestep event matched at most once, in order), else None."""
    by_identity: dict[int, str] = {}
    for step in trace.session_time_steps:
        for event in step.events:
            by_identity.setdefault(id(event), step.step_id)
    buckets: dict[tuple[Any, ...], list[list[Any]]] | None = None
    result: list[str | None] = []
    for event in events:
        step_id = by_identity.get(id(event))
        if step_id is None:
            if buckets is None:
                buckets = {}
                for step in trace.session_time_steps:
                    for candidate in step.events:
                        buckets.setdefault(_event_key(candidate), []).append([candidate, step.step_id, False])
            for slot in buckets.get(_event_key(event), ()):
                if not slot[2] and slot[0] == event:
                    slot[2] = True
                    step_id = slot[1]
                    break
        result.append(step_id or None)
    return result


def _event_key(event: BaseEvent) -> tuple[Any, ...]:
    # __class__, not type(): reading it completes an event recorded lazily (tracing/pending)
    return (event.__class__, event.system_instance_id, event.time_record.event_time)


def _trace_messages(trace: SessionTrace) -> list[SessionEventMarkovBlanketMessage]:
    if trace.markov_blanket_message_history:
        return list(trace.markov_blanket_message_history)
    return [m for step in trace.session_time_steps for m in step.markov_blanket_messages]


def session_warnings(
    sid: str,
    *,
    llm_calls: int,
    runtime_events: int,
    tool_messages: int,
    empty_lm_events: int,
    calls_in_steps: int,
) -> tuple[str, ...]:
    """A session's validity warnings from its counts (shared with the store's SQL roll-up, which
    counts the same things in SQL). `calls_in_steps` is 0 when event_history is empty."""
    warnings: list[str] = []
    if llm_calls == 0 and (runtime_events or tool_messages or empty_lm_events):
        warnings.append(
            f"session {sid!r}: no LLM calls recorded, yet it has {runtime_events} runtime event(s), "
            f"{tool_messages} tool message(s) and {empty_lm_events} LM event(s) without call records; "
            "its LLM tokens and cost are missing from these totals. Put each call's LLMCallRecord "
            "(e.g. from tk.record_from_response) in LMCAISEvent.call_records."
        )
    elif empty_lm_events:
        warnings.append(
            f"session {sid!r}: {empty_lm_events} LM event(s) carry no call records; their tokens and "
            "cost are not in these totals. Put LLMCallRecords in LMCAISEvent.call_records."
        )
    if calls_in_steps > llm_calls:
        warnings.append(
            f"session {sid!r}: its timesteps hold {calls_in_steps} LLM call(s) but event_history only "
            f"{llm_calls}; only event_history is counted. Append every event to event_history "
            "(the tracer does), or leave event_history empty to count the timesteps' events."
        )
    return tuple(warnings)


def unpriced_warning(
    call_count: int, unpriced: int, unpriced_usage: int, unknown_models: Iterable[str]
) -> str | None:
    """The one line for unpriced calls (None when every call is priced), shared with the store."""
    if not unpriced:
        return None
    unknown = sorted(m or "<no model name>" for m in unknown_models)
    return (
        f"{unpriced} of {call_count} LLM call(s) are unpriced and not in cost_usd: "
        f"{unpriced - unpriced_usage} with a model the price table does not know "
        f"({', '.join(repr(m) for m in unknown) or 'none'}), {unpriced_usage} without "
        "usable token counts. Add prices with tk.set_price(...) or tk.load_prices(path)."
    )


def session_rollup(trace: SessionTrace, events: list[BaseEvent]) -> SessionRollup:
    """Session-level facts; see the module docstring for each rule."""
    messages = _trace_messages(trace)
    times: list[datetime] = [trace.created_at]
    for step in trace.session_time_steps:
        times.append(step.timestamp)
        if step.completed_at is not None:
            times.append(step.completed_at)
        times.extend(e.time_record.event_time for e in step.events)
        times.extend(m.time_record.event_time for m in step.markov_blanket_messages)
    times.extend(e.time_record.event_time for e in trace.event_history)
    times.extend(m.time_record.event_time for m in trace.markov_blanket_message_history)
    events_by_type: dict[str, int] = {}
    rewards: list[float] = []
    llm_calls = runtime_events = empty_lm_events = 0
    for event in events:
        kind = type(event).event_type
        events_by_type[kind] = events_by_type.get(kind, 0) + 1
        if isinstance(event, LMCAISEvent):
            llm_calls += len(event.call_records)
            if not event.call_records:
                empty_lm_events += 1
            for record in event.call_records:
                times.extend(t for t in (record.started_at, record.completed_at) if t is not None)
        elif isinstance(event, RuntimeEvent):
            runtime_events += 1
        elif isinstance(event, EnvironmentEvent) and event.reward is not None:
            rewards.append(event.reward)
    messages_by_type: dict[str, int] = {}
    tool_messages = 0
    for message in messages:
        messages_by_type[message.message_type] = messages_by_type.get(message.message_type, 0) + 1
        if message.message_type in TOOL_MESSAGE_TYPES:
            tool_messages += 1
    sid = trace.session_id
    in_steps = 0
    if trace.event_history:
        in_steps = sum(
            len(e.call_records)
            for step in trace.session_time_steps
            for e in step.events
            if isinstance(e, LMCAISEvent)
        )
    warnings = session_warnings(
        sid,
        llm_calls=llm_calls,
        runtime_events=runtime_events,
        tool_messages=tool_messages,
        empty_lm_events=empty_lm_events,
        calls_in_steps=in_steps,
    )
    started, ended = min(times), max(times)
    return SessionRollup(
        session_id=sid,
        started_at=started,
        ended_at=ended,
        duration_ms=(ended - started).total_seconds() * 1000.0,
        timestep_count=len(trace.session_time_steps),
        events_by_type=dict(sorted(events_by_type.items())),
        messages_by_type=dict(sorted(messages_by_type.items())),
        llm_call_count=llm_calls,
        runtime_event_count=runtime_events,
        tool_message_count=tool_messages,
        total_reward=math.fsum(rewards) if rewards else None,
        warnings=warnings,
    )

"""The camelCase step and turn metric shapes (pure), shared by tracekit.wire and the store.

A step is one LLM call: {callId, agent, model, provider, outcome, usage{inputTokens,
outputTokens, cacheReadTokens, cacheWriteTokens}} plus ttftMs, decodeMs, genTotalMs
(= ttftMs + decodeMs, when a first token was seen) and durationMs (the call's latency), each only
when measured. A turn is a timestep: {turnId, turnNumber, startedAt, usage (sums over its steps;
None when no step reported the count), steps in order, warnings} plus completedAt and durationMs
once it ended. Tokens per second is never sent: the receiver derives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tracekit.codec import format_datetime

__all__ = ["iso", "no_llm_calls_warning", "step_shape", "turn_shape"]

Tokens = tuple[int | None, int | None, int | None, int | None]
"""(input, output, cache read, cache write) tokens of one call."""


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC text with microseconds, or None."""
    return None if value is None else format_datetime(value)


def no_llm_calls_warning(where: str, runtime_events: int, tool_messages: int, empty_lm_events: int) -> str:
    """The validity warning of a session (or turn) with activity but not a single LLM call."""
    return (
        f"{where}: no LLM calls recorded, yet it has {runtime_events} runtime event(s), "
        f"{tool_messages} tool message(s) and {empty_lm_events} LM event(s) without call records; "
        "its LLM tokens and cost are missing from these totals. Put each call's LLMCallRecord "
        "(e.g. from tk.record_from_response) in LMCAISEvent.call_records."
    )


def _usage(values: Iterable[Tokens]) -> dict[str, int | None]:
    sums: list[int | None] = [None, None, None, None]
    for row in values:
        for index, value in enumerate(row):
            if value is not None:
                current = sums[index]
                sums[index] = value if current is None else current + value
    return dict(
        zip(("inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"), sums, strict=True)
    )


def step_shape(
    *,
    call_id: str,
    agent: str | None,
    model: str | None,
    provider: str | None,
    outcome: str | None,
    tokens: Tokens,
    ttft_ms: float | None,
    decode_ms: float | None,
    latency_ms: float | None,
) -> dict[str, Any]:
    """One step's camelCase metrics from its numbers (shared by step_metrics and the store)."""
    step: dict[str, Any] = {
        "callId": call_id,
        "agent": agent,
        "model": model,
        "provider": provider,
        "outcome": outcome,
        "usage": _usage([tokens]),
    }
    if ttft_ms is not None:
        step["ttftMs"] = ttft_ms
    if decode_ms is not None:
        step["decodeMs"] = decode_ms
    if ttft_ms is not None and decode_ms is not None:
        step["genTotalMs"] = ttft_ms + decode_ms
    if latency_ms is not None:
        step["durationMs"] = latency_ms
    return step


def turn_shape(
    *,
    step_id: str,
    turn_number: int | None,
    started_at: datetime,
    completed_at: datetime | None,
    steps: list[dict[str, Any]],
    runtime_events: int,
    tool_messages: int,
    empty_lm_events: int,
) -> dict[str, Any]:
    """One turn's camelCase metrics from its parts (shared by turn_metrics and the store)."""
    turn: dict[str, Any] = {"turnId": step_id, "turnNumber": turn_number, "startedAt": iso(started_at)}
    if completed_at is not None:
        turn["completedAt"] = iso(completed_at)
        turn["durationMs"] = (completed_at - started_at).total_seconds() * 1000.0
    usage = [step["usage"] for step in steps]
    turn["usage"] = _usage(
        (u["inputTokens"], u["outputTokens"], u["cacheReadTokens"], u["cacheWriteTokens"]) for u in usage
    )
    turn["steps"] = steps
    warnings = []
    if not steps and (runtime_events or tool_messages or empty_lm_events):
        warnings.append(
            no_llm_calls_warning(f"turn {step_id!r}", runtime_events, tool_messages, empty_lm_events)
        )
    turn["warnings"] = warnings
    return turn

"""Metrics that cross process boundaries: `llm_metrics` packets, and per-step / per-turn metrics.

    packet = tk.llm_metrics(record, agent="planner")   # JSON-ready; attach it to a stream message
    tracer.record_llm_metrics(packet)                   # the receiving side: counts as an LLM call
    tk.step_metrics(record); tk.turn_metrics(timestep)  # camelCase shapes for chat backends

A packet carries every number the record knows (snake_case, None = not reported) and is turned
back into an LLMCallRecord with the same numbers; the record says it was received, not observed
(`metadata["tracekit_received"]`), and unknown packet fields are kept there under "extra".
Step/turn metrics use the camelCase shape chat backends send: usage {inputTokens, outputTokens,
cacheReadTokens, cacheWriteTokens}; ttftMs, decodeMs, genTotalMs (= ttftMs + decodeMs, when a
first token was seen) and durationMs only when measured; tokens per second is never sent (the
receiver derives outputTokens / (genTotalMs / 1000)).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, get_args

from tracekit import codec
from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES
from tracekit.analysis.pricing import call_cost
from tracekit.analysis.turn_shapes import iso, step_shape, turn_shape
from tracekit.errors import FieldProblem, InvalidArgumentError, InvalidDataError
from tracekit.model import (
    ApiType,
    BaseEvent,
    LLMCallRecord,
    LLMTiming,
    LLMUsage,
    LMCAISEvent,
    Outcome,
    RuntimeEvent,
    SessionTimeStep,
    ToolCallSpec,
    utc_now,
)
from tracekit.tracing.values import call_event

if TYPE_CHECKING:
    from tracekit.tracer import SessionTracer
    from tracekit.tracing.context import LiveSession

__all__ = [
    "PACKET_TYPE",
    "PACKET_VERSION",
    "RECEIVED_KEY",
    "llm_metrics",
    "packet_record",
    "record_llm_metrics",
    "step_metrics",
    "turn_metrics",
]

logger = logging.getLogger(__name__)

PACKET_TYPE = "llm_metrics"
PACKET_VERSION = 1
RECEIVED_KEY = "tracekit_received"
"""record.metadata key marking a call received in a packet (provenance), not observed here."""

USAGE_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "reasoning_input_tokens",
    "reasoning_output_tokens",
    "tool_use_input_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "billable_input_tokens",
    "billable_output_tokens",
)
TIMING_FIELDS: tuple[str, ...] = ("ttft_ms", "decode_ms", "tpot_ms", "output_tokens_per_second")
_KNOWN = frozenset(
    {
        "type", "version", "call_id", "agent_type", "model", "provider", "api_type", "timestamp",
        "completed_at", "duration_seconds", "latency_ms", "chunk_count", "cost_usd", "cost_nanousd",
        "price_table_version", "outcome", "finish_reason", "error", "tool_calls",
        *USAGE_FIELDS, *TIMING_FIELDS,
    }
)  # fmt: skip
_API_TYPES: frozenset[str] = frozenset(get_args(ApiType))
_OUTCOMES: frozenset[str] = frozenset(get_args(Outcome))
_DEFAULT_API = {"openai": "chat_completions", "anthropic": "messages", "google": "generate_content"}
_INT64 = 2**63 - 1


def llm_metrics(record: LLMCallRecord, agent: str | None = None) -> dict[str, Any]:
    """A small JSON-ready dict of one call's numbers, to attach to a stream message.

    `agent` (sent as `agent_type`) defaults to `record.metadata["agent_id"]` (set by
    @trace_llm_call / instrument). Every usage and timing number of the record is included, None
    when not reported; `duration_seconds` = latency_ms / 1000 (latency_ms is sent too, exactly);
    cost from the active price table (or the reported cost), None when unpriced.
    """
    if not isinstance(record, LLMCallRecord):
        raise InvalidArgumentError(f"llm_metrics() takes an LLMCallRecord, got {type(record).__name__}")
    if agent is not None and not isinstance(agent, str):
        raise InvalidArgumentError(f"agent must be a str or None, got {agent!r}")
    if agent is None:
        named = record.metadata.get("agent_id")
        agent = named if isinstance(named, str) and named else None
    usage, timing = record.usage, record.timing
    cost = call_cost(record)
    packet: dict[str, Any] = {
        "type": PACKET_TYPE,
        "version": PACKET_VERSION,
        "call_id": record.call_id,
        "agent_type": agent,
        "model": record.model_name or None,
        "provider": record.provider,
        "api_type": record.api_type,
        "timestamp": iso(record.started_at),
        "completed_at": iso(record.completed_at),
        "duration_seconds": None if record.latency_ms is None else record.latency_ms / 1000.0,
        "latency_ms": record.latency_ms,
    }
    for name in USAGE_FIELDS:
        packet[name] = None if usage is None else getattr(usage, name)
    for name in TIMING_FIELDS:
        packet[name] = None if timing is None else getattr(timing, name)
    packet["chunk_count"] = None if timing is None else timing.chunk_count
    packet["cost_usd"] = None if cost is None else cost.nanousd / 1e9
    packet["cost_nanousd"] = None if cost is None else cost.nanousd
    packet["price_table_version"] = None if cost is None else cost.price_table_version
    packet["outcome"] = record.outcome
    packet["finish_reason"] = record.finish_reason
    packet["error"] = record.error
    packet["tool_calls"] = [{"call_id": c.call_id, "name": c.name} for c in record.output_tool_calls]
    return packet


class _Reader:
    """Reads packet fields, collecting every problem (path, message, value) before raising."""

    __slots__ = ("packet", "problems")

    def __init__(self, packet: Mapping[str, Any]) -> None:
        self.packet = packet
        self.problems: list[FieldProblem] = []

    def bad(self, path: str, message: str, value: Any) -> None:
        self.problems.append(FieldProblem(path, message, value))

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.packet.get(name)
        if value is None:
            if required:
                self.bad(name, "is required: a non-empty str", value)
            return None
        if not isinstance(value, str) or (required and not value):
            self.bad(name, "must be a str" + (" (non-empty)" if required else " or null"), value)
            return None
        return value

    def count(self, name: str) -> int | None:
        value = self.packet.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64:
            self.bad(name, "must be a whole number >= 0 (int64) or null", value)
            return None
        return value

    def number(self, name: str) -> float | None:
        value = self.packet.get(name)
        if value is None:
            return None
        try:
            number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        except OverflowError:  # an int past float range
            number = None
        if number is None or not 0 <= number < math.inf:
            self.bad(name, "must be a finite number >= 0 or null", value)
            return None
        return number

    def time(self, name: str) -> datetime | None:
        value = self.packet.get(name)
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            try:
                return datetime.fromtimestamp(value, UTC)  # epoch seconds, as synth-ai sends them
            except (OverflowError, OSError, ValueError):
                self.bad(name, "is outside the range of dates", value)
                return None
        if isinstance(value, str):
            from dateutil.parser import isoparse

            try:
                parsed = isoparse(value)
            except (ValueError, OverflowError):
                parsed = None
            if parsed is not None and parsed.utcoffset() is not None:
                return parsed.astimezone(UTC)
        self.bad(name, "must be ISO-8601 text with a timezone (e.g. '...Z') or epoch seconds", value)
        return None


def packet_record(packet: Mapping[str, Any]) -> tuple[LLMCallRecord, str | None]:
    """The LLMCallRecord a packet describes, and its agent; InvalidDataError naming every bad field."""
    if not isinstance(packet, Mapping):
        raise InvalidDataError(
            "llm_metrics packet", [FieldProblem("", "must be a JSON object (dict)", packet)]
        )
    read = _Reader(packet)
    kind = packet.get("type", PACKET_TYPE)
    if kind != PACKET_TYPE:
        read.bad("type", f"must be {PACKET_TYPE!r} when given", kind)
    version = packet.get("version", PACKET_VERSION)
    if version != PACKET_VERSION or isinstance(version, bool):
        read.bad(
            "version", f"must be {PACKET_VERSION} (this tracekit reads version {PACKET_VERSION})", version
        )
    call_id = read.text("call_id", required=True)
    agent = read.text("agent_type")
    model = read.text("model")
    provider = read.text("provider")
    api_type = read.text("api_type")
    if api_type is not None and api_type not in _API_TYPES:
        read.bad("api_type", f"must be one of {sorted(_API_TYPES)} or null", api_type)
    started_at, completed_at = read.time("timestamp"), read.time("completed_at")
    seconds, latency_ms = read.number("duration_seconds"), read.number("latency_ms")
    if latency_ms is None and seconds is not None:
        latency_ms = seconds * 1000.0
    elif (
        latency_ms is not None
        and seconds is not None
        and not math.isclose(seconds * 1000.0, latency_ms, abs_tol=1e-6)
    ):
        read.bad("duration_seconds", f"disagrees with latency_ms={latency_ms!r}; send one of them", seconds)
    tokens: dict[str, Any] = {name: read.count(name) for name in USAGE_FIELDS}
    timing: dict[str, Any] = {name: read.number(name) for name in TIMING_FIELDS}
    chunk_count = read.count("chunk_count")
    cost_usd, nanos = read.number("cost_usd"), read.count("cost_nanousd")
    if nanos is not None:
        if cost_usd is not None and not math.isclose(nanos / 1e9, cost_usd, abs_tol=1e-9):
            read.bad("cost_usd", f"disagrees with cost_nanousd={nanos}; send one of them", cost_usd)
        cost_usd = nanos / 1e9
    version_text = read.text("price_table_version")
    outcome = read.text("outcome")
    if outcome is not None and outcome not in _OUTCOMES:
        read.bad("outcome", f"must be one of {sorted(_OUTCOMES)} or null", outcome)
    finish_reason = read.text("finish_reason")
    error = packet.get("error")
    if error is not None and not isinstance(error, Mapping):
        read.bad("error", "must be an object (e.g. {'type': ..., 'message': ...}) or null", error)
    tool_calls = _tool_calls(read, packet.get("tool_calls"))
    if read.problems:
        raise InvalidDataError("llm_metrics packet", read.problems)
    assert call_id is not None
    usage = None
    if any(v is not None for v in tokens.values()) or cost_usd is not None:
        usage = LLMUsage(**tokens, cost_usd=cost_usd, price_table_version=version_text)
    record_timing = None
    if any(v is not None for v in timing.values()) or chunk_count is not None:
        record_timing = LLMTiming(**timing, chunk_count=chunk_count)
    received: dict[str, Any] = {"via": PACKET_TYPE, "version": PACKET_VERSION}
    extra = {str(k): v for k, v in packet.items() if k not in _KNOWN}
    if extra:
        received["extra"] = extra
    metadata: dict[str, Any] = {RECEIVED_KEY: received}
    if agent is not None:
        metadata["agent_id"] = agent
    if api_type is None:
        api_type = _DEFAULT_API.get(provider or "", "chat_completions")
        received["api_type_assumed"] = True
    record = LLMCallRecord(
        call_id=call_id,
        api_type=api_type,  # type: ignore[arg-type]  # checked against ApiType above
        provider=provider,
        model_name=model or "",
        started_at=started_at,
        completed_at=completed_at,
        latency_ms=latency_ms,
        usage=usage,
        timing=record_timing,
        finish_reason=finish_reason,
        outcome=outcome,  # type: ignore[arg-type]  # checked against Outcome above
        error=None if error is None else dict(error),
        output_tool_calls=tool_calls,
        metadata=metadata,
    )
    codec.to_dict(record)  # extra fields and the error object must be storable: refused now otherwise
    return record, agent


def _tool_calls(read: _Reader, value: Any) -> list[ToolCallSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        read.bad("tool_calls", "must be a list of {'call_id': str, 'name': str} or null", value)
        return []
    out = []
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, Mapping) else None
        call_id = item.get("call_id") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not (call_id is None or isinstance(call_id, str)):
            read.bad(f"tool_calls[{index}]", "must be {'call_id': str or null, 'name': str}", item)
            continue
        out.append(ToolCallSpec(name=name, arguments_json="", call_id=call_id, index=index))
    return out


def record_llm_metrics(
    tracer: SessionTracer, packet: Mapping[str, Any], session: LiveSession
) -> LLMCallRecord:
    """Add the call a packet describes to the tracer's current session/timestep (see
    SessionTracer.record_llm_metrics); returns the record.

    Idempotent per call_id within the session (`session.received`, one dict lookup): a packet
    delivered again returns the record already added and adds nothing; when its numbers differ
    from the first, the first is kept and a warning is logged.
    """
    record, agent = packet_record(packet)
    with session.lock:
        existing = session.received.get(record.call_id)
        if existing is None:
            session.received[record.call_id] = record
    if existing is not None:
        # tool runs linked since (tool_results) are not part of what the packet said
        if dataclasses.replace(record, tool_results=existing.tool_results) != existing:
            logger.warning(
                "llm_metrics packet with call_id %r was already recorded in session %r with other "
                "values; kept the first. Give each call its own call_id.",
                record.call_id,
                session.trace.session_id,
            )
        return existing
    tracer.record_event(call_event(record, agent or "", record.started_at or utc_now()))
    return record


# ---------------------------------------------------------------------------------------------
# camelCase step and turn metrics


def _tokens(record: LLMCallRecord) -> tuple[int | None, int | None, int | None, int | None]:
    usage = record.usage
    if usage is None:
        return (None, None, None, None)
    return (usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens)


def step_metrics(record: LLMCallRecord, agent: str | None = None) -> dict[str, Any]:
    """One LLM call as a step: {callId, agent, model, provider, outcome, usage{inputTokens,
    outputTokens, cacheReadTokens, cacheWriteTokens}} plus ttftMs, decodeMs, genTotalMs and
    durationMs (the call's latency) when measured. `agent` defaults to metadata["agent_id"]."""
    if not isinstance(record, LLMCallRecord):
        raise InvalidArgumentError(f"step_metrics() takes an LLMCallRecord, got {type(record).__name__}")
    if agent is None:
        named = record.metadata.get("agent_id")
        agent = named if isinstance(named, str) and named else None
    timing = record.timing
    return step_shape(
        call_id=record.call_id,
        agent=agent,
        model=record.model_name or None,
        provider=record.provider,
        outcome=record.outcome,
        tokens=_tokens(record),
        ttft_ms=None if timing is None else timing.ttft_ms,
        decode_ms=None if timing is None else timing.decode_ms,
        latency_ms=record.latency_ms,
    )


def turn_metrics(timestep: SessionTimeStep) -> dict[str, Any]:
    """A timestep as a turn: {turnId, turnNumber, startedAt, usage (sums over steps, None when
    no step reported), steps (one per LLM call, in order), warnings} plus completedAt and
    durationMs once the turn has ended. A turn with tool or runtime activity but no LLM call
    carries the validity warning."""
    if not isinstance(timestep, SessionTimeStep):
        raise InvalidArgumentError(f"turn_metrics() takes a SessionTimeStep, got {type(timestep).__name__}")
    steps: list[dict[str, Any]] = []
    runtime = empty = 0
    events: list[BaseEvent] = list(timestep.events)
    for event in events:
        if isinstance(event, LMCAISEvent):
            if not event.call_records:
                empty += 1
            for record in event.call_records:
                steps.append(step_metrics(record, agent=event.system_instance_id or None))
        elif type(event).event_type == RuntimeEvent.event_type:
            runtime += 1
    tool_messages = sum(1 for m in timestep.markov_blanket_messages if m.message_type in TOOL_MESSAGE_TYPES)
    return turn_shape(
        step_id=timestep.step_id,
        turn_number=timestep.turn_number,
        started_at=timestep.timestamp,
        completed_at=timestep.completed_at,
        steps=steps,
        runtime_events=runtime,
        tool_messages=tool_messages,
        empty_lm_events=empty,
    )

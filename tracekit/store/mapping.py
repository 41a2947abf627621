"""Pure functions between a SessionTrace and table rows (no I/O, no clock).

Each record is stored as its full JSON plus typed columns for queries. The whole trace is checked
and encoded by the codec in one walk before any row is built, so a trace that cannot be read back
equal is refused (SerializationError with its field path) before anything is written; rows reuse
the walk's per-object JSON. Events and messages are stored once per object: an object that sits both in the
session history and in a timestep (the usual case) is one row that remembers both places, so
read-back rebuilds every list exactly. Call records are cut out of their event's JSON and kept
in `llm_calls`, one row per call; a tool call row repeats its call's roll-up facts (in_rollup and
the group keys) so SQL counts tools by name without a join.

Row tuples follow the column order of the tables in schema.py (checked by tests).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tracekit import codec
from tracekit.errors import FieldProblem, InvalidDataError, SerializationError
from tracekit.model import (
    BaseEvent,
    EnvironmentEvent,
    LLMCallRecord,
    LMCAISEvent,
    SessionEventMarkovBlanketMessage,
    SessionTrace,
)
from tracekit.store import rollup_rows, schema

__all__ = [
    "CallCost",
    "TraceRows",
    "call_has_error",
    "check_int64",
    "dumps",
    "session_key",
    "trace_from_rows",
    "trace_rows",
]

CallCost = Callable[[LLMCallRecord], tuple[int | None, str | None]]
"""Prices one call: (cost in nano-dollars or None when unpriced, price table version)."""

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_ERROR_OUTCOMES = frozenset({"error", "timeout", "cancelled", "incomplete"})


def dumps(value: Any) -> str:
    """JSON text exactly as the model codec writes it (compact, non-ASCII kept, NaN refused,
    a lone surrogate as its \\u escape)."""
    return codec.dumps(value)


def check_int64(value: int | None, where: str) -> int | None:
    """`value` unchanged when it fits SQLite's 64-bit integers; SerializationError otherwise."""
    if value is not None and not _INT64_MIN <= value <= _INT64_MAX:
        raise SerializationError(
            f"{where} = {value} does not fit a 64-bit SQLite integer; store it in metadata as text instead"
        )
    return value


def session_key(trace: Any) -> str:
    """The session_id a save groups traces by; SerializationError (before anything is encoded or
    written) when `trace` is not a SessionTrace or its session_id is not a str."""
    if type(trace) is not SessionTrace:
        raise SerializationError(
            f"save_session takes a SessionTrace, got {type(trace).__name__} {trace!r:.60}; "
            "pass a SessionTrace",
            value=trace,
        )
    if type(trace.session_id) is not str:
        raise SerializationError(
            f"SessionTrace.session_id: expected str, got {type(trace.session_id).__name__} "
            f"{trace.session_id!r:.60}; pass a str",
            path="session_id",
            value=trace.session_id,
        )
    return trace.session_id


def call_has_error(record: LLMCallRecord) -> bool:
    """Whether a call failed: an error recorded, or an outcome other than success."""
    return record.error is not None or record.outcome in _ERROR_OUTCOMES


@dataclass(slots=True)
class TraceRows:
    """Rows for one session, per table name, as tuples in column order."""

    session_id: str
    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def count(self) -> int:
        """Number of rows over all tables."""
        return sum(len(rows) for rows in self.tables.values())


def _call_row(
    session_id: str,
    event_index: int,
    call_index: int,
    in_rollup: int,
    step_id: str | None,
    agent: str,
    record: LLMCallRecord,
    cost: CallCost,
) -> tuple[Any, ...]:
    where = f"session {session_id!r} event {event_index} call {call_index}"
    usage = record.usage
    timing = record.timing
    tokens: tuple[int | None, ...]
    if usage is None:
        tokens = (None,) * 14
    else:
        tokens = (
            usage.input_tokens,
            usage.output_tokens,
            usage.total_tokens,
            usage.reasoning_tokens,
            usage.reasoning_input_tokens,
            usage.reasoning_output_tokens,
            usage.cache_write_tokens,
            usage.cache_write_1h_tokens,
            usage.cache_read_tokens,
            usage.tool_use_input_tokens,
            usage.input_audio_tokens,
            usage.output_audio_tokens,
            usage.billable_input_tokens,
            usage.billable_output_tokens,
        )
        for token_count in tokens:
            check_int64(token_count, f"{where} usage token count")
    nanos, price_version = cost(record)
    return (
        session_id,
        event_index,
        call_index,
        record.call_id,
        in_rollup,
        step_id,
        agent,
        record.model_name,
        record.provider,
        record.api_type,
        None if record.started_at is None else codec.format_datetime(record.started_at),
        None if record.completed_at is None else codec.format_datetime(record.completed_at),
        record.latency_ms,
        None if timing is None else timing.ttft_ms,
        None if timing is None else timing.decode_ms,
        None if timing is None else timing.tpot_ms,
        None if timing is None else timing.output_tokens_per_second,
        None if timing is None else check_int64(timing.chunk_count, f"{where} chunk_count"),
        *tokens,
        check_int64(nanos, f"{where} cost_nanousd"),
        price_version,
        record.finish_reason,
        record.outcome,
        len(record.output_tool_calls),
    )


def _placement(
    history: Sequence[Any], steps: Sequence[Sequence[Any]], key: Callable[[Any], Any]
) -> list[tuple[Any, int, int | None, int | None]]:
    """(object, in_history, step_position, step_slot) per stored row, history objects first.

    A timestep's object is matched to a history row by identity, or failing that to an equal
    one not yet placed (as after a read-back, where the two lists hold equal copies).
    """
    placed: list[list[Any]] = [[obj, 1, None, None] for obj in history]
    by_identity = {id(obj): row for obj, row in zip(history, placed, strict=True)}
    by_key: dict[Any, list[list[Any]]] | None = None
    for position, step_objects in enumerate(steps):
        for slot, obj in enumerate(step_objects):
            row = by_identity.get(id(obj))
            if row is None or row[2] is not None:
                if by_key is None:
                    by_key = {}
                    for candidate in placed[: len(history)]:
                        by_key.setdefault(key(candidate[0]), []).append(candidate)
                row = next(
                    (c for c in by_key.get(key(obj), ()) if c[2] is None and c[0] == obj),
                    None,
                )
            if row is not None:
                row[2], row[3] = position, slot
            else:
                placed.append([obj, 0, position, slot])
    return [(obj, flag, position, slot) for obj, flag, position, slot in placed]


def _event_key(event: BaseEvent) -> tuple[str, str, Any]:
    return (event.event_type, event.system_instance_id, event.time_record.event_time)


def _message_key(message: SessionEventMarkovBlanketMessage) -> tuple[str, Any]:
    return (message.message_type, message.time_record.event_time)


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """`data` minus `keys` (what the codec writes for a copy of the record with those lists empty)."""
    if not any(key in data for key in keys):
        return data
    return {key: value for key, value in data.items() if key not in keys}


def trace_rows(trace: SessionTrace, *, saved_at: str, cost: CallCost) -> TraceRows:
    """Every row that stores `trace`; raises SerializationError (field path, value, fix) for anything
    that would not read back equal, before building a row."""
    encoded: dict[int, dict[str, Any]] = {}
    trace_data = codec.encode(trace, compact=True, memo=encoded)
    try:
        return _rows(trace, trace_data, encoded, saved_at, cost)
    except SerializationError:
        codec.dumps(trace_data, root="SessionTrace")  # the same refusal, with the path from the trace
        raise


def _rows(
    trace: SessionTrace,
    trace_data: dict[str, Any],
    encoded: dict[int, dict[str, Any]],
    saved_at: str,
    cost: CallCost,
) -> TraceRows:
    sid = trace.session_id
    out = TraceRows(sid)
    step_rows: list[tuple[Any, ...]] = []
    for step_position, step in enumerate(trace.session_time_steps):
        step_rows.append(
            (
                sid,
                step_position,
                step.step_id,
                step.step_index,
                step.turn_number,
                codec.format_datetime(step.timestamp),
                None if step.completed_at is None else codec.format_datetime(step.completed_at),
                dumps(_without(encoded[id(step)], "events", "markov_blanket_messages")),
            )
        )

    event_rows: list[tuple[Any, ...]] = []
    call_rows: list[tuple[Any, ...]] = []
    record_rows: list[tuple[Any, ...]] = []
    tool_rows: list[tuple[Any, ...]] = []
    has_error = False
    placement = _placement(trace.event_history, [s.events for s in trace.session_time_steps], _event_key)
    for event_index, (event, in_history, position, slot) in enumerate(placement):
        calls = event.call_records if isinstance(event, LMCAISEvent) else []
        event_rows.append(
            (
                sid,
                event_index,
                in_history,
                position,
                slot,
                event.event_type,
                event.system_instance_id,
                codec.format_datetime(event.time_record.event_time),
                event.model_name if isinstance(event, LMCAISEvent) else None,
                event.reward if isinstance(event, EnvironmentEvent) else None,
                dumps(_without(encoded[id(event)], "call_records")),
            )
        )
        in_rollup = in_history if trace.event_history else 1
        step_id = None if position is None else trace.session_time_steps[position].step_id or None
        for call_index, record in enumerate(calls):
            has_error = has_error or call_has_error(record)
            call_rows.append(
                _call_row(
                    sid,
                    event_index,
                    call_index,
                    in_rollup,
                    step_id,
                    event.system_instance_id,
                    record,
                    cost,
                )
            )
            record_rows.append((sid, event_index, call_index, dumps(encoded[id(record)])))
            for tool_index, spec in enumerate(record.output_tool_calls):
                tool_rows.append(
                    (
                        sid,
                        event_index,
                        call_index,
                        tool_index,
                        spec.call_id,
                        spec.name,
                        in_rollup,
                        step_id,
                        event.system_instance_id,
                        record.model_name,
                        record.provider,
                        spec.arguments_json,
                    )
                )

    message_rows: list[tuple[Any, ...]] = []
    message_placement = _placement(
        trace.markov_blanket_message_history,
        [s.markov_blanket_messages for s in trace.session_time_steps],
        _message_key,
    )
    for message_index, (message, in_history, position, slot) in enumerate(message_placement):
        message_rows.append(
            (
                sid,
                message_index,
                in_history,
                position,
                slot,
                message.message_type,
                codec.format_datetime(message.time_record.event_time),
                dumps(encoded[id(message)]),
            )
        )

    metadata = trace_data.get("metadata", {})
    out.tables[schema.sessions.name] = [
        (
            sid,
            codec.format_datetime(trace.created_at),
            saved_at,
            len(step_rows),
            len(event_rows),
            len(message_rows),
            len(call_rows),
            int(has_error),
            dumps(metadata),
            dumps(
                _without(trace_data, "session_time_steps", "event_history", "markov_blanket_message_history")
            ),
            # the session's roll-up summary (tracekit/store/rollup_rows.py), from the rows built above
            rollup_rows.session_summary(
                call_rows, tool_rows, rollup_rows.warning_counts(call_rows, event_rows, message_rows)
            ),
        )
    ]
    out.tables[schema.session_metadata.name] = [(sid, key, dumps(value)) for key, value in metadata.items()]
    out.tables[schema.timesteps.name] = step_rows
    out.tables[schema.events.name] = event_rows
    out.tables[schema.messages.name] = message_rows
    out.tables[schema.llm_calls.name] = call_rows
    out.tables[schema.llm_call_records.name] = record_rows
    out.tables[schema.tool_calls.name] = tool_rows
    return out


def _place(
    rows: Iterable[tuple[dict[str, Any], int, int | None, int | None]],
    history: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    key: str,
) -> None:
    slotted: list[tuple[int, int, dict[str, Any]]] = []
    for data, in_history, position, slot in rows:
        if in_history:
            history.append(data)
        if position is not None and slot is not None:
            slotted.append((position, slot, data))
    slotted.sort(key=lambda item: (item[0], item[1]))
    for position, _slot, data in slotted:
        steps[position].setdefault(key, []).append(data)


def trace_from_rows(
    trace_json: str,
    step_jsons: Sequence[str],
    event_rows: Sequence[tuple[int, int, int | None, int | None, str]],
    call_rows: Sequence[tuple[int, str]],
    message_rows: Sequence[tuple[int, int, int | None, int | None, str]],
) -> SessionTrace:
    """Rebuild a SessionTrace from stored JSON.

    `step_jsons` in position order; `event_rows` as (event_index, in_history, step_position,
    step_slot, event_json) in index order; `call_rows` as (event_index, record_json) in
    (event_index, call_index) order; `message_rows` like `event_rows`.
    """
    trace: dict[str, Any] = _loads(trace_json, "sessions.trace_json")
    steps = [_loads(text, "timesteps.step_json") for text in step_jsons]
    calls: dict[int, list[Any]] = {}
    for event_index, record_json in call_rows:
        calls.setdefault(event_index, []).append(_loads(record_json, "llm_call_records.record_json"))
    decoded_events = []
    for event_index, in_history, position, slot, event_json in event_rows:
        data = _loads(event_json, "events.event_json")
        if event_index in calls:
            data["call_records"] = calls[event_index]
        decoded_events.append((data, in_history, position, slot))
    history: list[dict[str, Any]] = []
    _place(decoded_events, history, steps, "events")
    trace["event_history"] = history
    decoded_messages = [
        (_loads(text, "messages.message_json"), flag, pos, slot) for _i, flag, pos, slot, text in message_rows
    ]
    message_history: list[dict[str, Any]] = []
    _place(decoded_messages, message_history, steps, "markov_blanket_messages")
    trace["markov_blanket_message_history"] = message_history
    trace["session_time_steps"] = steps
    return SessionTrace.from_dict(trace)


def _loads(text: Any, column: str) -> Any:
    """A stored JSON column as data; InvalidDataError (not a bare decode error) when it is damaged."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidDataError(
            "SessionTrace", [FieldProblem(column, f"stored JSON is not readable: {exc}", str(text)[:60])]
        ) from None
    if not isinstance(data, dict):
        raise InvalidDataError("SessionTrace", [FieldProblem(column, "stored JSON is not an object", data)])
    return data

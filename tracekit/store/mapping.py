"""Pure functions between a SessionTrace and table rows (no I/O, no clock).

Each record is stored as its full JSON plus typed columns for queries. The whole trace is checked
and encoded by the codec in one walk before any row is built, so a trace that cannot be read back
equal is refused (SerializationError with its field path) before anything is written; rows reuse
the walk's per-object data (JSON columns written by orjson, a session's in one pass). Events and
messages are stored once per object: an object that sits both in the session history and in a
timestep (the usual case) is one row that remembers both places, so read-back rebuilds every list
exactly. Call records are cut out of their event's JSON and kept
in `llm_calls`, one row per call; a tool call row repeats its call's roll-up facts (in_rollup and
the group keys) so SQL counts tools by name without a join.

Row tuples follow the column order of the tables in schema.py (checked by tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json import encoder as json_encoder
from typing import Any

import orjson

from tracekit import codec
from tracekit.errors import FieldProblem, InvalidDataError, SerializationError, StoreError
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
    "checked_trace_rows",
    "dumps",
    "row_json",
    "session_key",
    "text_trace_rows",
    "trace_from_rows",
    "trace_rows",
]

CallCost = Callable[[LLMCallRecord], tuple[int | None, str | None]]
"""Prices one call: (cost in nano-dollars or None when unpriced, price table version)."""

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_ERROR_OUTCOMES = frozenset({"error", "timeout", "cancelled", "incomplete"})


def _stdlib_encoder() -> Callable[[Any, int], Any] | None:
    """The standard library's C JSON encoder set up as `codec.dumps` sets it up (compact, non-ASCII
    kept, NaN refused), made once instead of once per call; None when this Python's differs."""
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return None

    def unsupported(value: Any) -> Any:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    try:
        # markers None: no cycle check, as what the codec's walk returns is a tree of fresh values
        encode: Callable[[Any, int], Any] = make(
            None, unsupported, json_encoder.encode_basestring, None, ":", ",", False, False, False
        )
        sample: dict[str, Any] = {"a": [1, -0.0, 1e-05, None, True, 'é\n"', {}], "b": {"c": 2**70}}
        if "".join(encode(sample, 0)) != codec.dumps(sample):
            return None
    except Exception:  # a Python whose C encoder takes other arguments: the codec's path
        return None
    return encode


_ENCODE = _stdlib_encoder()


def dumps(value: Any) -> str:
    """JSON text exactly as the model codec writes it (compact, non-ASCII kept, NaN refused, a lone
    surrogate as its \\u escape), for data the codec's walk returned (checked, a tree). The C encoder
    is made once here, not per call as `json.dumps` does: one row's JSON is written per object saved."""
    if _ENCODE is not None:
        text: str = "".join(_ENCODE(value, 0))
        if text.isascii():
            return text
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: the codec writes its escape
            return codec.dumps(value)
        return text
    return codec.dumps(value)


_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _digit(text: bytes, at: int) -> bool:
    return 0 <= at < len(text) and 48 <= text[at] <= 57


def _respelled(text: bytes) -> bool:
    """Whether orjson's `text` may spell a float otherwise than Python's repr: below 1e-4 orjson
    writes "0.00001" where repr writes "1e-05", and "1e-7" where repr writes "1e-07". Looks for a
    "0.0000" not preceded by a digit (a timestamp's ":40.000000" is), and for a digit, "e-", one
    digit and no further digit."""
    at = text.find(b"0.0000")
    while at != -1:
        if not _digit(text, at - 1):
            return True
        at = text.find(b"0.0000", at + 6)
    at = text.find(b"e-")
    while at != -1:
        if _digit(text, at - 1) and _digit(text, at + 2) and not _digit(text, at + 3):
            return True
        at = text.find(b"e-", at + 2)
    return False


def row_json(value: Any) -> str:
    """`dumps` of data the codec's walk returned (checked: finite floats, str keys, JSON types only),
    the same text, written by orjson (in Rust, ~5x faster) when its text is the standard library's:
    orjson spells floats between 1e-9 and 1e-4 otherwise ("0.00001", "1e-7") and refuses lone
    surrogates, ints beyond 64 bits and deep nesting; those values take `dumps`. Not for unchecked
    data: orjson writes NaN as null where `dumps` refuses it."""
    try:
        out = orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return dumps(value)
    if (b"0.0000" in out or b"e-" in out) and _respelled(out):
        return dumps(value)
    return out.decode()


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
    started_at: str | None,
    completed_at: str | None,
    cost: CallCost,
) -> tuple[Any, ...]:
    """The llm_calls row of one call record (`started_at`, `completed_at`: the walk's ISO-8601 texts).
    Token counts and chunk_count were checked as 64-bit ints by the codec's walk; only the priced
    cost is checked here."""
    usage = record.usage
    timing = record.timing
    tokens: tuple[int | None, ...]
    if usage is None:
        tokens = _NO_TOKENS
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
    nanos, price_version = cost(record)
    if price_version is not None and type(price_version) is not str:
        raise StoreError(
            f"the store refused the request: the cost function gave price version {price_version!r} "
            f"for session {session_id!r} event {event_index} call {call_index}; return (int nano-USD "
            "or None, str version or None)"
        )
    if nanos is not None:
        check_int64(nanos, f"session {session_id!r} event {event_index} call {call_index} cost_nanousd")
    if timing is None:
        timing_values: tuple[Any, ...] = _NO_TIMING
    else:
        timing_values = (
            timing.ttft_ms,
            timing.decode_ms,
            timing.tpot_ms,
            timing.output_tokens_per_second,
            timing.chunk_count,
        )
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
        started_at,
        completed_at,
        record.latency_ms,
        *timing_values,
        *tokens,
        nanos,
        price_version,
        record.finish_reason,
        record.outcome,
        len(record.output_tool_calls),
    )


_NO_TOKENS: tuple[None, ...] = (None,) * 14
_NO_TIMING: tuple[None, ...] = (None,) * 5


def _placement(
    history: Sequence[Any], steps: Sequence[Sequence[Any]], key: Callable[[Any], Any]
) -> list[tuple[Any, int, int | None, int | None]]:
    """(object, in_history, step_position, step_slot) per stored row, history objects first.

    A timestep's object is matched to a history row by identity, or failing that to an equal
    one not yet placed (as after a read-back, where the two lists hold equal copies). The usual
    case (every step object held by the history once, nothing else) is one dict of positions.
    """
    where = {
        id(obj): (position, slot)
        for position, step_objects in enumerate(steps)
        for slot, obj in enumerate(step_objects)
    }
    held = set(map(id, history))
    if len(where) != sum(map(len, steps)) or len(held) != len(history) or not held.issuperset(where):
        # an object in two places, or a step object the history does not hold: match by equality
        return _placement_matched(history, steps, key)
    unplaced = (None, None)
    return [(obj, 1, *where.get(id(obj), unplaced)) for obj in history]


def _placement_matched(
    history: Sequence[Any], steps: Sequence[Sequence[Any]], key: Callable[[Any], Any]
) -> list[tuple[Any, int, int | None, int | None]]:
    """`_placement` for any lists: identity first, then an equal object not yet placed."""
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
    copy: dict[str, Any] | None = None
    for key in keys:
        if key in data:
            if copy is None:
                copy = data.copy()  # a C copy, then the few keys dropped: cheaper than a comprehension
            del copy[key]
    return data if copy is None else copy


def trace_rows(trace: SessionTrace, *, saved_at: str, cost: CallCost) -> TraceRows:
    """Every row that stores `trace`; raises SerializationError (field path, value, fix) for anything
    that would not read back equal, before building a row.

    First `text_trace_rows`; when it declines, `checked_trace_rows`, which gives the same rows or
    names the problem."""
    rows = text_trace_rows(trace, saved_at=saved_at, cost=cost)
    if rows is not None:
        return rows
    return checked_trace_rows(trace, saved_at=saved_at, cost=cost)


def text_trace_rows(trace: SessionTrace, *, saved_at: str, cost: CallCost) -> TraceRows | None:
    """`trace_rows` from the codec's walk for orjson's text: datetimes are left to orjson, which writes
    them in Rust (the datetime columns too, all of a session's in one call), and every JSON column is
    written and screened in one pass. None (nothing of it kept) when orjson refuses a value or may
    spell a float otherwise, or anything is refused: the checked way then decides."""
    encoded: dict[int, dict[str, Any]] = {}
    try:
        trace_data = codec.encode(trace, compact=True, memo=encoded, text=True)
        return _rows(trace, trace_data, encoded, saved_at, cost, _text_jsons, _text_times)
    except (_NotText, SerializationError):
        return None


def checked_trace_rows(trace: SessionTrace, *, saved_at: str, cost: CallCost) -> TraceRows:
    """`trace_rows` the checked way: every datetime formatted by the walk, each JSON column written by
    orjson or, when orjson's text would differ, the standard library; refusals name their path."""
    encoded: dict[int, dict[str, Any]] = {}
    trace_data = codec.encode(trace, compact=True, memo=encoded)
    try:
        return _rows(trace, trace_data, encoded, saved_at, cost, _checked_jsons, _same)
    except SerializationError:
        codec.dumps(trace_data, root="SessionTrace")  # the same refusal, with the path from the trace
        raise


class _NotText(Exception):
    """orjson refused a value of the text walk or may spell a float in it otherwise: rows again,
    the checked way."""


_TEXT_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
"""orjson for the text walk's data: datetimes (aware UTC, microsecond != 0) written by orjson."""


def _text_jsons(values: list[Any]) -> list[str]:
    """orjson's texts of the text walk's data, joined for one screen and one decode (orjson escapes
    control characters, so no text holds a NUL byte); _NotText when a text may not be `row_json`'s."""
    dumps_ = orjson.dumps
    try:
        joined = b"\x00".join([dumps_(value, option=_TEXT_OPTIONS) for value in values])
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a big int, nesting past 254
        raise _NotText from None
    if (b"0.0000" in joined or b"e-" in joined) and _respelled(joined):
        raise _NotText
    return joined.decode().split("\x00")


def _checked_jsons(values: list[Any]) -> list[str]:
    return [row_json(value) for value in values]


def _text_times(values: list[Any]) -> list[Any]:
    """The datetime columns' values of the text walk's data (datetimes, the walk's texts, None) as the
    checked walk writes them: the datetimes it left are aware UTC ones with a non-zero microsecond,
    which orjson writes as `format_datetime` does, all in one call; texts and None come back equal."""
    try:
        texts: list[Any] = orjson.loads(orjson.dumps(values, option=_TEXT_OPTIONS))
    except TypeError:  # orjson.JSONEncodeError: not what the walk leaves in these columns
        raise _NotText from None
    return texts


def _same(values: list[Any]) -> list[Any]:
    return values


def _rows(
    trace: SessionTrace,
    trace_data: dict[str, Any],
    encoded: dict[int, dict[str, Any]],
    saved_at: str,
    cost: CallCost,
    jsons: Callable[[list[Any]], list[str]],
    times: Callable[[list[Any]], list[Any]],
) -> TraceRows:
    """The rows from the walk's output. `jsons` writes the JSON columns and `times` gives the texts of
    the datetime columns, each for all of a session's values in one call (in the order of the lists
    below, which the slices take back)."""
    sid = trace.session_id
    steps = trace.session_time_steps
    events = _placement(trace.event_history, [s.events for s in steps], _event_key)
    messages = _placement(
        trace.markov_blanket_message_history, [s.markov_blanket_messages for s in steps], _message_key
    )
    step_data = [encoded[id(step)] for step in steps]
    event_data = [encoded[id(placed[0])] for placed in events]
    message_data = [encoded[id(placed[0])] for placed in messages]
    call_data = [
        encoded[id(record)]
        for placed in events
        if isinstance(placed[0], LMCAISEvent)
        for record in placed[0].call_records
    ]
    metadata = trace_data.get("metadata", {})
    nsteps, nevents, nmessages, ncalls = len(step_data), len(event_data), len(message_data), len(call_data)
    texts = times(
        [
            trace_data["created_at"],
            *[data["timestamp"] for data in step_data],
            *[data.get("completed_at") for data in step_data],
            *[data["time_record"]["event_time"] for data in event_data],
            *[data["time_record"]["event_time"] for data in message_data],
            *[data.get("started_at") for data in call_data],
            *[data.get("completed_at") for data in call_data],
        ]
    )
    at = 1
    step_times = texts[at : at + nsteps]
    step_done = texts[at + nsteps : at + 2 * nsteps]
    at += 2 * nsteps
    event_times = texts[at : at + nevents]
    at += nevents
    message_times = texts[at : at + nmessages]
    at += nmessages
    call_started = texts[at : at + ncalls]
    call_done = texts[at + ncalls : at + 2 * ncalls]
    written = jsons(
        [
            metadata,
            _without(trace_data, "session_time_steps", "event_history", "markov_blanket_message_history"),
            *metadata.values(),
            *[_without(data, "events", "markov_blanket_messages") for data in step_data],
            *[data if "call_records" not in data else _without(data, "call_records") for data in event_data],
            *message_data,
            *call_data,
        ]
    )
    at = 2 + len(metadata)
    metadata_jsons = written[2:at]
    step_jsons = written[at : at + nsteps]
    at += nsteps
    event_jsons = written[at : at + nevents]
    at += nevents
    message_jsons = written[at : at + nmessages]
    record_jsons = written[at + nmessages :]

    step_rows = [
        (sid, step_position, step.step_id, step.step_index, step.turn_number, stamp, done, text)
        for step_position, (step, stamp, done, text) in enumerate(
            zip(steps, step_times, step_done, step_jsons, strict=True)
        )
    ]

    event_rows: list[tuple[Any, ...]] = []
    call_rows: list[tuple[Any, ...]] = []
    record_rows: list[tuple[Any, ...]] = []
    tool_rows: list[tuple[Any, ...]] = []
    has_error = False
    in_rollup_default = 1 if not trace.event_history else None
    call_at = 0
    for event_index, ((event, in_history, position, slot), event_time, text) in enumerate(
        zip(events, event_times, event_jsons, strict=True)
    ):
        language_model = isinstance(event, LMCAISEvent)
        calls = event.call_records if language_model else None
        event_rows.append(
            (
                sid,
                event_index,
                in_history,
                position,
                slot,
                event.event_type,
                event.system_instance_id,
                event_time,
                event.model_name if language_model else None,
                event.reward if isinstance(event, EnvironmentEvent) else None,
                text,
            )
        )
        if not calls:
            continue
        in_rollup = in_history if in_rollup_default is None else in_rollup_default
        step_id = None if position is None else steps[position].step_id or None
        agent = event.system_instance_id
        for call_index, record in enumerate(calls):
            has_error = has_error or call_has_error(record)
            call_rows.append(
                _call_row(
                    sid,
                    event_index,
                    call_index,
                    in_rollup,
                    step_id,
                    agent,
                    record,
                    call_started[call_at],
                    call_done[call_at],
                    cost,
                )
            )
            record_rows.append((sid, event_index, call_index, record_jsons[call_at]))
            call_at += 1
            if record.output_tool_calls:
                model_name, provider = record.model_name, record.provider
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
                            agent,
                            model_name,
                            provider,
                            spec.arguments_json,
                        )
                    )

    message_rows = [
        (sid, index, in_history, position, slot, message.message_type, event_time, text)
        for index, ((message, in_history, position, slot), event_time, text) in enumerate(
            zip(messages, message_times, message_jsons, strict=True)
        )
    ]

    out = TraceRows(sid)
    out.tables[schema.sessions.name] = [
        (
            sid,
            texts[0],
            saved_at,
            nsteps,
            nevents,
            nmessages,
            ncalls,
            int(has_error),
            written[0],
            written[1],
            # the session's roll-up summary (tracekit/store/rollup_rows.py), from the rows built above
            rollup_rows.session_summary(
                call_rows, tool_rows, rollup_rows.warning_counts(call_rows, event_rows, message_rows)
            ),
        )
    ]
    out.tables[schema.session_metadata.name] = [
        (sid, key, text) for key, text in zip(metadata, metadata_jsons, strict=True)
    ]
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
    decode: Callable[[dict[str, Any]], SessionTrace] = SessionTrace.from_dict,
) -> SessionTrace:
    """Rebuild a SessionTrace from stored JSON.

    `step_jsons` in position order; `event_rows` as (event_index, in_history, step_position,
    step_slot, event_json) in index order; `call_rows` as (event_index, record_json) in
    (event_index, call_index) order; `message_rows` like `event_rows`. `decode` turns the
    reassembled dict into the trace (the store's reads pass the codec's trusted decoder).
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
    return decode(trace)


def _loads(text: Any, column: str) -> Any:
    """A stored JSON column as data; InvalidDataError (not a bare decode error) when it is damaged."""
    try:
        data = codec.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidDataError(
            "SessionTrace", [FieldProblem(column, f"stored JSON is not readable: {exc}", str(text)[:60])]
        ) from None
    if not isinstance(data, dict):
        raise InvalidDataError("SessionTrace", [FieldProblem(column, "stored JSON is not an object", data)])
    return data

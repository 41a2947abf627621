"""Wrong-typed and extreme values in every field of every record type (for the threshold tests).

`mutations()` draws (record class, field name, value) and `mutated_trace()` builds a SessionTrace
with that record, its field set to the value, sitting where such a record lives in a trace.
`exact()` is the equality the threshold promises: `==` with the same types all the way down.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from factories import T0, JudgeEvent
from hypothesis import strategies as st

import tracekit as tk


@dataclasses.dataclass(slots=True)
class UnregisteredEnv(tk.EnvironmentEvent):
    """A subclass with an extra field and no event_type of its own (never registered)."""

    extra: int = 7


def deep(levels: int) -> list[Any]:
    """A list nested `levels` deep: [[[...]]]."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _base(cls: type) -> Any:
    """A valid instance of `cls` with fixed times (required fields filled in)."""
    time = tk.TimeRecord(event_time=T0, message_time=1)
    required: dict[type, dict[str, Any]] = {
        tk.LLMContentPart: {"type": "text"},
        tk.ToolCallSpec: {"name": "f", "arguments_json": "{}"},
        tk.ToolDefinition: {"name": "t"},
        tk.LLMMessage: {"role": "user"},
        tk.LLMChunk: {"sequence_index": 0},
        tk.LLMCallRecord: {"call_id": "c", "api_type": "responses"},
        tk.SessionEventMarkovBlanketMessage: {
            "content": tk.SessionMessageContent(text="x"),
            "message_type": "m",
            "time_record": time,
        },
        tk.SessionTimeStep: {"step_id": "s", "timestamp": T0},
        tk.SessionTrace: {"session_id": "s", "created_at": T0},
        tk.TimeRecord: {"event_time": T0},
    }
    if issubclass(cls, tk.BaseEvent):
        return cls(system_instance_id="sys", time_record=time)
    return cls(**required.get(cls, {}))


RECORD_TYPES: tuple[type, ...] = (
    tk.SessionTrace,
    tk.SessionTimeStep,
    tk.BaseEvent,
    tk.RuntimeEvent,
    tk.EnvironmentEvent,
    tk.LMCAISEvent,
    JudgeEvent,
    tk.SessionEventMarkovBlanketMessage,
    tk.SessionMessageContent,
    tk.TimeRecord,
    tk.LLMCallRecord,
    tk.LLMUsage,
    tk.LLMRequestParams,
    tk.LLMTiming,
    tk.LLMMessage,
    tk.LLMContentPart,
    tk.ToolCallSpec,
    tk.ToolCallResult,
    tk.ToolDefinition,
    tk.LLMChunk,
    UnregisteredEnv,
)

FIELDS: list[tuple[type, str]] = [(cls, f.name) for cls in RECORD_TYPES for f in dataclasses.fields(cls)]
"""Every (record type, field) pair: the property tests draw from all of them."""

_PLUS5 = timezone(timedelta(hours=5))
_MINUS5 = timezone(timedelta(hours=-5))

EXTREMES: list[Any] = [
    2**70,
    -(2**70),
    2**63,
    2**63 - 1,
    -(2**63),
    -(2**63) - 1,
    2**53 + 1,
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    0.0,
    1.5,
    5e-324,
    1.7976931348623157e308,
    True,
    False,
    None,
    0,
    -1,
    "",
    "0.5",
    "3",
    "\x00",
    "a\x00b",
    "'; DROP TABLE sessions; --",
    'x" OR "1"="1',
    "\ud83d",
    "a\ude00b",
    "\ud83d\ude00",
    "\ude00\ud83d",
    "é🧪中文",
    "user",
    "success",
    "chat_completions",
    [],
    {},
    [None],
    [1, None],
    {"k": None},
    {"k": [1.5, "x", {"n": None}]},
    {1: "x"},
    (1, 2),
    {1, 2},
    b"bytes",
    date(2026, 1, 1),
    datetime(2026, 1, 1),  # noqa: DTZ001 - the naive value under test
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 1, 1, 12, tzinfo=_PLUS5),
    datetime(1, 1, 1, tzinfo=_PLUS5),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, tzinfo=_MINUS5),
    1_780_000_000.25,
    deep(99),
    deep(101),
    {"d": deep(150)},
]

_records = st.sampled_from(RECORD_TYPES).map(_base)
_unregistered = st.builds(lambda: UnregisteredEnv(system_instance_id="u", time_record=tk.TimeRecord(T0)))
_scalars = (
    st.sampled_from(EXTREMES)
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.datetimes(timezones=st.none() | st.just(UTC) | st.just(_PLUS5))
)
_atoms = _scalars | _records | _unregistered
HOSTILE = _atoms | st.lists(_atoms, max_size=3) | st.dictionaries(st.text(max_size=4), _atoms, max_size=3)
"""A wrong-typed or extreme value, alone or inside a list or dict."""


def mutations() -> st.SearchStrategy[tuple[type, str, Any]]:
    """(record class, field name, hostile value) over every field of every record type."""
    return st.tuples(st.sampled_from(FIELDS), HOSTILE).map(lambda t: (t[0][0], t[0][1], t[1]))


def mutated(cls: type, name: str, value: Any) -> Any:
    """A valid `cls` with field `name` set to `value` through the constructor (as users build them)."""
    return dataclasses.replace(_base(cls), **{name: value})


def in_trace(obj: Any, session_id: str) -> tk.SessionTrace:
    """A trace holding `obj` where such a record lives (a timestep, the histories, a call record...)."""
    if isinstance(obj, tk.SessionTrace):
        return obj
    trace = tk.SessionTrace(session_id=session_id, created_at=T0)
    record = tk.LLMCallRecord(call_id="host", api_type="responses")
    message = tk.LLMMessage(role="user")
    placed: dict[type, tuple[Any, str]] = {
        tk.LLMUsage: (record, "usage"),
        tk.LLMTiming: (record, "timing"),
        tk.LLMRequestParams: (record, "request_params"),
    }
    lists: dict[type, tuple[Any, str]] = {
        tk.LLMMessage: (record, "input_messages"),
        tk.ToolCallSpec: (record, "output_tool_calls"),
        tk.ToolCallResult: (record, "tool_results"),
        tk.ToolDefinition: (record, "tools"),
        tk.LLMChunk: (record, "chunks"),
        tk.LLMContentPart: (message, "parts"),
    }
    event = tk.LMCAISEvent(system_instance_id="agent", time_record=tk.TimeRecord(T0), call_records=[record])
    kind = type(obj)
    if kind in placed:
        holder, field_name = placed[kind]
        setattr(holder, field_name, obj)
    elif kind is tk.LLMCallRecord:
        event.call_records = [obj]
    elif kind in lists:
        holder, field_name = lists[kind]
        setattr(holder, field_name, [obj])
        if holder is message:
            record.input_messages = [message]
    elif kind is tk.SessionTimeStep:
        trace.session_time_steps = [obj]
        return trace
    elif isinstance(obj, tk.BaseEvent):
        trace.event_history = [obj]
        return trace
    elif kind is tk.SessionEventMarkovBlanketMessage:
        trace.markov_blanket_message_history = [obj]
        return trace
    elif kind is tk.SessionMessageContent:
        trace.markov_blanket_message_history = [
            tk.SessionEventMarkovBlanketMessage(content=obj, message_type="m", time_record=tk.TimeRecord(T0))
        ]
        return trace
    elif kind is tk.TimeRecord:
        event.time_record = obj
    trace.event_history = [event]
    trace.session_time_steps = [tk.SessionTimeStep(step_id="s", timestamp=T0, events=[event])]
    return trace


def exact(a: Any, b: Any) -> bool:
    """`a == b` with the same type at every level, floats compared by repr (so -0.0 stays -0.0);
    the one allowed difference is an int given for a float field coming back as the equal float."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            exact(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if type(a) is int and type(b) is float:
        return float(a) == b
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return repr(a) == repr(b)
    if type(a) is list:
        return len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return list(a) == list(b) and all(exact(a[k], b[k]) for k in a)
    return bool(a == b)


def exact_but_now(a: Any, b: Any, since: datetime) -> bool:
    """`exact`, except that two times both taken since `since` (a missing time's default: now) match."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            exact_but_now(getattr(a, f.name), getattr(b, f.name), since) for f in dataclasses.fields(a)
        )
    if type(a) is datetime and type(b) is datetime and a >= since and b >= since:
        return True
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(exact_but_now(x, y, since) for x, y in zip(a, b, strict=True))
    return exact(a, b)


# ---------------------------------------------------------------------------------------------
# The issue's concrete cases


def trace_with(**fields: Any) -> tk.SessionTrace:
    """A trace with fixed id and time, and `fields` set."""
    return tk.SessionTrace(
        session_id=fields.pop("session_id", "s"), created_at=fields.pop("created_at", T0), **fields
    )


def _call(**fields: Any) -> tk.SessionTrace:
    record = tk.LLMCallRecord(call_id="c", api_type="responses", **fields)
    event = tk.LMCAISEvent(system_instance_id="a", time_record=tk.TimeRecord(T0), call_records=[record])
    return trace_with(event_history=[event])


def _step(**fields: Any) -> tk.SessionTrace:
    return trace_with(session_time_steps=[tk.SessionTimeStep(step_id="s", timestamp=T0, **fields)])


def unregistered_trace() -> tk.SessionTrace:
    return trace_with(event_history=[UnregisteredEnv(system_instance_id="u", time_record=tk.TimeRecord(T0))])


#: (label, trace builder, expected path, expected value, a piece of the message)
ISSUE_CASES: list[tuple[str, Any, str, Any, str]] = [
    ("session_id=123", lambda: trace_with(session_id=123), "session_id", 123, "expected str"),
    (
        "turn_number=1.5",
        lambda: _step(turn_number=1.5),
        "session_time_steps.0.turn_number",
        1.5,
        "expected int",
    ),
    (
        "turn_number=True",
        lambda: _step(turn_number=True),
        "session_time_steps.0.turn_number",
        True,
        "expected int",
    ),
    ("step_index='3'", lambda: _step(step_index="3"), "session_time_steps.0.step_index", "3", "numeric str"),
    (
        "None in event_history",
        lambda: trace_with(event_history=[None]),
        "event_history.0",
        None,
        "expected an event",
    ),
    (
        "unknown role",
        lambda: _call(input_messages=[tk.LLMMessage(role="bot")]),  # type: ignore[arg-type]
        "event_history.0.call_records.0.input_messages.0.role",
        "bot",
        "use one of 'system'",
    ),
    ("unregistered event class", unregistered_trace, "event_history.0", None, "register_event_type"),
    ("created_at float", lambda: trace_with(created_at=1.5), "created_at", 1.5, "aware datetime"),
    (
        "created_at str",
        lambda: trace_with(created_at="2026-01-01"),
        "created_at",
        "2026-01-01",
        "aware datetime",
    ),
    (
        "created_at date",
        lambda: trace_with(created_at=date(2026, 1, 1)),
        "created_at",
        date(2026, 1, 1),
        "datetime",
    ),
    (
        "naive created_at",
        lambda: trace_with(created_at=datetime(2026, 1, 1)),  # noqa: DTZ001 - the naive value under test
        "created_at",
        datetime(2026, 1, 1),  # noqa: DTZ001
        "naive datetime",
    ),
    (
        "created_at at the lower range edge",
        lambda: trace_with(created_at=datetime(1, 1, 1, tzinfo=_PLUS5)),
        "created_at",
        datetime(1, 1, 1, tzinfo=_PLUS5),
        "outside years 1-9999",
    ),
    (
        "created_at at the upper range edge",
        lambda: trace_with(created_at=datetime(9999, 12, 31, 23, tzinfo=_MINUS5)),
        "created_at",
        datetime(9999, 12, 31, 23, tzinfo=_MINUS5),
        "outside years 1-9999",
    ),
    (
        "latency_ms=2**70",
        lambda: _call(latency_ms=2**70),
        "event_history.0.call_records.0.latency_ms",
        2**70,
        "64 bits",
    ),
    (
        "chunk_count=2**63",
        lambda: _call(timing=tk.LLMTiming(chunk_count=2**63)),
        "event_history.0.call_records.0.timing.chunk_count",
        2**63,
        "64 bits",
    ),
    (
        "cost_usd=True",
        lambda: _call(usage=tk.LLMUsage(cost_usd=True)),
        "event_history.0.call_records.0.usage.cost_usd",
        True,
        "expected float, got bool",
    ),
    (
        "cost_usd='0.5'",
        lambda: _call(usage=tk.LLMUsage(cost_usd="0.5")),  # type: ignore[arg-type]
        "event_history.0.call_records.0.usage.cost_usd",
        "0.5",
        "expected float, got str",
    ),
    (
        "cost_usd=NaN",
        lambda: _call(usage=tk.LLMUsage(cost_usd=math.nan)),
        "event_history.0.call_records.0.usage.cost_usd",
        None,
        "non-finite float",
    ),
    (
        "request_params=LLMTiming()",
        lambda: _call(request_params=tk.LLMTiming()),  # type: ignore[arg-type]
        "event_history.0.call_records.0.request_params",
        tk.LLMTiming(),
        "expected LLMRequestParams",
    ),
    (
        "None inside a list field",
        lambda: _call(request_params=tk.LLMRequestParams(stop=["x", None])),  # type: ignore[list-item]
        "event_history.0.call_records.0.request_params.stop.1",
        None,
        "expected str",
    ),
    (
        "tuple for a list",
        lambda: trace_with(event_history=[tk.RuntimeEvent(system_instance_id="r", actions=(1, 2))]),  # type: ignore[arg-type]
        "event_history.0.actions",
        (1, 2),
        "expected list",
    ),
    (
        "lone surrogate in session_id",
        lambda: trace_with(session_id="a\ud83d"),
        "session_id",
        "a\ud83d",
        "lone UTF-16",
    ),
    (
        "lone surrogate in a metadata key",
        lambda: trace_with(metadata={"k\ud83d": 1}),
        "metadata.'k\\ud83d'",
        "k\ud83d",
        "lone UTF-16",
    ),
    (
        "surrogate pair held as two code points",
        lambda: trace_with(metadata={"k": "\ud83d\ude00"}),
        "metadata.k",
        "\ud83d\ude00",
        "surrogate pair",
    ),
    (
        "nesting deeper than MAX_DEPTH",
        lambda: trace_with(metadata={"d": deep(100)}),
        None,
        None,
        "deeper than 100",
    ),
    ("set in metadata", lambda: trace_with(metadata={"v": {1}}), "metadata.v", {1}, "cannot round-trip"),
    ("int dict key", lambda: trace_with(metadata={"v": {1: "x"}}), "metadata.v", 1, "not a string"),
]

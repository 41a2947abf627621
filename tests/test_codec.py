"""Round trips of every model type through dict and JSON, and what the codec refuses."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from factories import T0, JudgeEvent, build_call_record
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec


def test_full_trace_json_round_trip_is_exact(full_trace: tk.SessionTrace) -> None:
    """A trace with every event kind, messages, call records, chunks and unicode survives JSON unchanged."""
    text = full_trace.to_json()
    back = tk.SessionTrace.from_json(text)
    assert back == full_trace
    assert back.to_json() == text


def test_full_trace_dict_round_trip_is_exact(full_trace: tk.SessionTrace) -> None:
    """from_dict(to_dict(x)) == x, and the dict is plain JSON data."""
    data = full_trace.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert tk.SessionTrace.from_dict(data) == full_trace


def test_events_keep_their_class_through_the_round_trip(full_trace: tk.SessionTrace) -> None:
    """Each event comes back as its own class, the custom registered one included."""
    back = tk.SessionTrace.from_json(full_trace.to_json())
    assert [type(e) for e in back.event_history] == [
        tk.LMCAISEvent,
        tk.RuntimeEvent,
        tk.EnvironmentEvent,
        JudgeEvent,
    ]
    assert [type(e) for e in back.session_time_steps[1].events] == [tk.EnvironmentEvent, JudgeEvent]
    judge = back.event_history[3]
    assert isinstance(judge, JudgeEvent)
    assert (judge.verdict, judge.score) == ("pass", 0.9)


def test_event_dicts_carry_a_stable_event_type(full_trace: tk.SessionTrace) -> None:
    """The serialised events name their type with the stable strings storage relies on."""
    data = full_trace.to_dict()
    assert [e["event_type"] for e in data["event_history"]] == [
        "cais",
        "runtime",
        "environment",
        "test_judge",
    ]


def test_every_type_round_trips_on_its_own(full_trace: tk.SessionTrace) -> None:
    """Each nested type also round-trips when serialised alone."""
    record = full_trace.event_history[0].call_records[0]  # type: ignore[attr-defined]
    samples: list[tk.model._Record] = [
        record,
        record.usage,
        record.timing,
        record.request_params,
        record.input_messages[1],
        record.input_messages[1].parts[1],
        record.output_tool_calls[0],
        record.tool_results[0],
        record.tools[0],
        record.chunks[0],
        full_trace.session_time_steps[0],
        full_trace.markov_blanket_message_history[1],
        full_trace.markov_blanket_message_history[1].content,
        full_trace.event_history[0].time_record,
        *full_trace.event_history,
    ]
    for obj in samples:
        assert type(obj).from_json(obj.to_json()) == obj, type(obj).__name__
        assert type(obj).from_dict(obj.to_dict()) == obj, type(obj).__name__


def test_base_event_from_dict_dispatches_on_event_type() -> None:
    """BaseEvent.from_dict builds the registered subclass its event_type names."""
    env = tk.EnvironmentEvent(system_instance_id="e", time_record=tk.TimeRecord(T0), reward=-1.0)
    back = tk.BaseEvent.from_dict(env.to_dict())
    assert type(back) is tk.EnvironmentEvent
    assert back == env


def test_datetimes_are_written_as_fixed_width_utc_text() -> None:
    """Datetimes serialise as ISO-8601 UTC with microseconds, so stored text sorts in time order."""
    record = tk.TimeRecord(event_time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert record.to_dict() == {"event_time": "2026-01-02T03:04:05.000000+00:00", "message_time": None}
    assert codec.format_datetime(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
        "2026-01-02T03:04:05.000006+00:00"
    )


def test_aware_non_utc_datetimes_are_converted_to_utc() -> None:
    """An aware datetime in another zone is stored as the same instant in UTC."""
    plus2 = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    data = tk.TimeRecord(event_time=plus2).to_dict()
    assert data["event_time"] == "2026-01-01T10:00:00.000000+00:00"
    back = tk.TimeRecord.from_dict({"event_time": "2026-01-01T12:00:00+02:00"})
    assert back.event_time == plus2
    assert back.event_time.tzinfo is UTC


def test_naive_datetime_is_rejected_on_write() -> None:
    """Writing a naive datetime raises SerializationError naming the field instead of guessing a zone."""
    record = tk.TimeRecord(event_time=datetime(2026, 1, 1))  # noqa: DTZ001 - the naive value under test
    with pytest.raises(tk.SerializationError, match=r"TimeRecord\.event_time: naive datetime"):
        record.to_json()


def test_naive_datetime_is_rejected_on_read() -> None:
    """Reading a datetime string without a zone raises InvalidDataError naming the field."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.TimeRecord.from_dict({"event_time": "2026-01-01T00:00:00"})
    [problem] = info.value.problems
    assert problem.path == "event_time"
    assert "naive datetime" in problem.message
    assert problem.value == "2026-01-01T00:00:00"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_rejected_on_write(bad: float) -> None:
    """NaN and infinities cannot be stored: to_json raises SerializationError with the field path."""
    usage = tk.LLMUsage(cost_usd=bad)
    with pytest.raises(tk.SerializationError, match=r"LLMUsage\.cost_usd: non-finite float"):
        usage.to_json()


def test_non_finite_floats_in_metadata_are_rejected_on_write() -> None:
    """A NaN deep inside free-form metadata is refused with its full path."""
    trace = tk.SessionTrace(session_id="s", created_at=T0, metadata={"scores": [1.0, math.nan]})
    with pytest.raises(tk.SerializationError, match=r"SessionTrace\.metadata\.scores\.1: non-finite"):
        trace.to_dict()


@pytest.mark.parametrize("text", ['{"cost_usd": NaN}', '{"cost_usd": Infinity}', '{"cost_usd": 1e999}'])
def test_non_finite_numbers_are_rejected_on_read(text: str) -> None:
    """JSON with NaN, Infinity or an overflowing number is refused, not read as a float."""
    with pytest.raises(tk.InvalidDataError, match="not valid JSON"):
        tk.LLMUsage.from_json(text)


def test_non_finite_float_in_metadata_dict_is_rejected_on_read() -> None:
    """from_dict refuses NaN anywhere, free-form metadata included, naming the path."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.LLMUsage.from_dict({"raw": {"x": [0.5, math.inf]}})
    assert info.value.problems[0].path == "raw.x.1"


@pytest.mark.parametrize(
    ("value", "kind"),
    [((1, 2), "tuple"), ({1, 2}, "set"), (datetime(2026, 1, 1, tzinfo=UTC), "datetime"), (b"x", "bytes")],
)
def test_values_json_cannot_hold_exactly_are_refused_in_metadata(value: object, kind: str) -> None:
    """Free-form metadata takes only JSON types, so what is stored is what comes back."""
    record = tk.ToolCallResult(metadata={"v": value})
    with pytest.raises(tk.SerializationError, match=rf"ToolCallResult\.metadata\.v: {kind} value"):
        record.to_dict()


def test_non_string_metadata_keys_are_refused() -> None:
    """A dict key that is not a string would come back as a string, so it is refused."""
    with pytest.raises(tk.SerializationError, match=r"metadata: dict key 1 is not a string"):
        tk.ToolCallResult(metadata={1: "x"}).to_dict()


def test_malformed_dict_names_every_bad_field_path_and_value() -> None:
    """from_dict reports each problem with its dotted path and the offending value."""
    bad = {
        "session_id": 3,
        "created_at": "yesterday",
        "session_time_steps": [
            {"events": [{"event_type": "environment", "system_instance_id": "x", "reward": "high"}]}
        ],
    }
    with pytest.raises(tk.InvalidDataError) as info:
        tk.SessionTrace.from_dict(bad)
    problems = {p.path: p for p in info.value.problems}
    assert set(problems) == {
        "session_id",
        "created_at",
        "session_time_steps.0.events.0.environment.reward",
    }
    assert problems["session_id"].value == 3
    assert problems["created_at"].value == "yesterday"
    assert problems["session_time_steps.0.events.0.environment.reward"].value == "high"
    message = str(info.value)
    assert "invalid SessionTrace: 3 problem(s)" in message
    assert "session_time_steps.0.events.0.environment.reward" in message
    assert "'high'" in message


def test_invalid_data_error_is_a_tracekit_error_and_a_value_error() -> None:
    """Callers can catch the root TracekitError or the builtin ValueError."""
    with pytest.raises(tk.TracekitError):
        tk.LLMUsage.from_dict({"input_tokens": "many"})
    with pytest.raises(ValueError, match="input_tokens"):
        tk.LLMUsage.from_dict({"input_tokens": "many"})


def test_unknown_event_type_is_reported_not_dropped() -> None:
    """An event dict naming an unregistered type fails loudly with the registered names."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.SessionTimeStep.from_dict({"events": [{"event_type": "nope", "system_instance_id": "x"}]})
    [problem] = info.value.problems
    assert problem.path == "events.0"
    assert "unknown event_type" in problem.message
    assert "test_judge" in problem.message


def test_event_type_must_match_the_requested_class() -> None:
    """EnvironmentEvent.from_dict of a runtime event dict is an error, not a silent conversion."""
    data = tk.RuntimeEvent(system_instance_id="r", time_record=tk.TimeRecord(T0)).to_dict()
    with pytest.raises(tk.InvalidDataError, match="names RuntimeEvent, not a EnvironmentEvent"):
        tk.EnvironmentEvent.from_dict(data)


def test_invalid_literal_values_are_rejected() -> None:
    """Closed vocabularies (outcome, api_type, role) only take their listed values."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.LLMCallRecord.from_dict({"call_id": "c", "api_type": "chat", "outcome": "ok"})
    assert {p.path for p in info.value.problems} == {"api_type", "outcome"}


def test_not_json_text_is_a_clear_error() -> None:
    """from_json of broken text raises InvalidDataError, not a bare JSONDecodeError."""
    with pytest.raises(tk.InvalidDataError, match="not valid JSON"):
        tk.SessionTrace.from_json("{not json")


def test_from_dict_requires_a_mapping() -> None:
    """A list where an object is expected is reported at the root."""
    with pytest.raises(tk.InvalidDataError, match="expected a JSON object"):
        tk.SessionTrace.from_dict([1, 2])  # type: ignore[arg-type]


def test_call_record_snapshot(snapshot: object) -> None:
    """The JSON shape of a fully populated call record is pinned (field names are a public contract)."""
    assert build_call_record().to_dict() == snapshot


def test_full_trace_snapshot(full_trace: tk.SessionTrace, snapshot: object) -> None:
    """The JSON of a fully populated trace is pinned, key order included."""
    assert full_trace.to_json() == snapshot


# ---------------------------------------------------------------------------------------------
# Property tests

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_json = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_aware = st.datetimes(
    min_value=datetime(1970, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive by API
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
_opt_int = st.none() | st.integers(min_value=0, max_value=10**12)
_opt_float = st.none() | st.floats(min_value=0, max_value=1e9, allow_nan=False)

_usage = st.builds(
    tk.LLMUsage,
    input_tokens=_opt_int,
    output_tokens=_opt_int,
    total_tokens=_opt_int,
    reasoning_tokens=_opt_int,
    cache_read_tokens=_opt_int,
    cache_write_tokens=_opt_int,
    cost_usd=_opt_float,
    raw=st.none() | st.dictionaries(st.text(max_size=8), _json, max_size=3),
)
_tool_call = st.builds(
    tk.ToolCallSpec,
    name=st.text(min_size=1, max_size=10),
    arguments_json=st.text(max_size=20),
    arguments=_json,
    call_id=st.none() | st.text(max_size=10),
    index=st.none() | st.integers(min_value=0, max_value=8),
)
_part = st.builds(
    tk.LLMContentPart, type=st.sampled_from(["text", "thinking", "image"]), text=st.none() | st.text()
)
_message = st.builds(
    tk.LLMMessage,
    role=st.sampled_from(["system", "user", "assistant", "tool"]),
    parts=st.lists(_part, max_size=3),
    tool_calls=st.lists(_tool_call, max_size=2),
)
_record = st.builds(
    tk.LLMCallRecord,
    call_id=st.text(min_size=1, max_size=12),
    api_type=st.sampled_from(["chat_completions", "responses", "messages", "generate_content"]),
    provider=st.none() | st.sampled_from(["openai", "anthropic", "google"]),
    model_name=st.text(max_size=20),
    started_at=st.none() | _aware,
    latency_ms=_opt_float,
    input_messages=st.lists(_message, max_size=3),
    output_text=st.none() | st.text(),
    output_tool_calls=st.lists(_tool_call, max_size=3),
    usage=st.none() | _usage,
    outcome=st.none() | st.sampled_from(["success", "error", "timeout", "cancelled", "incomplete"]),
    metadata=st.dictionaries(st.text(max_size=8), _json, max_size=3),
)
_time = st.builds(tk.TimeRecord, event_time=_aware, message_time=st.none() | st.integers(0, 10**6))
_event = st.one_of(
    st.builds(
        tk.RuntimeEvent,
        system_instance_id=st.text(max_size=8),
        time_record=_time,
        actions=st.lists(st.integers(-5, 5), max_size=3),
    ),
    st.builds(
        tk.EnvironmentEvent,
        system_instance_id=st.text(max_size=8),
        time_record=_time,
        reward=st.none() | st.floats(-10, 10),
        terminated=st.booleans(),
    ),
    st.builds(
        tk.LMCAISEvent,
        system_instance_id=st.text(max_size=8),
        time_record=_time,
        call_records=st.lists(_record, max_size=2),
    ),
    st.builds(
        JudgeEvent,
        system_instance_id=st.text(max_size=8),
        time_record=_time,
        verdict=st.text(max_size=8),
        score=st.none() | st.floats(0, 1),
    ),
)


@settings(deadline=None, max_examples=150)
@given(_record)
def test_any_call_record_round_trips(record: tk.LLMCallRecord) -> None:
    """Any call record (arbitrary text, ints, floats, nested JSON metadata) survives JSON exactly."""
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


@settings(deadline=None, max_examples=100)
@given(st.lists(_event, max_size=5), _aware, st.text(min_size=1, max_size=16))
def test_any_trace_round_trips(events: list[tk.BaseEvent], created: datetime, session_id: str) -> None:
    """Any trace of mixed events survives to_dict/from_dict and to_json/from_json exactly."""
    step = tk.SessionTimeStep(step_id="s", timestamp=created, events=list(events))
    trace = tk.SessionTrace(
        session_id=session_id, created_at=created, session_time_steps=[step], event_history=list(events)
    )
    assert tk.SessionTrace.from_dict(trace.to_dict()) == trace
    assert tk.SessionTrace.from_json(trace.to_json()) == trace


def test_json_leaves_out_fields_at_their_defaults() -> None:
    """to_json writes only what differs from the defaults; from_json restores the rest exactly."""
    usage = tk.LLMUsage(input_tokens=3, output_tokens=0)
    assert usage.to_json() == '{"input_tokens":3,"output_tokens":0}'
    assert tk.LLMUsage.from_json(usage.to_json()) == usage
    call = tk.ToolCallSpec(name="f", arguments_json="{}", type="function")
    assert call.to_json() == '{"name":"f","arguments_json":"{}"}'


def test_dict_keeps_every_field() -> None:
    """to_dict lists every field, None included, so notebook code can index any key."""
    data = tk.LLMUsage(input_tokens=3).to_dict()
    assert data["input_tokens"] == 3
    assert data["output_tokens"] is None
    assert set(data) == set(tk.LLMUsage.__dataclass_fields__)


def test_lone_surrogate_from_a_split_emoji_still_encodes_to_utf8() -> None:
    """Half an emoji (a lone UTF-16 surrogate, as split stream chunks carry) gives JSON that
    encodes to UTF-8 for storage and reads back to the very same string."""
    half = json.loads('"\\ud83d"')
    chunk = tk.LLMChunk(sequence_index=0, delta_text=half, raw={"delta": {"content": half + "é"}})
    text = chunk.to_json()
    text.encode("utf-8")
    assert tk.LLMChunk.from_json(text) == chunk
    assert '"delta_text":"\\ud83d"' in text
    assert '"content":"\\ud83dé"' in text  # only the surrogate is escaped

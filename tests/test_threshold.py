"""The threshold rule at the codec: what to_json/to_dict accept reads back exactly; the rest is
refused with a SerializationError naming the field path, the value and the fix."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hostile import (
    ISSUE_CASES,
    UnregisteredEnv,
    deep,
    exact,
    in_trace,
    mutated,
    mutations,
    trace_with,
    unregistered_trace,
)
from hypothesis import given, settings

import tracekit as tk
from tracekit import codec

# ---------------------------------------------------------------------------------------------
# Property: every field of every record type, wrong-typed and extreme values


def _json_verdict(obj: Any) -> str | None:
    """The JSON text of `obj`, or None when to_json refuses it (checking what the refusal says)."""
    refusal: tk.SerializationError | None = None
    try:
        text = codec.to_json(obj)
    except tk.SerializationError as exc:
        refusal = exc
    if refusal is not None:
        assert refusal.path is not None
        assert str(refusal).startswith(type(obj).__name__)
        assert "; " in str(refusal)  # problem; fix
        return None
    text.encode("utf-8")  # always storable text
    return text


@settings(derandomize=True, max_examples=1500, deadline=None)
@given(mutations())
def test_any_value_in_any_field_is_refused_or_read_back_exactly(case: tuple[type, str, Any]) -> None:
    """A record with any value in any field either reads back exactly through to_json/from_json
    and to_dict/from_dict, or is refused with a SerializationError that names the path; the same
    record inside a trace gets the same verdict."""
    cls, name, value = case
    obj = mutated(cls, name, value)
    text = _json_verdict(obj)
    if text is not None:
        assert exact(obj, type(obj).from_json(text))
    try:
        data = codec.to_dict(obj)
    except tk.SerializationError:
        data = None
    if data is not None:
        assert exact(obj, type(obj).from_dict(data))
    else:
        assert text is None
    trace = in_trace(obj, "s")
    trace_text = _json_verdict(trace)
    assert (trace_text is None) == (text is None)
    if trace_text is not None:
        assert exact(trace, tk.SessionTrace.from_json(trace_text))


# ---------------------------------------------------------------------------------------------
# The issue's concrete cases


@pytest.mark.parametrize(
    ("build", "path", "value", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in ISSUE_CASES],
)
def test_issue_cases_are_refused_with_path_value_and_fix(
    build: Any, path: str | None, value: Any, message: str
) -> None:
    """Each value the issue found saved-but-unreadable is refused by to_json, naming where it is."""
    trace = build()
    with pytest.raises(tk.SerializationError) as info:
        trace.to_json()
    exc = info.value
    if path is not None:
        assert exc.path == path
        assert str(exc).startswith(f"SessionTrace.{path}: ")
    else:
        assert exc.path is not None
        assert exc.path.startswith("metadata.d.0.0")
    if value is not None:
        assert exc.value == value
        assert type(exc.value) is type(value)
    assert message in str(exc)
    if message != "surrogate pair":  # a Python dict holds the two code points exactly; JSON text cannot
        with pytest.raises(tk.SerializationError):
            trace.to_dict()


def test_unregistered_event_message_says_how_to_register() -> None:
    """An event subclass without its own event_type is refused, and the message says what to do."""
    with pytest.raises(tk.SerializationError) as info:
        unregistered_trace().to_json()
    assert str(info.value) == (
        "SessionTrace.event_history.0: UnregisteredEnv is not the class registered for event_type "
        "'environment' (EnvironmentEvent): it would read back as EnvironmentEvent without its own fields; "
        "give UnregisteredEnv its own `event_type: ClassVar[str] = '...'` and decorate it with "
        "@tracekit.register_event_type"
    )
    with pytest.raises(tk.SerializationError, match="register_event_type"):
        UnregisteredEnv(system_instance_id="u").to_json()


def test_nesting_limit_is_exactly_max_depth() -> None:
    """Free-form values may nest MAX_DEPTH lists/dicts (the metadata dict counts); one more is refused."""
    assert codec.MAX_DEPTH == 100
    ok = trace_with(metadata={"d": deep(99)})
    assert tk.SessionTrace.from_json(ok.to_json()) == ok
    with pytest.raises(tk.SerializationError, match="nested deeper than 100 levels"):
        trace_with(metadata={"d": deep(100)}).to_json()
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(tk.SerializationError, match="nested deeper than 100 levels"):
        trace_with(metadata={"c": cycle}).to_json()


def test_large_ints_in_free_form_values_round_trip() -> None:
    """Free-form JSON keeps any int exactly (only typed int fields, stored in integer columns, are 64-bit)."""
    trace = trace_with(metadata={"big": 2**70, "neg": -(2**80)})
    assert exact(trace, tk.SessionTrace.from_json(trace.to_json()))


def test_ints_in_float_fields_read_back_as_the_equal_float() -> None:
    """An int given for a float field is accepted when a float holds it exactly, and reads back equal."""
    usage = tk.LLMUsage(cost_usd=3)
    back = tk.LLMUsage.from_json(usage.to_json())
    assert back == usage
    assert back.cost_usd == 3.0
    assert type(back.cost_usd) is float
    with pytest.raises(tk.SerializationError, match="int 9007199254740993 has no exact float value"):
        tk.LLMUsage(cost_usd=2**53 + 1).to_json()


def test_negative_zero_keeps_its_sign() -> None:
    """-0.0 is written as -0.0 and reads back with its sign."""
    usage = tk.LLMUsage(cost_usd=-0.0, raw={"z": -0.0})
    back = tk.LLMUsage.from_json(usage.to_json())
    assert back.cost_usd is not None
    assert math.copysign(1.0, back.cost_usd) == -1.0
    assert math.copysign(1.0, back.raw["z"]) == -1.0  # type: ignore[index]


def test_lone_surrogates_in_free_text_round_trip_and_keep_the_text_utf8() -> None:
    """A lone surrogate in free text (half an emoji from a split stream chunk) reads back exactly."""
    trace = trace_with(metadata={"half": "\ud83d", "other": "x\ude00y"})
    text = trace.to_json()
    text.encode("utf-8")
    assert exact(trace, tk.SessionTrace.from_json(text))


def test_read_side_refuses_lone_surrogates_in_ids() -> None:
    """from_json refuses what to_json refuses: a lone surrogate in a KeyText field."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.SessionTrace.from_json('{"session_id":"a\\ud83d"}')
    assert info.value.problems[0].path == "session_id"


# ---------------------------------------------------------------------------------------------
# synth-ai forms converted on construction


def test_str_content_becomes_text_content() -> None:
    """synth-ai's documented signature (content a str) builds a message whose content is text."""
    message = tk.SessionEventMarkovBlanketMessage(content="observe", message_type="observation")  # type: ignore[arg-type]
    assert message.content == tk.SessionMessageContent(text="observe")
    assert exact(message, tk.SessionEventMarkovBlanketMessage.from_json(message.to_json()))


@pytest.mark.parametrize(
    ("content", "payload"),
    [({"a": [1, "é"]}, '{"a":[1,"é"]}'), ([1, {"b": None}], '[1,{"b":null}]'), ({}, "{}")],
)
def test_dict_and_list_content_become_a_json_payload(content: Any, payload: str) -> None:
    """Dict or list content becomes SessionMessageContent(json_payload=<compact JSON>)."""
    message = tk.SessionEventMarkovBlanketMessage(content=content, message_type="m")
    assert message.content == tk.SessionMessageContent(json_payload=payload)
    assert json.loads(message.content.json_payload or "") == content


def test_content_json_cannot_hold_is_refused_at_write() -> None:
    """Dict content JSON cannot hold stays as given and is refused at to_json with the path."""
    message = tk.SessionEventMarkovBlanketMessage(content={"x": math.nan}, message_type="m")  # type: ignore[arg-type]
    with pytest.raises(tk.SerializationError) as info:
        message.to_json()
    assert info.value.path == "content"


@pytest.mark.parametrize("seconds", [1_780_000_000.123456, 1_780_000_000, 0, -1.5])
def test_epoch_seconds_event_time_becomes_aware_utc(seconds: float) -> None:
    """TimeRecord(event_time=<epoch seconds>) holds the aware UTC datetime, which round-trips exactly."""
    record = tk.TimeRecord(event_time=seconds)  # type: ignore[arg-type]
    assert record.event_time == datetime.fromtimestamp(seconds, UTC)
    assert record.event_time.tzinfo is UTC
    assert exact(record, tk.TimeRecord.from_json(record.to_json()))


def test_time_time_is_accepted_as_synth_ai_passes_it() -> None:
    """time.time() for event_time works end to end, as in synth-ai code."""
    before = datetime.now(UTC)
    record = tk.TimeRecord(event_time=time.time())  # type: ignore[arg-type]
    assert before - timedelta(seconds=1) <= record.event_time <= datetime.now(UTC)
    assert tk.TimeRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize("bad", [True, math.inf, math.nan, 1e20, "1780000000"])
def test_other_event_time_values_are_not_converted_and_are_refused(bad: Any) -> None:
    """Bools, non-finite or out-of-range seconds and strings stay as given; to_json refuses them."""
    record = tk.TimeRecord(event_time=bad)
    assert record.event_time is bad
    with pytest.raises(tk.SerializationError) as info:
        record.to_json()
    assert info.value.path == "event_time"


# ---------------------------------------------------------------------------------------------
# The read side: only InvalidDataError leaves it


@pytest.mark.parametrize(
    "text",
    [
        '{"event_time":"0001-01-01T00:00:00+05:00"}',
        '{"event_time":"9999-12-31T23:00:00-05:00"}',
        '{"event_time":"0000-01-01T00:00:00Z"}',
        '{"event_time":"2026-01-01T00:00:00"}',
    ],
)
def test_datetimes_at_the_range_edges_are_refused_on_read(text: str) -> None:
    """An ISO time that has no UTC datetime (or no zone) is an InvalidDataError at event_time."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.TimeRecord.from_json(text)
    assert [p.path for p in info.value.problems] == ["event_time"]


@pytest.mark.parametrize(
    "text", [None, 12, b"\xff\xfe", "[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000]
)
def test_unreadable_input_is_an_invalid_data_error(text: Any) -> None:
    """Not text, not UTF-8, or nested past the parser's limit: InvalidDataError, never a bare error."""
    with pytest.raises(tk.InvalidDataError):
        tk.SessionTrace.from_json(text)


def test_from_dict_walks_any_depth_without_recursion_error() -> None:
    """from_dict checks NaN at any depth without RecursionError (an explicit stack, not recursion)."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.SessionTrace.from_dict({"metadata": {"d": [deep(5000), math.nan]}})
    assert info.value.problems[0].path == "metadata.d.1"


# ---------------------------------------------------------------------------------------------
# model.py does not import the codec


def test_model_does_not_import_the_codec() -> None:
    """model.py has no import of tracekit.codec (the codec sits on the model and installs itself)."""
    source = Path(tk.model.__file__).read_text(encoding="utf-8")
    imported: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.extend(f"{node.module}.{alias.name}" for alias in node.names)
    assert [name for name in imported if "codec" in name or "encoder" in name] == []
    assert tk.model._the_codec().to_json is codec.to_json


def test_record_methods_still_work() -> None:
    """rec.to_json() / Type.from_json() and the codec functions give the same results."""
    record = tk.LLMUsage(input_tokens=3)
    assert record.to_json() == codec.to_json(record) == '{"input_tokens":3}'
    assert (
        tk.LLMUsage.from_json('{"input_tokens":3}')
        == codec.from_json(tk.LLMUsage, '{"input_tokens":3}')
        == record
    )
    assert record.to_dict() == codec.to_dict(record)
    assert tk.LLMUsage.from_dict(record.to_dict()) == record


def test_unsupported_field_types_in_custom_events_are_refused_not_guessed() -> None:
    """A registered event with a field type the codec cannot give back equal is refused at write."""

    @dataclasses.dataclass(slots=True)
    class TupleEvent(tk.BaseEvent):
        event_type: ClassVar[str] = "test_tuple_event"
        pair: tuple[int, int] = (0, 0)

    tk.register_event_type(TupleEvent)
    try:
        with pytest.raises(tk.SerializationError, match=r"TupleEvent\.pair: field type tuple\[int, int\]"):
            TupleEvent(system_instance_id="t").to_json()
    finally:
        tk.model._EVENT_TYPES.pop("test_tuple_event", None)
        tk.model._notify()

"""The codec's speed shortcuts (issue 14) give exactly the reference answers: the byte-level
nesting screen, orjson's datetime text, the text writers' refusals left to orjson, records
built slot by slot, and the store's per-row trusted reader."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import orjson
import pytest
from dateutil.tz import tzutc
from factories import T0, build_call_record, build_trace
from hostile import exact
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.codec import decoder, encoder

_TEXT = st.text(alphabet=st.sampled_from('ab[]{}"\\\n é🌦'), max_size=6)
_NESTED = st.recursive(
    st.none() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=25,
)


@settings(derandomize=True, max_examples=80, deadline=None)
@given(_NESTED, st.integers(0, 8), st.booleans())
def test_byte_nesting_screen_agrees_with_the_text_one(value: Any, limit: int, ascii_only: bool) -> None:
    """bytes_nest_deeper_than answers as _nests_deeper_than for any JSON, brackets, quotes and
    backslashes inside strings included."""
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert codec.bytes_nest_deeper_than(text.encode(), limit) is codec._nests_deeper_than(text, limit)


def test_byte_nesting_screen_at_the_limit() -> None:
    """A free-form list nested exactly MAX_DEPTH deep passes the screen; one more level does not."""
    for depth, expected in ((codec.MAX_DEPTH, False), (codec.MAX_DEPTH + 1, True)):
        text = "[" * depth + "]" * depth
        assert codec.bytes_nest_deeper_than(text.encode(), codec.MAX_DEPTH) is expected
        assert codec._nests_deeper_than(text, codec.MAX_DEPTH) is expected


@settings(derandomize=True, max_examples=100, deadline=None)
@given(st.datetimes(timezones=st.just(UTC)).filter(lambda d: d.microsecond != 0))
def test_orjson_writes_a_utc_datetime_as_format_datetime_does(when: datetime) -> None:
    """The text writers leave UTC datetimes with a microsecond to orjson: its text is
    format_datetime's, from year 1 to 9999, and to_json writes the reference text."""
    assert orjson.dumps(when).decode()[1:-1] == codec.format_datetime(when)
    record = tk.ToolCallResult(call_id="c", started_at=when, completed_at=when.replace(tzinfo=tzutc()))
    reference = codec.dumps(encoder.encode(record, compact=True, fast=False))
    assert record.to_json() == reference


def test_datetimes_outside_the_shortcut_get_the_reference_text() -> None:
    """A zero microsecond, another UTC tzinfo and a non-UTC zone are written as the walk writes them."""
    cet = timezone(timedelta(hours=1))
    for when in (T0.replace(microsecond=0), T0.astimezone(cet), T0.replace(tzinfo=tzutc())):
        record = tk.ToolCallResult(call_id="c", started_at=when)
        assert record.to_json() == codec.dumps(encoder.encode(record, compact=True, fast=False))
        assert tk.ToolCallResult.from_json(record.to_json()).started_at == when


class _Key(str):
    """A str subclass: the walk refuses it as a key and as a value."""


def _call(**fields: Any) -> tk.LLMCallRecord:
    return tk.LLMCallRecord(call_id=fields.pop("call_id", "c"), api_type="responses", **fields)


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: _call(call_id="c\ud800"), "call_id"),
        (lambda: _call(finish_reason="\udc00"), "finish_reason"),
        (lambda: tk.SessionTrace(session_id="s", metadata={"k\ud800": 1}), "metadata.'k\\ud800'"),
        (lambda: _call(metadata={_Key("k"): 1}), "metadata"),
        (lambda: _call(metadata={1: 1}), "metadata"),
        (lambda: _call(metadata={"a": {2: 1}}), "metadata.a"),
    ],
)
def test_refusals_left_to_orjson_are_the_walks(build: Any, path: str) -> None:
    """Lone surrogates in ids and non-str keys, which the text writers leave to orjson, are
    refused by to_json with the walk's message and path."""
    record = build()
    with pytest.raises(tk.SerializationError) as fast:
        record.to_json()
    with pytest.raises(tk.SerializationError) as reference:
        codec.dumps(encoder.encode(record, compact=True, fast=False), root=type(record).__name__)
    assert (str(fast.value), fast.value.path) == (str(reference.value), reference.value.path)
    assert fast.value.path == path


def test_a_lone_surrogate_in_free_text_is_still_written() -> None:
    """Free text may hold a lone surrogate: orjson refuses it, the checked path writes its escape."""
    record = tk.LLMCallRecord(call_id="c", api_type="responses", output_text="half \ud83c")
    assert record.to_json() == codec.dumps(encoder.encode(record, compact=True, fast=False))
    assert tk.LLMCallRecord.from_json(record.to_json()) == record


def test_records_built_slot_by_slot_equal_constructed_ones() -> None:
    """Checked and trusted decoders give the very objects the constructor and full validation give."""
    for obj in (build_call_record(), build_trace()):
        text = obj.to_json()
        reference = codec._from_json_validated(type(obj), text)
        assert exact(type(obj).from_json(text), reference)
        assert exact(codec.from_trusted_json(type(obj), text), reference)


def test_absent_fields_get_fresh_defaults() -> None:
    """Two records read from the same text share no default list or dict."""
    text = tk.LLMCallRecord(call_id="c", api_type="responses").to_json()
    for read in (tk.LLMCallRecord.from_json, lambda t: codec.from_trusted_json(tk.LLMCallRecord, t)):
        first, second = read(text), read(text)
        first.tools.append(tk.ToolDefinition(name="t"))
        first.metadata["k"] = 1
        first.request_params.raw_params["x"] = 1
        assert (second.tools, second.metadata, second.request_params.raw_params) == ([], {}, {})


@tk.register_event_type
@dataclasses.dataclass(slots=True)
class NormalisedEvent(tk.BaseEvent):
    """A user event whose __post_init__ normalises a field (decoders must run it)."""

    event_type: ClassVar[str] = "test_normalised"

    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label.strip().lower()


def test_user_classes_go_through_their_constructor() -> None:
    """A registered user event is built by its own constructor on every read path."""
    text = '{"event_type":"test_normalised","system_instance_id":"a","label":"  MIXED "}'
    assert decoder._built_directly(tk.LLMCallRecord)
    assert not decoder._built_directly(NormalisedEvent)
    assert not decoder._built_directly(tk.SessionMessageContent)  # frozen
    for read in (tk.BaseEvent.from_json, lambda t: codec.from_trusted_json(tk.BaseEvent, t)):
        event = read(text)
        assert type(event) is NormalisedEvent
        assert event.label == "mixed"


def test_trusted_read_of_an_unknown_key_reads_as_the_full_validation() -> None:
    """A row with a key no field has (not written by this tracekit) is read by the full
    validation, which leaves the key out, on both trusted paths."""
    text = '{"call_id":"c","api_type":"responses","surprise":1}'
    reference = codec._from_json_validated(tk.LLMCallRecord, text)
    assert reference == tk.LLMCallRecord(call_id="c", api_type="responses")
    assert exact(codec.from_trusted_json(tk.LLMCallRecord, text), reference)
    assert exact(codec.trusted_json_reader(tk.LLMCallRecord)(text), reference)


@pytest.mark.parametrize(
    "text",
    [
        build_call_record().to_json(),
        build_call_record().to_json().encode(),
        tk.LLMCallRecord(call_id="c", api_type="responses", metadata={"n": 2**70}).to_json(),
        tk.LLMCallRecord(call_id="c", api_type="responses", output_text="x\udc00").to_json(),
        '{"call_id":"c","api_type":"responses","usage":"x"}',
        '{"call_id":',
        "[1]",
    ],
)
def test_the_stores_row_reader_is_from_trusted_json(text: str | bytes) -> None:
    """trusted_json_reader (iter_call_records' per-row read) gives from_trusted_json's record or
    its very error, for big integers, lone surrogates, damaged and foreign rows."""
    read = codec.trusted_json_reader(tk.LLMCallRecord)
    outcomes = []
    for fn in (read, lambda t: codec.from_trusted_json(tk.LLMCallRecord, t)):
        try:
            outcomes.append(("ok", fn(text)))
        except tk.InvalidDataError as exc:
            outcomes.append(("refused", [(p.path, p.message) for p in exc.problems]))
    assert outcomes[0] == outcomes[1]
    if outcomes[0][0] == "ok":
        assert exact(outcomes[0][1], codec._from_json_validated(tk.LLMCallRecord, text))

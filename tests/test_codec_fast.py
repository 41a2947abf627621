"""The codec's fast paths give exactly what the reference paths give: the generated writers what
the field-by-field walk writes (or the same refusal), orjson's text the standard library's, the
checked decoders what the full validation reads (or the same problems), and the trusted decoders
what the full validation reads from any text to_json wrote."""

from __future__ import annotations

import dataclasses
import json
import threading
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from factories import T0, build_call_record, build_trace
from hostile import FIELDS, UnregisteredEnv, _base, exact, exact_but_now, in_trace, mutated, mutations
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec, model
from tracekit.codec import decoder, encoder


def _written(write: Any) -> tuple[str, Any, Any]:
    """('ok', text, None) or ('refused', message, path) for one write."""
    try:
        return ("ok", write(), None)
    except tk.SerializationError as exc:
        return ("refused", str(exc), exc.path)


def _reference_json(obj: Any) -> str:
    return codec.dumps(encoder.encode(obj, compact=True, fast=False), root=type(obj).__name__)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(mutations())
def test_generated_writer_writes_what_the_walk_writes_or_refuses_the_same(
    case: tuple[type, str, Any],
) -> None:
    """to_json of a record holding any value in any field (alone and inside a trace) gives the
    walk's text, or the walk's refusal with the same message and path."""
    cls, name, value = case
    obj = mutated(cls, name, value)
    for target in (obj, in_trace(obj, "s")):
        assert _written(lambda t=target: codec.to_json(t)) == _written(lambda t=target: _reference_json(t))


def test_generated_writer_matches_the_walk_on_full_records() -> None:
    """The fully populated call record and trace are written to the walk's very text."""
    for obj in (build_call_record(), build_trace()):
        assert codec.to_json(obj) == _reference_json(obj)


@tk.register_event_type
@dataclasses.dataclass(slots=True)
class CountsEvent(tk.BaseEvent):
    """A user event with a field type the generated code has no shortcut for."""

    event_type: ClassVar[str] = "test_counts"

    counts: dict[str, int] = dataclasses.field(default_factory=dict)


def test_field_types_without_a_shortcut_still_round_trip() -> None:
    """A registered event with a dict[str, int] field is written by the walk and read by the
    full validation: both paths give it back equal, and a wrong value is refused at its path."""
    trace = tk.SessionTrace(session_id="s", created_at=T0, event_history=[CountsEvent("e", counts={"a": 1})])
    text = trace.to_json()
    assert text == _reference_json(trace)
    assert decoder.decoder(CountsEvent, trusted=False) is None
    assert tk.SessionTrace.from_json(text) == trace == codec.from_trusted_json(tk.SessionTrace, text)
    with pytest.raises(tk.SerializationError) as info:
        CountsEvent("e", counts={"a": 1.5}).to_json()
    assert info.value.path == "counts.a"


_JSON_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | _JSON_FLOATS
    | st.text(max_size=8)
    | st.sampled_from(
        [
            "2026-03-14T15:09:26.535897+00:00",
            "2026-03-14T15:09:26.000000+00:00",
            "2026-03-14T15:09:26+00:00",
            "2026-03-14T15:09:26.535897Z",
            "2026-03-14T24:00:00.000000+00:00",
            "2026-02-30T15:09:26.535897+00:00",
            "2026-03-14T15:09:26.535897+05:00",
            "user",
            "success",
            "chat_completions",
            "ok",
            "base",
            "cais",
            "test_judge",
            "\ud83d",
        ]
    )
)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_WRITABLE_FIELDS = [(cls, name) for cls, name in FIELDS if cls is not UnregisteredEnv]
_RECORD_DICTS = st.sampled_from(
    sorted({cls for cls, _name in _WRITABLE_FIELDS}, key=lambda c: c.__name__)
).map(lambda cls: _base(cls).to_dict())
_VALUES = _JSON | _RECORD_DICTS | st.lists(_RECORD_DICTS, max_size=2)


def _read(read: Any) -> tuple[str, Any]:
    """('ok', object) or ('invalid', the problems as (path, message, value) tuples) for one read."""
    try:
        return ("ok", read())
    except tk.InvalidDataError as exc:
        return ("invalid", [(p.path, p.message, repr(p.value)) for p in exc.problems])


def _same_reading(a: tuple[str, Any], b: tuple[str, Any], since: datetime) -> bool:
    if a[0] != b[0]:
        return False
    return exact_but_now(a[1], b[1], since) if a[0] == "ok" else bool(a[1] == b[1])


def _fresh_default(cls: type, name: str) -> bool:
    factory = {f.name: f.default_factory for f in dataclasses.fields(cls)}[name]
    return factory in (model.new_id, model.utc_now)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.sampled_from(_WRITABLE_FIELDS), _VALUES, st.booleans(), st.booleans())
def test_checked_decoder_reads_any_json_as_the_full_validation_does(
    field: tuple[type, str], value: Any, drop: bool, ascii_only: bool
) -> None:
    """from_json of a valid record's JSON with one field set to any JSON value (or removed) gives
    the full validation's object, or the same problems."""
    cls, name = field
    data = _base(cls).to_dict()
    if drop and _fresh_default(cls, name):
        drop = False  # its default is a new id or the current time: two reads never agree
    if drop:
        data.pop(name)
    else:
        data[name] = value
    text = json.dumps(data, ensure_ascii=ascii_only)
    since = datetime.now(UTC)
    fast = _read(lambda: codec.from_json(cls, text))
    reference = _read(lambda: codec._from_json_validated(cls, text))
    assert _same_reading(fast, reference, since)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(mutations())
def test_trusted_decoder_reads_what_to_json_wrote_as_the_full_validation_does(
    case: tuple[type, str, Any],
) -> None:
    """Any record to_json accepts (alone and inside a trace) reads back through the trusted
    decoder exactly as through the full validation, and equal to what was written."""
    cls, name, value = case
    obj = mutated(cls, name, value)
    for target in (obj, in_trace(obj, "s")):
        try:
            text = target.to_json()
        except tk.SerializationError:
            continue
        trusted = codec.from_trusted_json(type(target), text)
        assert exact(trusted, codec._from_json_validated(type(target), text))
        assert exact(target, trusted)
        assert exact(target, codec.from_trusted_dict(type(target), json.loads(text)))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_JSON)
def test_orjson_text_is_the_standard_librarys(data: Any) -> None:
    """dumps_encoded writes any checked JSON data (every float, control characters, big ints,
    lone surrogates) to the same text as the standard library path."""
    assert codec.dumps_encoded(data) == codec.dumps(data)


@pytest.mark.parametrize("value", [0.00001, 1.5e-7, 1e-9, 1e16, 2.5e-5, -3e-6, 1e22, 5e-324])
def test_floats_orjson_spells_differently_get_the_standard_text(value: float) -> None:
    """Floats that orjson spells unlike repr (1e-05 as 0.00001, 1e-07 as 1e-7) keep repr's text."""
    assert codec.dumps_encoded({"x": value}) == json.dumps({"x": value}, separators=(",", ":"))


@pytest.mark.parametrize("big", [2**64, 2**64 + 1, -(2**63) - 1, 10**30])
def test_integers_beyond_64_bits_in_free_form_values_read_back_exact(big: int) -> None:
    """orjson reads such integers as floats; the codec's reads keep them exact ints."""
    record = tk.LLMCallRecord(call_id="c", api_type="responses", metadata={"n": big, "m": [big]})
    text = record.to_json()
    for back in (
        tk.LLMCallRecord.from_json(text),
        codec.from_trusted_json(tk.LLMCallRecord, text),
        tk.LLMCallRecord.from_json(text.encode()),
    ):
        assert exact(back, record)
        assert back.metadata == {"n": big, "m": [big]}


def test_trusted_read_of_a_damaged_row_names_the_field() -> None:
    """Text whose shape is not what tracekit writes (a record where a string is, text that is not
    JSON) goes through the full validation and its errors; values are not re-checked."""
    with pytest.raises(tk.InvalidDataError) as info:
        codec.from_trusted_json(tk.LLMCallRecord, '{"call_id":"c","api_type":"responses","usage":"x"}')
    assert [p.path for p in info.value.problems] == ["usage"]
    with pytest.raises(tk.InvalidDataError, match="not valid JSON"):
        codec.from_trusted_json(tk.LLMCallRecord, '{"call_id":')
    with pytest.raises(tk.InvalidDataError) as info:
        codec.from_trusted_dict(tk.TimeRecord, {"event_time": "yesterday"})
    assert [p.path for p in info.value.problems] == ["event_time"]


def test_trusted_dict_read_leaves_a_shared_dict_alone() -> None:
    """One event dict placed in two lists (as the store reassembles a trace) decodes twice."""
    event = tk.RuntimeEvent(system_instance_id="r", time_record=tk.TimeRecord(T0), actions=[1])
    shared = event.to_dict()
    data = {
        "session_id": "s",
        "created_at": "2026-03-14T15:09:26.535897+00:00",
        "event_history": [shared],
        "session_time_steps": [
            {"step_id": "a", "timestamp": "2026-03-14T15:09:26.535897+00:00", "events": [shared]}
        ],
    }
    trace = codec.from_trusted_dict(tk.SessionTrace, data)
    assert trace.event_history == [event] == trace.session_time_steps[0].events
    assert shared == event.to_dict()


@tk.register_event_type
@dataclasses.dataclass(slots=True)
class FirstUseEvent(tk.BaseEvent):
    """An event class no test writes or reads before the threads below."""

    event_type: ClassVar[str] = "test_first_use"

    note: str = ""
    at: datetime | None = None


def test_first_use_from_many_threads_builds_each_writer_and_decoder_once_and_safely() -> None:
    """Threads writing and reading a class for the first time at once all get the right text and
    object (a writer or decoder being built is never handed out half-made)."""
    event = FirstUseEvent("t", time_record=tk.TimeRecord(T0), note="n", at=T0)
    expected = _reference_json(event)
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def work() -> None:
        barrier.wait()
        text = event.to_json()
        results.append((text, tk.BaseEvent.from_json(text), codec.from_trusted_json(tk.BaseEvent, text)))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [(expected, event, event)] * 8

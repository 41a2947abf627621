"""The trusted read's shape decoders (one per dict shape, see tracekit/codec/decoder.py) read exactly
what the per-field trusted decoders read: the record to_json wrote, or, for any other dict, the
same object or the same fallback to the full validation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import build_call_record, build_trace
from hostile import FIELDS, UnregisteredEnv, _base, exact, exact_but_now, in_trace, mutated, mutations
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.codec import decoder
from tracekit.model import new_id

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["2026-03-14T15:09:26.535897+00:00", "2026-03-14T15:09:26Z", "chat_completions"])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_CLASSES = sorted({cls for cls, _name in FIELDS if cls is not UnregisteredEnv}, key=lambda c: c.__name__)
_RECORD_DICTS = st.sampled_from(_CLASSES).map(lambda cls: _base(cls).to_dict())
_VALUES = _JSON | _RECORD_DICTS | st.lists(_RECORD_DICTS, max_size=2)


def _forget_shapes() -> None:
    for table in decoder._TABLES.values():
        table.clear()
        table.seen.clear()


@pytest.fixture
def shapes_at_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every dict shape gets its decoder at its first sighting (the tables start empty)."""
    monkeypatch.setattr(decoder, "SHAPE_AFTER", 1)
    _forget_shapes()
    yield
    _forget_shapes()


def _outcome(read: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("ok", read())
    except tk.InvalidDataError as exc:
        return ("invalid", [(p.path, p.message, repr(p.value)) for p in exc.problems])


def _per_field(read: Callable[[], Any]) -> tuple[str, Any]:
    """`read()` with every shape decoder out of the way (the per-field trusted decoders only)."""
    saved = decoder.SHAPE_AFTER
    decoder.SHAPE_AFTER = 10**9
    _forget_shapes()
    try:
        return _outcome(read)
    finally:
        decoder.SHAPE_AFTER = saved
        _forget_shapes()


def _same(a: tuple[str, Any], b: tuple[str, Any], since: datetime) -> bool:
    return a[0] == b[0] and (exact_but_now(a[1], b[1], since) if a[0] == "ok" else a[1] == b[1])


@pytest.mark.usefixtures("shapes_at_once")
@settings(derandomize=True, max_examples=150, deadline=None)
@given(mutations())
def test_shape_decoders_read_what_to_json_wrote(case: tuple[type, str, Any]) -> None:
    """Any record to_json accepts, alone and inside a trace, reads back through the shape decoders
    equal to what was written and exactly as the full validation reads it."""
    cls, name, value = case
    obj = mutated(cls, name, value)
    for target in (obj, in_trace(obj, "s")):
        try:
            text = target.to_json()
        except tk.SerializationError:
            continue
        for _ in range(2):  # the first read learns each shape, the second runs its decoder
            trusted = codec.from_trusted_json(type(target), text)
            assert exact(trusted, codec._from_json_validated(type(target), text))
            assert exact(target, trusted)
            assert exact(target, codec.trusted_json_reader(type(target))(text))


@pytest.mark.usefixtures("shapes_at_once")
@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.sampled_from(_CLASSES), st.data())
def test_shape_decoders_read_any_dict_as_the_per_field_decoders(cls: type, data: st.DataObject) -> None:
    """A valid record's dict with a field set to any JSON value, a field removed or an unknown key
    added reads through the shape decoders as through the per-field trusted decoders: the same
    object, or the same problems from the full validation."""
    record = _base(cls).to_dict()
    names = sorted(record)
    change = data.draw(st.sampled_from(["set", "drop", "add"]))
    if change == "set":
        record[data.draw(st.sampled_from(names))] = data.draw(_VALUES)
    elif change == "drop":
        name = data.draw(st.sampled_from(names))
        if {f.name: f.default_factory for f in dataclasses.fields(cls)}.get(name) is not new_id:
            record.pop(name)  # (a new id per read would never match)
    else:
        record[data.draw(st.text(min_size=1, max_size=6))] = data.draw(_SCALARS)
    text = json.dumps(record)
    since = datetime.now(UTC)
    reference = _per_field(lambda: codec.from_trusted_json(cls, text))
    for _ in range(2):
        assert _same(_outcome(lambda: codec.from_trusted_json(cls, text)), reference, since)


@pytest.mark.usefixtures("shapes_at_once")
def test_absent_fields_get_fresh_defaults_from_a_shape_decoder() -> None:
    """Two records read by the same shape decoder share no default list or dict."""
    text = tk.LLMCallRecord(call_id="c", api_type="responses").to_json()
    read = codec.trusted_json_reader(tk.LLMCallRecord)
    first, second, third = read(text), read(text), read(text)
    assert tuple(json.loads(text)) in decoder._TABLES[tk.LLMCallRecord]
    first.tools.append(tk.ToolDefinition(name="t"))
    first.metadata["k"] = 1
    second.request_params.raw_params["x"] = 1
    assert (third.tools, third.metadata, third.request_params.raw_params) == ([], {}, {})


@pytest.mark.usefixtures("shapes_at_once")
def test_a_shape_with_an_unknown_key_or_no_required_field_declines() -> None:
    """Shapes no tracekit writer produces (an unknown key, call_id missing) keep going to the full
    validation: the unknown key is left out as it reads it, the missing field is named."""
    odd = '{"call_id":"c","api_type":"responses","surprise":1}'
    for _ in range(3):
        assert exact(codec.from_trusted_json(tk.LLMCallRecord, odd), tk.LLMCallRecord("c", "responses"))
    for _ in range(3):
        with pytest.raises(tk.InvalidDataError) as caught:
            codec.from_trusted_json(tk.LLMCallRecord, '{"api_type":"responses"}')
        assert [p.path for p in caught.value.problems] == ["call_id"]
    assert decoder._TABLES[tk.LLMCallRecord][("call_id", "api_type", "surprise")] is decoder._declined


def test_a_shape_gets_its_decoder_after_SHAPE_AFTER_sightings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shape is read by the per-field decoder until its SHAPE_AFTER-th sighting, then by its own."""
    monkeypatch.setattr(decoder, "SHAPE_AFTER", 3)
    _forget_shapes()
    try:
        usage = {"input_tokens": 3, "output_tokens": 4}
        read = decoder.decoder(tk.LLMUsage, True)
        assert read is not None
        table = decoder._TABLES[tk.LLMUsage]
        for sightings in (1, 2):
            assert read(usage) == tk.LLMUsage(input_tokens=3, output_tokens=4)
            assert (len(table), table.seen) == (0, {("input_tokens", "output_tokens"): sightings})
        assert read(usage) == tk.LLMUsage(input_tokens=3, output_tokens=4)
        assert (list(table), table.seen) == ([("input_tokens", "output_tokens")], {})
    finally:
        _forget_shapes()


def test_shape_decoders_per_class_stay_under_SHAPE_LIMIT(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SHAPE_LIMIT shapes a class's new shapes keep the per-field decoder (bounded memory)."""
    monkeypatch.setattr(decoder, "SHAPE_AFTER", 1)
    monkeypatch.setattr(decoder, "SHAPE_LIMIT", 2)
    _forget_shapes()
    try:
        read = decoder.decoder(tk.LLMUsage, True)
        assert read is not None
        for name in ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens"):
            assert read({name: 7}) == tk.LLMUsage(**{name: 7})
        assert list(decoder._TABLES[tk.LLMUsage]) == [("input_tokens",), ("output_tokens",)]
    finally:
        _forget_shapes()


@pytest.mark.usefixtures("shapes_at_once")
def test_full_records_and_traces_read_the_same_through_shape_decoders() -> None:
    """The factories' full call record and trace (every field set) read back exact, twice."""
    for obj in (build_call_record(), build_trace()):
        text = obj.to_json()
        for _ in range(2):
            assert exact(codec.from_trusted_json(type(obj), text), obj)
            assert exact(codec.from_trusted_dict(type(obj), json.loads(text)), obj)


@pytest.mark.usefixtures("shapes_at_once")
def test_an_empty_list_or_string_is_not_an_empty_record_dict() -> None:
    """A nested record given as [] or "" (no keys, but not a dict) is refused by the full validation
    on every read, not built from defaults by the shape of no keys."""
    for bad in ("[]", '""'):
        text = f'{{"system_instance_id":"sys","time_record":{bad}}}'
        for _ in range(3):
            with pytest.raises(tk.InvalidDataError) as refused:
                codec.from_trusted_json(tk.BaseEvent, text)
            assert [p.path for p in refused.value.problems] == ["time_record"]

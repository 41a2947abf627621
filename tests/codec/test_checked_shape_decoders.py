"""from_json's checked shape decoders (one per dict shape, see tracekit/codec/decoder.py) and its
byte-level nesting screen give exactly what the full validation gives: the same record, or the
same InvalidDataError problems (path, message, value)."""

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
    for table in (*decoder._TABLES.values(), *decoder._CHECKED_TABLES.values()):
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


def _same(a: tuple[str, Any], b: tuple[str, Any], since: datetime) -> bool:
    return a[0] == b[0] and (exact_but_now(a[1], b[1], since) if a[0] == "ok" else a[1] == b[1])


@pytest.mark.usefixtures("shapes_at_once")
@settings(derandomize=True, max_examples=150, deadline=None)
@given(mutations())
def test_checked_shape_decoders_read_what_to_json_wrote(case: tuple[type, str, Any]) -> None:
    """Any mutated real record to_json accepts, alone and inside a trace, reads back through
    from_json's shape decoders equal to what was written and to what the full validation reads."""
    cls, name, value = case
    obj = mutated(cls, name, value)
    for target in (obj, in_trace(obj, "s")):
        try:
            text = target.to_json()
        except tk.SerializationError:
            continue
        for _ in range(2):  # the first read learns each shape, the second runs its decoder
            read = type(target).from_json(text)
            assert exact(read, codec._from_json_validated(type(target), text))
            assert exact(target, read)


@pytest.mark.usefixtures("shapes_at_once")
@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.sampled_from(_CLASSES), st.data())
def test_checked_shape_decoders_read_any_dict_as_the_full_validation(cls: type, data: st.DataObject) -> None:
    """A real record's dict with a field set to any JSON value, a field removed, an unknown key
    added or a field set to a record of another class reads through from_json's shape decoders
    exactly as the full validation reads it: the same object, or the same problems."""
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
    reference = _outcome(lambda: codec._from_json_validated(cls, text))
    for _ in range(2):
        assert _same(_outcome(lambda: codec.from_json(cls, text)), reference, since)


@pytest.mark.usefixtures("shapes_at_once")
def test_full_records_and_traces_read_the_same_through_checked_shape_decoders() -> None:
    """The factories' full call record and trace (every field set) read back exact, twice, with a
    checked shape decoder built for the record's own shape."""
    for obj in (build_call_record(), build_trace()):
        text = obj.to_json()
        for _ in range(2):
            assert exact(type(obj).from_json(text), obj)
        assert tuple(json.loads(text)) in decoder._CHECKED_TABLES[type(obj)]


@pytest.mark.usefixtures("shapes_at_once")
def test_a_bad_value_in_a_known_shape_is_named_by_the_full_validation() -> None:
    """Once a shape has its checked decoder, the same shape with a bad value still raises
    InvalidDataError naming the field's path and value, as the full validation does."""
    good = '{"call_id":"c","api_type":"responses","usage":{"input_tokens":3}}'
    for _ in range(2):
        assert exact(tk.LLMCallRecord.from_json(good), tk.LLMCallRecord.from_json(good))
    bad = good.replace("3}", "[3]}").replace('"c"', "7")
    with pytest.raises(tk.InvalidDataError) as caught:
        tk.LLMCallRecord.from_json(bad)
    reference = _outcome(lambda: codec._from_json_validated(tk.LLMCallRecord, bad))
    assert ("invalid", [(p.path, p.message, repr(p.value)) for p in caught.value.problems]) == reference
    assert {p.path for p in caught.value.problems} == {"call_id", "usage.input_tokens"}
    assert ("call_id", "api_type", "usage") in decoder._CHECKED_TABLES[tk.LLMCallRecord]


@pytest.mark.usefixtures("shapes_at_once")
def test_a_list_or_string_with_a_record_shape_is_not_a_record() -> None:
    """A nested record given as a list holding its keys, [] or "" is refused as the full
    validation refuses it, on every read, however its keys' tuple looks like a known shape."""
    for bad in ('["input_tokens"]', "[]", '""'):
        text = f'{{"call_id":"c","api_type":"responses","usage":{bad}}}'
        reference = _outcome(lambda t=text: codec._from_json_validated(tk.LLMCallRecord, t))
        assert reference[0] == "invalid"
        for _ in range(3):
            assert _outcome(lambda t=text: tk.LLMCallRecord.from_json(t)) == reference


_ESCAPED = st.text(alphabet=st.sampled_from('ab[]{}"\\\n\t/'), max_size=8)
_DEEP = st.recursive(
    st.none() | _ESCAPED,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(_ESCAPED, inner, max_size=2),
    max_leaves=30,
)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(_DEEP, st.integers(0, 10))
def test_byte_nesting_screen_with_escapes_agrees_with_the_text_one(value: Any, limit: int) -> None:
    """The byte screen answers as the text one whether the text holds no escape, only escaped
    letters (\\n, \\t, \\/) or escaped quotes and backslashes, beside brackets in strings."""
    text = json.dumps(value)
    assert codec.bytes_nest_deeper_than(text.encode(), limit) is codec._nests_deeper_than(text, limit)


def test_byte_nesting_screen_pairs_escapes_as_json_does() -> None:
    """Escaped letters beside quotes and backslashes ("\\n\\"", "\\\\\\"") do not hide or invent a
    string's end."""
    for text, limit, expected in (
        (r'[["\n\"]"]]', 1, True),
        (r'[["\n\\"],"]"]', 1, True),
        (r'[["\t\\\"]]"]]', 1, True),
        (r'[["\n"]]', 2, False),
        (r'["\\\\", "\"[["]', 1, False),
    ):
        assert codec._nests_deeper_than(text, limit) is expected, text
        assert codec.bytes_nest_deeper_than(text.encode(), limit) is expected, text


def test_checked_datetimes_are_parsed_once_per_read_and_the_cache_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A canonical datetime text met twice in one read gives one object; the next read parses it
    again (nothing is kept between reads); past _DATES_LIMIT texts the cache starts over; a
    non-canonical text is never cached and still reads as the full validation reads it."""
    same = "2026-03-14T15:09:26.535897+00:00"
    text = json.dumps({"call_id": "c", "api_type": "responses", "started_at": same, "completed_at": same})
    first, second = tk.LLMCallRecord.from_json(text), tk.LLMCallRecord.from_json(text)
    assert first.started_at == datetime.fromisoformat(same) == second.started_at
    assert first.started_at is first.completed_at
    assert second.started_at is not first.started_at
    monkeypatch.setattr(decoder, "_DATES_LIMIT", 2)
    decoder.forget_dates()
    texts = [f"2026-03-14T15:09:2{i}.535897+00:00" for i in range(5)]
    assert [decoder._checked_datetime(t) for t in texts] == [datetime.fromisoformat(t) for t in texts]
    assert len(decoder._DATES) <= 2
    odd = '{"call_id":"c","api_type":"responses","started_at":"2026-03-14T15:09:26Z"}'
    assert exact(tk.LLMCallRecord.from_json(odd), codec._from_json_validated(tk.LLMCallRecord, odd))
    assert "2026-03-14T15:09:26Z" not in decoder._DATES
    decoder.forget_dates()

"""The fast path of StreamRecorder.add for SDK chunks of a known shape (helpers/_shapes.py).

A shape's `take` either refuses an object (None: the exact path reads it) or keeps values that its
`build` turns into exactly what `sdk_chunk` reads from the same object, keys in the same order.
The SDK objects come from the official clients over the fake transport, for all four vendor APIs.
"""

from __future__ import annotations

import copy
import enum
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shape_checks import first_taken, rebuilt
from test_recorder_snapshot import load, mutate_model, record_of, recorder, sdk_objects

from tracekit.helpers import _shapes
from tracekit.helpers._snapshot import Unsnappable, sdk_chunk
from tracekit.helpers.recorder import StreamRecorder

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VENDORS = ("openai_chat", "openai_responses", "anthropic", "gemini")
STREAM_CASES = [
    (vendor, path.stem)
    for vendor in VENDORS
    for path in sorted((FIXTURES / vendor).glob("stream_*.json"))
    if path.stem != "stream_error"  # the anthropic SDK raises at its error event
]
TEXT_STREAMS = {
    "openai_chat": "stream_text_usage",
    "openai_responses": "stream_text",
    "anthropic": "stream_text",
    "gemini": "stream_text",
}


def taken(obj: Any) -> tuple[Any, ...] | None:
    """What the fast path keeps for `obj`: the first learnt shape of its class that takes it."""
    return first_taken(_shapes.TAKERS.get(type(obj), ()), obj)


def read(obj: Any) -> str | None:
    """`sdk_chunk`'s read of `obj` as text that tells 1, 1.0 and True apart (None: not readable)."""
    try:
        data = sdk_chunk(obj)
    except Unsnappable:
        return None
    return None if data is None else repr(data)


@pytest.mark.parametrize(("vendor", "name"), STREAM_CASES)
def test_taken_chunks_rebuild_the_exact_read(vendor: str, name: str) -> None:
    """After one stream of a fixture was recorded, every chunk of it that a learnt shape takes is
    rebuilt as exactly `sdk_chunk`'s read, and its record equals the record of its dumps."""
    objects = sdk_objects(vendor, load(vendor, name))
    first = record_of(objects)  # learns the shapes
    for obj in objects:
        snap = taken(obj)
        if snap is not None:
            assert repr(rebuilt(snap)) == read(obj)
    assert record_of(objects) == first


@pytest.mark.parametrize("vendor", VENDORS)
def test_text_deltas_take_the_fast_path(vendor: str) -> None:
    """Every chunk of each vendor's plain text stream is taken by a learnt shape once one stream was seen."""
    objects = sdk_objects(vendor, load(vendor, TEXT_STREAMS[vendor]))
    record_of(objects)
    missing = [i for i, obj in enumerate(objects) if taken(obj) is None]
    if vendor == "openai_responses":
        # response.created / in_progress / completed carry the whole response (nested dicts): exact path
        assert missing == [0, 1, len(objects) - 1]
    else:
        assert missing == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_mutating_taken_chunks_after_add_leaves_the_record(vendor: str) -> None:
    """Chunks taken by the fast path and then changed in place (text, numbers, lists) give the record
    of the unchanged chunks: the tuple holds their values, not the objects."""
    chunks = load(vendor, TEXT_STREAMS[vendor])
    expected = record_of(sdk_objects(vendor, chunks))
    objects = sdk_objects(vendor, chunks)
    rec = recorder()
    for i, obj in enumerate(objects):
        rec.add(obj, 2.0 + i)
    assert sum(taken(obj) is not None for obj in objects) >= len(objects) - 3
    for obj in objects:
        mutate_model(obj)
    assert rec.finish() == expected


class Colour(enum.Enum):
    RED = "red"


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0, 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=4),
    st.sampled_from([Colour.RED, (), [], {}, {"a": 1}, ["x"], object(), b"", 1j]),
    st.builds(lambda s: type("Text", (str,), {})(s), st.text(max_size=3)),
)


def _slots(obj: Any, depth: int = 0) -> list[tuple[Any, Any]]:
    """Every (container, key) holding a value in an SDK object tree: model fields and list items."""
    found: list[tuple[Any, Any]] = []
    if depth > 10:
        return found
    for name, value in vars(obj).items():
        found.append((obj, name))
        if isinstance(value, list):
            for i, item in enumerate(value):
                found.append((value, i))
                if hasattr(item, "__pydantic_fields__"):
                    found.extend(_slots(item, depth + 1))
        elif hasattr(value, "__pydantic_fields__"):
            found.extend(_slots(value, depth + 1))
    return found


API = {
    "openai_chat": ("openai", "chat_completions"),
    "openai_responses": ("openai", "responses"),
    "anthropic": ("anthropic", "messages"),
    "gemini": ("google", "generate_content"),
}


def _learnt_objects() -> list[tuple[str, Any]]:
    """(vendor, SDK chunk) for every chunk of the text streams that a learnt shape takes."""
    found = []
    for vendor in VENDORS:
        objects = sdk_objects(vendor, load(vendor, TEXT_STREAMS[vendor]))
        record_of(objects)
        found += [(vendor, obj) for obj in objects if taken(obj) is not None]
    return found


LEARNT = _learnt_objects()


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    which=st.integers(min_value=0, max_value=10_000),
    where=st.integers(min_value=0, max_value=10_000),
    value=HOSTILE,
    how=st.sampled_from(["set", "unset", "extra", "append"]),
)
def test_a_changed_chunk_is_refused_or_rebuilt_exactly(which: int, where: int, value: Any, how: str) -> None:
    """A chunk of a learnt shape with one value replaced by a wrong-typed or extreme one, a field
    unset, an extra field or a longer list is refused by every learnt shape or rebuilt as exactly
    what `sdk_chunk` reads from it; and the record never raises out of add() or finish()."""
    vendor, learnt = LEARNT[which % len(LEARNT)]
    obj = copy.deepcopy(learnt)
    slots = _slots(obj)
    container, key = slots[where % len(slots)]
    if isinstance(container, list):
        if how == "append":
            container.append(value)
        else:
            container[key] = value
    elif how == "set":
        container.__dict__[key] = value
    elif how == "unset":
        container.__pydantic_fields_set__.discard(key)
    elif how == "extra" and container.__pydantic_extra__ is not None:
        container.__pydantic_extra__["zz_extra"] = value
    elif isinstance(container.__dict__[key], list):
        container.__dict__[key].append(value)
    snap = taken(obj)
    if snap is not None:
        assert repr(rebuilt(snap)) == read(obj)
    saved = dict(_shapes.TAKERS), dict(_shapes._TRIES)
    try:  # shapes learnt from hostile chunks are dropped again, so the other tests see the usual ones
        provider, api_type = API[vendor]
        rec = StreamRecorder(provider=provider, api_type=api_type, clock=lambda: 1.0)
        rec.add(obj, 2.0)
        record = rec.finish()  # a record, never an exception (its content is the exact path's)
        assert record.timing is not None
        assert record.timing.chunk_count == 1
    finally:
        _shapes.TAKERS.clear()
        _shapes.TAKERS.update(saved[0])
        _shapes._TRIES.clear()
        _shapes._TRIES.update(saved[1])


def test_shapes_per_class_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A class is given at most _MAX_SHAPES shapes, so a stream of ever-new shapes stops costing a
    compile per chunk, and those chunks are still recorded by the exact path."""
    obj = copy.deepcopy(LEARNT[0][1])
    kind = type(obj)
    monkeypatch.setitem(_shapes.TAKERS, kind, ())
    monkeypatch.setitem(_shapes._TRIES, kind, 0)
    rec = StreamRecorder(provider="openai", api_type="chat_completions", clock=lambda: 1.0)
    shapes = 0
    for n_choices in range(1, 5):
        for id_value in ("text", 7, True, 1.5, None):
            fresh = copy.deepcopy(obj)
            fresh.__dict__["id"] = id_value
            fresh.__dict__["choices"] = fresh.__dict__["choices"] * n_choices
            assert taken(fresh) is None or shapes >= _shapes._MAX_SHAPES
            rec.add(fresh, 2.0)
            shapes += 1
    assert shapes == 20
    assert len(_shapes.TAKERS[kind]) == _shapes._MAX_SHAPES
    assert _shapes._TRIES[kind] == _shapes._MAX_SHAPES
    record = rec.finish()
    assert record.timing is not None
    assert record.timing.chunk_count == 20
    assert record.chunks is not None
    assert len(record.chunks) == 20


def test_non_finite_floats_and_big_ints_are_never_taken() -> None:
    """A float that is not finite or an int outside 64 bits (or a float where an int was learnt) is
    refused by the shape, so the exact path reads it and notes a replacement as before."""
    obj = copy.deepcopy(LEARNT[0][1])
    assert taken(obj) is not None
    ints = [name for name, value in vars(obj).items() if type(value) is int]
    assert ints, "a learnt chunk with an integer field (created / index / sequence_number)"
    for bad in (2**64, -(2**63) - 1, math.inf, math.nan, 1.5):
        changed = copy.deepcopy(obj)
        changed.__dict__[ints[0]] = bad
        assert taken(changed) is None  # 1.5 where an int was learnt: another shape
        if bad != 1.5:
            assert read(changed) is None  # sdk_chunk refuses it too: the dump path notes the value

"""StreamRecorder.add's first try: the timed taker of the previous chunk's shape (`_shapes.TIMED`,
`_dict_shapes.TIMED`), which checks the class or top-level keys itself and returns the pending tuple
`(build_at, arrival, *values)`. What it keeps must rebuild exactly what the exact path reads, and
whatever it refuses goes to the exact path."""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_dict_shapes import BASES, TEXT_STREAMS, VENDORS, _change, exact_record
from test_recorder_snapshot import CASES, T0, load, mutate_model, record_of, recorder, sdk_objects

from tracekit.errors import RecordingError
from tracekit.helpers import _dict_shapes, _shapes
from tracekit.helpers._snapshot import Unsnappable, copy_json, sdk_chunk
from tracekit.helpers.recorder import StreamRecorder

AT = 1.5
SOME_CASES = [case for case in CASES if case[1] == TEXT_STREAMS[case[0]]] + [
    ("openai_chat", "stream_tool_calls"),
    ("openai_responses", "stream_function_call"),
    ("anthropic", "stream_tool_use"),
    ("gemini", "stream_thinking_function_call"),
]


def _rebuilt(snap: tuple[Any, ...]) -> Any:
    return snap[0](snap)


def _check_dict(chunk: Any) -> int:
    """Check every timed dict taker on `chunk`: each refuses it or keeps the arrival and rebuilds
    `copy_json`'s copy; returns how many kept it."""
    kept = 0
    for take_at in list(_dict_shapes.TIMED.values()):
        snap = take_at(chunk, AT)
        if snap is not None:
            kept += 1
            assert snap[1] == AT
            assert repr(_rebuilt(snap)) == repr(copy_json(chunk))
    return kept


@pytest.mark.parametrize(("vendor", "name"), SOME_CASES)
def test_timed_takers_rebuild_what_the_exact_path_reads(vendor: str, name: str) -> None:
    """On every recorded stream, dicts and SDK objects, each timed taker refuses a chunk or keeps its
    arrival and rebuilds exactly `copy_json`'s copy / `sdk_chunk`'s read; a plain text stream is kept."""
    _dict_shapes.forget()  # shapes other tests left may fill the caps before this stream's are learnt
    chunks = load(vendor, name)
    objects = sdk_objects(vendor, chunks)
    record_of(chunks)  # learns the shapes
    record_of(objects)
    kept = sum(_check_dict(chunk) > 0 for chunk in chunks)
    assert kept == len(chunks) or name != TEXT_STREAMS[vendor]
    kept = 0
    for obj in objects:
        read = sdk_chunk(obj)
        for take_at in list(_shapes.TIMED.values()):
            snap = take_at(obj, AT)
            if snap is not None:
                kept += 1
                assert snap[1] == AT
                assert repr(_rebuilt(snap)) == repr(read)
    assert kept > 0 or name != TEXT_STREAMS[vendor]


@pytest.mark.parametrize("vendor", VENDORS)
def test_mutated_sdk_chunks_are_refused_or_rebuilt_exactly(vendor: str) -> None:
    """SDK chunks changed in place after their shapes were learnt (texts, counts, emptied lists) are
    refused by every timed taker or rebuilt as exactly their new read."""
    objects = sdk_objects(vendor, load(vendor, TEXT_STREAMS[vendor]))
    record_of(objects)
    for obj in objects:
        mutate_model(obj)
        try:
            read = repr(sdk_chunk(obj))
        except Unsnappable:
            read = None
        for take_at in list(_shapes.TIMED.values()):
            snap = take_at(obj, AT)
            assert snap is None or repr(_rebuilt(snap)) == read


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(range(len(BASES))), st.data())
def test_changed_dicts_after_a_learnt_one_record_as_the_exact_path(base: int, data: st.DataObject) -> None:
    """A dict chunk changed in any way (wrong types, extreme numbers, keys added, removed or moved,
    longer lists) arriving right after a chunk of the learnt shape is refused by the timed taker or
    rebuilt exactly, and the stream's record equals the exact path's."""
    _dict_shapes.forget()
    original = BASES[base][1]
    changed = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        _change(changed, data)
    stream = [original, changed, original]
    record_of(stream)  # learns the original's shape
    _check_dict(changed)
    try:
        expected = exact_record(stream).to_json()
    except Exception as exc:  # the exact path refuses the stream: the fast one must too
        with pytest.raises(type(exc)):
            record_of(stream).to_json()
        return
    record_of([original])  # learns again (exact_record forgot every shape)
    assert record_of(stream).to_json() == expected


def test_a_derived_event_with_a_learnt_shapes_keys_is_skipped() -> None:
    """A helper event dict (anthropic's `text`) with the keys and value types of a learnt raw event
    is refused by that shape's timed taker and skipped by the recorder, as the exact path skips it."""
    _dict_shapes.forget()
    raw = {"type": "custom_delta", "text": "a", "snapshot": "a"}
    assert _dict_shapes.learn_dict(tuple(raw), raw, copy_json(raw))
    derived = {"type": "text", "text": "b", "snapshot": "ab"}
    assert [take_at(derived, AT) for take_at in _dict_shapes.TIMED.values()] == [None]
    rec = recorder()
    rec.add(raw, 2.0)
    rec.add(derived, 3.0)
    rec.add(dict(raw), 4.0)
    assert rec._count == 2


def test_a_dict_subclass_or_other_keys_are_not_taken_by_the_timed_taker() -> None:
    """A dict subclass, or a dict whose keys differ in order, is refused by the learnt shape's timed
    taker (the exact path copies it) though its values have the learnt types."""
    _dict_shapes.forget()
    chunk = {"a": "x", "b": [1, 2.5]}
    assert _dict_shapes.learn_dict(tuple(chunk), chunk, copy_json(chunk))
    (take_at,) = _dict_shapes.TIMED.values()
    assert take_at({"a": "y", "b": [3, 4.5]}, AT) is not None
    assert take_at(type("Sub", (dict,), {})(chunk), AT) is None
    assert take_at({"b": [1, 2.5], "a": "x"}, AT) is None
    assert take_at({"a": "x", "b": [1, 2.5, 3]}, AT) is None
    assert take_at({"a": "x", "b": [1]}, AT) is None


def test_strict_recorder_raises_at_add_after_chunks_of_a_learnt_shape() -> None:
    """A strict recorder folds each chunk as it arrives: a chunk with a value JSON cannot hold, after
    a run of chunks of a learnt shape, raises from `add`."""
    chunks = load("openai_chat", "stream_text_usage")
    record_of(chunks)  # learns the shapes
    rec = recorder(strict=True)
    for i, chunk in enumerate(chunks[:4]):
        rec.add(chunk, 2.0 + i)
    bad = copy.deepcopy(chunks[3])
    bad["created"] = math.nan
    with pytest.raises(RecordingError):
        rec.add(bad, 9.0)


def test_add_after_finish_is_ignored_on_the_fast_path_too(caplog: pytest.LogCaptureFixture) -> None:
    """A chunk of the previous chunk's shape added after `finish()` is ignored and logged, not kept:
    `finish()` still returns the same record."""
    chunks = load("gemini", "stream_text")
    record_of(chunks)
    rec = recorder()
    for i, chunk in enumerate(chunks):
        rec.add(chunk, 2.0 + i)
    record = rec.finish()
    with caplog.at_level(logging.WARNING, logger="tracekit.helpers.recorder"):
        rec.add(chunks[-1], 99.0)
    assert "added after finish()" in caplog.text
    assert rec.finish() is record
    assert record.timing is not None
    assert record.timing.chunk_count == len(chunks)


@pytest.mark.parametrize("vendor", VENDORS)
def test_arrivals_read_from_the_clock_equal_the_exact_path(vendor: str) -> None:
    """Chunks added without an arrival, kept by timed takers, read the recorder's clock once each and
    in the same order as the exact path, so the record (chunk times included) is the exact path's."""

    def record(learnt: bool) -> Any:
        ticks = iter(float(n) for n in range(10, 100))
        rec = StreamRecorder(call_id="call-1", clock=lambda: next(ticks), now=lambda: T0)
        if not learnt:
            rec._learnt = _dict_shapes.PER_STREAM  # this stream may learn no shape
        for chunk in chunks:
            rec.add(chunk)
        return rec.finish()

    chunks = load(vendor, TEXT_STREAMS[vendor])
    _dict_shapes.forget()
    expected = record(learnt=False)
    record(learnt=True)  # learns the shapes
    assert record(learnt=True) == expected

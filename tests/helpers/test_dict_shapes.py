"""The fast path of StreamRecorder.add for plain-dict chunks of a known shape (helpers/_dict_shapes.py).

A shape's `take` either refuses a dict (None: `copy_json`, the exact path, copies it) or keeps its
leaf values, which its `build` turns into exactly what `copy_json` gives for the same dict: the same
keys in the same order, the same value types, fresh containers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shape_checks import first_taken, rebuilt
from test_recorder_snapshot import load, mutate_dict, record_of, recorder

from tracekit.helpers import _dict_shapes
from tracekit.helpers._snapshot import Unsnappable, copy_json
from tracekit.model import LLMCallRecord

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VENDORS = ("openai_chat", "openai_responses", "anthropic", "gemini")
STREAM_CASES = [
    (vendor, path.stem) for vendor in VENDORS for path in sorted((FIXTURES / vendor).glob("stream_*.json"))
]
TEXT_STREAMS = {
    "openai_chat": "stream_text_usage",
    "openai_responses": "stream_text",
    "anthropic": "stream_text",
    "gemini": "stream_text",
}


def taken(chunk: dict[str, Any]) -> tuple[Any, ...] | None:
    """What the fast path keeps for `chunk`: the first learnt shape of its top-level keys that takes it."""
    return first_taken(_dict_shapes.DICT_TAKERS.get(tuple(chunk), ()), chunk)


def exact_record(chunks: list[Any]) -> LLMCallRecord:
    """The record of `chunks` through today's exact path only: no shape known, none learnt."""
    _dict_shapes.forget()
    rec = recorder()
    rec._learnt = _dict_shapes.PER_STREAM  # this stream may learn no shape
    for i, chunk in enumerate(chunks):
        rec.add(chunk, 2.0 + i)
    assert _dict_shapes.DICT_TAKERS == {}
    return rec.finish()


@pytest.mark.parametrize(("vendor", "name"), STREAM_CASES)
def test_dict_streams_rebuild_exactly(vendor: str, name: str) -> None:
    """Every recorded dict stream gives, once its shapes are learnt, the record (to_json) of the exact
    path, and every chunk a shape takes is rebuilt as exactly `copy_json`'s copy."""
    chunks = load(vendor, name)
    expected = exact_record(chunks).to_json()
    assert record_of(chunks).to_json() == expected  # learns the shapes
    for chunk in chunks:
        snap = taken(chunk)
        if snap is not None:
            assert repr(rebuilt(snap)) == repr(copy_json(chunk))
    assert record_of(chunks).to_json() == expected


@pytest.mark.parametrize("vendor", VENDORS)
def test_text_deltas_take_the_fast_path(vendor: str) -> None:
    """Every chunk of each vendor's plain text stream is taken by a learnt shape once one stream was seen."""
    _dict_shapes.forget()
    chunks = load(vendor, TEXT_STREAMS[vendor])
    record_of(chunks)
    assert [i for i, chunk in enumerate(chunks) if taken(chunk) is None] == []


@pytest.mark.parametrize("vendor", VENDORS)
def test_mutating_taken_dicts_after_add_leaves_the_record(vendor: str) -> None:
    """Dict chunks taken by the fast path and then changed in place give the record of the unchanged
    chunks: the tuple holds their values, not the dicts."""
    chunks = load(vendor, TEXT_STREAMS[vendor])
    expected = exact_record(chunks)
    record_of(chunks)  # learns the shapes
    mine = copy.deepcopy(chunks)
    rec = recorder()
    for i, chunk in enumerate(mine):
        rec.add(chunk, 2.0 + i)
    assert all(taken(chunk) is not None for chunk in mine)
    for chunk in mine:
        mutate_dict(chunk)
    assert rec.finish() == expected


def test_a_rebuild_shares_no_container() -> None:
    """Two rebuilds of one snapshot are equal but share no dict or list (the record owns its chunks)."""
    _dict_shapes.forget()
    chunk = {"a": [{"b": 1}], "c": {"d": [1.5, True, None, "x"]}}
    assert _dict_shapes.learn_dict(tuple(chunk), chunk, copy_json(chunk))
    snap = taken(chunk)
    assert snap is not None
    one, two = rebuilt(snap), rebuilt(snap)
    assert one == two == chunk
    assert one is not two
    assert one["a"] is not two["a"]
    assert one["a"][0] is not two["a"][0]
    assert one["c"] is not two["c"]
    assert one["c"]["d"] is not two["c"]["d"]


EXTREME = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 0, 1, -1, 1.0, 0.0, -0.0, 1e308]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.sampled_from([(), [], {}, {"a": 1}, ["x"], [1, 2], b"", 1j, {1: "a"}]).map(copy.deepcopy),
    st.builds(lambda s: type("Text", (str,), {})(s), st.text(max_size=3)),
    st.builds(lambda i: type("Count", (int,), {})(i), st.integers(-3, 3)),
)


def _containers(value: Any, out: list[Any]) -> list[Any]:
    """Every dict and list inside `value` (itself first), depth first."""
    if type(value) is dict or type(value) is list:
        out.append(value)
        for item in value.values() if type(value) is dict else value:
            _containers(item, out)
    return out


SAME_TYPE: dict[type, st.SearchStrategy[Any]] = {
    str: st.text(max_size=6),
    bool: st.booleans(),
    int: st.one_of(st.integers(-(2**64), 2**64), st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1])),
    float: st.floats(allow_nan=True, allow_infinity=True),
}


def _change(chunk: dict[str, Any], data: st.DataObject) -> None:
    """One change to `chunk` in place: a value replaced (by one of the same type, often extreme, or by
    anything), a key added or removed, a list grown or a key moved to the end."""
    target = data.draw(st.sampled_from(_containers(chunk, [])))
    how = data.draw(st.sampled_from(["same", "same", "same", "replace", "add", "remove", "grow", "reorder"]))
    if type(target) is list:
        if how == "grow" or not target:
            target.append(data.draw(EXTREME))
        else:
            target[data.draw(st.integers(0, len(target) - 1))] = data.draw(EXTREME)
        return
    keys = list(target)
    if how == "add" or not keys:
        target[data.draw(st.sampled_from(["extra", "text", *keys]))] = data.draw(EXTREME)
        return
    key = data.draw(st.sampled_from(keys))
    if how == "remove":
        del target[key]
    elif how == "reorder":
        target[key] = target.pop(key)
    elif how == "same" and type(target[key]) in SAME_TYPE:
        target[key] = data.draw(SAME_TYPE[type(target[key])])
    else:
        target[key] = data.draw(EXTREME)


BASES = [
    (vendor, chunk)
    for vendor in VENDORS
    for chunk in load(vendor, TEXT_STREAMS[vendor])[1:3]  # a role or text chunk and a text delta
]


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(range(len(BASES))), st.data())
def test_changed_dicts_are_refused_or_rebuilt_exactly(base: int, data: st.DataObject) -> None:
    """A chunk of a learnt shape, changed (wrong types, extreme numbers, extra or missing keys, longer
    lists, key order), is either refused by every shape or rebuilt as exactly `copy_json`'s copy."""
    _dict_shapes.forget()
    original = BASES[base][1]
    record_of([original])  # learns its shape
    assert taken(original) is not None
    chunk = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        _change(chunk, data)
    snap = taken(chunk)
    if snap is not None:
        assert repr(rebuilt(snap)) == repr(copy_json(chunk))
    else:
        try:
            exact = repr(copy_json(chunk))
        except Unsnappable:  # refused by the exact path too: it takes the slow path
            return
        assert exact != repr(original)  # a refused chunk differs from the learnt one


class _Key(str):
    """A str subclass used as a dict key (as a `StrEnum` member would be)."""


def _rekeyed(value: Any) -> Any:
    if type(value) is dict:
        return {_Key(key): _rekeyed(item) for key, item in value.items()}
    if type(value) is list:
        return [_rekeyed(item) for item in value]
    return value


@pytest.mark.parametrize("vendor", VENDORS)
def test_str_subclass_keys_on_a_learnt_shape_give_the_exact_record(vendor: str) -> None:
    """Chunks keyed by a str subclass match a shape learnt from plain keys (the key tuples compare
    equal) and give the exact path's record: the keys' text, no notes."""
    chunks = [_rekeyed(chunk) for chunk in load(vendor, TEXT_STREAMS[vendor])]
    expected = exact_record(chunks).to_json()
    record_of(load(vendor, TEXT_STREAMS[vendor]))  # learns the shapes from plain keys
    assert all(taken(chunk) is not None for chunk in chunks)
    assert record_of(chunks).to_json() == expected

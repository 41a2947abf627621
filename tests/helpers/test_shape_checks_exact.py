"""The cheaper checks of the learnt chunk shapes stay exact: integers on either side of the one-digit
and the 64-bit bounds, and the extra fields of SDK classes whose dump leaves them out.

The generated takers test an int against the one-digit range first and against the 64-bit bounds only
past it; they read `__pydantic_extra__` only for classes whose pydantic dump writes extras
(`extra="allow"`), as the field-by-field reader does.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from shape_checks import rebuilt
from test_recorder_snapshot import load, record_of, recorder, sdk_objects
from test_stream_shapes import LEARNT, TEXT_STREAMS, read, taken

from tracekit.helpers import _dict_shapes
from tracekit.helpers._snapshot import copy_json, plan_of, sdk_chunk
from tracekit.helpers.sdk import sdk_json

INTS = [0, 1, -1, 2**30 - 1, 2**30, -(2**30) + 1, -(2**30), 2**62, 2**63 - 1, -(2**63)]
"""Integers a chunk may hold exactly: both sides of the one-digit bound and the 64-bit ends."""
OUTSIDE = [2**63, -(2**63) - 1, 2**64, -(2**70)]
"""Integers outside 64 bits: never taken by a shape."""


def _int_fields(obj: Any) -> list[tuple[Any, str]]:
    """(model, field) for every int-valued field in an SDK object tree, the object's own first."""
    found: list[tuple[Any, str]] = []
    for name, value in vars(obj).items():
        if type(value) is int and name in obj.__pydantic_fields_set__:
            found.append((obj, name))
        items = value if isinstance(value, list) else [value]
        for item in items:
            if hasattr(item, "__pydantic_fields__"):
                found.extend(_int_fields(item))
    return found


@pytest.mark.parametrize("value", INTS + OUTSIDE)
def test_sdk_ints_at_the_bounds_are_taken_exactly_or_refused(value: int) -> None:
    """An int field of a learnt SDK chunk set to a value at either bound is taken and rebuilt as
    exactly `sdk_chunk`'s read when it fits 64 bits, and refused by every shape when it does not."""
    checked = 0
    for _vendor, learnt in LEARNT:
        for i in range(len(_int_fields(learnt))):
            obj = copy.deepcopy(learnt)
            container, name = _int_fields(obj)[i]
            container.__dict__[name] = value
            snap = taken(obj)
            if value in OUTSIDE:
                assert snap is None
            else:
                assert snap is not None
                assert repr(rebuilt(snap)) == read(obj)
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("value", INTS + OUTSIDE)
def test_dict_ints_at_the_bounds_are_taken_exactly_or_refused(value: int) -> None:
    """An int of a learnt dict chunk set to a value at either bound is taken and rebuilt as exactly
    `copy_json`'s copy when it fits 64 bits, and refused when it does not."""
    _dict_shapes.forget()
    chunks = load("gemini", TEXT_STREAMS["gemini"])
    record_of(chunks)  # learns the shapes
    chunk = copy.deepcopy(chunks[-1])
    usage = chunk["usageMetadata"]
    ints = [key for key, item in usage.items() if type(item) is int]
    assert len(ints) >= 3
    for key in ints:
        changed = copy.deepcopy(chunk)
        changed["usageMetadata"][key] = value
        snap = _dict_shapes.TIMED[_dict_shapes.DICT_TAKERS[tuple(chunk)][0]](changed, 1.0)
        plain = next(
            (s for take in _dict_shapes.DICT_TAKERS[tuple(chunk)] if (s := take(changed)) is not None), None
        )
        if value in OUTSIDE:
            assert snap is None
            assert plain is None
        else:
            assert snap is not None
            assert plain is not None
            assert repr(snap[0](snap)) == repr(copy_json(changed))
            assert repr(rebuilt(plain)) == repr(copy_json(changed))


def test_genai_extras_set_by_hand_are_left_out_as_its_dump_leaves_them() -> None:
    """A google-genai chunk (its classes forbid extras) given `__pydantic_extra__` by hand is read,
    on the learnt shape and field by field, as its pydantic dump gives it: without them."""
    objects = sdk_objects("gemini", load("gemini", TEXT_STREAMS["gemini"]))
    record_of(objects)  # learns the shapes
    obj = copy.deepcopy(objects[-1])
    assert plan_of(type(obj)) is not None
    assert type(obj).model_config.get("extra") == "forbid"
    before = read(obj)
    obj.__pydantic_extra__ = {"zz_extra": 1}
    obj.candidates[0].__pydantic_extra__ = {"zz_extra": [1, 2]}
    assert read(obj) == before
    assert sdk_chunk(obj) == sdk_json(obj)
    assert "zz_extra" not in repr(sdk_json(obj))
    snap = taken(obj)
    assert snap is not None
    assert repr(rebuilt(snap)) == before


def test_openai_extras_still_refuse_the_learnt_shape() -> None:
    """An openai chunk (extra="allow": its dump writes extras) with an extra field is refused by the
    learnt shape and recorded with the extra, as its dump has it."""
    objects = sdk_objects("openai_chat", load("openai_chat", TEXT_STREAMS["openai_chat"]))
    record_of(objects)
    obj = copy.deepcopy(objects[2])
    assert taken(obj) is not None
    assert obj.__pydantic_extra__ is not None
    obj.__pydantic_extra__["zz_extra"] = "kept"
    assert taken(obj) is None
    assert sdk_chunk(obj) == sdk_json(obj)
    rec = recorder()
    rec.add(obj, 2.0)
    record = rec.finish()
    assert record.chunks is not None
    assert record.chunks[0].raw == sdk_json(obj)
    assert record.chunks[0].raw is not None
    assert record.chunks[0].raw["zz_extra"] == "kept"

"""Enum values on the SDK-chunk fast path (helpers/_shapes.py): a learnt shape reads a member's
`_value_` (what Enum's own `value` property returns) and a class that redefines `value` through
that property, so the rebuilt chunk is always `sdk_chunk`'s read of it."""

from __future__ import annotations

import enum
from typing import Any

from shape_checks import first_taken, rebuilt
from test_recorder_snapshot import load, record_of, recorder, sdk_objects

from tracekit.helpers import _shapes
from tracekit.helpers._snapshot import sdk_chunk


class Shouted(enum.Enum):
    """An enum whose `value` is not its `_value_` (a class may redefine the property)."""

    TEXT = "text"

    @property
    def value(self) -> str:  # type: ignore[override]
        return self._value_.upper()  # type: ignore[no-any-return]


def _modality_holder(obj: Any) -> Any:
    """The usage detail of a gemini chunk that holds a modality enum member."""
    return obj.usage_metadata.prompt_tokens_details[0]


def _taken(obj: Any) -> tuple[Any, ...] | None:
    return first_taken(_shapes.TAKERS.get(type(obj), ()), obj)


def test_gemini_enum_values_are_taken_and_rebuilt_exactly() -> None:
    """Gemini chunks holding google-genai enum members (modality) are taken by a learnt shape and
    rebuilt as exactly `sdk_chunk` reads them: the member's value text."""
    objects = sdk_objects("gemini", load("gemini", "stream_text"))
    record_of(objects)
    holders = [obj for obj in objects if obj.usage_metadata and obj.usage_metadata.prompt_tokens_details]
    assert holders
    for obj in holders:
        snap = _taken(obj)
        assert snap is not None
        assert repr(rebuilt(snap)) == repr(sdk_chunk(obj))
        assert "'modality': 'TEXT'" in repr(rebuilt(snap))


def test_an_enum_redefining_value_is_read_through_it() -> None:
    """A chunk holding a member of an enum class that redefines `value` is taken by the shape learnt
    from it and rebuilt with that property's result ('TEXT'), not the member's `_value_` ('text'),
    and its record equals the exact path's record of the same chunks."""
    objects = sdk_objects("gemini", load("gemini", "stream_text"))
    holders = [obj for obj in objects if obj.usage_metadata and obj.usage_metadata.prompt_tokens_details]
    for obj in holders:
        _modality_holder(obj).__dict__["modality"] = Shouted.TEXT
    expected = repr(sdk_chunk(holders[0]))
    assert "'modality': 'TEXT'" in expected
    first = record_of(objects)  # learns the shapes (their learn check compares with sdk_chunk)
    for obj in holders:
        snap = _taken(obj)
        assert snap is not None
        assert repr(rebuilt(snap)) == repr(sdk_chunk(obj))
    again = recorder()
    for i, obj in enumerate(objects):
        again.add(obj, 2.0 + i)
    assert again.finish() == first

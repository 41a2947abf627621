"""The threshold rule on the read side: from_json / from_dict take a JSON value for a typed scalar field
only as that field's own JSON type. A value of another type ("3" or 3.0 or true for an int, "0.5" or true
for a float, 1 or "true" for a bool, a number for a str) is refused with its field path and value, never
coerced into something to_json then writes otherwise."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any, Literal

import pytest
from hostile import FIELDS, UnregisteredEnv, _base, exact
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | _INT64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["3", "-1", "0.5", "1e3", "true", "false", "yes", "null", 3.0, 0.0, -2.0, 1, 0])
)
_JSON_VALUES = (
    _JSON_SCALARS
    | st.lists(_JSON_SCALARS, max_size=2)
    | st.dictionaries(st.text(max_size=3), _JSON_SCALARS, max_size=2)
)


def _scalar_kind(cls: type, name: str) -> type | None:
    """int, float, bool or str when the field holds that scalar (Optional, Annotated or a Literal of
    str around it); None for every other field (records, lists, free-form JSON, datetimes)."""
    hint = typing.get_type_hints(cls, include_extras=True)[name]
    while True:
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is typing.Annotated:
            hint = args[0]
        elif origin in (typing.Union, types.UnionType) and len(args) == 2 and type(None) in args:
            hint = next(arg for arg in args if arg is not type(None))
        elif origin is Literal and all(type(arg) is str for arg in args):
            return str
        else:
            break
    return hint if hint in (int, float, bool, str) else None


_SCALAR_FIELDS = [
    (cls, name, kind)
    for cls, name in FIELDS
    if cls is not UnregisteredEnv  # refused by to_dict itself (test_threshold.py pins why)
    and (kind := _scalar_kind(cls, name)) is not None
]


def test_the_scalar_fields_cover_every_kind() -> None:
    """The property below reaches int, float, bool and str fields (the hint reading is not vacuous)."""
    kinds = {kind for _cls, _name, kind in _SCALAR_FIELDS}
    assert kinds == {int, float, bool, str}
    assert (tk.LLMUsage, "input_tokens", int) in _SCALAR_FIELDS
    assert (tk.LLMRequestParams, "json_mode", bool) in _SCALAR_FIELDS
    assert len(_SCALAR_FIELDS) > 60


def _same_json_type(value: Any, kind: type) -> bool:
    """Whether JSON `value` is of the field's own type (an integer counts as a number for a float field)."""
    if kind is bool:
        return type(value) is bool
    if kind is int:
        return type(value) is int
    if kind is float:
        return type(value) in (int, float)
    return type(value) is str


def _verdict(read: Any, cls: type, data: Any) -> tuple[Any, tk.InvalidDataError | None]:
    try:
        return read(cls, data), None
    except tk.InvalidDataError as exc:
        return None, exc


@settings(derandomize=True, max_examples=1500, deadline=None)
@given(st.sampled_from(_SCALAR_FIELDS), _JSON_VALUES)
def test_a_scalar_field_takes_only_its_own_json_type(field: tuple[type, str, type], value: Any) -> None:
    """Any JSON value in any int/float/bool/str field of a valid record's dict: from_dict and from_json
    either hold exactly that value (an integer in a float field as the equal float), or refuse it
    naming that field and the value; a value of another JSON type is always refused."""
    cls, name, kind = field
    data = codec.to_dict(_base(cls))
    data[name] = value
    text = json.dumps(data)
    for read, given_data in ((codec.from_dict, data), (codec.from_json, text)):
        obj, refusal = _verdict(read, cls, given_data)
        if refusal is None:
            assert value is None or _same_json_type(value, kind), (cls.__name__, name, value)
            assert exact(value, getattr(obj, name)), (cls.__name__, name, value, getattr(obj, name))
            assert exact(obj, type(obj).from_json(obj.to_json()))
        else:
            assert any(p.path.split(".")[0] == name for p in refusal.problems), (name, refusal)
            if not (value is None or _same_json_type(value, kind)):
                assert any(p.value == value and type(p.value) is type(value) for p in refusal.problems)


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (tk.LLMUsage, "input_tokens", "3"),
        (tk.LLMUsage, "input_tokens", 3.0),
        (tk.LLMUsage, "input_tokens", True),
        (tk.LLMUsage, "cost_usd", "0.5"),
        (tk.LLMUsage, "cost_usd", False),
        (tk.LLMRequestParams, "json_mode", 1),
        (tk.LLMRequestParams, "json_mode", "true"),
        (tk.LLMCallRecord, "model_name", 4),
        (tk.TimeRecord, "message_time", "7"),
    ],
)
def test_coercions_pydantic_would_make_are_refused(cls: type, name: str, value: Any) -> None:
    """The cases lax validation used to coerce (found reading "3" into an int field) are refused by
    both readers, with the field path and the value as given."""
    data = codec.to_dict(_base(cls))
    data[name] = value
    for read, given_data in ((codec.from_dict, data), (codec.from_json, json.dumps(data))):
        with pytest.raises(tk.InvalidDataError) as info:
            read(cls, given_data)
        (problem,) = info.value.problems
        assert problem.path == name
        assert problem.value == value
        assert type(problem.value) is type(value)


def test_a_json_integer_in_a_float_field_still_reads_as_the_equal_float() -> None:
    """JSON has one number type: 3 in a float field is the float 3.0 (what to_json writes for it)."""
    usage = tk.LLMUsage.from_json('{"cost_usd": 3}')
    assert usage.cost_usd == 3.0
    assert type(usage.cost_usd) is float
    assert dataclasses.replace(usage) == tk.LLMUsage.from_json(usage.to_json())

"""The fold's structure plans (tracing/sse_fold.py): a compiled plan accepts exactly the data of its
structure and builds what the plan's walk builds; key order and ints made floats follow the dump."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracekit.tracing import sse_fold

SETTINGS = settings(
    derandomize=True, max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.integers(2**53 - 2, 2**53 + 2),
    st.integers(10**308, 10**309),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["a", "b", "message", "text"]),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["type", "role", "x", "y", "z"]), inner, max_size=4),
    ),
    max_leaves=12,
)
OBJECTS = st.dictionaries(st.sampled_from(["type", "id", "x", "y"]), JSON, max_size=4)


def _dumped(value: Any) -> Any:
    """A stand-in for an SDK dump: every dict's keys reversed, whole ints made floats."""
    if type(value) is dict:
        return {key: _dumped(value[key]) for key in reversed(list(value))}
    if type(value) is list:
        return [_dumped(item) for item in value]
    if type(value) is int and abs(value) < 2**53:
        return float(value)
    return value


def _same_structure_other_values(value: Any) -> Any:
    """`value` with each leaf changed to another of the same structure mark (discriminators kept)."""
    if type(value) is dict:
        return {
            key: item if key in ("type", "role") and type(item) is str else _same_structure_other_values(item)
            for key, item in value.items()
        }
    if type(value) is list:
        return [_same_structure_other_values(item) for item in value]
    if type(value) is str:
        return value + "!"
    if type(value) is float and not value.is_integer():
        return value / 3 if value / 3 != int(value / 3) else value
    return value


CANDIDATES = (None, True, 0, 1, 5, 2**53 + 1, 10**400, 0.0, -0.0, 0.5, "s", "message", [], {})
"""A leaf of each structure mark (a value beyond a float's range, whole and fractional floats...)."""


def _near_misses(value: Any) -> list[Any]:
    """Copies of `value` with one leaf (or one empty container) replaced by each candidate."""
    if type(value) is dict:
        return [{**value, key: changed} for key, item in value.items() for changed in _near_misses(item)]
    if type(value) is list and value:
        return [
            [*value[:i], changed, *value[i + 1 :]]
            for i, item in enumerate(value)
            for changed in _near_misses(item)
        ]
    return [candidate for candidate in CANDIDATES if json.dumps(candidate) != json.dumps(value)]


@SETTINGS
@given(a=OBJECTS, b=OBJECTS)
def test_a_compiled_plan_accepts_exactly_its_structure(a: dict[str, Any], b: dict[str, Any]) -> None:
    """The compiled identity plan of `a`'s structure returns `b` itself when `b` has that structure
    (same keys in order, leaf types and marks, discriminators) and None otherwise."""
    matched = sse_fold._compile(sse_fold._signature(a), None)
    assert matched is not None
    for other in (b, json.loads(json.dumps(a)), _same_structure_other_values(a), *_near_misses(a)):
        result = matched(other)
        assert (result is not None) == (sse_fold._signature(other) == sse_fold._signature(a))
        if result is not None:
            assert result is other


@SETTINGS
@given(a=OBJECTS)
def test_a_learnt_plan_rebuilds_the_dump(a: dict[str, Any]) -> None:
    """The plan learnt from data and its dump rebuilds the dump exactly (order, 1 against 1.0),
    walked or compiled, and the compiled plan does the same for other data of the structure."""
    plan = sse_fold._learn(a, _dumped(a))
    matched = sse_fold._compile(sse_fold._signature(a), plan)
    assert matched is not None
    for data in (a, _same_structure_other_values(a)):
        expected = json.dumps(_dumped(data))
        assert json.dumps(sse_fold._apply(plan, data)) == expected
        assert json.dumps(matched(data)) == expected


def test_one_and_one_point_zero_are_two_structures() -> None:
    """1, 1.0 and True are equal in Python but mark different structures (their parse differs)."""
    signatures = {sse_fold._signature({"x": v}) for v in (1, 1.0, True, 0, 0.0, False, 2, 2.5, 2**60 + 1)}
    assert len(signatures) == 7  # whole floats share a mark; ints beyond a float's precision differ

"""Rewards and experiment links carried in session_metadata: read exactly, or refused naming the field."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracekit.errors import InvalidDataError
from tracekit.tracing.carried import EXPERIMENT_INFO_KEY, EXPERIMENT_KEY, REWARD_KEY, carried

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _valid(name: str, value: Any, kind: Any) -> bool:
    """The rule each field of a carried reward follows (what SessionTracer.record_reward writes)."""
    optional_int = value is None or (isinstance(value, int) and not isinstance(value, bool))
    if name == "kind":
        return value in ("outcome", "event")
    if name == "reward_key":
        return isinstance(value, str) and value != ""
    if name == "value":
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if name == "metadata":
        return isinstance(value, dict)
    if name == "achievements_count":
        return kind != "outcome" or optional_int
    if name == "event_index":
        return kind != "event" or optional_int
    return kind != "event" or value is None or isinstance(value, str)  # reward_type, key


FIELDS = [
    "kind",
    "reward_key",
    "value",
    "metadata",
    "achievements_count",
    "event_index",
    "reward_type",
    "key",
]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(kind=st.sampled_from(["outcome", "event"]), name=st.sampled_from(FIELDS), value=ANY)
def test_one_wrong_field_is_refused_naming_its_path(kind: str, name: str, value: Any) -> None:
    """One field set to an arbitrary value: the reward is read as is when valid, else refused at its path."""
    reward: dict[str, Any] = {"reward_key": "r-1", "kind": kind, "value": 1.0, "metadata": {}}
    reward[name] = value
    entries = [{"other": True}, {REWARD_KEY: reward}]
    effective_kind = reward["kind"]
    if _valid(name, value, effective_kind):
        assert carried(entries).rewards == (reward,)
        return
    with pytest.raises(InvalidDataError) as caught:
        carried(entries)
    assert [p.path for p in caught.value.problems] == [f"session_metadata[1].{REWARD_KEY}.{name}"]


@settings(max_examples=100, derandomize=True, deadline=None)
@given(value=ANY)
def test_experiment_and_whole_reward_of_any_type(value: Any) -> None:
    """A non-string experiment id or a non-object reward is refused at its path; strings link."""
    if isinstance(value, str):
        assert carried([{EXPERIMENT_KEY: value}]).experiments == (value,)
    else:
        with pytest.raises(InvalidDataError) as caught:
            carried([{EXPERIMENT_KEY: value}])
        assert caught.value.problems[0].path == f"session_metadata[0].{EXPERIMENT_KEY}"
    if not isinstance(value, dict):
        with pytest.raises(InvalidDataError) as caught:
            carried([{REWARD_KEY: value}])
        assert caught.value.problems[0].path == f"session_metadata[0].{REWARD_KEY}"


@settings(max_examples=200, derandomize=True, deadline=None)
@given(name=st.sampled_from(["name", "description", "metadata"]), value=ANY)
def test_one_wrong_experiment_detail_is_refused_naming_its_path(name: str, value: Any) -> None:
    """An experiment's carried details are read as is when each field is valid, else refused at its path."""
    details: dict[str, Any] = {"name": "baseline", "description": None, "metadata": {}}
    details[name] = value
    entries = [{EXPERIMENT_KEY: "exp-1", EXPERIMENT_INFO_KEY: details}]
    valid = {
        "name": isinstance(value, str) and value != "",
        "description": value is None or isinstance(value, str),
        "metadata": isinstance(value, dict),
    }[name]
    if valid:
        found = carried(entries)
        assert (found.experiments, found.experiment_info) == (("exp-1",), (("exp-1", details),))
        return
    with pytest.raises(InvalidDataError) as caught:
        carried(entries)
    assert [p.path for p in caught.value.problems] == [f"session_metadata[0].{EXPERIMENT_INFO_KEY}.{name}"]


def test_experiment_details_that_are_not_an_object_are_refused() -> None:
    """Details given as a non-object are refused at their own path; details are optional."""
    with pytest.raises(InvalidDataError) as caught:
        carried([{EXPERIMENT_KEY: "exp-1", EXPERIMENT_INFO_KEY: "baseline"}])
    assert [p.path for p in caught.value.problems] == [f"session_metadata[0].{EXPERIMENT_INFO_KEY}"]
    assert carried([{EXPERIMENT_KEY: "exp-1"}]).experiment_info == ()


def test_entries_without_the_keys_carry_nothing() -> None:
    """Plain session_metadata entries (and None) carry no rewards and no links."""
    assert carried(None).rewards == ()
    assert carried([{"step": 1}, {"tracekit_rewardx": 1}]).experiments == ()

"""Rewards and experiment links carried in session_metadata: read exactly, or refused naming the field."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.errors import InvalidArgumentError, InvalidDataError
from tracekit.store.carried import EXPERIMENT_INFO_KEY, EXPERIMENT_KEY, REWARD_KEY, carried

ANY = st.one_of(
    st.none(),
    st.sampled_from(["\ud83d", "ok \udc00", 10**400, 2**1024 - 1, 2**63, -(2**63) - 1]),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _valid(name: str, value: Any, kind: Any) -> bool:
    """The rule each field of a carried reward follows (what SessionTracer.record_reward writes)."""
    optional_int = value is None or (
        isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    )
    if name == "kind":
        return value in ("outcome", "event")
    if name == "reward_key":
        return _text(value) and value != ""
    if name == "value":
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return math.isfinite(float(value))  # a float holds it
            except OverflowError:
                return False
        return isinstance(value, float) and math.isfinite(value)
    if name == "metadata":
        return isinstance(value, dict)
    if name == "achievements_count":
        return kind != "outcome" or optional_int
    if name == "event_index":
        return kind != "event" or optional_int
    return kind != "event" or value is None or _text(value)  # reward_type, key


def _text(value: Any) -> bool:
    """A str with no lone surrogate (the store's text columns hold valid Unicode only)."""
    return isinstance(value, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


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
    if _text(value):
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
        "name": _text(value) and value != "",
        "description": value is None or _text(value),
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


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"value": 10**400}, "reward value must be a finite number"),
        ({"value": 1.0, "achievements_count": 2**63}, "record_reward.achievements_count: must be an int"),
        ({"value": 1.0, "event": 0, "key": "\ud83d"}, "record_reward.key: must be a string of valid Unicode"),
    ],
)
def test_record_reward_refuses_what_the_store_could_not_hold(kwargs: dict[str, Any], needle: str) -> None:
    """record_reward refuses at once, naming the field, a reward the save would have to refuse."""
    tracer = tk.SessionTracer()
    with tracer.session() as trace:
        tracer.record_event(tk.EnvironmentEvent(system_instance_id="env"))
        with pytest.raises(InvalidArgumentError, match=re.escape(needle)):
            tracer.record_reward(**kwargs)
    assert [m for m in trace.session_metadata or [] if REWARD_KEY in m] == []


def test_an_experiment_id_with_a_lone_surrogate_is_refused_at_session() -> None:
    """session(experiment_id=...) refuses an id the store's text column cannot hold."""
    with pytest.raises(InvalidArgumentError, match="lone UTF-16 surrogate"):
        tk.SessionTracer().session(experiment_id="exp-\ud83d")

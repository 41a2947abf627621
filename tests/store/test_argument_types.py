"""Experiment and reward arguments keep the threshold rule: stored equal, or refused before writing."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store.sync import SyncTursoManager


class _Kind(enum.StrEnum):
    BASELINE = "baseline"


_WRONG_TEXT = (
    st.integers()
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.binary(max_size=3)
    | st.lists(st.text(max_size=2), max_size=2)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=2)
)
_WRONG_COUNT = (
    st.integers(min_value=2**63, max_value=2**80)
    | st.integers(max_value=-(2**63) - 1, min_value=-(2**80))
    | st.floats()
    | st.booleans()
    | st.text(max_size=3)
    | st.just([1])
)
_SETTINGS = settings(
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _counts(db: SyncTursoManager) -> tuple[int, int, int]:
    row = db.execute(
        "SELECT (SELECT count(*) FROM experiments) AS e, (SELECT count(*) FROM outcome_rewards) AS o, "
        "(SELECT count(*) FROM event_rewards) AS v"
    )[0]
    return row["e"], row["o"], row["v"]


@pytest.fixture(scope="module")
def db() -> Any:
    with SyncTursoManager(":memory:") as manager:
        manager.save_session(make_trace("s", steps=1))
        yield manager


@_SETTINGS
@given(argument=st.sampled_from(["name", "description", "experiment_id"]), value=_WRONG_TEXT)
def test_experiment_text_of_another_type_is_refused_before_writing(
    db: SyncTursoManager, argument: str, value: Any
) -> None:
    """A non-text name, description or id is refused with its path and value; no row is written."""
    before = _counts(db)
    kwargs: dict[str, Any] = {"name": "exp", argument: value}
    name = kwargs.pop("name")
    with pytest.raises(tk.SerializationError) as caught:
        db.create_experiment(name, **kwargs)
    assert caught.value.path == argument
    assert caught.value.value is value
    assert _counts(db) == before


@_SETTINGS
@given(argument=st.sampled_from(["achievements_count", "event_index"]), value=_WRONG_COUNT)
def test_reward_counts_of_another_type_or_beyond_64_bits_are_refused(
    db: SyncTursoManager, argument: str, value: Any
) -> None:
    """A count that is not a 64-bit int is refused with its path; no reward row is written."""
    before = _counts(db)
    add = db.add_outcome_reward if argument == "achievements_count" else db.add_event_reward
    with pytest.raises(tk.SerializationError) as caught:
        add("s", 1.0, **{argument: value})
    assert caught.value.path == argument
    assert _counts(db) == before


@_SETTINGS
@given(argument=st.sampled_from(["reward_type", "key"]), value=_WRONG_TEXT)
def test_event_reward_text_of_another_type_is_refused(
    db: SyncTursoManager, argument: str, value: Any
) -> None:
    """A non-text reward_type or key is refused with its path; no reward row is written."""
    before = _counts(db)
    with pytest.raises(tk.SerializationError) as caught:
        db.add_event_reward("s", 1.0, **{argument: value})
    assert caught.value.path == argument
    assert _counts(db) == before


def test_accepted_arguments_read_back_equal(db: SyncTursoManager) -> None:
    """Text (an enum member's included), 64-bit extremes and None are stored and read back equal."""
    experiment_id = db.create_experiment(_Kind.BASELINE, experiment_id="exp-ids", description=None)
    [stored] = [e for e in db.list_experiments() if e["experiment_id"] == experiment_id]
    assert stored["name"] == "baseline"
    assert type(stored["name"]) is str
    assert stored["description"] is None
    db.add_outcome_reward("s", 2.5, achievements_count=2**63 - 1)
    db.add_event_reward("s", 0.5, event_index=-(2**63), reward_type=_Kind.BASELINE, key="k")
    rewards = db.get_rewards("s")
    assert rewards["outcome"][-1]["achievements_count"] == 2**63 - 1
    assert rewards["event"][-1]["event_index"] == -(2**63)
    assert rewards["event"][-1]["reward_type"] == "baseline"
    assert rewards["event"][-1]["key"] == "k"


def test_create_experiment_with_a_number_for_a_name_names_the_fix() -> None:
    """create_experiment(123) used to store the name "123"; now the error says to pass a str."""
    with SyncTursoManager(":memory:") as manager, pytest.raises(tk.SerializationError) as caught:
        manager.create_experiment(123)  # type: ignore[arg-type]
    assert str(caught.value) == "name must be text, got int 123; pass a str"

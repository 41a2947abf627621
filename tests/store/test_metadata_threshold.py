"""Experiment and reward arguments and metadata keep the threshold rule: stored equal, or refused
before writing."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store.sync import SyncTursoManager

_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**80)
    | st.floats()  # NaN and the infinities included: refused
    | st.text(max_size=8)
    | st.tuples(st.integers())  # would read back as a list: refused
    | st.frozensets(st.integers(), max_size=2)
    | st.binary(max_size=3)
    | st.just(datetime(2026, 1, 1, tzinfo=UTC))
)
_keys = st.text(max_size=4) | st.integers() | st.none()
_metadata = st.dictionaries(
    _keys,
    st.recursive(
        _leaf,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
        max_leaves=8,
    ),
    max_size=3,
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


@settings(
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(_metadata)
def test_metadata_reads_back_equal_or_is_refused_before_writing(db: SyncTursoManager, metadata: Any) -> None:
    """Metadata of experiments, outcome and event rewards reads back equal, or raises SerializationError
    (and nothing is written) for NaN, infinities, tuples, sets, bytes, datetimes and non-str keys."""
    before = _counts(db)
    refusal: tk.SerializationError | None = None
    try:
        experiment_id = db.create_experiment("e", metadata=metadata)
    except tk.SerializationError as exc:
        refusal = exc
    if refusal is not None:
        assert str(refusal.path).startswith("metadata")
        for add in (
            lambda: db.add_outcome_reward("s", 1.0, metadata=metadata),
            lambda: db.add_event_reward("s", 0.5, event_index=0, metadata=metadata),
        ):
            with pytest.raises(tk.SerializationError):
                add()
        assert _counts(db) == before
        return
    db.add_outcome_reward("s", 1.0, metadata=metadata)
    db.add_event_reward("s", 0.5, event_index=0, metadata=metadata)
    stored = next(e for e in db.list_experiments() if e["experiment_id"] == experiment_id)
    rewards = db.get_rewards("s")
    assert stored["metadata"] == metadata
    assert rewards["outcome"][-1]["metadata"] == metadata
    assert rewards["event"][-1]["metadata"] == metadata
    assert _counts(db) == (before[0] + 1, before[1] + 1, before[2] + 1)


@pytest.mark.parametrize(
    ("metadata", "path", "words"),
    [
        ({"lr": float("nan")}, "metadata.lr", "non-finite float nan"),
        ({"a": {"b": [1, float("inf")]}}, "metadata.a.b[1]", "non-finite float inf"),
        ({"shape": (1, 2)}, "metadata.shape", "tuple (1, 2) would not read back equal"),
        ({"tags": {"x"}}, "metadata.tags", "set {'x'} would not read back equal"),
        ({"by": {1: "one"}}, "metadata.by", "key 1 is a int"),
        ([("k", 1)], "metadata", "expected a dict, got list"),
    ],
)
def test_a_refusal_names_the_path_the_value_and_the_fix(
    db: SyncTursoManager, metadata: Any, path: str, words: str
) -> None:
    """The refusal is a SerializationError naming the field path, the bad value and what to do."""
    with pytest.raises(tk.SerializationError) as caught:
        db.create_experiment("e", metadata=metadata)
    assert caught.value.path == path
    assert words in str(caught.value)
    assert "; " in str(caught.value)


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
_CALLS: dict[str, Callable[[SyncTursoManager, Any], Any]] = {
    "name": lambda db, v: db.create_experiment(v),
    "description": lambda db, v: db.create_experiment("e", description=v),
    "experiment_id": lambda db, v: db.create_experiment("e", experiment_id=v),
    "achievements_count": lambda db, v: db.add_outcome_reward("s", 1.0, achievements_count=v),
    "event_index": lambda db, v: db.add_event_reward("s", 1.0, event_index=v),
    "reward_type": lambda db, v: db.add_event_reward("s", 1.0, reward_type=v),
    "key": lambda db, v: db.add_event_reward("s", 1.0, key=v),
}
"""One call per checked argument, passing the value under test to it alone."""
_COUNTS = ("achievements_count", "event_index")


@settings(
    derandomize=True,
    deadline=None,
    max_examples=80,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), argument=st.sampled_from(sorted(_CALLS)))
def test_an_argument_of_another_type_is_refused_before_writing(
    db: SyncTursoManager, data: st.DataObject, argument: str
) -> None:
    """A name, id, description, reward type or key that is not text, or a count that is not a 64-bit
    int, is refused with its argument's name and value; no row is written."""
    value = data.draw(_WRONG_COUNT if argument in _COUNTS else _WRONG_TEXT)
    before = _counts(db)
    with pytest.raises(tk.SerializationError) as caught:
        _CALLS[argument](db, value)
    assert caught.value.path == argument
    assert caught.value.value is value
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


def test_create_experiment_with_a_number_for_a_name_names_the_fix(db: SyncTursoManager) -> None:
    """create_experiment(123) used to store the name "123"; now the error says to pass a str."""
    with pytest.raises(tk.SerializationError) as caught:
        db.create_experiment(123)  # type: ignore[arg-type]
    assert str(caught.value) == "name must be text, got int 123; pass a str"

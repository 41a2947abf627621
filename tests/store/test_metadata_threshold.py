"""Experiment and reward metadata keep the threshold rule: stored equal, or refused before writing."""

from __future__ import annotations

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

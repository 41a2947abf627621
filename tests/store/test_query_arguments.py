"""The threshold rule on the store's query side: filters and looked-up ids of the wrong type or
holding what no stored text holds are refused at once with an InvalidArgumentError naming the
argument; valid ones run and answer."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hostile import EXTREMES, HOSTILE
from hypothesis import given, settings
from hypothesis import strategies as st
from store.storebuilders import make_trace

from tracekit.errors import InvalidArgumentError, NotFoundError, TracekitError
from tracekit.store import SessionFilter
from tracekit.store.sync import SyncTursoManager

SURROGATE = "id-\ud800"


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int) or _is_text(value)


def _valid(name: str, value: Any) -> bool:
    """The oracle: whether `value` is a value of filter `name` (spelled out independently)."""
    if value is None:
        return True
    if name in ("created_after", "created_before"):
        return isinstance(value, datetime) and value.utcoffset() is not None
    if name in ("experiment_id", "model"):
        return _is_text(value)
    if name == "metadata":
        return isinstance(value, Mapping) and all(_is_text(k) and _is_scalar(v) for k, v in value.items())
    if name == "min_reward":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        try:
            return math.isfinite(float(value))
        except OverflowError:
            return False
    if name == "has_error":
        return isinstance(value, bool)
    if name == "session_ids":
        return isinstance(value, list | tuple | set) and all(_is_text(item) for item in value)
    raise AssertionError(name)


FILTERS = ("created_after", "created_before", "experiment_id", "model", "metadata", "min_reward", "has_error")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncTursoManager]:
    """A file: store holding one session (module-scoped: hypothesis examples share it)."""
    root: Path = tmp_path_factory.mktemp("arguments")
    with SyncTursoManager(f"file:{root / 'traces.db'}", spool_path=root / "spool.jsonl") as manager:
        manager.save_session(make_trace("kept", steps=2))
        yield manager


@settings(derandomize=True, deadline=None, max_examples=200)
@given(name=st.sampled_from((*FILTERS, "session_ids")), value=HOSTILE)
def test_filters_answer_or_refuse_naming_the_argument(db: SyncTursoManager, name: str, value: Any) -> None:
    """list_sessions and aggregate answer for a valid filter value and refuse any other at once
    with an InvalidArgumentError that names the filter."""
    calls = [db.aggregate] if name == "session_ids" else [db.list_sessions, db.aggregate]
    for call in calls:
        if _valid(name, value):
            call(**{name: value})
            continue
        with pytest.raises(InvalidArgumentError) as refused:
            call(**{name: value})
        assert name in str(refused.value)


@settings(derandomize=True, deadline=None, max_examples=100)
@given(value=HOSTILE)
def test_looked_up_ids_answer_or_refuse(db: SyncTursoManager, value: Any) -> None:
    """Every method taking a session id refuses a non-text id (or one with a lone surrogate) with
    an InvalidArgumentError naming session_id; a text id is looked up (unknown: empty or not found)."""
    experiment = db.create_experiment("arguments")
    calls = {
        "delete_session": lambda: db.delete_session(value),
        "session_experiments": lambda: db.session_experiments(value),
        "get_rewards": lambda: db.get_rewards(value),
        "conversation_metrics": lambda: db.conversation_metrics(value),
        "link_session": lambda: db.link_session(experiment, value),
        "add_outcome_reward": lambda: db.add_outcome_reward(value, 1.0),
        "iter_call_records": lambda: list(db.iter_call_records(session_id=value)),
    }
    for method, call in calls.items():
        if value is not None and _is_text(value):
            with contextlib.suppress(NotFoundError):
                call()
            continue
        if value is None and method == "iter_call_records":
            call()  # no session filter: every record
            continue
        with pytest.raises(InvalidArgumentError, match="session_id") as refused:
            call()
        assert isinstance(refused.value, TracekitError), method


def test_a_single_id_is_not_split_into_characters(db: SyncTursoManager) -> None:
    """session_ids="kept" is refused with the fix (a list of one), not read as ids "k", "e", ..."""
    with pytest.raises(InvalidArgumentError, match=r"pass \['kept'\] for a single id"):
        db.aggregate(session_ids="kept")
    assert db.aggregate(session_ids=["kept"]).total.call_count == db.aggregate().total.call_count > 0


def test_filter_values_keep_their_meaning(db: SyncTursoManager) -> None:
    """Valid filters still select: a generator of ids works, an aware non-UTC bound compares as its
    UTC instant, and a str subclass compares as its text."""

    class Model(str):
        pass

    stored = db.list_sessions().sessions[0]
    ahead = timezone(timedelta(hours=5))
    assert SessionFilter(session_ids=(s for s in ["kept"])).session_ids == ("kept",)
    assert [
        s.session_id for s in db.list_sessions(created_after=stored.created_at.astimezone(ahead)).sessions
    ] == ["kept"]
    assert db.list_sessions(model=Model("no-such-model")).sessions == []
    assert db.list_sessions(experiment_id=SURROGATE[:-1]).sessions == []


METHODS: dict[str, Callable[[SyncTursoManager, Any], object]] = {
    "save_session": lambda db, v: db.save_session(v),
    "save_sessions": lambda db, v: db.save_sessions(v),
    "save_sessions([v])": lambda db, v: db.save_sessions([v]),
    "get_session": lambda db, v: db.get_session(v),
    "list_sessions(limit)": lambda db, v: db.list_sessions(limit=v),
    "list_sessions(after)": lambda db, v: db.list_sessions(after=v),
    "iter_call_records(page_size)": lambda db, v: list(db.iter_call_records(page_size=v)),
    "aggregate(by)": lambda db, v: db.aggregate(v),
    "execute(sql)": lambda db, v: db.execute(v),
    "execute(params)": lambda db, v: db.execute("SELECT ?", [v]),
    "create_experiment(metadata)": lambda db, v: db.create_experiment("n", metadata=v),
    "add_outcome_reward(total_reward)": lambda db, v: db.add_outcome_reward("kept", v),
    "add_event_reward(event_index)": lambda db, v: db.add_event_reward("kept", 1.0, event_index=v),
}


@pytest.mark.parametrize("name", sorted(METHODS))
def test_store_methods_answer_or_refuse_each_extreme_value(db: SyncTursoManager, name: str) -> None:
    """Each store method, given each catalogued extreme value, answers or raises a TracekitError
    (save_sessions(5), list_sessions(after=5), aggregate(by=[]) and page_size="3" leaked
    TypeError, AttributeError or IndexError)."""
    for value in EXTREMES:
        with contextlib.suppress(TracekitError):
            METHODS[name](db, value)
    assert [s.session_id for s in db.list_sessions().sessions][:1] == ["kept"]

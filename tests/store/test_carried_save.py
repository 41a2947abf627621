"""save_session stores the rewards and experiment links a trace carries, in the trace's own atomic batch."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.errors import NotFoundError, SerializationError, StoreError
from tracekit.store import TursoManager
from tracekit.store.carried import EXPERIMENT_INFO_KEY, EXPERIMENT_KEY, REWARD_KEY, STORED_KEY


def _carrying(session_id: str, *entries: dict[str, Any]) -> tk.SessionTrace:
    """A small stored-shape trace whose session_metadata holds `entries` after one plain entry."""
    trace = make_trace(session_id, steps=2)
    trace.session_metadata = [{"note": "kept as is"}, *entries]
    return trace


OUTCOME = {
    REWARD_KEY: {
        "reward_key": "r-out",
        "kind": "outcome",
        "value": 1.5,
        "achievements_count": 3,
        "metadata": {"judge": "exact"},
    }
}
EVENT = {
    REWARD_KEY: {
        "reward_key": "r-ev",
        "kind": "event",
        "value": -2,
        "event_index": 1,
        "reward_type": "penalty",
        "key": "late",
        "metadata": {},
    }
}
LINK = {
    EXPERIMENT_KEY: "exp-1",
    EXPERIMENT_INFO_KEY: {"name": "baseline", "description": "first run", "metadata": {"lr": 0.1}},
}


def _plain(rewards: dict[str, list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The stored rewards as comparable tuples, without the ids and times the store assigns."""
    outcome = [(r["total_reward"], r["achievements_count"], r["metadata"]) for r in rewards["outcome"]]
    fields = ("reward_value", "event_index", "reward_type", "key", "metadata")
    event = [tuple(r[f] for f in fields) for r in rewards["event"]]
    return outcome + event


async def test_carried_rewards_and_link_are_stored_with_the_trace_once(store: TursoManager) -> None:
    """Both rewards and the experiment (with details) are there after one save; a re-save adds none."""
    trace = _carrying("carry", OUTCOME, EVENT, LINK)
    for _ in range(2):
        await store.save_session(trace)
        assert _plain(await store.get_rewards("carry")) == [
            (1.5, 3, {"judge": "exact", STORED_KEY: "r-out"}),
            (-2.0, 1, "penalty", "late", {STORED_KEY: "r-ev"}),
        ]
    assert await store.get_session("carry") == trace
    assert await store.session_experiments("carry") == [
        {"experiment_id": "exp-1", "name": "baseline", "description": "first run", "metadata": {"lr": 0.1}}
    ]
    assert [s.session_id for s in (await store.list_sessions(min_reward=1.5)).sessions] == ["carry"]
    assert [s.session_id for s in (await store.list_sessions(experiment_id="exp-1")).sessions] == ["carry"]


async def test_an_existing_experiment_keeps_its_details_and_a_bare_link_names_it_by_id(
    store: TursoManager,
) -> None:
    """A link to an experiment the store has keeps that experiment as it is; a link without details
    to a missing one creates it named by its id."""
    await store.create_experiment("mine", experiment_id="exp-1", description="made first")
    await store.save_sessions([_carrying("a", LINK), _carrying("b", {EXPERIMENT_KEY: "exp-2"})])
    assert [(e["experiment_id"], e["name"], e["description"]) for e in await store.list_experiments()] == [
        ("exp-1", "mine", "made first"),
        ("exp-2", "exp-2", None),
    ]


@pytest.mark.parametrize(
    ("entry", "path"),
    [
        ({REWARD_KEY: {**OUTCOME[REWARD_KEY], "value": float("inf")}}, "tracekit_reward.value"),
        (
            {REWARD_KEY: {**OUTCOME[REWARD_KEY], "achievements_count": 2**63}},
            "tracekit_reward.achievements_count",
        ),
        ({REWARD_KEY: {**OUTCOME[REWARD_KEY], "value": 10**400}}, "tracekit_reward.value"),
        ({REWARD_KEY: {**EVENT[REWARD_KEY], "key": "\ud83d"}}, "tracekit_reward.key"),
        ({EXPERIMENT_KEY: 7}, "tracekit_experiment"),
        ({EXPERIMENT_KEY: "exp-1", EXPERIMENT_INFO_KEY: {"name": ""}}, "tracekit_experiment_info.name"),
    ],
)
async def test_a_malformed_carried_entry_refuses_the_save_naming_its_path(
    store: TursoManager, entry: dict[str, Any], path: str
) -> None:
    """A carried entry the store cannot hold refuses the whole save with its path; nothing is written."""
    with pytest.raises(SerializationError) as caught:
        await store.save_session(_carrying("bad", entry))
    assert caught.value.path == f"session_metadata.1.{path}"
    with pytest.raises(NotFoundError):
        await store.get_session("bad")


async def test_a_reward_the_database_refuses_leaves_no_trace_either(tmp_path: Path) -> None:
    """When the reward INSERT fails inside the batch, the session's rows are rolled back with it."""
    url = f"file:{tmp_path / 't.db'}"
    async with TursoManager(url) as db:
        await db.save_session(_carrying("first"))
    with sqlite3.connect(tmp_path / "t.db") as conn:  # a real failure inside the transaction
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON outcome_rewards BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    async with TursoManager(url) as db:
        with pytest.raises(StoreError, match="refused"):
            await db.save_session(_carrying("second", OUTCOME))
        with pytest.raises(NotFoundError):
            await db.get_session("second")
        assert [s.session_id for s in (await db.list_sessions()).sessions] == ["first"]


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda db: db.add_outcome_reward("s", 10**400), "total_reward"),
        (lambda db: db.add_event_reward("s", 2**1024 - 1), "reward_value"),
        (lambda db: db.add_event_reward("s", 1.0, key="\ud83d"), "key"),
        (lambda db: db.add_event_reward("s", 1.0, reward_type="a\udc00"), "reward_type"),
        (lambda db: db.create_experiment("\ud83d"), "name"),
    ],
)
async def test_side_table_values_a_column_cannot_hold_are_refused(
    store: TursoManager, call: Any, path: str
) -> None:
    """An int past float's range or a lone surrogate raises SerializationError naming the argument."""
    await store.save_session(tk.SessionTrace(session_id="s"))
    with pytest.raises(SerializationError) as caught:
        await call(store)
    assert caught.value.path == path
    assert await store.get_rewards("s") == {"outcome": [], "event": []}
    assert await store.list_experiments() == []

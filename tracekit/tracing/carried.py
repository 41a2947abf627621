"""What a trace carries for the store's side tables: rewards and an experiment link.

The tracer keeps a session's rewards and experiment link inside `session_metadata`, so they travel
with the trace through the writer's queue, the spool and `tracekit export`. After the trace is
saved, `store_carried` writes them to the reward tables and the experiment link; each reward once,
by its key, so a replay or a second import adds nothing.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tracekit.errors import FieldProblem, InvalidDataError, NotFoundError, StoreError
from tracekit.store.manager import TursoManager

__all__ = ["EXPERIMENT_KEY", "REWARD_KEY", "Carried", "carried", "store_carried"]

REWARD_KEY = "tracekit_reward"
"""session_metadata entries {REWARD_KEY: {...}} are rewards stored after the trace."""
EXPERIMENT_KEY = "tracekit_experiment"
"""A session_metadata entry {EXPERIMENT_KEY: id} links the saved session to that experiment."""
_STORED_KEY = "tracekit_reward_key"
"""The reward's key as kept in the stored reward's metadata: what makes storing it idempotent."""


@dataclass(frozen=True, slots=True)
class Carried:
    """The experiment links and rewards found in one trace's session_metadata, checked."""

    experiments: tuple[str, ...] = ()
    rewards: tuple[dict[str, Any], ...] = ()


def carried(session_metadata: Iterable[Any] | None) -> Carried:
    """The links and rewards `session_metadata` carries; a malformed one raises InvalidDataError naming
    its path (e.g. `session_metadata[2].tracekit_reward.value`), so nothing is stored half-read."""
    experiments: list[str] = []
    rewards: list[dict[str, Any]] = []
    problems: list[FieldProblem] = []
    for index, entry in enumerate(session_metadata or ()):
        if not isinstance(entry, dict):
            continue
        if EXPERIMENT_KEY in entry:
            value = entry[EXPERIMENT_KEY]
            if isinstance(value, str):
                experiments.append(value)
            else:
                problems.append(
                    FieldProblem(f"session_metadata[{index}].{EXPERIMENT_KEY}", "must be a string", value)
                )
        if REWARD_KEY in entry:
            found = _reward_problems(entry[REWARD_KEY], f"session_metadata[{index}].{REWARD_KEY}")
            problems.extend(found)
            if not found:
                rewards.append(entry[REWARD_KEY])
    if problems:
        raise InvalidDataError("SessionTrace", problems)
    return Carried(tuple(experiments), tuple(rewards))


def _reward_problems(reward: Any, path: str) -> list[FieldProblem]:
    """What is wrong with one carried reward, in the shape SessionTracer.record_reward writes."""
    if not isinstance(reward, dict):
        return [FieldProblem(path, "must be an object as SessionTracer.record_reward writes it", reward)]
    problems = []

    def need(name: str, ok: bool, what: str) -> None:
        if not ok:
            problems.append(FieldProblem(f"{path}.{name}", what, reward.get(name)))

    kind = reward.get("kind")
    value = reward.get("value")
    need("kind", kind in ("outcome", "event"), 'must be "outcome" or "event"')
    need(
        "reward_key",
        isinstance(reward.get("reward_key"), str) and bool(reward.get("reward_key")),
        "must be a non-empty string (it makes storing the reward idempotent)",
    )
    need("value", _is_finite_number(value), "must be a finite number")
    need("metadata", isinstance(reward.get("metadata", {}), dict), "must be an object")
    if kind == "outcome":
        need(
            "achievements_count", _is_optional_int(reward.get("achievements_count")), "must be an int or null"
        )
    elif kind == "event":
        need("event_index", _is_optional_int(reward.get("event_index")), "must be an int or null")
        for name in ("reward_type", "key"):
            need(
                name,
                reward.get(name) is None or isinstance(reward.get(name), str),
                "must be a string or null",
            )
    return problems


def _is_finite_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _is_optional_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


async def store_carried(store: TursoManager, session_id: str, found: Carried) -> None:
    """Link the saved session to the experiments and store the rewards its trace carried.

    Raises the store's errors (StoreConnectionError: retry later; the rest: a reward or link the
    store refuses); whatever was stored before the error stays, and a retry skips it."""
    for experiment_id in found.experiments:
        await _link(store, experiment_id, session_id)
    if found.rewards:
        await _add_rewards(store, session_id, found.rewards)


async def _link(store: TursoManager, experiment_id: str, session_id: str) -> None:
    try:
        await store.link_session(experiment_id, session_id)
    except NotFoundError:
        with contextlib.suppress(StoreError):  # created meanwhile by another writer
            await store.create_experiment(experiment_id, experiment_id=experiment_id)
        await store.link_session(experiment_id, session_id)


async def _add_rewards(store: TursoManager, session_id: str, rewards: tuple[dict[str, Any], ...]) -> None:
    stored = await store.get_rewards(session_id)
    seen = {r["metadata"].get(_STORED_KEY) for r in [*stored["outcome"], *stored["event"]]}
    for reward in rewards:
        if reward["reward_key"] in seen:
            continue
        meta = {**reward.get("metadata", {}), _STORED_KEY: reward["reward_key"]}
        if reward["kind"] == "outcome":
            await store.add_outcome_reward(
                session_id,
                reward["value"],
                achievements_count=reward.get("achievements_count"),
                metadata=meta,
            )
        else:
            await store.add_event_reward(
                session_id,
                reward["value"],
                event_index=reward.get("event_index"),
                reward_type=reward.get("reward_type"),
                key=reward.get("key"),
                metadata=meta,
            )

"""What a trace carries for the store's side tables: rewards and experiment links.

The tracer keeps a session's rewards and experiment link inside `session_metadata`, so they travel
with the trace through the writer's queue, the spool and `tracekit export`. After the trace is
saved, `store_carried` writes them to the reward tables and the experiment link; each reward once,
by its key, so a replay or a second import adds nothing. `with_stored_side_tables` does the
reverse for export: rewards and links added straight to the store (`db.add_outcome_reward`,
`db.link_session`) are appended to the exported trace in the same form, so none is lost in transit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tracekit.errors import FieldProblem, InvalidDataError, NotFoundError, StoreError
from tracekit.model import SessionTrace
from tracekit.store.manager import TursoManager

__all__ = [
    "EXPERIMENT_INFO_KEY",
    "EXPERIMENT_KEY",
    "REWARD_KEY",
    "Carried",
    "carried",
    "store_carried",
    "with_stored_side_tables",
]

REWARD_KEY = "tracekit_reward"
"""session_metadata entries {REWARD_KEY: {...}} are rewards stored after the trace."""
EXPERIMENT_KEY = "tracekit_experiment"
"""A session_metadata entry {EXPERIMENT_KEY: id} links the saved session to that experiment."""
EXPERIMENT_INFO_KEY = "tracekit_experiment_info"
"""Optional beside EXPERIMENT_KEY: {"name", "description", "metadata"} to create the experiment with
when the target store lacks it (`tracekit export` writes it; without it the name is the id)."""
_STORED_KEY = "tracekit_reward_key"
"""The reward's key as kept in the stored reward's metadata: what makes storing it idempotent."""


@dataclass(frozen=True, slots=True)
class Carried:
    """The experiment links and rewards found in one trace's session_metadata, checked."""

    experiments: tuple[str, ...] = ()
    rewards: tuple[dict[str, Any], ...] = ()
    experiment_info: tuple[tuple[str, dict[str, Any]], ...] = ()
    """(experiment id, its EXPERIMENT_INFO_KEY entry) for the links that carry one."""


def carried(session_metadata: Iterable[Any] | None) -> Carried:
    """The links and rewards `session_metadata` carries; a malformed one raises InvalidDataError naming
    its path (e.g. `session_metadata[2].tracekit_reward.value`), so nothing is stored half-read."""
    experiments: list[str] = []
    rewards: list[dict[str, Any]] = []
    info: list[tuple[str, dict[str, Any]]] = []
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
            if EXPERIMENT_INFO_KEY in entry:
                details = entry[EXPERIMENT_INFO_KEY]
                found = _info_problems(details, f"session_metadata[{index}].{EXPERIMENT_INFO_KEY}")
                problems.extend(found)
                if not found and isinstance(value, str):
                    info.append((value, details))
        if REWARD_KEY in entry:
            found = _reward_problems(entry[REWARD_KEY], f"session_metadata[{index}].{REWARD_KEY}")
            problems.extend(found)
            if not found:
                rewards.append(entry[REWARD_KEY])
    if problems:
        raise InvalidDataError("SessionTrace", problems)
    return Carried(tuple(experiments), tuple(rewards), tuple(info))


def _info_problems(details: Any, path: str) -> list[FieldProblem]:
    """What is wrong with one experiment's carried details ({"name", "description", "metadata"})."""
    if not isinstance(details, dict):
        return [FieldProblem(path, 'must be an object {"name", "description", "metadata"}', details)]
    name, description = details.get("name"), details.get("description")
    metadata = details.get("metadata", {})
    checks = (
        ("name", isinstance(name, str) and bool(name), "must be a non-empty string"),
        ("description", description is None or isinstance(description, str), "must be a string or null"),
        ("metadata", isinstance(metadata, dict), "must be an object"),
    )
    return [FieldProblem(f"{path}.{field}", what, details.get(field)) for field, ok, what in checks if not ok]


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
    details = dict(found.experiment_info)
    for experiment_id in found.experiments:
        await _link(store, experiment_id, session_id, details.get(experiment_id, {}))
    if found.rewards:
        await _add_rewards(store, session_id, found.rewards)


async def _link(store: TursoManager, experiment_id: str, session_id: str, details: dict[str, Any]) -> None:
    try:
        await store.link_session(experiment_id, session_id)
    except NotFoundError:
        with contextlib.suppress(StoreError):  # created meanwhile by another writer
            await store.create_experiment(
                details.get("name", experiment_id),
                experiment_id=experiment_id,
                description=details.get("description"),
                metadata=details.get("metadata"),
            )
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


async def with_stored_side_tables(store: TursoManager, trace: SessionTrace) -> SessionTrace:
    """`trace` (as read from `store`) with the rewards and experiment links stored for it but not yet
    carried in its session_metadata appended in carried form, so an export keeps them all.

    A reward added straight to the store gets the key `stored:<kind>:<reward_id>` (its source store's
    id), so importing the same export twice stores it once. The trace comes back unchanged (the same
    object) when it already carries everything."""
    try:
        found = carried(trace.session_metadata)
    except InvalidDataError:  # exported as stored; `tracekit import` names the malformed entry
        found = Carried()
    keys = {reward["reward_key"] for reward in found.rewards}
    extra: list[dict[str, Any]] = [
        {
            EXPERIMENT_KEY: row["experiment_id"],
            EXPERIMENT_INFO_KEY: {k: row[k] for k in ("name", "description", "metadata")},
        }
        for row in await store.session_experiments(trace.session_id)
        if row["experiment_id"] not in found.experiments
    ]
    stored = await store.get_rewards(trace.session_id)
    for kind, rows in (("outcome", stored["outcome"]), ("event", stored["event"])):
        for row in rows:
            meta = dict(row["metadata"])
            key = meta.pop(_STORED_KEY, None)
            if key in keys:
                continue
            reward: dict[str, Any] = {
                "reward_key": key if isinstance(key, str) and key else f"stored:{kind}:{row['reward_id']}",
                "kind": kind,
                "metadata": meta,
            }
            if kind == "outcome":
                reward.update(value=row["total_reward"], achievements_count=row["achievements_count"])
            else:
                reward.update(
                    value=row["reward_value"],
                    event_index=row["event_index"],
                    reward_type=row["reward_type"],
                    key=row["key"],
                )
            extra.append({REWARD_KEY: reward})
    if not extra:
        return trace
    return dataclasses.replace(trace, session_metadata=[*(trace.session_metadata or ()), *extra])

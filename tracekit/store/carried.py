"""Rewards and experiment links a trace carries in its session_metadata, saved with the trace.

A SessionTracer keeps a session's rewards and experiment link inside `session_metadata`, so they
travel with the trace through the writer's queue, the spool and `tracekit export`. `save_session`
writes them to the reward tables and the experiment tables in the trace's own atomic batch: a
trace is never stored without its rewards. Each reward is stored once, by its key, so a re-save,
a replay or a second import adds nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracekit.errors import FieldProblem, InvalidDataError, SerializationError
from tracekit.model import SessionTrace, is_valid_unicode
from tracekit.store.libsql import Statement
from tracekit.store.mapping import dumps

__all__ = [
    "EXPERIMENT_INFO_KEY",
    "EXPERIMENT_KEY",
    "REWARD_KEY",
    "STORED_KEY",
    "Carried",
    "carried",
    "carried_statements",
    "is_finite_number",
    "is_text",
    "reward_problems",
]

REWARD_KEY = "tracekit_reward"
"""session_metadata entries {REWARD_KEY: {...}} are rewards stored with the trace."""
EXPERIMENT_KEY = "tracekit_experiment"
"""A session_metadata entry {EXPERIMENT_KEY: id} links the saved session to that experiment."""
EXPERIMENT_INFO_KEY = "tracekit_experiment_info"
"""Optional beside EXPERIMENT_KEY: {"name", "description", "metadata"} to create the experiment with
when the store lacks it (`tracekit export` writes it; without it the name is the id)."""
STORED_KEY = "tracekit_reward_key"
"""The reward's key as kept in the stored reward's metadata: what makes storing it idempotent."""

_INT64 = 2**63


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
            if is_text(value):
                experiments.append(value)
            else:
                problems.append(FieldProblem(f"session_metadata[{index}].{EXPERIMENT_KEY}", _TEXT, value))
            if EXPERIMENT_INFO_KEY in entry:
                details = entry[EXPERIMENT_INFO_KEY]
                found = _info_problems(details, f"session_metadata[{index}].{EXPERIMENT_INFO_KEY}")
                problems.extend(found)
                if not found and is_text(value):
                    info.append((value, details))
        if REWARD_KEY in entry:
            found = reward_problems(entry[REWARD_KEY], f"session_metadata[{index}].{REWARD_KEY}")
            problems.extend(found)
            if not found:
                rewards.append(entry[REWARD_KEY])
    if problems:
        raise InvalidDataError("SessionTrace", problems)
    return Carried(tuple(experiments), tuple(rewards), tuple(info))


def reward_problems(reward: Any, path: str) -> list[FieldProblem]:
    """What is wrong with one carried reward, in the shape SessionTracer.record_reward writes."""
    if not isinstance(reward, dict):
        return [FieldProblem(path, "must be an object as SessionTracer.record_reward writes it", reward)]
    problems = []

    def need(name: str, ok: bool, what: str) -> None:
        if not ok:
            problems.append(FieldProblem(f"{path}.{name}", what, reward.get(name)))

    kind = reward.get("kind")
    need("kind", kind in ("outcome", "event"), 'must be "outcome" or "event"')
    need(
        "reward_key",
        is_text(reward.get("reward_key")) and bool(reward.get("reward_key")),
        f"{_TEXT} and not empty (it makes storing the reward idempotent)",
    )
    need("value", is_finite_number(reward.get("value")), "must be a finite number")
    need("metadata", isinstance(reward.get("metadata", {}), dict), "must be an object")
    int64 = "must be an int within 64 bits, or null"
    if kind == "outcome":
        need("achievements_count", _is_optional_int64(reward.get("achievements_count")), int64)
    elif kind == "event":
        need("event_index", _is_optional_int64(reward.get("event_index")), int64)
        for name in ("reward_type", "key"):
            need(name, reward.get(name) is None or is_text(reward.get(name)), f"{_TEXT} or null")
    return problems


def _info_problems(details: Any, path: str) -> list[FieldProblem]:
    """What is wrong with one experiment's carried details ({"name", "description", "metadata"})."""
    if not isinstance(details, dict):
        return [FieldProblem(path, 'must be an object {"name", "description", "metadata"}', details)]
    name, description = details.get("name"), details.get("description")
    metadata = details.get("metadata", {})
    checks = (
        ("name", is_text(name) and bool(name), f"{_TEXT} and not empty"),
        ("description", description is None or is_text(description), f"{_TEXT} or null"),
        ("metadata", isinstance(metadata, dict), "must be an object"),
    )
    return [FieldProblem(f"{path}.{field}", what, details.get(field)) for field, ok, what in checks if not ok]


_TEXT = "must be a string of valid Unicode (no lone surrogate)"


def is_text(value: Any) -> bool:
    """A str the store's text columns take: valid Unicode, so no lone UTF-16 surrogate."""
    return isinstance(value, str) and is_valid_unicode(value)


def is_finite_number(value: Any) -> bool:
    """An int or float (not a bool) a float holds as a finite number: what a reward column stores."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int past float's range
        return False


def _is_optional_int64(value: Any) -> bool:
    return value is None or (type(value) is not bool and isinstance(value, int) and -_INT64 <= value < _INT64)


_LINK_EXPERIMENT = (
    "INSERT OR IGNORE INTO experiments (experiment_id, name, description, created_at, metadata_json) "
    "VALUES (?, ?, ?, ?, ?)"
)
_LINK_SESSION = "INSERT OR IGNORE INTO session_experiments (experiment_id, session_id) VALUES (?, ?)"
_NOT_STORED = (
    "WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE session_id = ? "
    "AND json_extract(metadata_json, '$.{key}') = ?)"
)
_OUTCOME = (
    "INSERT INTO outcome_rewards (session_id, total_reward, achievements_count, created_at, metadata_json) "
    "SELECT ?, ?, ?, ?, ? " + _NOT_STORED.format(table="outcome_rewards", key=STORED_KEY)
)
_EVENT = (
    "INSERT INTO event_rewards (session_id, event_index, reward_value, reward_type, key, created_at, "
    "metadata_json) SELECT ?, ?, ?, ?, ?, ?, ? " + _NOT_STORED.format(table="event_rewards", key=STORED_KEY)
)


def carried_statements(traces: Sequence[SessionTrace], saved_at: str) -> list[Statement]:
    """The INSERTs that store what `traces` carry, run after their rows in the same batch: each
    experiment created if missing and linked, each reward stored unless one with its key is.

    A malformed carried entry is refused with a SerializationError naming its path, before
    anything is written."""
    statements: list[Statement] = []
    for trace in traces:
        if not trace.session_metadata:
            continue
        try:
            found = carried(trace.session_metadata)
        except InvalidDataError as exc:
            first = exc.problems[0]
            path = re.sub(r"\[(\d+)\]", r".\1", first.path)  # the codec's spelling: session_metadata.1.x
            raise SerializationError(
                f"SessionTrace.{path}: {first.message} (got {first.value!r:.60}); carried rewards and "
                "experiment links are written by SessionTracer.record_reward / session(experiment_id=...): "
                "fix or remove the entry",
                path=path,
                value=first.value,
            ) from None
        sid = trace.session_id
        details = dict(found.experiment_info)
        for experiment_id in found.experiments:
            info = details.get(experiment_id, {})
            name = info.get("name", experiment_id)
            meta = dumps(info.get("metadata", {}))
            row = [experiment_id, name, info.get("description"), saved_at, meta]
            statements.append((_LINK_EXPERIMENT, row))
            statements.append((_LINK_SESSION, [experiment_id, sid]))
        for reward in found.rewards:
            key = reward["reward_key"]
            meta = dumps({**reward.get("metadata", {}), STORED_KEY: key})
            value = float(reward["value"])
            if reward["kind"] == "outcome":
                params = [sid, value, reward.get("achievements_count"), saved_at, meta, sid, key]
                statements.append((_OUTCOME, params))
            else:
                params = [
                    sid,
                    reward.get("event_index"),
                    value,
                    reward.get("reward_type"),
                    reward.get("key"),
                    saved_at,
                    meta,
                    sid,
                    key,
                ]
                statements.append((_EVENT, params))
    return statements

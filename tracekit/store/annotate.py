"""Experiments and rewards: what researchers add beside stored sessions (TursoManager's methods of
the same names are thin wrappers over these).

Every value is checked before anything is written, so what is stored reads back equal: texts hold no
lone surrogate, counts fit 64 bits, rewards are finite, metadata is plain JSON (str keys; str, int,
finite float, bool, None, list and dict values, nested at most codec.MAX_DEPTH deep). A refused value
raises SerializationError naming it, its value and the fix; an unknown session or experiment raises
NotFoundError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tracekit import codec
from tracekit.errors import NotFoundError, SerializationError
from tracekit.model import is_valid_unicode, new_id
from tracekit.store import arguments
from tracekit.store.carried import is_finite_number
from tracekit.store.libsql import Database
from tracekit.store.mapping import dumps

__all__ = [
    "add_event_reward",
    "add_outcome_reward",
    "create_experiment",
    "get_rewards",
    "link_session",
    "list_experiments",
    "session_experiments",
]


async def create_experiment(
    db: Database, name: str, experiment_id: str | None, description: str | None, metadata: Any
) -> str:
    """Insert an experiment; returns its id (a new random id unless given)."""
    name_text = _text(name, "name", optional=False)
    description = _text(description, "description")
    experiment_id = _text(experiment_id, "experiment_id") or new_id()
    await db.execute(
        "INSERT INTO experiments (experiment_id, name, description, created_at, metadata_json) "
        "VALUES (?, ?, ?, ?, ?)",
        [experiment_id, name_text, description, _now(), _metadata_json(metadata)],
    )
    return experiment_id


async def link_session(db: Database, url: str, experiment_id: str, session_id: str) -> None:
    """Link a stored session to a stored experiment (linking twice is harmless)."""
    await _require(db, url, "experiments", "experiment_id", experiment_id, "experiment")
    await _require(db, url, "sessions", "session_id", session_id, "session")
    await db.execute(
        "INSERT OR IGNORE INTO session_experiments (experiment_id, session_id) VALUES (?, ?)",
        [experiment_id, session_id],
    )


async def session_experiments(db: Database, session_id: str) -> list[dict[str, Any]]:
    """The experiments a session is linked to (id, name, description, metadata), oldest first."""
    session_id = arguments.text(session_id, "session_id", optional=False) or ""
    result = await db.execute(
        "SELECT e.experiment_id, e.name, e.description, e.metadata_json FROM experiments e "
        "JOIN session_experiments x ON x.experiment_id = e.experiment_id WHERE x.session_id = ? "
        "ORDER BY e.created_at, e.experiment_id",
        [session_id],
    )
    return [
        {"experiment_id": row[0], "name": row[1], "description": row[2], "metadata": json.loads(row[3])}
        for row in result.rows
    ]


async def list_experiments(db: Database) -> list[dict[str, Any]]:
    """Every experiment with its session count, oldest first."""
    result = await db.execute(
        "SELECT e.experiment_id, e.name, e.description, e.created_at, e.metadata_json, "
        "(SELECT count(*) FROM session_experiments x WHERE x.experiment_id = e.experiment_id) "
        "FROM experiments e ORDER BY e.created_at, e.experiment_id"
    )
    return [
        {
            "experiment_id": row[0],
            "name": row[1],
            "description": row[2],
            "created_at": datetime.fromisoformat(row[3]),
            "metadata": json.loads(row[4]),
            "session_count": row[5],
        }
        for row in result.rows
    ]


async def add_outcome_reward(
    db: Database,
    url: str,
    session_id: str,
    total_reward: float,
    achievements_count: int | None,
    metadata: Any,
) -> int:
    """Insert a stored session's outcome reward; returns its id."""
    await _require(db, url, "sessions", "session_id", session_id, "session")
    result = await db.execute(
        "INSERT INTO outcome_rewards (session_id, total_reward, achievements_count, created_at, "
        "metadata_json) VALUES (?, ?, ?, ?, ?) RETURNING reward_id",
        [
            session_id,
            _finite(total_reward, "total_reward"),
            _count(achievements_count, "achievements_count"),
            _now(),
            _metadata_json(metadata),
        ],
    )
    return int(result.rows[0][0])


async def add_event_reward(
    db: Database,
    url: str,
    session_id: str,
    reward_value: float,
    event_index: int | None,
    reward_type: str | None,
    key: str | None,
    metadata: Any,
) -> int:
    """Insert a reward for one event of a stored session (its index in event_history); returns its id."""
    await _require(db, url, "sessions", "session_id", session_id, "session")
    result = await db.execute(
        "INSERT INTO event_rewards (session_id, event_index, reward_value, reward_type, key, created_at, "
        "metadata_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING reward_id",
        [
            session_id,
            _count(event_index, "event_index"),
            _finite(reward_value, "reward_value"),
            _text(reward_type, "reward_type"),
            _text(key, "key"),
            _now(),
            _metadata_json(metadata),
        ],
    )
    return int(result.rows[0][0])


async def get_rewards(db: Database, session_id: str) -> dict[str, list[dict[str, Any]]]:
    """A session's rewards: {"outcome": [...], "event": [...]}, each in the order recorded."""
    session_id = arguments.text(session_id, "session_id", optional=False) or ""
    outcome, event = await db.batch(
        [
            (
                "SELECT reward_id, total_reward, achievements_count, created_at, metadata_json "
                "FROM outcome_rewards WHERE session_id = ? ORDER BY reward_id",
                [session_id],
            ),
            (
                "SELECT reward_id, event_index, reward_value, reward_type, key, created_at, "
                "metadata_json FROM event_rewards WHERE session_id = ? ORDER BY reward_id",
                [session_id],
            ),
        ]
    )
    return {
        "outcome": [
            {
                "reward_id": r[0],
                "total_reward": r[1],
                "achievements_count": r[2],
                "created_at": datetime.fromisoformat(r[3]),
                "metadata": json.loads(r[4]),
            }
            for r in outcome.rows
        ],
        "event": [
            {
                "reward_id": r[0],
                "event_index": r[1],
                "reward_value": r[2],
                "reward_type": r[3],
                "key": r[4],
                "created_at": datetime.fromisoformat(r[5]),
                "metadata": json.loads(r[6]),
            }
            for r in event.rows
        ],
    }


async def _require(db: Database, url: str, table: str, column: str, value: str, what: str) -> None:
    """NotFoundError unless `table` holds a row whose `column` is `value` (checked as text first)."""
    value = arguments.text(value, column, optional=False) or ""
    result = await db.execute(f"SELECT 1 FROM {table} WHERE {column} = ?", [value])
    if not result.rows:
        raise NotFoundError(f"no {what} {value!r} in {url}; save or create it first")


def _now() -> str:
    return codec.format_datetime(datetime.now(UTC))


def _metadata_json(metadata: Any) -> str:
    """The JSON of an experiment's or reward's metadata, refused (SerializationError naming the path,
    the value and the fix) unless it reads back equal: str keys; str, int, finite float, bool, None,
    list and dict values, nested at most codec.MAX_DEPTH deep."""
    if metadata is None:
        return "{}"
    if not isinstance(metadata, Mapping):
        raise SerializationError(
            f"metadata: expected a dict, got {type(metadata).__name__} {metadata!r:.60}; pass a dict",
            path="metadata",
            value=metadata,
        )
    data = dict(metadata)
    _check_free_form(data, "metadata", 0)
    return dumps(data)


def _check_free_form(value: Any, path: str, depth: int) -> None:
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return
    if kind is float:
        if value - value == 0.0:
            return
        raise SerializationError(
            f"{path}: non-finite float {value!r} cannot be stored; use None, or a finite float",
            path=path,
            value=value,
        )
    if kind is not dict and kind is not list:
        raise SerializationError(
            f"{path}: {kind.__name__} {value!r:.60} would not read back equal; metadata takes str, int, "
            "float, bool, None, list and dict: convert it (e.g. a tuple or set to a list)",
            path=path,
            value=value,
        )
    if depth >= codec.MAX_DEPTH:
        raise SerializationError(
            f"{path}: lists/dicts nested deeper than {codec.MAX_DEPTH} levels; flatten the value, or store "
            "it as a JSON string",
            path=path,
            value=value,
        )
    if kind is list:
        for index, item in enumerate(value):
            _check_free_form(item, f"{path}[{index}]", depth + 1)
        return
    for key, item in value.items():
        if type(key) is not str:
            raise SerializationError(
                f"{path}: key {key!r:.60} is a {type(key).__name__}, and JSON object keys read back as str; "
                "use str keys",
                path=path,
                value=key,
            )
        _check_free_form(item, f"{path}.{key}", depth + 1)


def _text(value: Any, name: str, *, optional: bool = True) -> str | None:
    """`value` as plain text (None where it may be absent), else refused before anything is
    written: a number or other object would be stored as something that does not read back equal."""
    if value is None and optional:
        return None
    if isinstance(value, str):
        if not is_valid_unicode(value):
            raise SerializationError(
                f"{name}: {value!r:.60} holds a lone UTF-16 surrogate, which a text column cannot store; "
                "join the surrogate pair or drop it",
                path=name,
                value=value,
            )
        return str.__str__(value)  # a str subclass (an enum member) is stored as its text
    expected = "text or None" if optional else "text"
    raise SerializationError(
        f"{name} must be {expected}, got {type(value).__name__} {value!r:.60}; pass a str",
        path=name,
        value=value,
    )


def _count(value: Any, name: str) -> int | None:
    """`value` as a 64-bit int or None, else refused before anything is written."""
    if value is None:
        return None
    if type(value) is bool or not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise SerializationError(
            f"{name} must be an int within 64 bits or None, got {type(value).__name__} {value!r:.60}; "
            "pass an int",
            path=name,
            value=value,
        )
    return int(value)


def _finite(value: float, name: str) -> float:
    if not is_finite_number(value):  # an int past float's range included
        raise SerializationError(
            f"{name} must be a finite number, got {value!r:.60}; use a finite float",
            path=name,
            value=value,
        )
    return float(value)

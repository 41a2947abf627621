"""Session filters as parameterised SQL, session summaries, and keyset pagination cursors.

Pages are ordered by (created_at, session_id) and continue strictly after the last row seen, so
a page costs the same wherever it starts and rows saved meanwhile are neither skipped nor
repeated. The cursor is opaque text (base64 of the last key).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.parser import isoparse

from tracekit.codec import format_datetime
from tracekit.errors import StoreError
from tracekit.store.arguments import aware_time, flag, real, scalar_map, text, texts

__all__ = ["SessionFilter", "SessionPage", "SessionSummary", "decode_cursor", "encode_cursor"]

MetadataValue = str | int | float | bool | None


@dataclass(slots=True, frozen=True)
class SessionFilter:
    """Which sessions to select; every condition given must hold (None = no condition).

    created_after / created_before bound `created_at` (after inclusive, before exclusive);
    `model`: the session has a call to that model; `metadata`: each top-level key holds exactly
    that JSON scalar; `min_reward`: some outcome reward is at least this; `has_error`: some
    call failed (or none did, for False); `session_ids`: only these sessions. Metadata values
    match by JSON text, so 1 and 1.0 are different values.
    """

    created_after: datetime | None = None
    created_before: datetime | None = None
    experiment_id: str | None = None
    model: str | None = None
    metadata: Mapping[str, MetadataValue] | None = None
    min_reward: float | None = None
    has_error: bool | None = None
    session_ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        """Each condition checked at once (InvalidArgumentError naming it); `session_ids` may be
        any iterable of ids and is kept as a tuple."""
        aware_time(self.created_after, "created_after")
        aware_time(self.created_before, "created_before")
        object.__setattr__(self, "experiment_id", text(self.experiment_id, "experiment_id"))
        object.__setattr__(self, "model", text(self.model, "model"))
        scalar_map(self.metadata, "metadata")
        real(self.min_reward, "min_reward")
        flag(self.has_error, "has_error")
        object.__setattr__(self, "session_ids", texts(self.session_ids, "session_ids"))

    def where(self, alias: str = "s") -> tuple[str, list[Any]]:
        """A WHERE condition on sessions aliased `alias` (always valid SQL; "1" when empty)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.created_after is not None:
            clauses.append(f"{alias}.created_at >= ?")
            params.append(format_datetime(self.created_after))
        if self.created_before is not None:
            clauses.append(f"{alias}.created_at < ?")
            params.append(format_datetime(self.created_before))
        if self.experiment_id is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM session_experiments x "
                f"WHERE x.session_id = {alias}.session_id AND x.experiment_id = ?)"
            )
            params.append(self.experiment_id)
        if self.model is not None:
            clauses.append(
                f"EXISTS (SELECT 1 FROM llm_calls m WHERE m.session_id = {alias}.session_id "
                "AND m.model_name = ?)"
            )
            params.append(self.model)
        for key, value in (self.metadata or {}).items():
            clauses.append(
                "EXISTS (SELECT 1 FROM session_metadata d "
                f"WHERE d.session_id = {alias}.session_id AND d.key = ? AND d.value_json = ?)"
            )
            params.extend([key, _metadata_json(value)])
        if self.min_reward is not None:
            clauses.append(
                "EXISTS (SELECT 1 FROM outcome_rewards r "
                f"WHERE r.session_id = {alias}.session_id AND r.total_reward >= ?)"
            )
            params.append(float(self.min_reward))
        if self.has_error is not None:
            clauses.append(f"{alias}.has_error = ?")
            params.append(int(self.has_error))
        if self.session_ids is not None:
            marks = ", ".join("?" * len(self.session_ids))
            clauses.append(f"{alias}.session_id IN ({marks})" if self.session_ids else "0")
            params.extend(self.session_ids)
        return (" AND ".join(clauses) or "1"), params


def _metadata_json(value: Any) -> str:
    if value is None or isinstance(value, str | int | float | bool):
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:
            pass
    raise StoreError(
        f"metadata filter value {value!r} is not a finite JSON scalar; filter on str, int, float, "
        "bool or None values (or query nested values with execute())"
    )


@dataclass(slots=True, frozen=True)
class SessionSummary:
    """One row of `list_sessions`: a session's id, time, sizes, error flag and metadata."""

    session_id: str
    created_at: datetime
    num_timesteps: int
    num_events: int
    num_messages: int
    num_llm_calls: int
    has_error: bool
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class SessionPage:
    """A page of sessions in (created_at, session_id) order; pass `next_cursor` as `after` for the next."""

    sessions: list[SessionSummary]
    next_cursor: str | None


def encode_cursor(created_at: str, session_id: str) -> str:
    """Opaque text naming the last row of a page."""
    raw = json.dumps([created_at, session_id], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (created_at, session_id) key inside a cursor; StoreError when it is not one."""
    if not isinstance(cursor, str):
        raise StoreError(f"invalid page cursor {cursor!r:.40}; pass the next_cursor of a previous page")
    try:
        created_at, session_id = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
        isoparse(created_at)
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise StoreError(
            f"invalid page cursor {cursor[:40]!r} ({exc}); pass the next_cursor of a previous page"
        ) from None
    if not isinstance(session_id, str):
        raise StoreError(f"invalid page cursor {cursor[:40]!r}; pass the next_cursor of a previous page")
    return str(created_at), session_id

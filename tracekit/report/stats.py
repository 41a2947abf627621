"""Store statistics for `tracekit stats` and the HTML report: the store's SQL roll-ups by every
dimension (their warnings included), plus session roll-ups from the stored traces.

Every number comes from `TursoManager.aggregate` (equal to `tk.aggregate` on the same calls) or from
`tk.aggregate` over the traces; nothing is recomputed here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from tracekit.analysis.aggregate_types import GroupAggregate, SessionRollup
from tracekit.analysis.aggregates import aggregate
from tracekit.errors import InvalidArgumentError
from tracekit.model import SessionTrace
from tracekit.store.manager import TursoManager

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "SessionFilters",
    "StoreStats",
    "collect_stats",
    "iter_sessions",
]

Dimension = Literal["model", "provider", "agent", "session", "experiment", "timestep"]
DIMENSIONS: Final[tuple[Dimension, ...]] = ("model", "provider", "agent", "session", "experiment", "timestep")

Progress = Callable[[int, int | None], None]
"""progress(done, total or None when unknown)."""


@dataclass(frozen=True, slots=True)
class SessionFilters:
    """Which sessions to look at: the store's `list_sessions` / `aggregate` filters (None = any)."""

    created_after: datetime | None = None
    created_before: datetime | None = None
    experiment_id: str | None = None
    model: str | None = None
    metadata: Mapping[str, Any] | None = None
    min_reward: float | None = None
    has_error: bool | None = None
    session_ids: tuple[str, ...] | None = None

    def store_kwargs(self) -> dict[str, Any]:
        """The filters as keyword arguments of `TursoManager.list_sessions` (no session_ids)."""
        return {
            "created_after": self.created_after,
            "created_before": self.created_before,
            "experiment_id": self.experiment_id,
            "model": self.model,
            "metadata": self.metadata,
            "min_reward": self.min_reward,
            "has_error": self.has_error,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (None for filters not set)."""
        return {
            "created_after": None if self.created_after is None else self.created_after.isoformat(),
            "created_before": None if self.created_before is None else self.created_before.isoformat(),
            "experiment_id": self.experiment_id,
            "model": self.model,
            "metadata": None if self.metadata is None else dict(self.metadata),
            "min_reward": self.min_reward,
            "has_error": self.has_error,
            "session_ids": None if self.session_ids is None else list(self.session_ids),
        }


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Totals, groups per dimension, session roll-ups and every warning, for one set of sessions."""

    total: GroupAggregate
    groups: dict[str, tuple[GroupAggregate, ...]]
    sessions: tuple[SessionRollup, ...] = ()
    warnings: tuple[str, ...] = ()
    filters: SessionFilters = field(default_factory=SessionFilters)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"total", "by": {dimension: [group, ...]}, "sessions", "warnings", "filters"}."""
        return {
            "total": self.total.to_dict(),
            "by": {dim: [g.to_dict() for g in groups] for dim, groups in self.groups.items()},
            "sessions": [s.to_dict() for s in self.sessions],
            "warnings": list(self.warnings),
            "filters": self.filters.to_dict(),
        }


async def iter_sessions(
    db: TursoManager, filters: SessionFilters, *, page_size: int = 200
) -> AsyncIterator[SessionTrace]:
    """Every matching stored trace, read one at a time (oldest first; `session_ids` in their order)."""
    if filters.session_ids is not None:
        for session_id in filters.session_ids:
            yield await db.get_session(session_id)
        return
    cursor: str | None = None
    while True:
        page = await db.list_sessions(**filters.store_kwargs(), limit=page_size, after=cursor)
        for summary in page.sessions:
            yield await db.get_session(summary.session_id)
        cursor = page.next_cursor
        if cursor is None:
            return


async def _count_sessions(db: TursoManager, filters: SessionFilters) -> int:
    if filters.session_ids is not None:
        return len(filters.session_ids)
    count = 0
    cursor: str | None = None
    while True:
        page = await db.list_sessions(**filters.store_kwargs(), limit=1000, after=cursor)
        count += len(page.sessions)
        cursor = page.next_cursor
        if cursor is None:
            return count


async def _by_experiment(db: TursoManager, filters: SessionFilters) -> tuple[GroupAggregate, ...]:
    """One group per experiment (key: its id), each the store's roll-up of that experiment's sessions."""
    kwargs: dict[str, Any] = {**filters.store_kwargs(), "session_ids": filters.session_ids}
    groups = []
    for experiment in await db.list_experiments():
        experiment_id = experiment["experiment_id"]
        if filters.experiment_id is not None and experiment_id != filters.experiment_id:
            continue
        kwargs["experiment_id"] = experiment_id
        result = await db.aggregate(None, **kwargs)
        if result.total.call_count or experiment["session_count"]:
            groups.append(_with_key(result.total, experiment_id))
    return tuple(groups)


def _with_key(group: GroupAggregate, key: str) -> GroupAggregate:
    values = {name: getattr(group, name) for name in GroupAggregate.__dataclass_fields__}
    values["key"] = key
    return GroupAggregate(**values)


async def collect_stats(
    db: TursoManager,
    filters: SessionFilters | None = None,
    *,
    by: tuple[Dimension, ...] = DIMENSIONS,
    sessions: bool = True,
    progress: Progress | None = None,
) -> StoreStats:
    """Roll up the matching sessions' calls by each dimension in `by` (the store's SQL roll-ups, whose
    warnings, such as "tool calls but no LLM calls", are the result's) and, when `sessions`, each
    session from its trace (span, counts, reward). `progress(done, total)` is called as traces are read."""
    filters = filters or SessionFilters()
    for dim in by:
        if dim not in DIMENSIONS:
            raise InvalidArgumentError(f"unknown stats dimension {dim!r}; use one of {', '.join(DIMENSIONS)}")
    kwargs: dict[str, Any] = {**filters.store_kwargs(), "session_ids": filters.session_ids}
    overall = await db.aggregate(None, **kwargs)
    groups: dict[str, tuple[GroupAggregate, ...]] = {}
    for dim in by:
        if dim == "experiment":
            groups[dim] = await _by_experiment(db, filters)
        else:
            groups[dim] = (await db.aggregate(dim, **kwargs)).groups
    rollups: list[SessionRollup] = []
    if sessions:
        total = await _count_sessions(db, filters) if progress is not None else None
        async for trace in iter_sessions(db, filters):
            rollups.extend(aggregate([trace]).sessions)
            if progress is not None:
                progress(len(rollups), total)
    # the store's roll-up carries every warning (no LLM calls, LM events without calls, unpriced
    # calls), counted in SQL over exactly these sessions: the same lines tk.aggregate gives
    return StoreStats(overall.total, groups, tuple(rollups), overall.warnings, filters)

"""SQL roll-ups of stored calls, equal to tracekit.aggregates' Python results on the same calls.

Sums, counts, min, max and the distinct model / provider / price-version lists come from one
GROUP BY over the narrow llm_calls rows. Percentiles are nearest-rank (the value at 1-based rank
ceil(P * n / 100), computed in integers): without session filters, for the total and for
by="model", each is one index lookup (`LIMIT 1 OFFSET rank`, from the nearer end, on the roll-up
indexes); otherwise a row_number() window picks them. Means are sum / count (SQLite's sum, so
they may differ from Python's math.fsum in the last bits).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tracekit.aggregates import AggregateResult, Distribution, GroupAggregate, GroupBy
from tracekit.errors import StoreError
from tracekit.store.libsql import Database, Result, Statement
from tracekit.store.queries import SessionFilter

__all__ = ["DISTRIBUTION_COLUMNS", "aggregate"]

_KEY_EXPRESSIONS: dict[GroupBy | None, str] = {
    None: "NULL",
    "model": "NULLIF(c.model_name, '')",
    "provider": "NULLIF(c.provider, '')",
    "agent": "NULLIF(c.system_instance_id, '')",
    "session": "c.session_id",
    "timestep": "c.step_id",
}

DISTRIBUTION_COLUMNS = ("latency_ms", "ttft_ms", "tpot_ms", "output_tokens_per_second")
"""llm_calls columns summarised as Distributions, named as GroupAggregate's fields."""

_TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_PERCENTILES = (50, 90, 99)


def _session_clause(flt: SessionFilter) -> tuple[str, list[Any]]:
    where, params = flt.where("s")
    if where == "1":
        return "", params
    return f" AND c.session_id IN (SELECT s.session_id FROM sessions s WHERE {where})", params


def _calls_cte(key_sql: str, flt: SessionFilter) -> tuple[str, list[Any]]:
    session_clause, params = _session_clause(flt)
    # unary + keeps the planner off the roll-up indexes: a scan beats a million index lookups
    return (
        f"WITH calls AS (SELECT {key_sql} AS k, c.* FROM llm_calls c WHERE +c.in_rollup = 1{session_clause})",
        params,
    )


def _group_statements(key_sql: str, flt: SessionFilter) -> list[Statement]:
    """Per-group numbers (one GROUP BY over the narrow call rows) and tool-call counts by name."""
    cte, params = _calls_cte(key_sql, flt)
    session_clause, _params = _session_clause(flt)
    sums = ", ".join(f"sum({col})" for col in _TOKEN_COLUMNS)  # NULL when no call reported it
    dists = ", ".join(f"count({col}), sum({col}), min({col}), max({col})" for col in DISTRIBUTION_COLUMNS)
    return [
        (
            f"{cte} SELECT k, count(*), "
            "sum(outcome = 'success'), sum(outcome IN ('error', 'timeout', 'cancelled')), "
            "sum(outcome = 'incomplete'), sum(input_tokens IS NULL AND output_tokens IS NULL), "
            f"{sums}, sum(cost_nanousd), sum(cost_nanousd IS NULL), "
            f"COALESCE(sum(tool_call_count), 0), {dists}, "
            "json_group_array(DISTINCT CASE WHEN cost_nanousd IS NOT NULL THEN price_table_version END), "
            "json_group_array(DISTINCT NULLIF(model_name, '')), "
            "json_group_array(DISTINCT NULLIF(provider, '')) FROM calls GROUP BY k",
            params,
        ),
        (
            f"SELECT {key_sql} AS k, t.name, count(*) FROM tool_calls t CROSS JOIN llm_calls c "
            "ON c.session_id = t.session_id AND c.event_index = t.event_index "
            "AND c.call_index = t.call_index "
            f"WHERE +c.in_rollup = 1{session_clause} GROUP BY k, t.name",
            params,
        ),
    ]


def _window_rank_statements(key_sql: str, flt: SessionFilter) -> list[Statement]:
    """Nearest-rank picks for any grouping and filter: one row_number() window per distribution."""
    cte, params = _calls_cte(key_sql, flt)
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in _PERCENTILES)
    return [
        (
            f"{cte} SELECT k, rn, v FROM (SELECT k, {col} AS v, count(*) OVER (PARTITION BY k) AS n, "
            f"row_number() OVER (PARTITION BY k ORDER BY {col}) AS rn FROM calls "
            f"WHERE {col} IS NOT NULL) WHERE rn IN ({ranks})",
            params,
        )
        for col in DISTRIBUTION_COLUMNS
    ]


def _ranks(count: int) -> list[int]:
    return sorted({(p * count + 99) // 100 for p in _PERCENTILES})


def _index_rank_statements(
    counts: dict[str | None, dict[str, int]], *, by_model: bool
) -> tuple[list[Statement], list[tuple[str | None, str, int]]]:
    """Nearest-rank picks by position in the roll-up indexes (unfiltered, total or by model):
    one `LIMIT 1 OFFSET` per rank, walking from whichever end of the index is nearer."""
    statements: list[Statement] = []
    labels: list[tuple[str | None, str, int]] = []
    for key, per_column in counts.items():
        for col in DISTRIBUTION_COLUMNS:
            count = per_column.get(col, 0)
            for rank in _ranks(count) if count else []:
                index = f"ix_llm_calls_rollup_model_{col}" if by_model else f"ix_llm_calls_rollup_{col}"
                where = f"in_rollup = 1 AND {col} IS NOT NULL"
                params: list[Any] = []
                if by_model:
                    where += " AND model_name = ?"
                    params.append("" if key is None else key)
                descending = rank - 1 > count - rank
                offset = count - rank if descending else rank - 1
                statements.append(
                    (
                        f"SELECT {col} FROM llm_calls INDEXED BY {index} WHERE {where} "
                        f"ORDER BY {col}{' DESC' if descending else ''} LIMIT 1 OFFSET ?",
                        [*params, offset],
                    )
                )
                labels.append((key, col, rank))
    return statements, labels


class _Changed(Exception):
    """Rows changed between the roll-up's two batches (counts and picked ranks disagree)."""


@dataclass(slots=True)
class _Group:
    """Mutable accumulator for one group while the query results are read."""

    key: str | None
    numbers: dict[str, Any] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)
    tools: dict[str, int] = field(default_factory=dict)
    stats: dict[str, tuple[int, float | None, float | None, float | None]] = field(default_factory=dict)
    ranks: dict[str, dict[int, float]] = field(default_factory=dict)

    def build(self) -> GroupAggregate:
        dists = {col: self._distribution(col) for col in DISTRIBUTION_COLUMNS}
        return GroupAggregate(
            key=self.key,
            **self.numbers,
            cost_usd=None if self.numbers["cost_nanousd"] is None else self.numbers["cost_nanousd"] / 1e9,
            price_table_versions=tuple(sorted(self.versions)),
            latency_ms=dists["latency_ms"],
            ttft_ms=dists["ttft_ms"],
            tpot_ms=dists["tpot_ms"],
            output_tokens_per_second=dists["output_tokens_per_second"],
            tool_calls_by_name=dict(sorted(self.tools.items())),
            models=tuple(sorted(self.models)),
            providers=tuple(sorted(self.providers)),
        )

    def _distribution(self, col: str) -> Distribution:
        count, total, low, high = self.stats.get(col, (0, None, None, None))
        if count == 0 or total is None:
            return Distribution()
        ranks = self.ranks.get(col, {})
        wanted = [(p * count + 99) // 100 for p in _PERCENTILES]
        if any(rank not in ranks for rank in wanted):
            raise _Changed
        pick = [ranks[rank] for rank in wanted]
        return Distribution(count, total / count, low, pick[0], pick[1], pick[2], high)


_COUNT_FIELDS = frozenset(
    {
        "call_count",
        "success_count",
        "error_count",
        "incomplete_count",
        "calls_without_usage",
        "unpriced_call_count",
        "tool_calls_count",
    }
)
"""Fields that are counts (0 when nothing matched); the others are sums, None when nothing reported."""

_NUMBER_FIELDS = (
    "call_count",
    "success_count",
    "error_count",
    "incomplete_count",
    "calls_without_usage",
    *_TOKEN_COLUMNS,
    "cost_nanousd",
    "unpriced_call_count",
    "tool_calls_count",
)


def _read_groups(sums: Result, tools: Result, groups: dict[str | None, _Group]) -> None:
    offset = 1 + len(_NUMBER_FIELDS)
    for row in sums.rows:
        group = groups.setdefault(row[0], _Group(row[0]))
        group.numbers = {
            name: (int(value or 0) if name in _COUNT_FIELDS else None if value is None else int(value))
            for name, value in zip(_NUMBER_FIELDS, row[1:], strict=False)
        }
        for i, col in enumerate(DISTRIBUTION_COLUMNS):
            count, total, low, high = row[offset + 4 * i : offset + 4 * i + 4]
            group.stats[col] = (int(count), _float(total), _float(low), _float(high))
        lists = row[offset + 4 * len(DISTRIBUTION_COLUMNS) :]
        versions, models, providers = (
            {item for item in json.loads(text) if item is not None} for text in lists
        )
        group.versions, group.models, group.providers = versions, models, providers
    for key, name, count in tools.rows:
        groups[key].tools[name] = int(count)


def _read_window_ranks(results: list[Result], groups: dict[str | None, _Group]) -> None:
    for col, result in zip(DISTRIBUTION_COLUMNS, results, strict=True):
        for key, rank, value in result.rows:
            groups[key].ranks.setdefault(col, {})[int(rank)] = float(value)


def _read_index_ranks(
    results: list[Result], labels: list[tuple[str | None, str, int]], groups: dict[str | None, _Group]
) -> None:
    for (key, col, rank), result in zip(labels, results, strict=True):
        if not result.rows:
            raise _Changed
        groups[key].ranks.setdefault(col, {})[rank] = float(result.rows[0][0])


def _sum_reported(values: Iterable[int | None]) -> int | None:
    """Sum of the groups' values; None when every group had None (nothing reported)."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _total(groups: list[_Group]) -> _Group:
    """Sums, sets and counts of all groups combined (ranks are queried separately)."""
    total = _Group(None)
    total.numbers = {name: _sum_reported(g.numbers[name] for g in groups) for name in _NUMBER_FIELDS}
    for group in groups:
        total.versions |= group.versions
        total.models |= group.models
        total.providers |= group.providers
        for name, count in group.tools.items():
            total.tools[name] = total.tools.get(name, 0) + count
    for col in DISTRIBUTION_COLUMNS:
        present = [g.stats[col] for g in groups if g.stats[col][0] > 0]
        if present:
            total.stats[col] = (
                sum(s[0] for s in present),
                sum(s[1] for s in present if s[1] is not None),
                min(s[2] for s in present if s[2] is not None),
                max(s[3] for s in present if s[3] is not None),
            )
    return total


async def aggregate(db: Database, by: GroupBy | None, flt: SessionFilter) -> AggregateResult:
    """The AggregateResult of the counted calls of the sessions `flt` selects, grouped `by`.

    Unfiltered roll-ups read counts in one batch and percentile positions in a second; when
    sessions are deleted in between, the roll-up is computed again (up to three times).
    """
    if by not in _KEY_EXPRESSIONS:
        raise StoreError(f"cannot group by {by!r}; use one of {[k for k in _KEY_EXPRESSIONS if k]} or None")
    for _attempt in range(3):
        try:
            return await _aggregate_once(db, by, flt)
        except _Changed:
            continue
    raise StoreError("the stored calls kept changing during aggregate(); retry when writes settle")


async def _aggregate_once(db: Database, by: GroupBy | None, flt: SessionFilter) -> AggregateResult:
    key_sql = _KEY_EXPRESSIONS[by]
    unfiltered = flt.where("s")[0] == "1"
    statements = _group_statements(key_sql, flt)
    if not unfiltered:
        statements += _window_rank_statements(key_sql, flt)
        if by is not None:
            statements += _window_rank_statements("NULL", flt)
    results = await db.batch(statements)
    groups: dict[str | None, _Group] = {}
    _read_groups(results[0], results[1], groups)
    ordered = [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or ""))]
    total = (groups.get(None) if by is None else _total(ordered) if ordered else None) or _empty()
    totals: dict[str | None, _Group] = {None: total}
    if unfiltered:
        counts: dict[str | None, dict[str, int]] = {
            None: {col: total.stats[col][0] if col in total.stats else 0 for col in DISTRIBUTION_COLUMNS}
        }
        rank_statements, labels = _index_rank_statements(counts, by_model=False)
        if by == "model":
            group_counts = {g.key: {col: g.stats[col][0] for col in DISTRIBUTION_COLUMNS} for g in ordered}
            more, more_labels = _index_rank_statements(group_counts, by_model=True)
        elif by is not None:
            more, more_labels = _window_rank_statements(key_sql, flt), []
        else:
            more, more_labels = [], []
        picked = await db.batch(rank_statements + more) if rank_statements or more else []
        _read_index_ranks(picked[: len(labels)], labels, totals)
        if by == "model":
            _read_index_ranks(picked[len(labels) :], more_labels, groups)
        elif by is not None:
            _read_window_ranks(picked[len(labels) :], groups)
    else:
        _read_window_ranks(results[2:6], groups)
        if by is not None:
            _read_window_ranks(results[6:10], totals)
    if by is None:
        return AggregateResult(by=None, total=total.build())
    return AggregateResult(by=by, total=total.build(), groups=tuple(g.build() for g in ordered))


def _empty() -> _Group:
    group = _Group(None)
    group.numbers = {name: 0 if name in _COUNT_FIELDS else None for name in _NUMBER_FIELDS}
    return group

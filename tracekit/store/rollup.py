"""SQL roll-ups of stored calls, equal to tracekit.aggregates' Python results on the same calls.

Sums, counts, min and max come from one GROUP BY; percentiles are nearest-rank (the value at
1-based rank ceil(P * n / 100), computed in integers) picked with row_number() windows; means are
sum / count (SQLite's sum, so they may differ from Python's math.fsum in the last bits). Every
query of one roll-up runs in one batch, so they all see the same snapshot.
"""

from __future__ import annotations

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


def _calls_cte(key_sql: str, flt: SessionFilter) -> tuple[str, list[Any]]:
    where, params = flt.where("s")
    session_clause = (
        "" if where == "1" else f" AND c.session_id IN (SELECT s.session_id FROM sessions s WHERE {where})"
    )
    return (
        f"WITH calls AS (SELECT {key_sql} AS k, c.* FROM llm_calls c WHERE c.in_rollup = 1{session_clause})",
        params,
    )


def _statements(key_sql: str, flt: SessionFilter, *, with_groups: bool) -> list[Statement]:
    cte, params = _calls_cte(key_sql, flt)
    out: list[Statement] = []
    if with_groups:
        sums = ", ".join(f"COALESCE(sum({col}), 0)" for col in _TOKEN_COLUMNS)
        dists = ", ".join(f"count({col}), sum({col}), min({col}), max({col})" for col in DISTRIBUTION_COLUMNS)
        out.append(
            (
                f"{cte} SELECT k, count(*), "
                "sum(outcome = 'success'), sum(outcome IN ('error', 'timeout', 'cancelled')), "
                "sum(outcome = 'incomplete'), sum(input_tokens IS NULL AND output_tokens IS NULL), "
                f"{sums}, COALESCE(sum(cost_nanousd), 0), sum(cost_nanousd IS NULL), "
                f"COALESCE(sum(tool_call_count), 0), {dists} FROM calls GROUP BY k",
                params,
            )
        )
        out.append(
            (
                f"{cte} SELECT k, price_table_version FROM calls WHERE cost_nanousd IS NOT NULL "
                "AND price_table_version IS NOT NULL GROUP BY k, price_table_version",
                params,
            )
        )
        out.append(
            (f"{cte} SELECT k, model_name FROM calls WHERE model_name != '' GROUP BY k, model_name", params)
        )
        out.append(
            (
                f"{cte} SELECT k, provider FROM calls WHERE provider IS NOT NULL AND provider != '' "
                "GROUP BY k, provider",
                params,
            )
        )
        out.append(
            (
                f"{cte} SELECT calls.k, t.name, count(*) FROM calls JOIN tool_calls t "
                "ON t.session_id = calls.session_id AND t.event_index = calls.event_index "
                "AND t.call_index = calls.call_index GROUP BY calls.k, t.name",
                params,
            )
        )
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in _PERCENTILES)
    for col in DISTRIBUTION_COLUMNS:
        out.append(
            (
                f"{cte} SELECT k, n, rn, v FROM (SELECT k, {col} AS v, count(*) OVER (PARTITION BY k) AS n, "
                f"row_number() OVER (PARTITION BY k ORDER BY {col}) AS rn FROM calls "
                f"WHERE {col} IS NOT NULL) "
                f"WHERE rn IN ({ranks})",
                params,
            )
        )
    return out


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
            cost_usd=self.numbers["cost_nanousd"] / 1e9,
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
        pick = [ranks[(p * count + 99) // 100] for p in _PERCENTILES]
        return Distribution(count, total / count, low, pick[0], pick[1], pick[2], high)


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


def _read_groups(results: list[Result], groups: dict[str | None, _Group]) -> None:
    sums, versions, models, providers, tools = results[:5]
    for row in sums.rows:
        group = groups.setdefault(row[0], _Group(row[0]))
        group.numbers = {name: int(value or 0) for name, value in zip(_NUMBER_FIELDS, row[1:], strict=False)}
        offset = 1 + len(_NUMBER_FIELDS)
        for i, col in enumerate(DISTRIBUTION_COLUMNS):
            count, total, low, high = row[offset + 4 * i : offset + 4 * i + 4]
            group.stats[col] = (int(count), _float(total), _float(low), _float(high))
    for key, version in versions.rows:
        groups[key].versions.add(version)
    for key, name in models.rows:
        groups[key].models.add(name)
    for key, name in providers.rows:
        groups[key].providers.add(name)
    for key, name, count in tools.rows:
        groups[key].tools[name] = int(count)


def _read_ranks(results: list[Result], groups: dict[str | None, _Group]) -> None:
    for col, result in zip(DISTRIBUTION_COLUMNS, results, strict=True):
        for key, _n, rank, value in result.rows:
            groups[key].ranks.setdefault(col, {})[int(rank)] = float(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _total(groups: list[_Group]) -> _Group:
    """Sums, sets and counts of all groups combined (ranks are queried separately)."""
    total = _Group(None)
    total.numbers = {name: sum(g.numbers[name] for g in groups) for name in _NUMBER_FIELDS}
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
    """The AggregateResult of the counted calls of the sessions `flt` selects, grouped `by`."""
    if by not in _KEY_EXPRESSIONS:
        raise StoreError(f"cannot group by {by!r}; use one of {[k for k in _KEY_EXPRESSIONS if k]} or None")
    statements = _statements(_KEY_EXPRESSIONS[by], flt, with_groups=True)
    if by is not None:
        statements += _statements("NULL", flt, with_groups=False)
    results = await db.batch(statements)
    groups: dict[str | None, _Group] = {}
    _read_groups(results, groups)
    _read_ranks(results[5:9], groups)
    if by is None:
        total = groups.get(None) or _empty()
        return AggregateResult(by=None, total=total.build())
    ordered = [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or ""))]
    total = _total(ordered) if ordered else _empty()
    total_groups: dict[str | None, _Group] = {None: total}
    _read_ranks(results[9:13], total_groups)
    return AggregateResult(by=by, total=total.build(), groups=tuple(g.build() for g in ordered))


def _empty() -> _Group:
    group = _Group(None)
    group.numbers = dict.fromkeys(_NUMBER_FIELDS, 0)
    return group

"""SQL roll-ups of stored calls, equal to tracekit.analysis.aggregates' Python results on the same calls.

Every grouping but "timestep" first tries the sessions' roll-up summaries (rollup_rows.py: one
short row per session, exact integer sums), merged in Python (by session, each session's group built
as its summary is read: rollup_sessions.py); only percentiles then touch the call rows (index picks
below, or the summaries' own picks by session). The call-row path that follows is
used by timestep, and when a selected session has no summary yet (a back-fill cut short).

Sums and counts come from one GROUP BY straight over the narrow llm_calls rows (no CTE: copying
whole rows into a subquery costs more than the sums), on the key column as stored so SQLite can
walk that column's index rather than sort a million wide rows; "" and NULL keys (both "missing")
are merged in Python. The distinct price-version / model / provider lists come from the same
pass, except the list the key already fixes (by="model": the key is the only model). Tool-call
counts by name scan `tool_calls` alone, which repeats its call's roll-up facts.

By timestep over every session (schema version 4), the sums walk ix_llm_calls_rollup_timestep,
which covers every column they read in step order (no sort of the call rows, no table reads),
grouped by its leading columns through the outcome (so the distinct lists and the outcome counts
are read once a group row, and the unpriced calls are counted per model),
tool counts walk ix_tool_calls_rollup_timestep, and the warnings' counts come from the sessions'
summaries. Steps are keyed across sessions ("step-3" of every run), so no per-session summary
can hold their numbers.

Percentiles, min and max are nearest-rank picks (the value at 1-based rank ceil(P * n / 100),
computed in integers; min is rank 1, max rank n): without session filters, for the total and
for by="model" and by="timestep" (when steps are few beside the calls), each is one index
lookup (`LIMIT 1 OFFSET rank`, from the nearer end, on the roll-up indexes); many small steps
walk each timestep percentile index with a row_number() window (in index order, no sort);
with filters a row_number() window picks them.

Means equal tracekit.analysis.aggregates' exactly: they come from the exact sum of the values, never from
SQLite's float sum (whose rounding depends on row order and SQLite version). Each value is split
in SQL into an integer and its float rest (`_Split`: for |v| in [2**-2, 2**41)), whose sums SQLite
computes exactly while a group row has at most 2**21 values (fewer when it holds values below
2**-2, fetched with an index range each); a larger group makes the roll-up split each value into two
integers instead (the values outside the range corrected for in Python with Fractions). When an
integer sum would overflow or a value reaches the range's top, the roll-up is computed again with a
three-integer split (exact for |v| in [2**-12, 2**63)), and past that by fetching the values
themselves.

Warnings (no LLM calls recorded, LM events without calls, unpriced calls) are counted in SQL in the
same batch by tracekit/store/rollup_warnings.py and equal tk.aggregate's.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeVar

from tracekit.analysis.aggregates import AggregateResult, Distribution, GroupAggregate, GroupBy, mean_of_sum
from tracekit.errors import StoreError
from tracekit.store.libsql import Database, Result, Statement
from tracekit.store.queries import SessionFilter
from tracekit.store.rollup_rows import (
    DISTRIBUTION_COLUMNS,
    TOKEN_COLUMNS,
    ExactSum,
    Merged,
    combined,
    fold,
)
from tracekit.store.rollup_sessions import PicksMissing, session_groups
from tracekit.store.rollup_steps import Lost, build_steps, pick_statement, split_rows
from tracekit.store.rollup_warnings import (
    read_warnings,
    summary_warning_statement,
    summary_warnings,
    warning_statement,
)
from tracekit.store.schema import ROLLUP_INDEX_KEYS

__all__ = ["DISTRIBUTION_COLUMNS", "aggregate"]

_N = TypeVar("_N", int, float)

_KEY_EXPRESSIONS: dict[GroupBy | None, str] = {
    None: "NULL",
    "model": "NULLIF({t}.model_name, '')",
    "provider": "NULLIF({t}.provider, '')",
    "agent": "NULLIF({t}.system_instance_id, '')",
    "session": "NULLIF({t}.session_id, '')",
    # unary +: a filtered window never walks a step index (a random table lookup per call, ~1.8x
    # slower over 100k calls than scanning the table and sorting the narrow (key, value) pairs);
    # unfiltered, the timestep indexes serve it (_step_window_statements). NULLIF: a row holding ""
    # (written by another writer; the store itself writes NULL) is the missing key, as NULL is
    "timestep": "NULLIF(+{t}.step_id, '')",
}
"""Group key per grouping, over a table alias `{t}`: exactly analysis/aggregates' key (window picks)."""

_GROUP_COLUMNS: dict[GroupBy | None, str] = {
    None: "NULL",
    "model": "{t}.model_name",
    "provider": "{t}.provider",
    "agent": "{t}.system_instance_id",
    "session": "{t}.session_id",
    # unary +: sort when filtered (unfiltered, _group_statements walks ix_llm_calls_rollup_timestep,
    # which covers the sums). A plain step index costs a table lookup per call, and steps are many
    # and interleaved; models, providers and agents are few, sessions follow row order.
    "timestep": "+{t}.step_id",
}
"""The column behind each key, grouped on as stored ("" and NULL merge into None in Python): a
plain column lets SQLite walk its index (rows in row order per key) instead of sorting a million
wide rows by an expression. llm_calls and tool_calls both have these columns."""

_TOKEN_COLUMNS = TOKEN_COLUMNS
_PERCENTILES = (50, 90, 99)

_PARTS_PER_COLUMN = 4
"""Per distribution column the group query returns count(v) and three integer sums."""


@dataclass(frozen=True, slots=True)
class _Split:
    """An exact split of each value v into parts SQLite sums exactly: with s = v * scale,
    a = CAST(s AS INTEGER), b = CAST((s - a) * 2**32 AS INTEGER) and, with three parts,
    c = CAST(((s - a) * 2**32 - b) * 2**32 AS INTEGER), v = (a, b[, c] read base 2**32) / unit.
    That holds for every |v| in [small, big); the values outside are fetched and corrected for.

    With `float_rest` the second part is r = s - a itself (exact: the fraction of a float) summed
    as a float: 2 opcodes a value fewer than b. Every |v| >= small makes r a multiple of 2**-32
    below 1 in magnitude, so SQLite's float sum of a group's r is exact while the group has at
    most 2**21 values (each partial sum then fits 53 bits); a + r = s exactly, so nothing is left
    to correct. Smaller values lower that bound (`float_rest_limit`), and past it the integer split
    is used instead."""

    scale: float
    parts: int
    small: float
    big: float
    float_rest: bool = False

    @property
    def unit(self) -> int:
        return int(self.scale) if self.float_rest else int(self.scale) << (32 * (self.parts - 1))

    def sums_sql(self, col: str) -> str:
        scaled = f"c.{col}" if self.scale == 1.0 else f"(c.{col} * {self.scale!r})"
        whole = f"CAST({scaled} AS INTEGER)"
        if self.float_rest:
            # a REAL sum (0.0, never an INTEGER, when every rest is 0); an infinite one (values past
            # 2**1000, also fetched as past `big`) comes back NULL: a server cannot send infinity
            rest = f"sum({scaled} - {whole})"
            return f"sum({whole}), CASE WHEN abs({rest}) < 1e300 THEN {rest} END, 0"
        first = f"(({scaled} - {whole}) * 4294967296.0)"
        if self.parts == 2:
            return f"sum({whole}), sum(CAST({first} AS INTEGER)), 0"
        second = f"(({first} - CAST({first} AS INTEGER)) * 4294967296.0)"
        return f"sum({whole}), sum(CAST({first} AS INTEGER)), sum(CAST({second} AS INTEGER))"

    def exact(self, whole: int, first: int | float, second: int) -> ExactSum:
        """The exact sum from the integer sums (or the integer and float sums) the SQL returned, as
        integers (mantissa * 2**exponent: no Fraction a group, the mean without one)."""
        shift = 1 - self.unit.bit_length()  # unit is a power of two
        if self.float_rest:
            numerator, denominator = float(first).as_integer_ratio()  # denominator: a power of two
            return ExactSum(whole * denominator + numerator, shift + 1 - denominator.bit_length())
        if self.parts == 2:
            return ExactSum((whole << 32) + int(first), shift)
        return ExactSum((whole << 64) + (int(first) << 32) + second, shift)

    def excess(self, value: float) -> Fraction:
        """value minus what the SQL split counted for it (SQLite's float steps and truncating
        CAST replayed; |value| < big): 0 with `float_rest`, which counts every value whole."""
        if self.float_rest:
            return Fraction(0)
        scaled = value * self.scale
        whole = int(scaled)
        first = (scaled - whole) * 4294967296.0
        b = int(first)
        c = int((first - b) * 4294967296.0) if self.parts == 3 else 0
        return Fraction(value) - self.exact(whole, b, c).fraction()

    def float_rest_limit(self, value: float) -> int:
        """The most values a group holding `value` (0 < |value| < small) may have for the float sum
        of the rests to stay exact: its rest is a multiple of 2**(e - 30) (|value| in [2**e,
        2**(e+1))), so the partial sums, below the count, fit 53 bits while count <= 2**(23 + e)."""
        exponent = math.frexp(value)[1] - 1
        return 1 << (23 + exponent) if exponent > -23 else 0


_FLOAT_REST_COUNT = 1 << 21
"""With `float_rest`, the most values of one column a group row may sum (values >= small)."""

_SPLITS: tuple[_Split | None, ...] = (
    # the integer part and the float rest: |v| in [2**-2, 2**41), up to 2**21 values a group
    _Split(scale=4194304.0, parts=2, small=0.25, big=2199023255552.0, float_rest=True),
    # two integer parts: |v| in [2**-2, 2**41); sum(a) overflows only when the values add up to 2**41
    _Split(scale=4194304.0, parts=2, small=0.25, big=2199023255552.0),
    # three parts: |v| in [2**-12, 2**63); sum(a) overflows only at 2**63
    _Split(scale=1.0, parts=3, small=0.000244140625, big=9223372036854775808.0),
    None,  # fetch the values themselves
)
"""Tried in order: the cheaper split first; a group too large for the float rest moves to the next,
an integer overflow or a value at `big` to the first split with a larger `big`."""

_LISTS: dict[str, str] = {
    "versions": "CASE WHEN c.cost_nanousd IS NOT NULL THEN c.price_table_version END",
    "models": "NULLIF(c.model_name, '')",
    "providers": "NULLIF(c.provider, '')",
    "unpriced_models": "CASE WHEN c.cost_nanousd IS NULL THEN c.model_name END",
}
"""Distinct-value lists of a group, as SQL over llm_calls c."""

_KEYED_LISTS: dict[str, str] = {
    "versions": "CASE WHEN count(c.cost_nanousd) > 0 THEN c.price_table_version END",
    "models": "NULLIF(c.model_name, '')",
    "providers": "NULLIF(c.provider, '')",
    "unpriced_models": "CASE WHEN count(*) > count(c.cost_nanousd) THEN c.model_name END",
}
"""_LISTS for a group of one (model, provider, price version): one item or null each."""

_KEY_LISTS: dict[GroupBy | None, str] = {"model": "models", "provider": "providers"}
"""The list a grouping fixes: the group's key is its only member (none for the None key)."""


def _key(by: GroupBy | None, alias: str) -> str:
    return _KEY_EXPRESSIONS[by].format(t=alias)


def _group_column(by: GroupBy | None, alias: str) -> str:
    return _GROUP_COLUMNS[by].format(t=alias)


def _session_clause(flt: SessionFilter, alias: str) -> tuple[str, list[Any]]:
    where, params = flt.where("s")
    if where == "1":
        return "", params
    return f" AND {alias}.session_id IN (SELECT s.session_id FROM sessions s WHERE {where})", params


def _lists(by: GroupBy | None) -> list[str]:
    """Names of the lists the group query computes (the key's own list is known without SQL)."""
    return [name for name in _LISTS if name != _KEY_LISTS.get(by)]


def _group_statements(by: GroupBy | None, flt: SessionFilter, split: _Split | None) -> list[Statement]:
    """Per-group sums and counts (one pass over the narrow call rows) and tool-call counts by name.
    Without a split its sums are 0 and every value is fetched instead. By timestep over every
    session, both walk their timestep index (covering, in key order: no sort, no table reads)."""
    calls_clause, params = _session_clause(flt, "c")
    tools_clause, tool_params = _session_clause(flt, "t")
    calls_from, calls_where = "llm_calls c", "+c.in_rollup = 1"
    tools_from, calls_key, tools_key = "tool_calls t", _group_column(by, "c"), _group_column(by, "t")
    if by == "timestep" and not calls_clause:
        calls_from, calls_where = "llm_calls c INDEXED BY ix_llm_calls_rollup_timestep", "c.in_rollup = 1"
        tools_from, calls_key, tools_key = (
            "tool_calls t INDEXED BY ix_tool_calls_rollup_timestep",
            "c.step_id",
            "t.step_id",
        )
    sums = ", ".join(f"sum(c.{col})" for col in _TOKEN_COLUMNS)  # NULL when no call reported it
    dists = ", ".join(
        f"count(c.{col}), {'0, 0, 0' if split is None else split.sums_sql(col)}"
        for col in DISTRIBUTION_COLUMNS
    )
    lists = "".join(f", json_group_array(DISTINCT {_LISTS[name]})" for name in _lists(by))
    # no GROUP BY for the total: one row even over no calls, and no sort
    group_by, tool_group_by = ("", "t.name") if by is None else (" GROUP BY k", "k, t.name")
    # count(*) FILTER skips the aggregate step on rows that do not match (cheaper than sum(x = y))
    outcomes = (
        "count(*) FILTER (WHERE c.outcome = 'success'), "
        "count(*) FILTER (WHERE c.outcome IN ('error', 'timeout', 'cancelled')), "
        "count(*) FILTER (WHERE c.outcome = 'incomplete')"
    )
    if calls_from != "llm_calls c":
        # in the index's order: each row's lists are its own keys (rows of one step merge in Python),
        # and so is its outcome (the index's next column), so its counts by outcome are computed once
        # a row, not a FILTER step a call
        lists = "".join(f", {_KEYED_LISTS[name]}" for name in _lists(by))
        group_by = " GROUP BY c.step_id, c.model_name, c.provider, c.price_table_version, c.outcome"
        outcomes = (
            "CASE WHEN c.outcome = 'success' THEN count(*) ELSE 0 END, "
            "CASE WHEN c.outcome IN ('error', 'timeout', 'cancelled') THEN count(*) ELSE 0 END, "
            "CASE WHEN c.outcome = 'incomplete' THEN count(*) ELSE 0 END"
        )
    return [
        (
            f"SELECT {calls_key} AS k, count(*), {outcomes}, "
            # count(*) minus counts of values: one aggregate step a call where a FILTER takes two
            # (count(c.cost_nanousd) is also the step the keyed lists read)
            "count(*) - count(COALESCE(c.input_tokens, c.output_tokens)), "
            f"{sums}, sum(c.cost_nanousd), count(*) - count(c.cost_nanousd), "
            f"COALESCE(sum(c.tool_call_count), 0), {dists}{lists} "
            # unary +: not the roll-up indexes, whose value order would make every row a random lookup
            f"FROM {calls_from} WHERE {calls_where}{calls_clause}{group_by}",
            params,
        ),
        (
            f"SELECT {tools_key} AS k, t.name, count(*) FROM {tools_from} "
            f"WHERE t.in_rollup = 1{tools_clause} GROUP BY {tool_group_by}",
            tool_params,
        ),
    ]


def _outlier_statements(by: GroupBy | None, flt: SessionFilter, split: _Split | None) -> list[Statement]:
    """Per distribution column, (key, value) of the values the split cannot hold exactly (each an
    index range on the roll-up index); every value without a split."""
    clause, params = _session_clause(flt, "c")
    key = _key(by, "c")
    statements: list[Statement] = []
    for col in DISTRIBUTION_COLUMNS:
        head = f"SELECT {key} AS k, c.{col} FROM llm_calls c WHERE c.in_rollup = 1{clause} AND "
        if split is None:
            statements.append((head + f"c.{col} IS NOT NULL", params))
            continue
        ranges = (
            f"c.{col} > -{split.small!r} AND c.{col} < 0",
            f"c.{col} > 0 AND c.{col} < {split.small!r}",
            f"c.{col} >= {split.big!r}",
            f"c.{col} <= -{split.big!r}",
        )
        statements.append((" UNION ALL ".join(head + r for r in ranges), params * len(ranges)))
    return statements


class _NotExact(Exception):
    """A value reached the split's `big` (or an integer sum overflowed), or a group is too large for
    the float rest: try the next way."""

    def __init__(self, *, magnitude: bool) -> None:
        super().__init__("a value past the split's range" if magnitude else "a group past the float rest")
        self.magnitude = magnitude


def _read_outliers(results: list[Result], groups: dict[str | None, _Group], split: _Split | None) -> None:
    """Add to each group's exact sums what the split missed (or, without a split, the values)."""
    for col, result in zip(DISTRIBUTION_COLUMNS, results, strict=True):
        for key, value in result.rows:
            number = float(value)
            if split is not None and abs(number) >= split.big:
                raise _NotExact(magnitude=True)
            group = groups[key or None]
            count, total = group.stats[col]
            if split is not None and split.float_rest and count > split.float_rest_limit(number):
                # (the merged group's count bounds each of its rows' counts)
                raise _NotExact(magnitude=False)
            added = Fraction(number) if split is None else split.excess(number)
            group.stats[col] = (count, _fraction(total) + added)


def _window_rank_statements(by: GroupBy | None, flt: SessionFilter) -> list[Statement]:
    """Nearest-rank picks (min and max included) for any grouping and filter: one row_number()
    window per distribution."""
    clause, params = _session_clause(flt, "c")
    key = _key(by, "c")
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in _PERCENTILES)
    return [
        (
            f"SELECT k, rn, v FROM (SELECT {key} AS k, c.{col} AS v, "
            f"count(*) OVER (PARTITION BY {key}) AS n, "
            f"row_number() OVER (PARTITION BY {key} ORDER BY c.{col}) AS rn FROM llm_calls c "
            f"WHERE +c.in_rollup = 1{clause} AND c.{col} IS NOT NULL) WHERE rn IN (1, {ranks}) OR rn = n",
            params,
        )
        for col in DISTRIBUTION_COLUMNS
    ]


def _step_window_statements() -> list[Statement]:
    """The window picks by timestep over every session, each walking its timestep percentile index
    (already in (step, value) order: no sort): for many small steps, where index picks would be a
    statement per rank."""
    ranks = ", ".join(f"({p} * n + 99) / 100" for p in _PERCENTILES)
    return [
        (
            f"SELECT k, rn, v FROM (SELECT c.step_id AS k, c.{col} AS v, "
            "count(*) OVER (PARTITION BY c.step_id) AS n, "
            f"row_number() OVER (PARTITION BY c.step_id ORDER BY c.{col}) AS rn "
            f"FROM llm_calls c INDEXED BY ix_llm_calls_rollup_timestep_{col} "
            f"WHERE c.in_rollup = 1 AND c.{col} IS NOT NULL) WHERE rn IN (1, {ranks}) OR rn = n",
            [],
        )
        for col in DISTRIBUTION_COLUMNS
    ]


_PICKS_PER_CALL = 40
"""By timestep, index picks (a statement per rank) while steps * this <= calls; a window beyond."""


def _ranks(count: int) -> list[int]:
    """The 1-based ranks a Distribution of `count` values needs: min, the percentiles, max."""
    return sorted({1, count, *((p * count + 99) // 100 for p in _PERCENTILES)})


def _index_rank_statements(
    counts: dict[str | None, dict[str, int]],
    *,
    by_model: bool = False,
    by: GroupBy | None = None,
    null_key: bool = False,
) -> tuple[list[Statement], list[tuple[str | None, str, int]]]:
    """Nearest-rank picks by position in the roll-up indexes (unfiltered: the total, or a grouping
    of schema.ROLLUP_INDEX_KEYS): one `LIMIT 1 OFFSET` per rank, walking from whichever end of the
    index is nearer. The None key's rows hold "" in the key column, or NULL with `null_key` (never
    both: that group's values would not be one index range)."""
    if by_model:
        by = "model"
    statements: list[Statement] = []
    labels: list[tuple[str | None, str, int]] = []
    for key, per_column in counts.items():
        for col in DISTRIBUTION_COLUMNS:
            count = per_column.get(col, 0)
            for rank in _ranks(count) if count else []:
                index = f"ix_llm_calls_rollup_{by}_{col}" if by else f"ix_llm_calls_rollup_{col}"
                where = f"in_rollup = 1 AND {col} IS NOT NULL"
                params: list[Any] = []
                if by and key is None and null_key:
                    where += f" AND {ROLLUP_INDEX_KEYS[by]} IS NULL"
                elif by:
                    where += f" AND {ROLLUP_INDEX_KEYS[by]} = ?"
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


_NO_VALUES: tuple[int, Fraction] = (0, Fraction(0))


@dataclass(slots=True)
class _Group:
    """Mutable accumulator for one group while the query results are read."""

    key: str | None
    numbers: dict[str, Any] = field(default_factory=dict)
    versions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)
    unpriced_models: set[str] = field(default_factory=set)
    """Models ("" included) of the calls with no cost: for the unpriced warning."""
    tools: dict[str, int] = field(default_factory=dict)
    stats: dict[str, tuple[int, Fraction | ExactSum]] = field(default_factory=dict)
    """Per distribution column: (count of values, their exact sum); min and max are picked as ranks."""
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
        count, total = self.stats.get(col, _NO_VALUES)
        if count == 0:
            return Distribution()
        ranks = self.ranks.get(col, {})
        try:
            low, p50, p90, p99, high = [ranks[rank] for rank in _ranks_wanted(count)]
        except KeyError:
            raise _Changed from None
        mean = total.mean(count) if isinstance(total, ExactSum) else mean_of_sum(total, count)
        return Distribution(count, mean, low, p50, p90, p99, high)


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


def _read_groups(
    by: GroupBy | None,
    sums: Result,
    tools: Result,
    groups: dict[str | None, _Group],
    split: _Split | None,
    *,
    keyed: bool = False,
) -> None:
    """Groups from the sums and tool-count rows; rows whose raw keys ("" and NULL) both mean None merge.
    `keyed`: the rows are the timestep index's groups, whose lists are one item (or null) each."""
    offset = 1 + len(_NUMBER_FIELDS)
    lists_at = offset + _PARTS_PER_COLUMN * len(DISTRIBUTION_COLUMNS)
    names = _lists(by)
    for row in sums.rows:
        key = row[0] or None
        part = _Group(key)
        part.numbers = {
            name: (int(value or 0) if name in _COUNT_FIELDS else None if value is None else int(value))
            for name, value in zip(_NUMBER_FIELDS, row[1:], strict=False)
        }
        for i, col in enumerate(DISTRIBUTION_COLUMNS):
            at = offset + _PARTS_PER_COLUMN * i
            count, whole, first, second = row[at : at + _PARTS_PER_COLUMN]
            count = int(count or 0)
            if split is None:
                part.stats[col] = (count, Fraction(0))
                continue
            if split.float_rest and count > _FLOAT_REST_COUNT:
                raise _NotExact(magnitude=False)
            # the float rest stays a float (its exact value); integer parts are read as integers
            rest = (first or 0) if split.float_rest else int(first or 0)
            if not math.isfinite(rest):
                raise _NotExact(magnitude=True)  # values scaled past float range (sums past `big`)
            part.stats[col] = (count, split.exact(int(whole or 0), rest, int(second or 0)))
        if keyed:  # each list is its group row's one item, or null
            lists = {
                name: set() if item is None else {item}
                for name, item in zip(names, row[lists_at:], strict=True)
            }
        else:
            lists = {
                name: {item for item in json.loads(text) if item is not None}
                for name, text in zip(names, row[lists_at:], strict=True)
            }
        if by in _KEY_LISTS:
            lists[_KEY_LISTS[by]] = set() if key is None else {key}
        part.versions, part.models, part.providers = lists["versions"], lists["models"], lists["providers"]
        part.unpriced_models = lists["unpriced_models"]
        groups[key] = _combine([groups[key], part], key) if key in groups else part
    for raw, name, count in tools.rows:
        tools_of = groups[raw or None].tools
        tools_of[name] = tools_of.get(name, 0) + int(count)


def _unpriced_by_model(sums: Result) -> dict[str, int]:
    """Calls without a cost per model ("" included) from the by-timestep rows, each keyed by one
    model: its unpriced count, and its unpriced-models list (that model, or null when it has none)."""
    at = 1 + _NUMBER_FIELDS.index("unpriced_call_count")
    counts: dict[str, int] = {}
    for row in sums.rows:
        unpriced = int(row[at] or 0)
        if unpriced:
            model = row[-1]  # the last list: unpriced_models (its one model: "" included)
            counts[model] = counts.get(model, 0) + unpriced
    return counts


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


def _fraction(total: Fraction | ExactSum) -> Fraction:
    return total.fraction() if isinstance(total, ExactSum) else total


def _sum_reported(values: Iterable[_N | None]) -> _N | None:
    """Sum of the groups' values; None when every group had None (nothing reported)."""
    present = [v for v in values if v is not None]
    return sum(present[1:], present[0]) if present else None


def _combine(groups: list[_Group], key: str | None = None) -> _Group:
    """Sums, sets and counts of `groups` combined into one group (ranks are queried separately)."""
    total = _Group(key)
    total.numbers = {name: _sum_reported(g.numbers[name] for g in groups) for name in _NUMBER_FIELDS}
    for group in groups:
        total.versions |= group.versions
        total.models |= group.models
        total.providers |= group.providers
        total.unpriced_models |= group.unpriced_models
        for name, count in group.tools.items():
            total.tools[name] = total.tools.get(name, 0) + count
    for col in DISTRIBUTION_COLUMNS:
        sums = [g.stats[col][1] for g in groups]
        exact: Fraction | ExactSum
        if all(isinstance(one, ExactSum) for one in sums):
            exact = ExactSum()  # integer adds: no Fraction a group
            for one in sums:
                exact.add(one.mantissa, one.exponent)  # type: ignore[union-attr]
        else:
            exact = sum((_fraction(one) for one in sums), Fraction(0))
        total.stats[col] = (sum(g.stats[col][0] for g in groups), exact)
    return total


async def aggregate(db: Database, by: GroupBy | None, flt: SessionFilter) -> AggregateResult:
    """The AggregateResult of the counted calls of the sessions `flt` selects, grouped `by`.

    Every grouping but "timestep" is summed from the sessions' roll-up summaries (rollup_rows.py)
    when each selected session has one; otherwise, and by timestep, from the call rows. Counts are
    read in one batch and percentile positions in a second; when sessions change in between, the
    roll-up is computed again (up to five times). Values the exact split cannot sum (see the
    module doc) make the call-row path use the next split, and at last fetch the values.
    """
    if not (by is None or isinstance(by, str)) or by not in _KEY_EXPRESSIONS:
        raise StoreError(f"cannot group by {by!r}; use one of {[k for k in _KEY_EXPRESSIONS if k]} or None")
    if by != "timestep":
        for _attempt in range(5):
            try:
                summed = await (
                    _from_session_summaries(db, flt) if by == "session" else _from_summaries(db, by, flt)
                )
            except (_Changed, PicksMissing):
                continue
            if summed is not None:
                return summed
            break  # a session without a summary (saved before schema version 3): read the call rows
    at = 0
    for _attempt in range(5 + len(_SPLITS)):
        split = _SPLITS[at]
        try:
            return await _aggregate_once(db, by, flt, split)
        except _Changed:
            continue
        except _NotExact as exc:
            at = _next_split(at, magnitude=exc.magnitude)
        except StoreError as exc:
            if split is None or "integer overflow" not in str(exc):
                raise
            at = _next_split(at, magnitude=True)  # an integer sum beyond 64 bits: huge values
    raise StoreError("the stored calls kept changing during aggregate(); retry when writes settle")


def _next_split(at: int, *, magnitude: bool) -> int:
    """The split after _SPLITS[at]; past the values' magnitude, the first with a larger `big`."""
    current = _SPLITS[at]
    at += 1
    while (
        magnitude and current is not None and (split := _SPLITS[at]) is not None and split.big <= current.big
    ):
        at += 1
    return at


async def _aggregate_once(
    db: Database, by: GroupBy | None, flt: SessionFilter, split: _Split | None
) -> AggregateResult:
    unfiltered = flt.where("s")[0] == "1"
    statements = _group_statements(by, flt, split)
    if not unfiltered:
        statements += _window_rank_statements(by, flt)
        if by is not None:
            statements += _window_rank_statements(None, flt)
    statements += _outlier_statements(by, flt, split)
    # by timestep the warnings' counts come from the sessions' summaries (far cheaper than counting
    # every session's rows), unless a selected session has none yet
    counting = summary_warning_statement(flt) if by == "timestep" else warning_statement(flt)
    batch = await db.batch([*statements, counting])
    results, session_counts = batch[:-1], batch[-1]
    if by == "timestep" and any(row[1] is None for row in session_counts.rows):
        session_counts = await db.execute(*warning_statement(flt))
    if by == "timestep" and unfiltered and split is not None and split.float_rest:
        stepped = await _many_steps(db, flt, results, session_counts, split)
        if stepped is not None:
            return stepped
    groups: dict[str | None, _Group] = {}
    # the cyclic collector off while the groups are built (a million steps are millions of objects,
    # each collection a walk over all of them)
    with _gc_paused():
        _read_groups(by, results[0], results[1], groups, split, keyed=by == "timestep" and unfiltered)
        _read_outliers(results[-len(DISTRIBUTION_COLUMNS) :], groups, split)
        ordered = [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or ""))]
        total = (groups.get(None) if by is None else _combine(ordered) if ordered else None) or _empty()
        totals: dict[str | None, _Group] = {None: total}
        rank_statements: list[Statement] = []
        labels: list[tuple[str | None, str, int]] = []
        more: list[Statement] = []
        more_labels: list[tuple[str | None, str, int]] = []
        if unfiltered:
            counts: dict[str | None, dict[str, int]] = {
                None: {col: total.stats[col][0] if col in total.stats else 0 for col in DISTRIBUTION_COLUMNS}
            }
            rank_statements, labels = _index_rank_statements(counts, by_model=False)
            raw_none = {row[0] for row in results[0].rows if not row[0]}
            if by == "model":
                more, more_labels = _index_rank_statements(_group_counts(ordered), by_model=True)
            elif by == "timestep" and "" not in raw_none:
                # few steps (shared across sessions: "step-3" of every run): a pick per rank by index
                # position; many small ones: one walk of each percentile index
                if len(ordered) * _PICKS_PER_CALL <= total.numbers["call_count"]:
                    more, more_labels = _index_rank_statements(
                        _group_counts(ordered), by="timestep", null_key=True
                    )
                else:
                    more = _step_window_statements()
            elif by is not None:
                more = _window_rank_statements(by, flt)
    picked = await db.batch(rank_statements + more) if rank_statements or more else []
    with _gc_paused():
        if unfiltered:
            _read_index_ranks(picked[: len(labels)], labels, totals)
            if more_labels:
                _read_index_ranks(picked[len(labels) :], more_labels, groups)
            elif more:
                _read_window_ranks(picked[len(labels) :], groups)
        else:
            _read_window_ranks(results[2:6], groups)
            if by is not None:
                _read_window_ranks(results[6:10], totals)
        built = total.build()
        # keyed by model (by timestep over every session), the rows already count the unpriced calls
        # of each model: no second pass over the calls for the unpriced line
        unpriced_by_model = _unpriced_by_model(results[0]) if by == "timestep" and unfiltered else None
    warnings = await read_warnings(db, flt, session_counts, built, total.unpriced_models, unpriced_by_model)
    if by is None:
        return AggregateResult(by=None, total=built, warnings=warnings)
    with _gc_paused():
        return AggregateResult(
            by=by, total=built, groups=tuple(g.build() for g in ordered), warnings=warnings
        )


async def _many_steps(
    db: Database, flt: SessionFilter, results: list[Result], session_counts: Result, split: _Split
) -> AggregateResult | None:
    """By timestep over every session with many small steps (more than calls / _PICKS_PER_CALL):
    each one-row step built straight from its row (rollup_steps.py), the total summed in integers
    from the rows, the picks one pivoted row a step and column. None (the general path) when a key is
    "", a value lies outside the split's range (outlier rows), or the steps are few."""
    sums, tool_rows = results[0].rows, results[1].rows
    if any(result.rows for result in results[-len(DISTRIBUTION_COLUMNS) :]):
        return None
    with _gc_paused():
        if any(row[0] == "" for row in sums) or any(row[0] == "" for row in tool_rows):
            return None
        steps = split_rows(sums)
        calls = sum(row[1] for row in sums)
        if (len(steps.single) + len(steps.several)) * _PICKS_PER_CALL <= calls:
            return None
        tools: dict[str | None, dict[str, int]] = {}
        for key, name, count in tool_rows:
            of_step = tools.get(key)
            if of_step is None:
                tools[key] = {name: count}
            else:
                of_step[name] = of_step.get(name, 0) + count
        total = _steps_total(sums, tools, split)
        if total is None:
            return None
        rank_statements, labels = _index_rank_statements({None: _counts(total)})
        # a step of one value (nonzero: the sum cannot tell 0.0 from -0.0) is its own pick
        pick_statements: list[Statement] = (
            []
            if not steps.several and _one_value_each(sums)
            else [(pick_statement(col, _PERCENTILES), []) for col in DISTRIBUTION_COLUMNS]
        )
    picked = await db.batch(rank_statements + pick_statements)
    with _gc_paused():
        _read_index_ranks(picked[: len(labels)], labels, {None: total})
        picks: list[dict[str | None, Sequence[Any]]] | None = [
            {row[0]: row for row in result.rows} for result in picked[len(labels) :]
        ] or None
        try:
            built_steps = build_steps(steps.single, tools, picks, 1 - split.unit.bit_length())
        except Lost:
            raise _Changed from None
        for key, rows in steps.several.items():
            built_steps[key] = _several_rows(key, rows, tools, picks or [], split)
        built = total.build()
        unpriced_by_model = _unpriced_by_model(results[0])
    warnings = await read_warnings(db, flt, session_counts, built, total.unpriced_models, unpriced_by_model)
    with _gc_paused():
        keys = sorted(built_steps, key=lambda k: (k is None, k or ""))
        return AggregateResult(
            by="timestep", total=built, groups=tuple([built_steps[k] for k in keys]), warnings=warnings
        )


def _one_value_each(rows: list[Any]) -> bool:
    """Whether every group row holds at most one value of each distribution column, none of them 0
    (whole part 0: with no outlier rows every nonzero value is at least the split's `small`)."""
    offset = 1 + len(_NUMBER_FIELDS)
    for i in range(len(DISTRIBUTION_COLUMNS)):
        at = offset + _PARTS_PER_COLUMN * i
        for row in rows:
            if row[at] > 1 or (row[at] and not row[at + 1]):
                return False
    return True


def _steps_total(rows: list[Any], tools: dict[str | None, dict[str, int]], split: _Split) -> _Group | None:
    """The total of the timestep group rows, summed column by column (integers only; None when a
    float rest is not a multiple of 2**-32, or a group row holds more than the float rest's limit)."""
    columns = list(zip(*rows, strict=True))
    total = _Group(None)
    total.numbers = {
        name: (sum(values) if name in _COUNT_FIELDS else _sum_reported(values))
        for name, values in zip(_NUMBER_FIELDS, columns[1:], strict=False)
    }
    offset = 1 + len(_NUMBER_FIELDS)
    exponent = 1 - split.unit.bit_length() - 32
    for i, col in enumerate(DISTRIBUTION_COLUMNS):
        at = offset + _PARTS_PER_COLUMN * i
        counts = columns[at]
        if any(count > _FLOAT_REST_COUNT for count in counts):
            return None
        rests = [(rest or 0.0) * 4294967296.0 for rest in columns[at + 2]]
        whole_rests = [int(rest) for rest in rests]
        if whole_rests != rests:
            return None
        mantissa = (sum(filter(None, columns[at + 1])) << 32) + sum(whole_rests)
        total.stats[col] = (sum(counts), ExactSum(mantissa, exponent))
    lists_at = offset + _PARTS_PER_COLUMN * len(DISTRIBUTION_COLUMNS)
    total.versions, total.models, total.providers, total.unpriced_models = (
        {item for item in values if item is not None} for values in columns[lists_at : lists_at + 4]
    )
    for of_step in tools.values():
        for name, count in of_step.items():
            total.tools[name] = total.tools.get(name, 0) + count
    return total


def _several_rows(
    key: str | None,
    rows: list[Any],
    tools: dict[str | None, dict[str, int]],
    picks: list[dict[str | None, Sequence[Any]]],
    split: _Split,
) -> GroupAggregate:
    """A step of several group rows, merged the general way (_read_groups), with its picks."""
    groups: dict[str | None, _Group] = {}
    _read_groups("timestep", Result((), rows, 0), Result((), [], 0), groups, split, keyed=True)
    group = groups[key]
    group.tools = dict(tools.get(key, {}))
    for col, of_col in zip(DISTRIBUTION_COLUMNS, picks, strict=True):
        count = group.stats[col][0]
        picked = of_col.get(key)
        if not count:
            continue
        if picked is None or picked[1] != count:
            raise _Changed
        group.ranks[col] = dict(zip(_ranks_wanted(count), picked[2:7], strict=True))
    return group.build()


def _group_counts(ordered: list[_Group]) -> dict[str | None, dict[str, int]]:
    return {g.key: {col: g.stats[col][0] for col in DISTRIBUTION_COLUMNS} for g in ordered}


def _empty() -> _Group:
    group = _Group(None)
    group.numbers = {name: 0 if name in _COUNT_FIELDS else None for name in _NUMBER_FIELDS}
    return group


_SUMMARY_KEYS: dict[GroupBy | None, Any] = {
    None: lambda summary, entry: None,
    "model": lambda summary, entry: entry[0] or None,
    "provider": lambda summary, entry: entry[1] or None,
    "agent": lambda summary, entry: entry[2] or None,
}
"""The group key of a summary entry (model, provider, agent, ...) per grouping, as tk.aggregate keys."""


def _merged_group(key: str | None, merged: Merged) -> _Group:
    group = _Group(key)
    group.numbers = dict(zip(_NUMBER_FIELDS, merged.numbers, strict=True))
    group.versions, group.models, group.providers = merged.versions, merged.models, merged.providers
    group.unpriced_models = merged.unpriced_models
    group.tools = merged.tools
    for i, col in enumerate(DISTRIBUTION_COLUMNS):
        group.stats[col] = (merged.counts[i], merged.sums[i])
    return group


def _counts(group: _Group) -> dict[str, int]:
    return {col: group.stats[col][0] if col in group.stats else 0 for col in DISTRIBUTION_COLUMNS}


async def _from_summaries(db: Database, by: GroupBy | None, flt: SessionFilter) -> AggregateResult | None:
    """The roll-up from the selected sessions' summaries (None when one has none); percentiles are
    picked by index position (unfiltered), by a window (filtered), or from the summaries (by session)."""
    where, params = flt.where("s")
    result = await db.execute(
        f"SELECT s.session_id, s.rollup_json FROM sessions s WHERE {where} ORDER BY s.session_id", params
    )
    # each summary is merged as it is parsed and let go (fold), so the heap stays small
    folded = fold(result.rows, _SUMMARY_KEYS[by])
    if folded is None:
        return None
    summaries, merged = folded.summaries, folded.merged
    with _gc_paused():
        groups = {key: _merged_group(key, m) for key, m in merged.items()}
        ordered = [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or ""))]
        # the total from the groups' integer sums (not a Fraction sum over every group)
        grand = (
            groups.get(None)
            if by is None
            else _merged_group(None, combined(merged.values()))
            if ordered
            else None
        )
        total = grand or _empty()
        totals: dict[str | None, _Group] = {None: total}
        unfiltered = where == "1"
        statements: list[Statement] = []
        labels: list[tuple[str | None, str, int]] = []
        if unfiltered:
            statements, labels = _index_rank_statements({None: _counts(total)})
        else:
            statements = _window_rank_statements(None, flt)
        group_statements: list[Statement] = []
        group_labels: list[tuple[str | None, str, int]] = []
        windowed = False
        if by is not None:
            # provider is the one nullable key column: its None group is an index range when its rows
            # are all NULL or all ""
            raw_none = folded.missing_providers if by == "provider" else {""}
            if unfiltered and len(raw_none) <= 1:
                group_statements, group_labels = _index_rank_statements(
                    {g.key: _counts(g) for g in ordered}, by=by, null_key=None in raw_none
                )
            else:
                group_statements, windowed = _window_rank_statements(by, flt), True
    picked = await db.batch(statements + group_statements) if statements or group_statements else []
    with _gc_paused():
        if unfiltered:
            _read_index_ranks(picked[: len(statements)], labels, totals)
        else:
            _read_window_ranks(picked[: len(statements)], totals)
        if windowed:
            _read_window_ranks(picked[len(statements) :], groups)
        elif group_labels:
            _read_index_ranks(picked[len(statements) :], group_labels, groups)
        built = total.build()
        warnings = summary_warnings(summaries, built, folded.unpriced_by_model)
        if by is None:
            return AggregateResult(by=None, total=built, warnings=warnings)
        return AggregateResult(
            by=by, total=built, groups=tuple(g.build() for g in ordered), warnings=warnings
        )


async def _from_session_summaries(db: Database, flt: SessionFilter) -> AggregateResult | None:
    """by="session" from the selected sessions' summaries (None when one has none): each session's
    group is built as its summary is read (rollup_sessions.py); the total's percentiles are picked
    by index position (unfiltered) or by a window (filtered)."""
    where, params = flt.where("s")
    result = await db.execute(
        f"SELECT s.session_id, s.rollup_json FROM sessions s WHERE {where} ORDER BY s.session_id", params
    )
    with _gc_paused():
        built = session_groups(result.rows)
        if built is None:
            return None
        total = _merged_group(None, built.total) if built.groups else _empty()
        unfiltered = where == "1"
        labels: list[tuple[str | None, str, int]] = []
        if unfiltered:
            statements, labels = _index_rank_statements({None: _counts(total)})
        else:
            statements = _window_rank_statements(None, flt)
    picked = await db.batch(statements) if statements else []
    with _gc_paused():
        totals: dict[str | None, _Group] = {None: total}
        if unfiltered:
            _read_index_ranks(picked, labels, totals)
        else:
            _read_window_ranks(picked, totals)
        total_built = total.build()
        warnings = summary_warnings(built.summaries, total_built, built.unpriced_by_model)
        return AggregateResult(by="session", total=total_built, groups=tuple(built.groups), warnings=warnings)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block (back on after it if it was on)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@functools.lru_cache(maxsize=1024)
def _ranks_wanted(count: int) -> tuple[int, ...]:
    """min, p50, p90, p99, max ranks, in the order a summary's picks hold them (cached: by session,
    every group asks for each of its four measures' ranks twice, and sessions' counts repeat)."""
    return (1, *((p * count + 99) // 100 for p in _PERCENTILES), count)

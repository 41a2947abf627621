"""by="timestep" over every session with many steps: each step's GroupAggregate built straight from its
group row, with no per-group accumulator.

rollup.py reads the timestep index's group rows (one per step, model, provider, price version and
outcome; most steps of a uuid-per-step trace have one) and one pivoted pick row per step and
distribution (min, p50, p90, p99, max beside the count they were picked for). A step of one group
row is built here from that row as it is; steps of several rows are left to rollup.py's general
merge. The sums are the float-rest split's (rollup._Split): each value's scaled integer part,
summed exactly by SQLite, and the float sum of the rests, exact and a multiple of 2**-32 while no
value lies below the split's `small` (the caller checks none does), so each sum is the integer
(whole << 32) + rest * 2**32 over 2**(32 + scale bits): integers only, to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracekit.analysis.aggregate_types import Distribution, GroupAggregate
from tracekit.store.rollup_rows import exact_mean

__all__ = ["COLUMNS", "Lost", "StepRows", "build_steps", "pick_statement", "split_rows"]

COLUMNS = 4
"""Distribution columns in a group row (rollup_rows.DISTRIBUTION_COLUMNS)."""

_NUMBERS = 14
"""Number fields in a group row after the key (rollup._NUMBER_FIELDS)."""

_DISTS_AT = 1 + _NUMBERS
_LISTS_AT = _DISTS_AT + 4 * COLUMNS
_REST_UNIT = 4294967296.0
_NONE = Distribution()


class Lost(Exception):
    """A pick row disagrees with its group's count (rows changed between the two batches), or a
    float rest is not a multiple of 2**-32: the caller reads the roll-up again (or the general way)."""


@dataclass(slots=True)
class StepRows:
    """The group rows split by step: steps of one row, and the rows of steps that have several."""

    single: dict[str | None, Sequence[Any]]
    several: dict[str | None, list[Sequence[Any]]]


def split_rows(rows: Sequence[Sequence[Any]]) -> StepRows:
    """The timestep index's group rows by step (raw NULL is the None key; the caller has checked
    that no row holds "")."""
    single: dict[str | None, Sequence[Any]] = {}
    several: dict[str | None, list[Sequence[Any]]] = {}
    for row in rows:
        key = row[0]
        held = single.pop(key, None)
        if held is not None:
            several[key] = [held, row]
        elif key in several:
            several[key].append(row)
        else:
            single[key] = row
    return StepRows(single, several)


def pick_statement(col: str, percentiles: Sequence[int]) -> str:
    """One row per step of column `col`: (step, count, min, p50, p90, p99, max), nearest-rank picks
    read from one walk of the step's percentile index (a row_number() window, pivoted in SQL so Python
    reads a row a step rather than a row a rank)."""
    ranks = [f"({p} * n + 99) / 100" for p in percentiles]
    picks = ", ".join(f"max(CASE WHEN rn = {rank} THEN v END)" for rank in ["1", *ranks, "n"])
    return (
        f"SELECT k, max(n), {picks} FROM (SELECT c.step_id AS k, c.{col} AS v, "
        "count(*) OVER (PARTITION BY c.step_id) AS n, "
        f"row_number() OVER (PARTITION BY c.step_id ORDER BY c.{col}) AS rn "
        f"FROM llm_calls c INDEXED BY ix_llm_calls_rollup_timestep_{col} "
        f"WHERE c.in_rollup = 1 AND c.{col} IS NOT NULL) "
        f"WHERE rn IN (1, {', '.join(ranks)}) OR rn = n GROUP BY k"
    )


def build_steps(
    single: dict[str | None, Sequence[Any]],
    tools: dict[str | None, dict[str, int]],
    picks: list[dict[str | None, Sequence[Any]]] | None,
    exponent: int,
) -> dict[str | None, GroupAggregate]:
    """Each one-row step's GroupAggregate from its row, its tool counts and its picks per column
    (None when no step holds more than one value of a column, none of them 0: each value is its
    step's exact sum, so no pick is read). `exponent`: the split's, so a sum is
    (whole << 32) + rest * 2**32 times 2**(exponent - 32)."""
    built: dict[str | None, GroupAggregate] = {}
    shifted = exponent - 32
    no_tools: dict[str, int] = {}
    for key, row in single.items():
        dists: list[Distribution] = []
        for i in range(COLUMNS):
            at = _DISTS_AT + 4 * i
            count = row[at]
            if not count:
                dists.append(_NONE)
                continue
            rest = (row[at + 2] or 0.0) * _REST_UNIT
            whole = int(rest)
            if whole != rest:
                raise Lost
            mean = exact_mean((row[at + 1] << 32) + whole, shifted, count)
            if picks is None:  # one nonzero value a step (the caller checked): the mean is the value
                dists.append(Distribution(1, mean, mean, mean, mean, mean, mean))
                continue
            picked = picks[i].get(key)
            if picked is None or picked[1] != count:
                raise Lost
            dists.append(Distribution(count, mean, *picked[2:7]))
        cost = row[12]
        versions, models, providers = row[_LISTS_AT], row[_LISTS_AT + 1], row[_LISTS_AT + 2]
        step_tools = tools.get(key, no_tools)
        built[key] = GroupAggregate(
            key,
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[9],
            row[10],
            row[11],
            None if cost is None else cost / 1e9,
            cost,
            row[13],
            () if versions is None else (versions,),
            dists[0],
            dists[1],
            dists[2],
            dists[3],
            row[14],
            dict(sorted(step_tools.items())) if len(step_tools) > 1 else dict(step_tools),
            () if models is None else (models,),
            () if providers is None else (providers,),
        )
    return built

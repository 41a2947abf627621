"""by="session" roll-ups from the sessions' summaries: each session's group built as its summary is read.

A session is its own group, so its summary (rollup_rows.py) holds everything its GroupAggregate
needs: the entries' sums and the session's own nearest-rank picks. One pass parses each summary,
sums its few entries in locals, builds the group's result at once and adds the session's sums to
the total; no per-group accumulator objects, no second pass over 10,000 groups. The numbers are
the ones rollup.py's general summary path computes (the same entry layout, the same exact sums).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracekit.analysis.aggregate_types import Distribution, GroupAggregate
from tracekit.store.rollup_rows import Merged, Summary, exact_mean, load

__all__ = ["SessionGroups", "session_groups"]


class PicksMissing(Exception):
    """A summary's picks do not cover its values (it changed under the read): read again."""


@dataclass(slots=True)
class SessionGroups:
    """What a by-session roll-up needs of the sessions' summaries."""

    summaries: list[Summary]
    """One per session, in row order, with its warnings and picks (entries emptied once summed)."""
    groups: list[GroupAggregate]
    """One per session with counted calls, in key order (str keys ascending, None last)."""
    total: Merged
    """Every session's sums together (its percentiles are picked separately)."""
    unpriced_by_model: dict[str, int]
    """Calls without a cost per model ("" included), for the unpriced warning."""


def session_groups(rows: Iterable[Sequence[Any]]) -> SessionGroups | None:
    """The (session_id, rollup_json) rows' groups and total; None when a session has no summary.
    Parsed unchecked by orjson first; a float where an integer belongs (an integer past 64 bits)
    makes the pass run again on checked summaries, and when even that holds one, None (read the
    call rows), as rollup_rows.fold does."""
    rows = list(rows)
    for checked in (False, True):
        try:
            built = _build(rows, checked=checked)
        except (TypeError, OverflowError):  # a float mantissa shifted, or added to a huge integer
            continue
        if built is not None and not built.total.exact():
            continue
        return built
    return None


def _build(rows: list[Sequence[Any]], *, checked: bool) -> SessionGroups | None:
    summaries: list[Summary] = []
    keyed: list[tuple[str, GroupAggregate]] = []
    missing: GroupAggregate | None = None
    total = Merged()
    unpriced_by_model: dict[str, int] = {}
    for session_id, text in rows:
        summary = load(str(session_id), text, checked=checked)
        if summary is None:
            return None
        entries = summary.groups
        summary.groups = []
        summaries.append(summary)
        if not entries:
            continue
        for entry in entries:
            if not entry[4]:
                unpriced_by_model[entry[0]] = unpriced_by_model.get(entry[0], 0) + entry[5]
        merged = _session_sums(entries, total)
        group = _result(summary.session_id or None, merged, summary.picks)
        if group.key is None:
            missing = group
        else:
            keyed.append((summary.session_id, group))
    keyed.sort(key=lambda pair: pair[0])  # rows come in SQLite's order; Python's decides
    groups = [group for _, group in keyed]
    if missing is not None:
        groups.append(missing)
    return SessionGroups(summaries, groups, total, unpriced_by_model)


def _session_sums(entries: list[list[Any]], total: Merged) -> Merged:
    """The session's entries summed into one Merged, also added to `total`."""
    merged = Merged()
    for entry in entries:
        merged.add(entry)
    _absorb(total, merged)
    return merged


def _absorb(total: Merged, part: Merged) -> None:
    """Add `part`'s sums, sets and tool counts to `total` (integer adds only)."""
    total.versions |= part.versions
    total.models |= part.models
    total.providers |= part.providers
    total.unpriced_models |= part.unpriced_models
    tools = total.tools
    for name, count in part.tools.items():
        tools[name] = tools.get(name, 0) + count
    numbers = total.numbers
    for i, value in enumerate(part.numbers):
        if value is not None:
            held = numbers[i]
            numbers[i] = value if held is None else held + value
    counts, sums = total.counts, total.sums
    for i in range(4):
        counts[i] += part.counts[i]
        sums[i].add(part.sums[i].mantissa, part.sums[i].exponent)


def _result(key: str | None, merged: Merged, picks: list[list[float] | None]) -> GroupAggregate:
    """The session's GroupAggregate: its sums, and its own picks as [min, p50, p90, p99, max]."""
    dists: list[Distribution] = []
    for count, held, picked in zip(merged.counts, merged.sums, picks, strict=True):
        if not count:
            dists.append(_NONE)
            continue
        if picked is None or len(picked) != 5:
            raise PicksMissing
        low, p50, p90, p99, high = picked
        dists.append(
            Distribution(count, exact_mean(held.mantissa, held.exponent, count), low, p50, p90, p99, high)
        )
    (calls, success, error, incomplete, without, t_in, t_out, t_total, t_read, t_write, t_reason, cost,
     unpriced, tool_calls) = merged.numbers  # fmt: skip
    tools = merged.tools
    return GroupAggregate(
        key=key,
        call_count=calls,
        success_count=success,
        error_count=error,
        incomplete_count=incomplete,
        calls_without_usage=without,
        input_tokens=t_in,
        output_tokens=t_out,
        total_tokens=t_total,
        cache_read_tokens=t_read,
        cache_write_tokens=t_write,
        reasoning_tokens=t_reason,
        cost_usd=None if cost is None else cost / 1e9,
        cost_nanousd=cost,
        unpriced_call_count=unpriced,
        price_table_versions=tuple(sorted(merged.versions)),
        latency_ms=dists[0],
        ttft_ms=dists[1],
        tpot_ms=dists[2],
        output_tokens_per_second=dists[3],
        tool_calls_count=tool_calls,
        tool_calls_by_name=dict(sorted(tools.items())) if len(tools) > 1 else dict(tools),
        models=tuple(sorted(merged.models)),
        providers=tuple(sorted(merged.providers)),
    )


_NONE = Distribution()

"""Per-session roll-up summaries: built from a session's own rows when it is saved, merged when rolled up.

`sessions.rollup_json` holds, for the session's counted calls (`in_rollup = 1`), one entry per
(model, provider, agent, price version, priced) with every number a GroupAggregate sums, its
tool-call counts by name, and per distribution column the count and the EXACT sum of the values
(an integer mantissa and a power-of-two exponent: the sum of finite floats is always m * 2**e);
plus the session's warning counts and, per distribution column, its own nearest-rank picks (the
by="session" percentiles). A roll-up over a million calls then reads one short row per session
instead of sorting a million call rows; sums stay exact integers, so means equal tk.aggregate's.

Pure functions (no I/O): `session_summary` runs at save time on the call and tool rows the save
writes (tuples in schema.py's column order), and on stored rows for sessions saved before schema
version 3; `fold` runs at query time.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import orjson

from tracekit.analysis.aggregate_types import TOOL_MESSAGE_TYPES
from tracekit.analysis.aggregates import mean_of_sum
from tracekit.model import LMCAISEvent, RuntimeEvent, event_types
from tracekit.store import schema

__all__ = [
    "DISTRIBUTION_COLUMNS",
    "LAYOUT",
    "TOKEN_COLUMNS",
    "ExactSum",
    "Folded",
    "Merged",
    "Summary",
    "combined",
    "exact_mean",
    "fold",
    "load",
    "session_summary",
    "warning_counts",
]

DISTRIBUTION_COLUMNS = ("latency_ms", "ttft_ms", "tpot_ms", "output_tokens_per_second")
"""llm_calls columns summarised as Distributions, named as GroupAggregate's fields."""

TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_PERCENTILES = (50, 90, 99)
_LAYOUT = 1
"""Bumped when the JSON layout changes; a summary of another layout is not used (rows are read instead)."""
LAYOUT = _LAYOUT
"""The summary layout this tracekit writes and reads (SQL that reads summaries checks it)."""

_SMALLEST_NORMAL = 2.2250738585072014e-308
"""sys.float_info.min: below it floats lose precision (subnormals), so a scaled float may round twice."""

_CALL = {column.name: i for i, column in enumerate(schema.llm_calls.columns)}
_TOOL = {column.name: i for i, column in enumerate(schema.tool_calls.columns)}
_EVENT = {column.name: i for i, column in enumerate(schema.events.columns)}
_MESSAGE = {column.name: i for i, column in enumerate(schema.messages.columns)}


@dataclass(slots=True)
class ExactSum:
    """An exact sum of floats as mantissa * 2**exponent (integers; adding never rounds)."""

    mantissa: int = 0
    exponent: int = 0

    def add(self, mantissa: int, exponent: int) -> None:
        """Add mantissa * 2**exponent exactly."""
        if not mantissa:
            return
        if not self.mantissa:
            self.mantissa, self.exponent = mantissa, exponent
        elif exponent >= self.exponent:
            self.mantissa += mantissa << (exponent - self.exponent)
        else:
            self.mantissa = (self.mantissa << (self.exponent - exponent)) + mantissa
            self.exponent = exponent

    def add_float(self, value: float) -> None:
        """Add a finite float exactly."""
        numerator, denominator = value.as_integer_ratio()  # denominator: a power of two
        self.add(numerator, 1 - denominator.bit_length())

    def fraction(self) -> Fraction:
        """The sum as an exact Fraction."""
        if self.exponent >= 0:
            return Fraction(self.mantissa << self.exponent)
        return Fraction(self.mantissa, 1 << -self.exponent)

    def mean(self, count: int) -> float:
        """mean_of_sum(self.fraction(), count) (see `exact_mean`)."""
        return exact_mean(self.mantissa, self.exponent, count)


def exact_mean(mantissa: int, exponent: int, count: int) -> float:
    """mean_of_sum(mantissa * 2**exponent, count), without building the Fraction when the sum is a
    normal float: float(mantissa) is correctly rounded and scaling it by 2**exponent is exact
    unless the result leaves the normal range (then the Fraction decides)."""
    if not mantissa:
        return 0.0 / count
    try:
        value = math.ldexp(float(mantissa), exponent)
    except OverflowError:
        value = math.inf
    if _SMALLEST_NORMAL < abs(value) < math.inf:
        return value / count
    total = Fraction(mantissa << exponent) if exponent >= 0 else Fraction(mantissa, 1 << -exponent)
    return mean_of_sum(total, count)


def _ranks(count: int) -> list[int]:
    """The 1-based ranks a Distribution needs: min, the nearest-rank percentiles, max."""
    return [1, *((p * count + 99) // 100 for p in _PERCENTILES), count]


def warning_counts(
    calls: Sequence[Sequence[Any]], events: Sequence[Sequence[Any]], messages: Sequence[Sequence[Any]]
) -> list[int]:
    """[counted calls, runtime events, tool messages, LM events without calls, calls held by
    timesteps] of one session's rows, as `tracekit.analysis.rollups.session_warnings` takes them.

    Counted events/messages: those in the history, or every one when the history is empty; event
    kinds by the registered classes (subclasses included, as `isinstance` counts them)."""
    registry = event_types()
    runtime = {name for name, cls in registry.items() if issubclass(cls, RuntimeEvent)}
    lm = {name for name, cls in registry.items() if issubclass(cls, LMCAISEvent)}
    in_history, position, kind, index = (
        _EVENT["in_history"],
        _EVENT["step_position"],
        _EVENT["event_type"],
        _EVENT["event_index"],
    )
    event_history = any(e[in_history] for e in events)
    message_history = any(m[_MESSAGE["in_history"]] for m in messages)
    with_calls = {c[_CALL["event_index"]] for c in calls}
    counted = [e for e in events if e[in_history] or not event_history]
    stepped = {e[index] for e in events if e[position] is not None}
    return [
        sum(1 for c in calls if c[_CALL["in_rollup"]] == 1),
        sum(1 for e in counted if e[kind] in runtime),
        sum(
            1
            for m in messages
            if (m[_MESSAGE["in_history"]] or not message_history)
            and m[_MESSAGE["message_type"]] in TOOL_MESSAGE_TYPES
        ),
        sum(1 for e in counted if e[kind] in lm and e[index] not in with_calls),
        sum(1 for c in calls if c[_CALL["event_index"]] in stepped) if event_history else 0,
    ]


_GROUP_KEY = tuple(_CALL[name] for name in ("model_name", "provider", "system_instance_id"))
_SUMMED = tuple((i, _CALL[col]) for i, col in enumerate((*TOKEN_COLUMNS, "cost_nanousd"), start=10))
_DISTRIBUTED = tuple((i, _CALL[col]) for i, col in enumerate(DISTRIBUTION_COLUMNS, start=20))
_C_IN_ROLLUP, _C_COST, _C_VERSION, _C_OUTCOME = (
    _CALL["in_rollup"],
    _CALL["cost_nanousd"],
    _CALL["price_table_version"],
    _CALL["outcome"],
)
_C_INPUT, _C_OUTPUT, _C_TOOLS, _C_EVENT, _C_CALL = (
    _CALL["input_tokens"],
    _CALL["output_tokens"],
    _CALL["tool_call_count"],
    _CALL["event_index"],
    _CALL["call_index"],
)
_T_EVENT, _T_CALL, _T_NAME = _TOOL["event_index"], _TOOL["call_index"], _TOOL["name"]
_FAILED = frozenset({"error", "timeout", "cancelled"})


def session_summary(
    calls: Sequence[Sequence[Any]], tools: Sequence[Sequence[Any]], warnings: Sequence[int]
) -> str:
    """The rollup_json of one session from its llm_calls and tool_calls rows (schema.py column order)
    and its `warning_counts`. Runs on every save: column positions are module constants and the
    exact sums are kept inline ([count, mantissa, exponent], added as ExactSum.add_float adds)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    values: tuple[list[float], ...] = tuple([] for _ in DISTRIBUTION_COLUMNS)
    group_of: dict[tuple[Any, Any], list[Any]] = {}
    model_at, provider_at, agent_at = _GROUP_KEY
    for row in calls:
        if row[_C_IN_ROLLUP] != 1:
            continue
        cost = row[_C_COST]
        key = (
            row[model_at],
            row[provider_at],
            row[agent_at],
            None if cost is None else row[_C_VERSION],
            0 if cost is None else 1,
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = [
                *key,
                0,
                0,
                0,
                0,
                0,
                *([None] * 7),
                0,
                0,
                {},
                *([0, 0, 0] for _ in range(4)),
            ]
        outcome = row[_C_OUTCOME]
        group[5] += 1
        group[6] += outcome == "success"
        group[7] += outcome in _FAILED
        group[8] += outcome == "incomplete"
        group[9] += row[_C_INPUT] is None and row[_C_OUTPUT] is None
        for i, at in _SUMMED:
            value = row[at]
            if value is not None:
                group[i] = value if group[i] is None else group[i] + value
        group[17] += cost is None
        group[18] += row[_C_TOOLS]
        for (i, at), seen in zip(_DISTRIBUTED, values, strict=True):
            value = row[at]
            if value is not None:
                value = float(value)
                seen.append(value)
                total = group[i]
                total[0] += 1
                numerator, denominator = value.as_integer_ratio()  # denominator: a power of two
                if numerator:
                    exponent = 1 - denominator.bit_length()
                    if not total[1]:
                        total[1], total[2] = numerator, exponent
                    elif exponent >= total[2]:
                        total[1] += numerator << (exponent - total[2])
                    else:
                        total[1] = (total[1] << (total[2] - exponent)) + numerator
                        total[2] = exponent
        group_of[(row[_C_EVENT], row[_C_CALL])] = group
    for row in tools:
        group = group_of.get((row[_T_EVENT], row[_T_CALL]))
        if group is not None:
            name = row[_T_NAME]
            group[19][name] = group[19].get(name, 0) + 1
    picks: list[list[float] | None] = []
    for seen in values:
        seen.sort()
        picks.append([seen[r - 1] for r in _ranks(len(seen))] if seen else None)
    return json.dumps(
        {"v": _LAYOUT, "w": list(warnings), "g": list(groups.values()), "p": picks},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


@dataclass(slots=True)
class Summary:
    """One session's parsed rollup_json."""

    session_id: str
    warnings: list[int]
    groups: list[list[Any]]
    picks: list[list[float] | None]
    """Per distribution column the session's [min, p50, p90, p99, max], None when it has no values."""


def load(session_id: str, text: str | None, *, checked: bool = True) -> Summary | None:
    """The parsed summary, or None when the session has none (saved before schema version 3) or
    its layout is another version's. Parsed by orjson (about twice as fast as the standard
    library here); orjson reads an integer past 64 bits as a float, so a summary holding one (an
    exact sum's mantissa can), or refuses it (past float range), is parsed again by the standard
    library, exactly. `checked=False` leaves out that look (`fold` finds such floats in its sums)."""
    if text is None:
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = json.loads(text)
    if not isinstance(data, dict) or data.get("v") != _LAYOUT:
        return None
    if checked and _rounded(data["g"]):
        data = json.loads(text)
    return Summary(session_id, data["w"], data["g"], data["p"])


def _rounded(groups: list[list[Any]]) -> bool:
    """Whether a float sits where a group entry holds only integers (counts, sums, mantissas)."""
    for entry in groups:
        for value in entry[5:19]:
            if value.__class__ is float:
                return True
        for count_mantissa_exponent in entry[20:24]:
            if count_mantissa_exponent[1].__class__ is float:
                return True
    return False


@dataclass(slots=True)
class Merged:
    """Summed group entries (the same positions as a summary's group entry) under one key."""

    numbers: list[Any] = field(default_factory=lambda: [0, 0, 0, 0, 0, *([None] * 7), 0, 0])
    versions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    providers: set[str] = field(default_factory=set)
    unpriced_models: set[str] = field(default_factory=set)
    tools: dict[str, int] = field(default_factory=dict)
    counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    sums: list[ExactSum] = field(default_factory=lambda: [ExactSum() for _ in range(4)])

    def add(self, entry: Sequence[Any]) -> None:
        """Add one summary group entry (straight-line: it runs once per session and group)."""
        (
            model,
            provider,
            _agent,
            version,
            priced,
            calls,
            success,
            error,
            incomplete,
            without,
            input_tokens,
            output_tokens,
            total_tokens,
            cache_read,
            cache_write,
            reasoning,
            cost,
            unpriced,
            tool_calls,
            tools,
            latency,
            ttft,
            tpot,
            otps,
        ) = entry
        if model:
            self.models.add(model)
        if provider:
            self.providers.add(provider)
        if priced:
            if version is not None:
                self.versions.add(version)
        else:
            self.unpriced_models.add(model)
        numbers = self.numbers
        numbers[0] += calls
        numbers[1] += success
        numbers[2] += error
        numbers[3] += incomplete
        numbers[4] += without
        # the six token sums and the cost: None = not reported
        if input_tokens is not None:
            numbers[5] = input_tokens if numbers[5] is None else numbers[5] + input_tokens
        if output_tokens is not None:
            numbers[6] = output_tokens if numbers[6] is None else numbers[6] + output_tokens
        if total_tokens is not None:
            numbers[7] = total_tokens if numbers[7] is None else numbers[7] + total_tokens
        if cache_read is not None:
            numbers[8] = cache_read if numbers[8] is None else numbers[8] + cache_read
        if cache_write is not None:
            numbers[9] = cache_write if numbers[9] is None else numbers[9] + cache_write
        if reasoning is not None:
            numbers[10] = reasoning if numbers[10] is None else numbers[10] + reasoning
        if cost is not None:
            numbers[11] = cost if numbers[11] is None else numbers[11] + cost
        numbers[12] += unpriced
        numbers[13] += tool_calls
        if tools:
            held_tools = self.tools
            for name, count in tools.items():
                held_tools[name] = held_tools.get(name, 0) + count
        counts, sums = self.counts, self.sums
        for i, (count, mantissa, exponent) in enumerate((latency, ttft, tpot, otps)):
            if count:
                counts[i] += count
                if mantissa:  # ExactSum.add, inline
                    held = sums[i]
                    if not held.mantissa:
                        held.mantissa, held.exponent = mantissa, exponent
                    elif exponent >= held.exponent:
                        held.mantissa += mantissa << (exponent - held.exponent)
                    else:
                        held.mantissa = (held.mantissa << (held.exponent - exponent)) + mantissa
                        held.exponent = exponent

    def exact(self) -> bool:
        """Whether every sum and count is an integer (a float means a summary was read unchecked
        and held an integer past 64 bits, which orjson reads as a float: see `fold`)."""
        values = [*self.numbers, *self.counts, *(s.mantissa for s in self.sums), *self.tools.values()]
        return not any(value.__class__ is float for value in values)


def combined(parts: Iterable[Merged]) -> Merged:
    """One Merged holding the sums of `parts` (the total of the groups: integer adds, no Fractions)."""
    total = Merged()
    numbers, counts, sums, tools = total.numbers, total.counts, total.sums, total.tools
    for part in parts:
        total.versions |= part.versions
        total.models |= part.models
        total.providers |= part.providers
        total.unpriced_models |= part.unpriced_models
        for name, count in part.tools.items():
            tools[name] = tools.get(name, 0) + count
        for i, value in enumerate(part.numbers):
            if value is not None:
                held = numbers[i]
                numbers[i] = value if held is None else held + value
        for i in range(4):
            counts[i] += part.counts[i]
            sums[i].add(part.sums[i].mantissa, part.sums[i].exponent)
    return total


@dataclass(slots=True)
class Folded:
    """Sessions' summaries folded into groups: what a summary roll-up needs of them."""

    summaries: list[Summary]
    """One per session, in row order, with its warnings and picks; `groups` emptied once folded."""
    merged: dict[str | None, Merged]
    unpriced_by_model: dict[str, int]
    """Calls without a cost per model ("" included), for the unpriced warning."""
    missing_providers: set[str | None]
    """How the entries' missing providers are stored: "" and/or None (NULL)."""


def fold(rows: Iterable[Sequence[Any]], key_of: Any) -> Folded | None:
    """The (session_id, rollup_json) rows' summaries, each merged by `key_of(summary, entry)` as
    soon as it is parsed and then let go (its objects are still in cache, and the heap stays small:
    merging a million calls' summaries after parsing them all took twice as long, and the cyclic
    collector's first pass over them as much again). None when a session has no summary.
    Parsed unchecked by orjson; a float where an integer belongs makes the whole fold run again
    on summaries `load` checked (exact), and when even that holds one, None (read the call rows)."""
    rows = list(rows)
    for checked in (False, True):
        try:
            folded = _fold(rows, key_of, checked=checked)
        except (TypeError, OverflowError):  # a float mantissa shifted, or added to a huge integer
            continue
        if folded is not None and not all(m.exact() for m in folded.merged.values()):
            continue
        return folded
    return None


def _fold(rows: list[Sequence[Any]], key_of: Any, *, checked: bool) -> Folded | None:
    summaries: list[Summary] = []
    merged: dict[str | None, Merged] = {}
    unpriced_by_model: dict[str, int] = {}
    missing_providers: set[str | None] = set()
    for session_id, text in rows:
        summary = load(str(session_id), text, checked=checked)
        if summary is None:
            return None
        for entry in summary.groups:
            key = key_of(summary, entry)
            target = merged.get(key)
            if target is None:
                target = merged[key] = Merged()
            target.add(entry)
            if not entry[4]:
                unpriced_by_model[entry[0]] = unpriced_by_model.get(entry[0], 0) + entry[5]
            if not entry[1]:
                missing_providers.add(entry[1])
        summary.groups = []
        summaries.append(summary)
    return Folded(summaries, merged, unpriced_by_model, missing_providers)

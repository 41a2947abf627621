"""Roll LLM calls up into tokens, cost, latency and tool-call totals (pure: no I/O, no clock).

`aggregate(items, by=None)` takes LLMCallRecords, LMCAISEvents and SessionTraces (mixed allowed)
and returns an `AggregateResult`: the `total`, one `GroupAggregate` per group key (empty when
`by` is None) and one `SessionRollup` per SessionTrace. The store's SQL roll-ups copy the rules
below exactly; these Python results are the oracle they are tested against.

Where calls are found
- a bare LLMCallRecord is one call; an LMCAISEvent contributes each of its `call_records`;
- a SessionTrace contributes the call records of the LMCAISEvents in `event_history`, or, when
  `event_history` is empty, of the events of its timesteps in order (never both: no double count).

Group keys (`by`); a missing key groups under None
- "model": `record.model_name` ("" counts as missing);
- "provider": `record.provider` ("" counts as missing);
- "agent": `system_instance_id` of the LMCAISEvent holding the record ("" counts as missing);
  a bare record uses
  `record.metadata["agent_id"]` when it is a non-empty str;
- "session": `session_id` of the SessionTrace holding the record ("" counts as missing; bare
  records and events: None);
- "timestep": `step_id` of the timestep whose `events` hold the record's LMCAISEvent (the same
  object, or failing that an equal event, as after a from_dict round trip); "" or not in any
  timestep counts as missing; bare records and events: None.
Groups are ordered by key: str keys sorted ascending (code-point order), None last.

Per-group numbers (`GroupAggregate`)
- call_count: calls; success_count: outcome "success"; error_count: outcome "error", "timeout"
  or "cancelled"; incomplete_count: outcome "incomplete". A call with outcome None is in none
  of the three (call_count - success - error - incomplete = calls with no outcome reported).
- calls_without_usage: usage is None, or reports neither input_tokens nor output_tokens.
- input/output/total/cache_read/cache_write/reasoning tokens: integer sums of the values the
  calls reported (`usage.<field>_tokens`); unreported values add nothing (never guessed), and a
  sum no call reported is None, not 0 (OpenAI never reports cache writes: None, not "zero").
- cost_nanousd: integer sum of `tracekit.analysis.pricing.call_cost(record, prices).nanousd` over priced
  calls (a store computes it per call with the same function), None when no call was priced;
  cost_usd = cost_nanousd / 1e9 (None likewise);
  unpriced_call_count: calls whose cost is None (unknown model, or input/output tokens not
  reported); price_table_versions: sorted distinct `price_table_version`s of the priced calls.
- latency_ms (`record.latency_ms`), ttft_ms, tpot_ms and output_tokens_per_second
  (`record.timing.*`): a `Distribution` over the values reported (None and non-finite skipped).
- tool_calls_count: total `len(record.output_tool_calls)`; tool_calls_by_name: name -> count,
  keys sorted; models / providers: sorted distinct non-empty model names / providers.

Distribution over n values: count = n; mean = (exact sum rounded to a float) / n, i.e.
math.fsum(values) / n (`mean_of_sum`; a store computes the exact sum in SQL, so its means are
equal, not merely close); min; max; pP (P in 50, 90, 99) is nearest-rank: sorted ascending, the
value at 1-based rank ceil(P * n / 100) computed in integers. Every field but count is None when
n == 0 (never NaN, never 0 for "missing").

Session roll-ups (`SessionRollup`, one per SessionTrace, sorted by session_id then content)
- started_at / ended_at: earliest and latest time seen anywhere in the trace (created_at,
  timestep timestamp/completed_at, event and message times, call started_at/completed_at);
  duration_ms = (ended_at - started_at) in milliseconds;
- timestep_count, events_by_type (event_type -> count), messages_by_type (message_type -> count,
  from markov_blanket_message_history, or the timesteps' messages when that is empty);
- llm_call_count, runtime_event_count, tool_message_count (messages whose message_type is in
  TOOL_MESSAGE_TYPES), total_reward: math.fsum of EnvironmentEvent rewards that are not None
  (None when there are none);
- warnings: "no LLM calls recorded" when the session has runtime events, tool messages or
  LMCAISEvents but not a single LLMCallRecord; otherwise a warning for LMCAISEvents that carry
  no call records (their tokens cannot be counted); and a warning when the timesteps' events
  hold more call records than event_history (only event_history is counted).

`AggregateResult.warnings` holds every session warning, then one line when any call is unpriced
(how many, which models lack a price, how many lack token counts). Each is also logged at WARNING.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from tracekit.analysis.aggregate_types import (
    GROUP_BY_VALUES,
    TOOL_MESSAGE_TYPES,
    AggregateResult,
    Distribution,
    GroupAggregate,
    GroupBy,
    SessionRollup,
)
from tracekit.analysis.pricing import REPORTED_COST_VERSION, PriceTable, table_or_active, usd_to_nanousd
from tracekit.analysis.rollups import history_step_ids, session_rollup, trace_events, unpriced_warning
from tracekit.errors import InvalidArgumentError
from tracekit.model import LLMCallRecord, LLMUsage, LMCAISEvent, SessionTrace

__all__ = [
    "GROUP_BY_VALUES",
    "TOOL_MESSAGE_TYPES",
    "AggregateResult",
    "Distribution",
    "GroupAggregate",
    "GroupBy",
    "SessionRollup",
    "aggregate",
    "compute_aggregates_from_call_records",
    "mean_of_sum",
]

logger = logging.getLogger(__name__)


_ERROR_OUTCOMES = frozenset({"error", "timeout", "cancelled"})
_Pricer = tuple[Callable[[LLMUsage], int | None], str] | None


def _nearest_rank(ordered: list[float], percent: int) -> float:
    """The value at 1-based rank ceil(percent * n / 100) of an ascending list (integer arithmetic)."""
    rank = -(-(percent * len(ordered)) // 100)
    return ordered[max(rank, 1) - 1]


def mean_of_sum(total: Fraction, count: int) -> float:
    """The mean of `count` values whose exact sum is `total`: float(total) / count, the same float
    math.fsum(values) / count gives; float(total / count) when the sum is beyond float range."""
    try:
        return float(total) / count
    except OverflowError:
        return float(total / count)


def _distribution(values: list[float]) -> Distribution:
    """The Distribution of the finite values (non-finite ones, only possible in records built in
    code without validation, are dropped)."""
    try:
        total = math.fsum(values)  # the exact sum, correctly rounded
    except (ValueError, OverflowError):  # inf + -inf, or partial sums beyond float range
        total = math.nan
    if math.isfinite(total):
        ordered = sorted(values)
    else:
        ordered = sorted(v for v in values if math.isfinite(v))
        try:
            total = math.fsum(ordered)
        except OverflowError:
            total = math.inf
    n = len(ordered)
    if n == 0:
        return Distribution()
    # a sum past float range (values near 1e308): the exact sum still has a finite mean
    mean = total / n if math.isfinite(total) else mean_of_sum(sum(map(Fraction, ordered), Fraction(0)), n)
    return Distribution(
        count=n,
        mean=mean,
        min=float(ordered[0]),
        p50=float(_nearest_rank(ordered, 50)),
        p90=float(_nearest_rank(ordered, 90)),
        p99=float(_nearest_rank(ordered, 99)),
        max=float(ordered[-1]),
    )


def _add_reported(current: int | None, added: int, reported: int) -> int | None:
    """`current + added` when `reported` calls gave the field; unchanged when none did."""
    if not reported:
        return current
    return added if current is None else current + added


class _Partial:
    """Running sums of one group; partials merge exactly (integer sums, value lists, sets)."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "call_count",
        "error",
        "incomplete",
        "input",
        "latency",
        "models",
        "nanos",
        "otps",
        "output",
        "providers",
        "reasoning",
        "success",
        "tool_calls",
        "tools_by_name",
        "total",
        "tpot",
        "ttft",
        "unknown_models",
        "unpriced",
        "unpriced_usage",
        "versions",
        "without_usage",
    )

    def __init__(self) -> None:
        self.call_count = self.success = self.error = self.incomplete = self.without_usage = 0
        # sums stay None until some call reports the field: "not reported" is not "zero"
        self.input: int | None = None
        self.output: int | None = None
        self.total: int | None = None
        self.cache_read: int | None = None
        self.cache_write: int | None = None
        self.reasoning: int | None = None
        self.nanos: int | None = None
        self.unpriced = self.unpriced_usage = self.tool_calls = 0
        self.unknown_models: set[str] = set()
        self.versions: set[str] = set()
        self.latency: list[float] = []
        self.ttft: list[float] = []
        self.tpot: list[float] = []
        self.otps: list[float] = []
        self.tools_by_name: dict[str, int] = {}
        self.models: set[str] = set()
        self.providers: set[str] = set()

    def add_records(self, records: Iterable[LLMCallRecord], pricer_of: Callable[[str], _Pricer]) -> None:
        """Fold calls in; the hot loop keeps its sums in locals."""
        calls = success = error = incomplete = without = 0
        t_in = t_out = t_total = t_read = t_write = t_reason = 0
        n_in = n_out = n_total = n_read = n_write = n_reason = n_priced = 0  # calls that reported each
        nanos = unpriced = unpriced_usage = n_tools = 0
        versions, unknown_models = self.versions, self.unknown_models
        models, providers, by_name = self.models, self.providers, self.tools_by_name
        latency, ttft, tpot, otps = self.latency.append, self.ttft.append, self.tpot.append, self.otps.append
        pricers: dict[str, _Pricer] = {}
        for record in records:
            calls += 1
            outcome = record.outcome
            if outcome == "success":
                success += 1
            elif outcome in _ERROR_OUTCOMES:
                error += 1
            elif outcome == "incomplete":
                incomplete += 1
            usage = record.usage
            name = record.model_name
            if usage is None:
                without += 1
            else:
                value = usage.input_tokens
                if value is not None:
                    t_in += value
                    n_in += 1
                value = usage.output_tokens
                if value is not None:
                    t_out += value
                    n_out += 1
                elif usage.input_tokens is None:
                    without += 1
                value = usage.total_tokens
                if value is not None:
                    t_total += value
                    n_total += 1
                value = usage.cache_read_tokens
                if value is not None:
                    t_read += value
                    n_read += 1
                value = usage.cache_write_tokens
                if value is not None:
                    t_write += value
                    n_write += 1
                value = usage.reasoning_tokens
                if value is not None:
                    t_reason += value
                    n_reason += 1
            if usage is not None and usage.cost_usd is not None:
                reported = usd_to_nanousd(usage.cost_usd)
                if reported is None:
                    unpriced += 1
                    unpriced_usage += 1
                else:
                    nanos += reported
                    n_priced += 1
                    versions.add(usage.price_table_version or REPORTED_COST_VERSION)
            else:
                if name in pricers:
                    pricer = pricers[name]
                else:
                    pricer = pricers[name] = pricer_of(name)
                if pricer is None:
                    unpriced += 1
                    unknown_models.add(name)
                else:
                    cost = None if usage is None else pricer[0](usage)
                    if cost is None:
                        unpriced += 1
                        unpriced_usage += 1
                    else:
                        nanos += cost
                        n_priced += 1
                        versions.add(pricer[1])
            if record.latency_ms is not None:
                latency(record.latency_ms)
            timing = record.timing
            if timing is not None:
                if timing.ttft_ms is not None:
                    ttft(timing.ttft_ms)
                if timing.tpot_ms is not None:
                    tpot(timing.tpot_ms)
                if timing.output_tokens_per_second is not None:
                    otps(timing.output_tokens_per_second)
            tool_calls = record.output_tool_calls
            if tool_calls:
                n_tools += len(tool_calls)
                for call in tool_calls:
                    by_name[call.name] = by_name.get(call.name, 0) + 1
            if name:
                models.add(name)
            if record.provider:
                providers.add(record.provider)
        self.call_count += calls
        self.success += success
        self.error += error
        self.incomplete += incomplete
        self.without_usage += without
        self.input = _add_reported(self.input, t_in, n_in)
        self.output = _add_reported(self.output, t_out, n_out)
        self.total = _add_reported(self.total, t_total, n_total)
        self.cache_read = _add_reported(self.cache_read, t_read, n_read)
        self.cache_write = _add_reported(self.cache_write, t_write, n_write)
        self.reasoning = _add_reported(self.reasoning, t_reason, n_reason)
        self.nanos = _add_reported(self.nanos, nanos, n_priced)
        self.unpriced += unpriced
        self.unpriced_usage += unpriced_usage
        self.tool_calls += n_tools

    def merge(self, other: _Partial) -> None:
        """Add another group's sums into this one."""
        for name in ("call_count", "success", "error", "incomplete", "without_usage"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("unpriced", "unpriced_usage", "tool_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("input", "output", "total", "cache_read", "cache_write", "reasoning", "nanos"):
            theirs = getattr(other, name)
            if theirs is not None:
                setattr(self, name, _add_reported(getattr(self, name), theirs, 1))
        self.unknown_models |= other.unknown_models
        self.versions |= other.versions
        self.latency += other.latency
        self.ttft += other.ttft
        self.tpot += other.tpot
        self.otps += other.otps
        for tool, count in other.tools_by_name.items():
            self.tools_by_name[tool] = self.tools_by_name.get(tool, 0) + count
        self.models |= other.models
        self.providers |= other.providers

    def finish(self, key: str | None) -> GroupAggregate:
        """The frozen, ordered result."""
        return GroupAggregate(
            key=key,
            call_count=self.call_count,
            success_count=self.success,
            error_count=self.error,
            incomplete_count=self.incomplete,
            calls_without_usage=self.without_usage,
            input_tokens=self.input,
            output_tokens=self.output,
            total_tokens=self.total,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
            reasoning_tokens=self.reasoning,
            cost_usd=None if self.nanos is None else self.nanos / 1e9,
            cost_nanousd=self.nanos,
            unpriced_call_count=self.unpriced,
            price_table_versions=tuple(sorted(self.versions)),
            latency_ms=_distribution(self.latency),
            ttft_ms=_distribution(self.ttft),
            tpot_ms=_distribution(self.tpot),
            output_tokens_per_second=_distribution(self.otps),
            tool_calls_count=self.tool_calls,
            tool_calls_by_name=dict(sorted(self.tools_by_name.items())),
            models=tuple(sorted(self.models)),
            providers=tuple(sorted(self.providers)),
        )


def _agent_of_bare(record: LLMCallRecord) -> str | None:
    agent = record.metadata.get("agent_id")
    return agent if isinstance(agent, str) and agent else None


def _check_by(by: object) -> GroupBy | None:
    if by is None:
        return None
    for allowed in GROUP_BY_VALUES:
        if by == allowed:
            return allowed
    raise InvalidArgumentError(
        f"aggregate(by={by!r}) is not supported; use one of None, "
        + ", ".join(repr(v) for v in GROUP_BY_VALUES)
    )


def _key_of_record(record: LLMCallRecord, by: GroupBy | None) -> str | None:
    """The group key of a bare record (no event, no session, no timestep around it)."""
    if by == "model":
        return record.model_name or None
    if by == "provider":
        return record.provider or None
    if by == "agent":
        return _agent_of_bare(record)
    return None


def _collect(
    items: Iterable[LLMCallRecord | LMCAISEvent | SessionTrace], by: GroupBy | None
) -> tuple[dict[str | None, list[LLMCallRecord]], list[SessionRollup]]:
    """Group every call by key and roll up every session."""
    groups: dict[str | None, list[LLMCallRecord]] = {}
    sessions: list[SessionRollup] = []
    if by is None:
        everything: list[LLMCallRecord] = []
        groups[None] = everything
    for item in items:
        if isinstance(item, LLMCallRecord):
            if by is None:
                everything.append(item)
            else:
                groups.setdefault(_key_of_record(item, by), []).append(item)
        elif isinstance(item, LMCAISEvent):
            _add_event(groups, item, by, None, None)
        elif isinstance(item, SessionTrace):
            events, steps = trace_events(item)
            if by == "timestep" and steps is None:
                steps = history_step_ids(item, events)
            session = item.session_id or None
            for index, event in enumerate(events):
                if isinstance(event, LMCAISEvent):
                    _add_event(groups, event, by, session, None if steps is None else steps[index])
            sessions.append(session_rollup(item, events))
        else:
            raise InvalidArgumentError(
                f"aggregate() got an item of type {type(item).__name__}; pass LLMCallRecord, "
                "LMCAISEvent or SessionTrace objects (load stored sessions first)"
            )
    return groups, sessions


def _add_event(
    groups: dict[str | None, list[LLMCallRecord]],
    event: LMCAISEvent,
    by: GroupBy | None,
    session: str | None,
    step: str | None,
) -> None:
    if not event.call_records:
        return
    if by is None or by == "model" or by == "provider":
        if by is None:
            groups[None].extend(event.call_records)
        else:
            for record in event.call_records:
                groups.setdefault(_key_of_record(record, by), []).append(record)
        return
    key = {"agent": event.system_instance_id or None, "session": session, "timestep": step}[by]
    groups.setdefault(key, []).extend(event.call_records)


def _check_items(items: Any, caller: str) -> None:
    if not isinstance(items, Iterable) or isinstance(items, str | bytes | Mapping):
        raise InvalidArgumentError(
            f"{caller} takes an iterable of LLMCallRecord, LMCAISEvent or SessionTrace, got {items!r:.80}"
        )


def _group_order(key: str | None) -> tuple[bool, str]:
    return (key is None, key or "")


def aggregate(
    items: Iterable[LLMCallRecord | LMCAISEvent | SessionTrace],
    by: GroupBy | None = None,
    *,
    prices: PriceTable | None = None,
) -> AggregateResult:
    """Roll LLM calls up into tokens, exact cost, latency and tool-call totals (see module docs).

    `items` may mix LLMCallRecords, LMCAISEvents and SessionTraces; `prices` defaults to the
    active price table (`tk.get_prices()`). Unknown `by` raises InvalidArgumentError.
    """
    by = _check_by(by)
    _check_items(items, "aggregate()")
    table = table_or_active(prices)
    groups, sessions = _collect(items, by)
    partials: list[tuple[str | None, _Partial]] = []
    for key in sorted(groups, key=_group_order):
        partial = _Partial()
        partial.add_records(groups[key], table.pricer)
        partials.append((key, partial))
    if by is None:
        total = partials[0][1]
        group_results: tuple[GroupAggregate, ...] = ()
    else:
        total = _Partial()
        for _, partial in partials:
            total.merge(partial)
        group_results = tuple(partial.finish(key) for key, partial in partials)
    sessions.sort(key=lambda s: (s.session_id, repr(s.to_dict())))
    warnings = [w for s in sessions for w in s.warnings]
    unpriced = unpriced_warning(total.call_count, total.unpriced, total.unpriced_usage, total.unknown_models)
    if unpriced is not None:
        warnings.append(unpriced)
    for warning in warnings:
        logger.warning("%s", warning)
    return AggregateResult(
        by=by,
        total=total.finish(None),
        groups=group_results,
        sessions=tuple(sessions),
        warnings=tuple(warnings),
    )


def compute_aggregates_from_call_records(
    call_records: Iterable[LLMCallRecord], *, prices: PriceTable | None = None
) -> dict[str, Any]:
    """synth-ai's familiar summary keys, computed by `aggregate` (correct numbers, same names).

    Differences from synth-ai, on purpose: cost_usd is priced from the table when the usage has
    no reported cost (unpriced calls add nothing and are counted in `unpriced_call_count`);
    averages divide by the calls that reported the value, not by every call; lists are sorted.
    """
    _check_items(call_records, "compute_aggregates_from_call_records()")
    records = list(call_records)
    total = aggregate(records, prices=prices).total
    summary: dict[str, Any] = {
        "call_count": total.call_count,
        # synth-ai's keys read 0 where nothing was reported; `aggregate` itself says None
        "input_tokens": total.input_tokens or 0,
        "output_tokens": total.output_tokens or 0,
        "total_tokens": total.total_tokens or 0,
        "reasoning_tokens": total.reasoning_tokens or 0,
        "cost_usd": total.cost_usd or 0.0,
        "latency_ms": math.fsum(
            r.latency_ms for r in records if r.latency_ms is not None and math.isfinite(r.latency_ms)
        ),
        "models_used": list(total.models),
        "providers_used": list(total.providers),
        "tool_calls_count": total.tool_calls_count,
        "error_count": total.error_count,
        "success_count": total.success_count,
        "unpriced_call_count": total.unpriced_call_count,
    }
    if total.call_count:
        with_input = [r.usage.input_tokens for r in records if r.usage and r.usage.input_tokens is not None]
        with_output = [
            r.usage.output_tokens for r in records if r.usage and r.usage.output_tokens is not None
        ]
        summary["avg_latency_ms"] = total.latency_ms.mean
        summary["avg_input_tokens"] = sum(with_input) / len(with_input) if with_input else None
        summary["avg_output_tokens"] = sum(with_output) / len(with_output) if with_output else None
    return summary

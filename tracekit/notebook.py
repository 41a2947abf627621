"""Notebook views: traces as plain rows, pandas DataFrames, and latency / cost charts.

    from tracekit import notebook as nb
    from tracekit.store import SyncTursoManager
    db = SyncTursoManager("file:traces.db")          # blocking calls, fine inside Jupyter's loop
    calls = nb.to_dataframe(db.iter_call_records(), kind="calls")
    nb.plot_cost(db.aggregate(by="model"))

`to_records` needs nothing beyond tracekit; `to_dataframe` needs pandas and the plots need
matplotlib (`pip install 'tracekit[notebook]'`); without them a MissingExtraError says so.
Kinds of rows: "sessions" (SessionSummary / SessionPage from list_sessions, or SessionTraces),
"calls" and "tool_calls" (from LLMCallRecords, LMCAISEvents or SessionTraces), "aggregate"
(the groups of an AggregateResult, or its total when it has none).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict
from itertools import chain
from typing import TYPE_CHECKING, Any, Literal

from tracekit.analysis import pricing
from tracekit.analysis.aggregate_types import AggregateResult, Distribution, GroupAggregate, GroupBy
from tracekit.analysis.aggregates import aggregate
from tracekit.codec import format_datetime
from tracekit.errors import InvalidArgumentError, TracekitError
from tracekit.model import LLMCallRecord, LMCAISEvent, SessionTrace
from tracekit.store.queries import SessionPage, SessionSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MissingExtraError", "plot_cost", "plot_latency", "to_dataframe", "to_records"]

Kind = Literal["sessions", "calls", "tool_calls", "aggregate"]
_KINDS: tuple[Kind, ...] = ("sessions", "calls", "tool_calls", "aggregate")
_Located = tuple[LLMCallRecord, str | None, str | None, int | None]  # record, session, agent, event index


class MissingExtraError(TracekitError, ImportError):
    """An optional library (pandas, matplotlib) is not installed; the message names the extra."""


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is not installed; install the notebook extra: pip install 'tracekit[notebook]'"
        ) from exc


def _located(items: Iterable[Any]) -> Iterator[_Located]:
    """Every call with its session id, agent and event index (the calls tk.aggregate counts)."""
    for item in items:
        if isinstance(item, LLMCallRecord):
            agent = item.metadata.get("agent_id")
            yield item, None, agent if isinstance(agent, str) and agent else None, None
        elif isinstance(item, LMCAISEvent):
            for record in item.call_records:
                yield record, None, item.system_instance_id or None, None
        elif isinstance(item, SessionTrace):
            if item.event_history:
                events: list[tuple[int | None, Any]] = list(enumerate(item.event_history))
            else:
                events = [(None, e) for step in item.session_time_steps for e in step.events]
            for index, event in events:
                if isinstance(event, LMCAISEvent):
                    for record in event.call_records:
                        yield record, item.session_id, event.system_instance_id or None, index
        else:
            raise InvalidArgumentError(
                f"calls and tool calls come from LLMCallRecord, LMCAISEvent or SessionTrace objects, "
                f"got {type(item).__name__}"
            )


def _time(value: Any) -> str | None:
    return None if value is None else format_datetime(value)


def _call_row(
    record: LLMCallRecord, session: str | None, agent: str | None, index: int | None
) -> dict[str, Any]:
    usage, timing = record.usage, record.timing
    cost = pricing.call_cost(record)
    return {
        "session_id": session,
        "agent": agent,
        "event_index": index,
        "call_id": record.call_id,
        "provider": record.provider,
        "api_type": record.api_type,
        "model_name": record.model_name,
        "started_at": _time(record.started_at),
        "completed_at": _time(record.completed_at),
        "latency_ms": record.latency_ms,
        "ttft_ms": None if timing is None else timing.ttft_ms,
        "tpot_ms": None if timing is None else timing.tpot_ms,
        "input_tokens": None if usage is None else usage.input_tokens,
        "output_tokens": None if usage is None else usage.output_tokens,
        "total_tokens": None if usage is None else usage.total_tokens,
        "cache_read_tokens": None if usage is None else usage.cache_read_tokens,
        "cache_write_tokens": None if usage is None else usage.cache_write_tokens,
        "reasoning_tokens": None if usage is None else usage.reasoning_tokens,
        "cost_usd": None if cost is None else cost.nanousd / 1e9,
        "finish_reason": record.finish_reason,
        "outcome": record.outcome,
        "tool_call_count": len(record.output_tool_calls),
    }


def _tool_rows(
    record: LLMCallRecord, session: str | None, agent: str | None, index: int | None
) -> list[dict[str, Any]]:
    results = {r.call_id: r for r in record.tool_results if r.call_id is not None}
    rows = []
    for position, spec in enumerate(record.output_tool_calls):
        result = results.get(spec.call_id) if spec.call_id is not None else None
        rows.append(
            {
                "session_id": session,
                "agent": agent,
                "event_index": index,
                "llm_call_id": record.call_id,
                "model_name": record.model_name,
                "position": position,
                "tool_call_id": spec.call_id,
                "name": spec.name,
                "arguments_json": spec.arguments_json,
                "result_status": None if result is None else result.status,
                "result_duration_ms": None if result is None else result.duration_ms,
                "result_text": None if result is None else result.output_text,
            }
        )
    return rows


def _flat(prefix: str, dist: Distribution) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in dist.to_dict().items()}


def _group_row(by: GroupBy | None, group: GroupAggregate) -> dict[str, Any]:
    data = group.to_dict()
    row: dict[str, Any] = {"by": by}
    for name, value in data.items():
        if isinstance(value, dict) and name != "tool_calls_by_name":
            row.update(_flat(name, getattr(group, name)))
        else:
            row[name] = value
    return row


def _session_rows(items: list[Any]) -> list[dict[str, Any]]:
    summaries = [i for i in items if isinstance(i, SessionSummary)]
    if len(summaries) == len(items):
        return [{**asdict(s), "created_at": format_datetime(s.created_at)} for s in summaries]
    if not all(isinstance(i, SessionTrace) for i in items):
        raise InvalidArgumentError(
            "session rows come from SessionSummary objects (list_sessions) or SessionTraces, not a mix"
        )
    traces: list[SessionTrace] = items
    rollups = {r.session_id: r for r in aggregate(traces).sessions}
    return [
        {
            "created_at": format_datetime(t.created_at),
            **rollups[t.session_id].to_dict(),
            "metadata": t.metadata,
        }
        for t in traces
    ]


def _infer(first: Any) -> Kind:
    if isinstance(first, SessionSummary):
        return "sessions"
    if isinstance(first, LLMCallRecord | LMCAISEvent):
        return "calls"
    raise InvalidArgumentError(
        f"cannot tell which rows to make from {type(first).__name__} items; pass kind= one of {_KINDS}"
    )


def to_records(data: Any, kind: Kind | None = None) -> list[dict[str, Any]]:
    """Plain dict rows (times as ISO-8601 UTC text) of sessions, calls, tool calls or an aggregate.

    `kind` is inferred from AggregateResult, SessionPage, SessionSummary, LLMCallRecord and
    LMCAISEvent inputs; SessionTraces can give any kind, so say which.
    """
    if kind is not None and kind not in _KINDS:
        raise InvalidArgumentError(f"kind must be one of {_KINDS}, got {kind!r}")
    if isinstance(data, AggregateResult):
        if kind not in (None, "aggregate"):
            raise InvalidArgumentError(f"an AggregateResult gives kind='aggregate' rows, not {kind!r}")
        return [_group_row(data.by, g) for g in (data.groups or (data.total,))]
    if kind == "aggregate":
        raise InvalidArgumentError(f"kind='aggregate' needs an AggregateResult, got {type(data).__name__}")
    if not isinstance(data, SessionPage | Iterable) or isinstance(data, str | bytes | Mapping):
        raise InvalidArgumentError(
            "to_records() takes an AggregateResult, a SessionPage or an iterable of sessions, traces, "
            f"LLMCallRecords or LMCAISEvents, got {data!r:.80}"
        )
    items = list(data.sessions) if isinstance(data, SessionPage) else list(data)
    if not items:
        return []
    kind = kind or ("sessions" if isinstance(data, SessionPage) else _infer(items[0]))
    if kind == "sessions":
        return _session_rows(items)
    if kind == "calls":
        return [_call_row(*located) for located in _located(items)]
    return list(chain.from_iterable(_tool_rows(*located) for located in _located(items)))


def to_dataframe(data: Any, kind: Kind | None = None) -> Any:
    """`to_records` as a pandas DataFrame (columns in row order; times stay ISO text, parse with
    pandas.to_datetime when needed). Needs pandas: MissingExtraError otherwise."""
    pandas = _require("pandas")
    return pandas.DataFrame.from_records(to_records(data, kind))


def _result(data: Any, by: GroupBy) -> AggregateResult:
    if isinstance(data, AggregateResult):
        if data.by is None:
            raise InvalidArgumentError(
                "plot an AggregateResult grouped by something: aggregate(..., by='model')"
            )
        return data
    return aggregate(data, by=by)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _require("matplotlib")
    from matplotlib.figure import Figure

    return Figure(figsize=(8, 4.5), layout="constrained").add_subplot()


def _label(key: str | None) -> str:
    return "(none)" if key is None else key


def plot_latency(
    data: Any,
    by: GroupBy = "model",
    *,
    percentiles: tuple[str, ...] = ("p50", "p90", "p99"),
    ax: Axes | None = None,
) -> Figure:
    """Grouped bars of latency percentiles (ms) per model/agent/...: one bar container per
    percentile, in `percentiles` order. `data`: an AggregateResult or what tk.aggregate takes."""
    for name in percentiles:
        if name not in ("min", "p50", "p90", "p99", "max", "mean"):
            raise InvalidArgumentError(f"percentiles take min, p50, p90, p99, max or mean, got {name!r}")
    axes = _axes(ax)
    result = _result(data, by)
    keys = [_label(g.key) for g in result.groups]
    width = 0.8 / max(len(percentiles), 1)
    for i, name in enumerate(percentiles):
        heights = [getattr(g.latency_ms, name) or 0.0 for g in result.groups]
        positions = [k + (i - (len(percentiles) - 1) / 2) * width for k in range(len(keys))]
        axes.bar(positions, heights, width, label=name)
    axes.set_xticks(range(len(keys)), keys)
    axes.set_ylabel("latency (ms)")
    axes.set_title(f"LLM call latency by {result.by}")
    axes.legend()
    figure = axes.get_figure()
    assert figure is not None
    return figure  # type: ignore[return-value]


def plot_cost(data: Any, by: GroupBy = "model", *, ax: Axes | None = None) -> Figure:
    """Bars of total cost (USD) per model/agent/...; a group with unpriced calls is labelled
    "key\\n(n unpriced)" so a short bar never hides missing prices."""
    axes = _axes(ax)
    result = _result(data, by)
    labels = [
        _label(g.key) + (f"\n({g.unpriced_call_count} unpriced)" if g.unpriced_call_count else "")
        for g in result.groups
    ]
    axes.bar(range(len(labels)), [g.cost_usd or 0.0 for g in result.groups], 0.6)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel("cost (USD)")
    axes.set_title(f"LLM cost by {result.by}")
    figure = axes.get_figure()
    assert figure is not None
    return figure  # type: ignore[return-value]

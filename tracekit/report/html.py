"""Render ReportData as one self-contained HTML file: inline CSS and SVG, no script, no network.

Every number in a table cell also sits in the cell's `data-value` attribute as JSON (exactly the
value of `tracekit stats --json`), so tools and tests can read the report back without parsing
formatted text. Sections have stable ids: totals, warnings, by-model, by-agent, by-provider,
by-experiment, latency, ttft, cost-over-time, tool-calls, sessions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any, Final

from tracekit.analysis.aggregate_types import Distribution, GroupAggregate
from tracekit.codec import format_datetime
from tracekit.report.data import CallSample, ReportData, SessionView, ToolOutcome

__all__ = ["GROUP_COLUMNS", "render_html"]

GROUP_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("call_count", "calls"),
    ("success_count", "ok"),
    ("error_count", "errors"),
    ("incomplete_count", "incomplete"),
    ("input_tokens", "input tok"),
    ("output_tokens", "output tok"),
    ("cache_read_tokens", "cache read"),
    ("cache_write_tokens", "cache write"),
    ("reasoning_tokens", "reasoning"),
    ("total_tokens", "total tok"),
    ("cost_usd", "cost (USD)"),
    ("unpriced_call_count", "unpriced"),
    ("latency_ms.p50", "latency p50"),
    ("latency_ms.p90", "p90"),
    ("latency_ms.p99", "p99"),
    ("ttft_ms.p50", "TTFT p50"),
    ("ttft_ms.p90", "p90"),
    ("ttft_ms.p99", "p99"),
    ("tool_calls_count", "tool calls"),
)
"""(field of GroupAggregate.to_dict(), dotted for distributions; column title) of the group tables."""

_CSS = """

body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;
background:#f6f7fb}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#b8c0d4;font-size:13px}main{padding:10px 28px 40px;max-width:1700px}
section{overflow-x:auto;background:#fff;border:1px solid #e2e5ee;border-radius:8px;padding:14px 18px;
margin:16px 0}
h2{font-size:17px;margin:0 0 10px}h3{font-size:14px;margin:12px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #e2e5ee;border-radius:6px;padding:8px 12px;min-width:130px}
.card .v{font-size:20px;font-weight:600}.card .k{color:#5b6478;font-size:12px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:4px 7px;border-bottom:1px solid #edf0f5;text-align:right;white-space:nowrap}
th{background:#f0f2f7;font-weight:600}td.key,th.key{text-align:left}
td.sum{text-align:left;white-space:normal}.warn{color:#9a3b00}.bad{color:#b42318}.ok{color:#067647}
.muted{color:#7a8296}.charts{display:flex;flex-wrap:wrap;gap:18px}
svg text{font-size:11px;fill:#3b4252}details{border-top:1px solid #edf0f5;padding:6px 0}
summary{cursor:pointer;font-weight:600}.k-llm_call{color:#1849a9}.k-tool{color:#6c2bd9}
.k-reward{color:#067647}.k-message{color:#5b6478}.k-step{font-weight:600}
"""

_PALETTE: Final[tuple[str, ...]] = (
    "#2e6be6",
    "#e0742a",
    "#2a9d6f",
    "#b03fc7",
    "#d8453c",
    "#7a8296",
    "#c9a227",
    "#1aa3b8",
)


def _value(group: dict[str, Any], dotted: str) -> Any:
    value: Any = group
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _fmt(field: str, value: Any) -> str:
    if value is None:
        return "—"
    if field == "cost_usd":
        return f"${value:,.6f}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _cell(field: str, value: Any, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    data = escape(json.dumps(value), quote=True)
    return f'<td data-field="{field}" data-value="{data}"{klass}>{escape(_fmt(field, value))}</td>'


def _group_table(table_id: str, title: str, groups: Sequence[GroupAggregate], total: GroupAggregate) -> str:
    head = "".join(f"<th>{escape(name)}</th>" for _, name in GROUP_COLUMNS)
    rows = []
    for group in (*groups, total):
        data = group.to_dict()
        is_total = group is total
        key = "all" if is_total else ("(none)" if group.key is None else group.key)
        cells = "".join(
            _cell(f, _value(data, f), "warn" if f == "unpriced_call_count" and data[f] else "")
            for f, _ in GROUP_COLUMNS
        )
        row_key = escape(json.dumps(None if is_total else group.key), quote=True)
        marker = ' data-total="1"' if is_total else ""
        rows.append(
            f'<tr data-key="{row_key}"{marker}><td class="key">{"<b>" if is_total else ""}{escape(key)}'
            f"{'</b>' if is_total else ''}</td>{cells}</tr>"
        )
    return (
        f'<section id="{table_id}"><h2>{escape(title)}</h2><table><thead><tr><th class="key">key</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _card(label: str, text: str, field: str, value: Any) -> str:
    data = escape(json.dumps(value), quote=True)
    return (
        f'<div class="card" data-field="{field}" data-value="{data}"><div class="v">{escape(text)}</div>'
        f'<div class="k">{escape(label)}</div></div>'
    )


def _dist(d: Distribution) -> str:
    if not d.count:
        return "—"
    return f"{d.p50:,.0f} / {d.p90:,.0f} / {d.p99:,.0f} ms"


def _totals(data: ReportData) -> str:
    t = data.stats.total
    cost = "—" if t.cost_usd is None else f"${t.cost_usd:,.6f}"
    cards = [
        _card("sessions", f"{data.sessions_total:,}", "sessions", data.sessions_total),
        _card("LLM calls", f"{t.call_count:,}", "call_count", t.call_count),
        _card(
            "ok / errors / incomplete",
            f"{t.success_count} / {t.error_count} / {t.incomplete_count}",
            "outcomes",
            [t.success_count, t.error_count, t.incomplete_count],
        ),
        _card("input tokens", _fmt("n", t.input_tokens), "input_tokens", t.input_tokens),
        _card("output tokens", _fmt("n", t.output_tokens), "output_tokens", t.output_tokens),
        _card(
            "cache read / write",
            f"{_fmt('n', t.cache_read_tokens)} / {_fmt('n', t.cache_write_tokens)}",
            "cache_tokens",
            [t.cache_read_tokens, t.cache_write_tokens],
        ),
        _card("reasoning tokens", _fmt("n", t.reasoning_tokens), "reasoning_tokens", t.reasoning_tokens),
        _card("cost", cost, "cost_usd", t.cost_usd),
        _card("unpriced calls", str(t.unpriced_call_count), "unpriced_call_count", t.unpriced_call_count),
        _card("tool calls", f"{t.tool_calls_count:,}", "tool_calls_count", t.tool_calls_count),
        _card("latency p50 / p90 / p99", _dist(t.latency_ms), "latency_ms", t.latency_ms.to_dict()),
        _card("TTFT p50 / p90 / p99", _dist(t.ttft_ms), "ttft_ms", t.ttft_ms.to_dict()),
    ]
    return f'<section id="totals"><h2>Totals</h2><div class="cards">{"".join(cards)}</div></section>'


def _warnings(data: ReportData) -> str:
    items = "".join(f'<li class="warn">{escape(w)}</li>' for w in data.stats.warnings)
    body = f"<ul>{items}</ul>" if items else '<p class="ok">No warnings.</p>'
    return f'<section id="warnings"><h2>Warnings</h2>{body}</section>'


def _histogram(values: list[float], title: str, color: str) -> str:
    width, height, pad = 460, 180, 30
    if not values:
        return f'<div><h3>{escape(title)}</h3><p class="muted">No values reported.</p></div>'
    lo, hi = min(values), max(values)
    bins = 12
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    top = max(counts)
    bar_w = (width - 2 * pad) / bins
    bars = []
    for i, count in enumerate(counts):
        h = (height - 2 * pad) * count / top
        x = pad + i * bar_w
        y = height - pad - h
        edge = lo + span * i / bins
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{edge:,.0f} ms+: {count}</title></rect>"
        )
    axis = (
        f'<text x="{pad}" y="{height - 10}">{lo:,.0f} ms</text>'
        f'<text x="{width - pad}" y="{height - 10}" text-anchor="end">{hi:,.0f} ms</text>'
        f'<text x="{pad}" y="{pad - 10}">{top} calls</text>'
    )
    return (
        f'<div><h3>{escape(title)}</h3><svg width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">{"".join(bars)}{axis}</svg></div>'
    )


def _distribution_section(section_id: str, title: str, field: str, data: ReportData) -> str:
    samples = data.samples
    values = [getattr(s, field) for s in samples if getattr(s, field) is not None]
    charts = [_histogram(values, "all calls", _PALETTE[0])]
    rows = []
    for group in data.stats.groups.get("model", ()):
        dist: Distribution = getattr(group, field)
        rows.append(
            f'<tr data-key="{escape(json.dumps(group.key), quote=True)}">'
            f'<td class="key">{escape(str(group.key))}</td>'
            + "".join(_cell(f"{field}.{p}", getattr(dist, p)) for p in ("count", "p50", "p90", "p99", "max"))
            + "</tr>"
        )
    table = (
        '<table><thead><tr><th class="key">model</th><th>count</th><th>p50</th><th>p90</th><th>p99</th>'
        "<th>max</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return (
        f'<section id="{section_id}"><h2>{escape(title)}</h2>'
        f'<div class="charts">{"".join(charts)}</div>{table}</section>'
    )


def _cost_over_time(samples: Sequence[CallSample]) -> str:
    priced = [s for s in samples if s.at is not None and s.cost_usd is not None]
    unpriced = sum(1 for s in samples if s.cost_usd is None)
    note = (
        f'<p class="warn">{unpriced} call(s) have no price (unknown model or no usage) '
        "and are not in this line.</p>"
        if unpriced
        else ""
    )
    if not priced:
        return (
            '<section id="cost-over-time"><h2>Cost over time</h2>'
            f'<p class="muted">No priced calls.</p>{note}</section>'
        )
    width, height, pad = 900, 220, 40
    t0 = priced[0].at.timestamp()  # type: ignore[union-attr]
    t1 = priced[-1].at.timestamp()  # type: ignore[union-attr]
    span_t = (t1 - t0) or 1.0
    running = 0.0
    points = []
    for s in priced:
        running += s.cost_usd or 0.0
        points.append((s.at.timestamp(), running, s))  # type: ignore[union-attr]
    top = running or 1.0
    coords = [
        (pad + (t - t0) / span_t * (width - 2 * pad), height - pad - c / top * (height - 2 * pad), s)
        for t, c, s in points
    ]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _) in enumerate(coords))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{_PALETTE[1]}"><title>{escape(s.model)} '
        f"({escape(s.agent)}): ${s.cost_usd:.6f}</title></circle>"
        for x, y, s in coords
    )
    first = format_datetime(priced[0].at)  # type: ignore[arg-type]
    last = format_datetime(priced[-1].at)  # type: ignore[arg-type]
    axis = (
        f'<text x="{pad}" y="{height - 12}">{escape(first[:19])}Z</text>'
        f'<text x="{width - pad}" y="{height - 12}" text-anchor="end">{escape(last[:19])}Z</text>'
        f'<text x="{pad}" y="{pad - 14}">cumulative ${running:,.6f}</text>'
    )
    svg = (
        f'<svg width="{width}" height="{height}" role="img" aria-label="cumulative cost">'
        f'<path d="{path}" fill="none" stroke="{_PALETTE[1]}" stroke-width="2"/>{dots}{axis}</svg>'
    )
    return f'<section id="cost-over-time"><h2>Cost over time</h2>{svg}{note}</section>'


def _tool_section(tools: Sequence[ToolOutcome], total_calls: int) -> str:
    if not tools:
        return '<section id="tool-calls"><h2>Tool calls</h2><p class="muted">No tool calls.</p></section>'
    rows = []
    for t in tools:
        finished = t.ok + t.failed
        rate = None if not finished else t.ok / finished
        share = 0 if not t.requested else 120 * t.ok / t.requested
        bad = 0 if not t.requested else 120 * t.failed / t.requested
        bar = (
            f'<svg width="124" height="12"><rect width="{share:.1f}" height="12" fill="#2a9d6f"/>'
            f'<rect x="{share:.1f}" width="{bad:.1f}" height="12" fill="#d8453c"/></svg>'
        )
        rows.append(
            f'<tr data-key="{escape(json.dumps(t.name), quote=True)}"><td class="key">{escape(t.name)}</td>'
            + _cell("requested", t.requested)
            + _cell("ok", t.ok, "ok")
            + _cell("failed", t.failed, "bad" if t.failed else "")
            + _cell("no_result", t.no_result)
            + f'<td data-field="success_rate" data-value="{json.dumps(rate)}">'
            + ("—" if rate is None else f"{rate:.0%}")
            + f"</td><td>{bar}</td></tr>"
        )
    head = (
        '<tr><th class="key">tool</th><th>requested</th><th>ok</th><th>failed</th><th>no result</th>'
        "<th>success</th><th></th></tr>"
    )
    return (
        '<section id="tool-calls"><h2>Tool calls</h2>'
        f'<p class="muted">Tool calls the models asked for (total {total_calls}) '
        "and the results recorded for them.</p>"
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _gantt(view: SessionView) -> str:
    calls = [e for e in view.timeline if e.kind == "llm_call" and e.offset_ms is not None]
    if not calls:
        return ""
    ends = [(e.offset_ms or 0.0) + (e.details.get("latency_ms") or 0.0) for e in calls]
    span = max(ends) or 1.0
    width, row_h, pad = 900, 16, 150
    agents: list[str] = []
    for e in calls:
        if e.details["agent"] not in agents:
            agents.append(e.details["agent"])
    height = row_h * len(agents) + 24
    bars = []
    for e in calls:
        agent = e.details["agent"]
        row = agents.index(agent)
        start = e.offset_ms or 0.0
        x = pad + start / span * (width - pad - 10)
        w = max(2.0, (e.details.get("latency_ms") or 0.0) / span * (width - pad - 10))
        color = (
            "#d8453c" if e.details.get("outcome") not in ("success", None) else _PALETTE[row % len(_PALETTE)]
        )
        bars.append(
            f'<rect x="{x:.1f}" y="{row * row_h + 4}" width="{w:.1f}" height="{row_h - 5}" fill="{color}">'
            f"<title>{escape(e.summary)}</title></rect>"
        )
    labels = "".join(f'<text x="4" y="{i * row_h + 15}">{escape(a)}</text>' for i, a in enumerate(agents))
    axis = f'<text x="{width - 10}" y="{height - 4}" text-anchor="end">{span / 1000:,.2f} s</text>'
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="calls by agent">'
        f"{labels}{''.join(bars)}{axis}</svg>"
    )


def _session_section(data: ReportData) -> str:
    parts: list[str] = []
    for view in data.sessions:
        rows = "".join(
            f'<tr class="k-{e.kind}"><td>{"" if e.offset_ms is None else f"{e.offset_ms / 1000:,.3f} s"}</td>'
            f'<td class="key">{escape(e.kind)}</td><td class="sum">{escape(e.summary)}</td></tr>'
            for e in view.timeline
        )
        meta = ", ".join(f"{k}={v}" for k, v in view.metadata.items())
        parts.append(
            f'<details data-session="{escape(view.session_id, quote=True)}"{" open" if not parts else ""}>'
            f"<summary>{escape(view.session_id)} — {escape(format_datetime(view.created_at)[:19])}Z "
            f'<span class="muted">{escape(meta)}</span></summary>{_gantt(view)}'
            f'<table><thead><tr><th>t</th><th class="key">kind</th><th class="key">what</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></details>"
        )
    more = data.sessions_total - len(data.sessions)
    note = f'<p class="muted">{more} more session(s) not shown.</p>' if more > 0 else ""
    body = "".join(parts) or '<p class="muted">No sessions.</p>'
    return f'<section id="sessions"><h2>Sessions</h2>{body}{note}</section>'


def render_html(data: ReportData) -> str:
    """The report as one HTML document (UTF-8 text; needs nothing else to display)."""
    stats = data.stats
    groups = stats.groups
    total = stats.total
    sections = [
        _totals(data),
        _warnings(data),
        _group_table("by-model", "By model", groups.get("model", ()), total),
        _group_table("by-agent", "By agent", groups.get("agent", ()), total),
        _group_table("by-provider", "By provider", groups.get("provider", ()), total),
        _group_table("by-experiment", "By experiment", groups.get("experiment", ()), total),
        _distribution_section("latency", "Latency (ms)", "latency_ms", data),
        _distribution_section("ttft", "Time to first token (ms)", "ttft_ms", data),
        _cost_over_time(data.samples),
        _tool_section(data.tools, total.tool_calls_count),
        _session_section(data),
    ]
    generated = format_datetime(data.generated_at)[:19] + "Z"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>tracekit report</title><style>{_CSS}</style></head><body>"
        f"<header><h1>tracekit report</h1><p>{escape(data.url)} · {data.sessions_total} session(s) · "
        f"generated {escape(generated)}</p></header><main>{''.join(sections)}</main>"
        "</body></html>"
    )

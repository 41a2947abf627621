"""`tracekit stats`: tokens, cost, latency and tool calls by model / provider / agent / session /
experiment / timestep, as a text table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from typing import Any

from tracekit.analysis.aggregate_types import GroupAggregate
from tracekit.cli.common import (
    UsageError,
    add_filters,
    common_parent,
    db_url,
    filters_from,
    print_json,
    progress_bar,
    render_table,
    with_store,
)
from tracekit.report.html import GROUP_COLUMNS
from tracekit.report.stats import DIMENSIONS, Dimension, StoreStats, collect_stats
from tracekit.store.manager import TursoManager

__all__ = ["format_stats", "register"]

EXAMPLE = """example:
  tracekit stats                                  # every dimension, text tables
  tracekit stats --by model,agent --json          # JSON, as StoreStats.to_dict()
  tracekit stats --by model --csv > by_model.csv
  tracekit stats --experiment tracekit-demo --since 2026-12-01T00:00:00Z
"""

_TEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_count", "calls"),
    ("error_count", "err"),
    ("incomplete_count", "inc"),
    ("input_tokens", "in"),
    ("output_tokens", "out"),
    ("cache_read_tokens", "cache_r"),
    ("cache_write_tokens", "cache_w"),
    ("reasoning_tokens", "reason"),
    ("cost_usd", "cost_usd"),
    ("unpriced_call_count", "unpriced"),
    ("latency_ms.p50", "lat_p50"),
    ("latency_ms.p90", "lat_p90"),
    ("latency_ms.p99", "lat_p99"),
    ("ttft_ms.p50", "ttft_p50"),
    ("ttft_ms.p90", "ttft_p90"),
    ("ttft_ms.p99", "ttft_p99"),
    ("tool_calls_count", "tools"),
)


def _dimensions(text: str) -> tuple[Dimension, ...]:
    out: list[Dimension] = []
    for part in text.split(","):
        name = part.strip()
        match = next((d for d in DIMENSIONS if d == name), None)
        if match is None:
            raise argparse.ArgumentTypeError(f"unknown dimension {name!r}; use any of {','.join(DIMENSIONS)}")
        out.append(match)
    return tuple(out)


def _get(group: dict[str, Any], dotted: str) -> Any:
    value: Any = group
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _text(field: str, value: Any) -> str:
    if value is None:
        return "-"
    if field == "cost_usd":
        return f"{value:.6f}"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _rows(groups: Sequence[GroupAggregate], total: GroupAggregate | None) -> list[list[str]]:
    rows = []
    for group in (*groups, *((total,) if total is not None else ())):
        data = group.to_dict()
        key = "TOTAL" if group is total else ("(none)" if group.key is None else str(group.key))
        rows.append([key, *(_text(f, _get(data, f)) for f, _ in _TEXT_COLUMNS)])
    return rows


def format_stats(stats: StoreStats) -> str:
    """The text report: one table per dimension, the total, and the warnings."""
    headers = ["key", *(name for _, name in _TEXT_COLUMNS)]
    parts = [f"TOTAL\n{render_table(headers, _rows((), stats.total))}"]
    for dim, groups in stats.groups.items():
        body = render_table([dim, *headers[1:]], _rows(groups, None)) if groups else "(no calls)"
        parts.append(f"by {dim}\n{body}")
    if stats.total.unpriced_call_count:
        parts.append(
            f"{stats.total.unpriced_call_count} call(s) unpriced (unknown model or no usage): "
            "cost_usd leaves them out"
        )
    if stats.warnings:
        parts.append("warnings:\n" + "\n".join(f"  ! {w}" for w in stats.warnings))
    return "\n\n".join(parts)


def _write_csv(stats: StoreStats) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    fields = [f for f, _ in GROUP_COLUMNS] + ["calls_without_usage", "total_tokens"]
    fields = list(dict.fromkeys(fields))
    writer.writerow(["dimension", "key", *fields])
    for dim, groups in (("total", (stats.total,)), *stats.groups.items()):
        for group in groups:
            data = group.to_dict()
            key = "" if dim == "total" or group.key is None else group.key
            writer.writerow([dim, key, *("" if _get(data, f) is None else _get(data, f) for f in fields)])


def _run(args: argparse.Namespace) -> int:
    if args.json and args.csv:
        raise UsageError("--json and --csv cannot go together; pick one")
    url = db_url(args.db)
    update, finish = progress_bar("reading sessions")

    async def work(db: TursoManager) -> StoreStats:
        return await collect_stats(
            db, filters_from(args), by=args.by, sessions=not args.no_sessions, progress=update
        )

    try:
        stats = with_store(url, work)
    finally:
        finish()
    if args.json:
        print_json(stats.to_dict())
    elif args.csv:
        _write_csv(stats)
    else:
        print(f"store: {url}")
        print(format_stats(stats))
    return 0


def register(commands: Any) -> None:
    """Add `stats` to the CLI's subcommands."""
    parser = commands.add_parser(
        "stats",
        parents=[common_parent()],
        help="tokens, cost, latency and tool calls by model/provider/agent/session/experiment/timestep",
        description="Roll up the stored LLM calls (the store's SQL roll-ups, equal to tk.aggregate).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--by",
        type=_dimensions,
        default=DIMENSIONS,
        metavar="DIMS",
        help=f"comma-separated dimensions (default: {','.join(DIMENSIONS)})",
    )
    parser.add_argument("--csv", action="store_true", help="print CSV: one row per (dimension, key)")
    parser.add_argument(
        "--no-sessions",
        action="store_true",
        help="skip reading each trace (faster on big stores; no session roll-ups or their warnings)",
    )
    add_filters(parser)
    parser.set_defaults(run=_run)

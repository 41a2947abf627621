"""`tracekit report`: write the self-contained HTML report of the matching sessions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tracekit.cli.common import (
    CliError,
    add_filters,
    common_parent,
    db_url,
    filters_from,
    print_json,
    progress_bar,
    with_store,
)
from tracekit.report.data import ReportData, collect_report
from tracekit.report.html import render_html
from tracekit.report.stats import SessionFilters
from tracekit.store.manager import TursoManager

__all__ = ["register", "write_report"]

EXAMPLE = """example:
  tracekit report --out report.html
  tracekit report --out demo.html --experiment tracekit-demo --max-sessions 10
"""


def write_report(url: str, out: Path, filters: SessionFilters, *, max_sessions: int = 50) -> ReportData:
    """Collect the report's data from the store at `url` and write the HTML to `out`."""
    update, finish = progress_bar("reading sessions")

    async def work(db: TursoManager) -> ReportData:
        return await collect_report(db, filters, max_timelines=max_sessions, progress=update)

    try:
        data = with_store(url, work)
    finally:
        finish()
    try:
        out.write_text(render_html(data), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write the report to {out}: {exc.strerror or exc}") from None
    return data


def _run(args: argparse.Namespace) -> int:
    if args.max_sessions < 0:
        raise CliError(f"--max-sessions must be 0 or more, got {args.max_sessions}")
    out = Path(args.out)
    data = write_report(db_url(args.db), out, filters_from(args), max_sessions=args.max_sessions)
    if args.json:
        print_json(
            {
                "path": str(out.resolve()),
                "bytes": out.stat().st_size,
                "sessions": data.sessions_total,
                "timelines": len(data.sessions),
                "calls": data.stats.total.call_count,
            }
        )
    else:
        print(
            f"report: {out.resolve()} ({data.sessions_total} sessions, {data.stats.total.call_count} calls)"
        )
    return 0


def register(commands: Any) -> None:
    """Add `report` to the CLI's subcommands."""
    parser = commands.add_parser(
        "report",
        parents=[common_parent()],
        help="write one self-contained HTML report (totals, tables, distributions, timelines)",
        description="Write an HTML report that needs no network to view.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", default="report.html", metavar="PATH", help="where to write (default report.html)"
    )
    parser.add_argument(
        "--max-sessions", type=int, default=50, metavar="N", help="session timelines to include (default 50)"
    )
    add_filters(parser)
    parser.set_defaults(run=_run)

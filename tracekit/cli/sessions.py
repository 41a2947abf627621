"""`tracekit sessions` (list with the store's filters) and `tracekit show SESSION_ID` (a timeline)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from tracekit.analysis.aggregates import aggregate
from tracekit.cli.common import (
    CliError,
    add_filters,
    common_parent,
    db_url,
    filters_from,
    print_json,
    render_table,
    with_store,
)
from tracekit.codec import format_datetime
from tracekit.model import SessionTrace
from tracekit.report.timeline import session_timeline
from tracekit.store.manager import TursoManager
from tracekit.store.queries import SessionPage

__all__ = ["register"]

SESSIONS_EXAMPLE = """example:
  tracekit sessions                                   # the oldest 50 sessions
  tracekit sessions --model gpt-4o --min-reward 0.5 --limit 20
  tracekit sessions --meta task=support-desk --json
  tracekit sessions --after CURSOR                    # the next page (cursor printed at the end)
"""

SHOW_EXAMPLE = """example:
  tracekit show 3f1c2a9e5b7d4c8a9e0f1a2b3c4d5e6f
  tracekit show 3f1c2a9e5b7d4c8a9e0f1a2b3c4d5e6f --json    # timeline, roll-up and rewards as JSON
"""


def _run_sessions(args: argparse.Namespace) -> int:
    filters = filters_from(args)
    if filters.session_ids is not None:
        raise CliError("sessions lists by filter; use `tracekit show SESSION_ID` for one session")
    if args.limit < 1:
        raise CliError(f"--limit must be at least 1, got {args.limit}")

    async def work(db: TursoManager) -> SessionPage:
        return await db.list_sessions(**filters.store_kwargs(), limit=args.limit, after=args.after)

    page = with_store(db_url(args.db), work)
    if args.json:
        print_json(
            {
                "sessions": [
                    {
                        "session_id": s.session_id,
                        "created_at": format_datetime(s.created_at),
                        "num_timesteps": s.num_timesteps,
                        "num_events": s.num_events,
                        "num_messages": s.num_messages,
                        "num_llm_calls": s.num_llm_calls,
                        "has_error": s.has_error,
                        "metadata": s.metadata,
                    }
                    for s in page.sessions
                ],
                "next_cursor": page.next_cursor,
            }
        )
        return 0
    rows = [
        [
            s.session_id,
            format_datetime(s.created_at)[:19] + "Z",
            str(s.num_timesteps),
            str(s.num_events),
            str(s.num_messages),
            str(s.num_llm_calls),
            "yes" if s.has_error else "",
            json.dumps(s.metadata, ensure_ascii=False)[:60],
        ]
        for s in page.sessions
    ]
    headers = ["session_id", "created_at", "steps", "events", "messages", "llm_calls", "error", "metadata"]
    print(render_table(headers, rows, left=2) if rows else "no sessions match")
    if page.next_cursor is not None:
        print(f"more: tracekit sessions --after {page.next_cursor}")
    return 0


def _run_show(args: argparse.Namespace) -> int:
    async def work(db: TursoManager) -> tuple[SessionTrace, dict[str, list[dict[str, Any]]]]:
        trace = await db.get_session(args.session_id)
        return trace, await db.get_rewards(args.session_id)

    trace, rewards = with_store(db_url(args.db), work)
    timeline = session_timeline(trace, rewards.get("outcome", []))
    rollup = aggregate([trace]).sessions[0]
    if args.json:
        print_json(
            {
                "session_id": trace.session_id,
                "created_at": format_datetime(trace.created_at),
                "metadata": trace.metadata,
                "rollup": rollup.to_dict(),
                "rewards": {
                    kind: [
                        {k: format_datetime(v) if k == "created_at" else v for k, v in r.items()}
                        for r in rows
                    ]
                    for kind, rows in rewards.items()
                },
                "timeline": [e.to_dict() for e in timeline],
            }
        )
        return 0
    print(f"session {trace.session_id}  created {format_datetime(trace.created_at)}")
    if trace.metadata:
        print(f"metadata {json.dumps(trace.metadata, ensure_ascii=False)}")
    duration = "-" if rollup.duration_ms is None else f"{rollup.duration_ms / 1000:.3f} s"
    print(
        f"{rollup.timestep_count} steps, {rollup.llm_call_count} LLM calls, "
        f"{rollup.tool_message_count} tool messages, duration {duration}, "
        f"outcome reward {'-' if rollup.total_reward is None else rollup.total_reward}"
    )
    for entry in timeline:
        at = "" if entry.offset_ms is None else f"+{entry.offset_ms / 1000:.3f}s"
        indent = "" if entry.kind == "step" else "  "
        print(f"{at:>10}  {indent}[{entry.kind}] {entry.summary}")
    for warning in rollup.warnings:
        print(f"! {warning}")
    return 0


def register(commands: Any) -> None:
    """Add `sessions` and `show` to the CLI's subcommands."""
    parser = commands.add_parser(
        "sessions",
        parents=[common_parent()],
        help="list stored sessions (oldest first) with the store's filters",
        description="List stored sessions, a page at a time.",
        epilog=SESSIONS_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--limit", type=int, default=50, help="sessions per page (default 50)")
    parser.add_argument("--after", metavar="CURSOR", help="the page after this cursor")
    add_filters(parser)
    parser.set_defaults(run=_run_sessions)

    show = commands.add_parser(
        "show",
        parents=[common_parent()],
        help="one session as a timeline: steps, calls, tool calls and results, messages, rewards",
        description="Show one stored session as a timeline.",
        epilog=SHOW_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("session_id", metavar="SESSION_ID")
    show.set_defaults(run=_run_show)

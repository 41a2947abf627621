"""`tracekit demo`: replay the bundled multi-agent run into the store, then print its stats and
write its HTML report and SFT file, saying where each is."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracekit.cli.common import UsageError, common_parent, db_url, print_json, progress_bar, with_store
from tracekit.cli.report import write_report
from tracekit.cli.stats import format_stats
from tracekit.demo.run import DemoRun, run_demo
from tracekit.report.stats import SessionFilters, StoreStats, collect_stats
from tracekit.sft import export_sft
from tracekit.store.manager import TursoManager

__all__ = ["register"]

EXAMPLE = """example:
  tracekit demo                       # replay into ./traces.db with the recorded delays (~10 s)
  tracekit demo --fresh               # first delete the earlier demo sessions
  tracekit demo --no-delay --json     # as fast as possible, summary as JSON
"""


def _run(args: argparse.Namespace) -> int:
    if args.no_delay and args.speed is not None:
        raise UsageError("--no-delay and --speed cannot go together")
    if args.speed is not None and not 0.01 <= args.speed <= 100:
        raise UsageError(f"--speed must be between 0.01 and 100, got {args.speed}")
    scale = 0.0 if args.no_delay else 1.0 / (args.speed or 1.0)
    url = db_url(args.db)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = out_dir / "tracekit-demo-report.html"
    sft_path = out_dir / "tracekit-demo-sft.jsonl"
    say = (lambda text: print(text, file=sys.stderr)) if args.json else print
    sdk = None if args.replay == "auto" else args.replay == "sdk"
    say(f"replaying the bundled demo run into {url} ...")
    update, finish = progress_bar("sessions")
    try:
        run: DemoRun = run_demo(url, fresh=args.fresh, delay_scale=scale, use_sdk=sdk, on_session=update)
    finally:
        finish()
    how = (
        "the official openai / anthropic / google-genai clients over a fake HTTP transport, via tk.instrument"
        if run.replay == "sdk"
        else "@tk.trace_llm_call-decorated functions returning the recorded payloads"
        + (
            " (--replay decorators)"
            if args.replay == "decorators"
            else " (the vendor SDKs are not installed)"
        )
    )
    filters = SessionFilters(session_ids=run.session_ids)

    async def work(db: TursoManager) -> StoreStats:
        return await collect_stats(db, filters)

    stats = with_store(url, work)
    write_report(url, report_path, filters)
    sft = export_sft(url, sft_path, metadata={"demo_run": run.run_id})
    if args.json:
        print_json(
            {
                "db": url,
                "replay": run.replay,
                "session_ids": list(run.session_ids),
                "calls": run.call_count,
                "failed_calls": run.failed_calls,
                "deleted_sessions": run.deleted_sessions,
                "elapsed_s": round(run.elapsed_s, 3),
                "saved": run.flush.written,
                "spooled": run.flush.spooled,
                "report": str(report_path.resolve()),
                "sft": sft.to_dict(),
                "stats": stats.to_dict(),
            }
        )
        return 0
    if run.deleted_sessions:
        print(f"--fresh: deleted {run.deleted_sessions} earlier demo sessions")
    print(
        f"replayed {len(run.session_ids)} sessions, {run.call_count} LLM calls in {run.elapsed_s:.1f} s "
        f"through {how}"
    )
    print(f"saved {run.flush.written} sessions (spooled {run.flush.spooled})\n")
    print(format_stats(stats))
    print()
    print(f"store:       {url}    (tracekit stats / sessions / show SESSION_ID --db {url})")
    print(f"HTML report: {report_path.resolve()}")
    print(f"SFT file:    {sft_path.resolve()} ({sft.train} examples from the successful calls)")
    print(f"sessions:    {' '.join(run.session_ids)}")
    return 0


def register(commands: Any) -> None:
    """Add `demo` to the CLI's subcommands."""
    parser = commands.add_parser(
        "demo",
        parents=[common_parent()],
        help="replay a bundled multi-agent run (OpenAI, Anthropic, Gemini) into the store and report on it",
        description="Replay a recorded multi-agent run (3 sessions, 7 agents, 4 vendor APIs; tool calls, "
        "rewards, "
        "a failed call and a stream cut short) through tracekit's tracer, then print its stats and write "
        "its HTML report and an SFT file. No network: recorded vendor payloads are served to the clients.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--fresh", action="store_true", help="delete the earlier demo sessions first")
    parser.add_argument("--no-delay", action="store_true", help="replay without the recorded vendor delays")
    parser.add_argument("--speed", type=float, metavar="X", help="replay X times faster than recorded")
    parser.add_argument(
        "--replay",
        choices=("auto", "sdk", "decorators"),
        default="auto",
        help="through the vendor SDK clients, through decorated functions, or auto (SDKs when installed)",
    )
    parser.add_argument("--out-dir", default=".", metavar="DIR", help="where the report goes (default: .)")
    parser.set_defaults(run=_run)

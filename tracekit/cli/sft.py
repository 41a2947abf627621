"""`tracekit export-sft`: OpenAI chat fine-tuning JSONL from the store, every flag one argument of
`tracekit.sft.export_sft`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tracekit.cli.common import (
    common_parent,
    db_url,
    parse_meta,
    parse_number,
    parse_time,
    print_json,
    require_database,
)
from tracekit.sft import DROP_REASONS, SFTReport, export_sft

__all__ = ["format_sft_report", "register"]

EXAMPLE = """example:
  tracekit export-sft --out train.jsonl --validation-out val.jsonl --validation-fraction 0.1 \\
      --min-reward 1.0 --max-tokens 16000 --model gpt-4o --model claude-sonnet-4-5
  tracekit export-sft --out all.jsonl --all-outcomes --reasoning field --json
"""


def format_sft_report(report: SFTReport) -> str:
    """The export's report as text: where, kept / dropped by reason, token lengths."""
    data = report.to_dict()
    lines = [
        f"train:      {data['train_path']} ({data['train']} examples)",
    ]
    if data["validation_path"] is not None:
        lines.append(f"validation: {data['validation_path']} ({data['validation']} examples)")
    lines.append(
        f"sessions {data['sessions_seen']} (skipped {data['sessions_skipped']}), calls {data['calls_seen']}, "
        f"kept {data['kept']}"
    )
    for reason, count in data["dropped"].items():
        lines.append(f"  dropped {count:>5}  {reason}: {DROP_REASONS.get(reason, '')}")
    lengths = data["token_length"]
    if lengths["count"]:
        lines.append(
            f"tokens per example: p50 {lengths['p50']:.0f}, p90 {lengths['p90']:.0f}, "
            f"p99 {lengths['p99']:.0f}, max {lengths['max']:.0f} ({data['tokens_unknown']} unknown)"
        )
    if data["orphan_tool_results"]:
        lines.append(f"orphan tool results: {data['orphan_tool_results']}")
    if data["over_max_tokens"]:
        lines.append(f"examples over --max-tokens: {data['over_max_tokens']}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    url = db_url(args.db)
    require_database(url)
    report = export_sft(
        url,
        Path(args.out),
        validation_out=None if args.validation_out is None else Path(args.validation_out),
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        created_after=args.since,
        created_before=args.until,
        experiment_id=args.experiment,
        metadata=dict(args.meta) if args.meta else None,
        min_outcome_reward=args.min_reward,
        min_event_reward=args.min_event_reward,
        model=args.model,
        agent=args.agent,
        success_only=not args.all_outcomes,
        finish_reason=args.finish_reason,
        min_tokens=args.min_tokens,
        max_tokens=args.max_tokens,
        min_cost_usd=args.min_cost_usd,
        max_cost_usd=args.max_cost_usd,
        min_latency_ms=args.min_latency_ms,
        max_latency_ms=args.max_latency_ms,
        reasoning=args.reasoning,
        train_on=args.train_on,
        dedupe=not args.no_dedupe,
        page_size=args.page_size,
    )
    if args.json:
        print_json(report.to_dict())
    else:
        print(format_sft_report(report))
    return 0


def register(commands: Any) -> None:
    """Add `export-sft` to the CLI's subcommands."""
    parser = commands.add_parser(
        "export-sft",
        parents=[common_parent()],
        help="write OpenAI chat fine-tuning JSONL from the stored calls (filters, split, report)",
        description="One example per matching LLM call (system prompt, tools, tool calls and results in "
        "order; Anthropic and Gemini calls converted). Flags map one to one onto tracekit.sft.export_sft; "
        "metadata_predicate (a Python callable) is available from Python only.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    out = parser.add_argument_group("output")
    out.add_argument("--out", default="sft.jsonl", metavar="PATH", help="training JSONL (default sft.jsonl)")
    out.add_argument("--validation-out", metavar="PATH", help="validation JSONL")
    out.add_argument(
        "--validation-fraction",
        type=parse_number,
        default=0.0,
        metavar="F",
        help="share of sessions (0..1) for validation, by a hash of the session id",
    )
    out.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    out.add_argument(
        "--reasoning",
        choices=("drop", "field", "inline"),
        default="drop",
        help="reasoning text: drop it, a reasoning_content field, or inline <think>",
    )
    out.add_argument(
        "--train-on",
        choices=("last", "all"),
        default="last",
        help="weight only the last assistant turn (default) or all of them",
    )
    out.add_argument("--no-dedupe", action="store_true", help="keep identical examples")
    out.add_argument("--page-size", type=int, default=200, metavar="N", help="sessions per read (1..900)")
    sessions = parser.add_argument_group("session filters")
    sessions.add_argument("--since", type=parse_time, metavar="TIME", help="created at or after TIME")
    sessions.add_argument("--until", type=parse_time, metavar="TIME", help="created before TIME")
    sessions.add_argument("--experiment", metavar="ID", help="sessions of this experiment")
    sessions.add_argument(
        "--meta",
        type=parse_meta,
        action="append",
        metavar="KEY=VALUE",
        help="metadata KEY equals VALUE (repeatable)",
    )
    sessions.add_argument("--min-reward", type=parse_number, metavar="R", help="an outcome reward >= R")
    calls = parser.add_argument_group("call filters")
    calls.add_argument(
        "--min-event-reward", type=parse_number, metavar="R", help="a reward for the call's event >= R"
    )
    calls.add_argument("--model", action="append", metavar="NAME", help="this model (repeatable)")
    calls.add_argument("--agent", action="append", metavar="NAME", help="this agent (repeatable)")
    calls.add_argument(
        "--finish-reason", action="append", metavar="R", help="this finish reason (repeatable)"
    )
    calls.add_argument("--all-outcomes", action="store_true", help="keep failed/incomplete calls too")
    for name, kind, what in (
        ("tokens", int, "the call's total tokens"),
        ("cost-usd", parse_number, "the call's cost"),
        ("latency-ms", parse_number, "the call's latency"),
    ):
        calls.add_argument(f"--min-{name}", type=kind, metavar="X", help=f"{what} >= X")
        calls.add_argument(f"--max-{name}", type=kind, metavar="X", help=f"{what} <= X")
    parser.set_defaults(run=_run)

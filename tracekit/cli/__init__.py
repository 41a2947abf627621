"""The `tracekit` command: parse, call the public API, print. One module per command group.

Exit codes: 0 success, 1 failure (one line on stderr; the traceback only with --debug),
2 usage error. Every command takes --db URL (default $TRACEKIT_DB or file:traces.db).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from tracekit.cli import demo, info, report, serve, sessions, sft, stats, transfer
from tracekit.cli.common import UsageError
from tracekit.errors import TracekitError

__all__ = ["build_parser", "main"]

EXAMPLE = """examples:
  tracekit demo                      # replay the bundled run into ./traces.db, print stats, write a report
  tracekit stats --by model,agent    # tokens, cost, latency, TTFT, tool calls
  tracekit sessions --min-reward 0.5
  tracekit show SESSION_ID
  tracekit report --out report.html
  tracekit export-sft --out train.jsonl --min-reward 1.0
  tracekit serve                     # a local sqld for many processes; prints the TRACEKIT_DB to set

`tracekit COMMAND --help` shows each command's options and an example.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tracekit",
        description="Look at, report on and move tracekit traces stored in Turso/libSQL.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (demo, stats, sessions, report, sft, serve, transfer, info):
        module.register(commands)
    return parser


def _one_line(message: str) -> str:
    """A multi-line error message (e.g. InvalidDataError's field list) as one line."""
    return "; ".join(part.strip() for part in message.splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # library warnings (e.g. unpriced calls) are part of the commands' own output; show logs with --debug
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR,
        format="tracekit: %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.run(args)
    except UsageError as exc:
        if args.debug:
            traceback.print_exc()
        parser.exit(2, f"tracekit {args.command}: error: {_one_line(str(exc))}\n")
    except TracekitError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"tracekit {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"tracekit {args.command}: interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0  # the reader (e.g. `| head`) closed the pipe: nothing left to say
    except Exception as exc:  # anything else is a bug: still one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"tracekit {args.command}: error: {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

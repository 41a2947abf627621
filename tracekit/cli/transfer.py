"""`tracekit export` (traces as JSON Lines) and `tracekit import` (JSON Lines into a store)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from tracekit.cli.common import (
    CliError,
    add_filters,
    common_parent,
    db_url,
    filters_from,
    print_json,
    progress_bar,
    require_database,
    with_store,
)
from tracekit.jsonl import ImportResult, export_jsonl, import_jsonl, read_jsonl
from tracekit.store.manager import TursoManager

__all__ = ["register"]

EXPORT_EXAMPLE = """example:
  tracekit export --out traces.jsonl
  tracekit export --experiment tracekit-demo > demo.jsonl
"""

IMPORT_EXAMPLE = """example:
  tracekit import traces.jsonl --db http://127.0.0.1:8080
  tracekit export --db file:a.db | tracekit import - --db file:b.db
"""


def _run_export(args: argparse.Namespace) -> int:
    filters = filters_from(args)
    update, finish = progress_bar("exporting")
    to_stdout = args.out in (None, "-")
    url = db_url(args.db)
    require_database(url)  # before creating the output file
    with contextlib.ExitStack() as stack:
        handle: TextIO = sys.stdout
        if not to_stdout:
            try:
                handle = stack.enter_context(Path(args.out).open("w", encoding="utf-8"))
            except OSError as exc:
                raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from None
        stack.callback(finish)

        async def work(db: TursoManager) -> int:
            return await export_jsonl(db, handle.write, filters, progress=update)

        count = with_store(url, work)
    summary = {"sessions": count, "path": None if to_stdout else str(Path(args.out).resolve())}
    if args.json:
        print_json(summary, sys.stderr if to_stdout else sys.stdout)
    else:
        print(
            f"exported {count} sessions to {summary['path'] or 'stdout'}",
            file=sys.stderr if to_stdout else sys.stdout,
        )
    return 0


def _run_import(args: argparse.Namespace) -> int:
    source = "stdin" if args.file == "-" else args.file
    try:
        if args.file == "-":
            traces = read_jsonl(sys.stdin, source)
        else:
            with Path(args.file).open(encoding="utf-8") as handle:
                traces = read_jsonl(handle, source)
    except OSError as exc:
        raise CliError(f"cannot read {args.file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    update, finish = progress_bar("importing")

    async def work(db: TursoManager) -> ImportResult:
        return await import_jsonl(db, traces, progress=update)

    try:
        result = with_store(db_url(args.db), work, must_exist=False)
    finally:
        finish()
    if args.json:
        print_json({"imported": result.sessions, "url": result.url})
    else:
        print(f"imported {result.sessions} sessions into {result.url}")
    return 0


def register(commands: Any) -> None:
    """Add `export` and `import` to the CLI's subcommands."""
    export = commands.add_parser(
        "export",
        parents=[common_parent()],
        help="write the matching traces as JSON Lines (one SessionTrace per line)",
        description="Export traces as JSON Lines; `tracekit import` reads them back equal.",
        epilog=EXPORT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("--out", metavar="PATH", help="file to write (default: stdout)")
    add_filters(export)
    export.set_defaults(run=_run_export)

    imp = commands.add_parser(
        "import",
        parents=[common_parent()],
        help="save traces from JSON Lines (what `export` writes) into the store",
        description="Import traces; every line is checked before anything is saved. A session already "
        "stored is replaced.",
        epilog=IMPORT_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", metavar="FILE", help="JSON Lines file, or - for stdin")
    imp.set_defaults(run=_run_import)

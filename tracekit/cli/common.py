"""What every command shares: --db/--json/--debug, the session filters, opening the store, output."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

from dateutil.parser import isoparse

from tracekit.errors import TracekitError
from tracekit.report.stats import SessionFilters
from tracekit.store.manager import TursoManager

__all__ = [
    "DEFAULT_DB",
    "CliError",
    "UsageError",
    "add_filters",
    "common_parent",
    "db_url",
    "filters_from",
    "parse_meta",
    "parse_number",
    "parse_time",
    "print_json",
    "progress_bar",
    "render_table",
    "require_database",
    "run",
    "with_store",
]

DEFAULT_DB = "file:traces.db"
T = TypeVar("T")


class CliError(TracekitError):
    """A failure the CLI reports in one line (exit code 1)."""


class UsageError(CliError):
    """Options that cannot go together (exit code 2, like argparse's own usage errors)."""


def db_url(given: str | None = None) -> str:
    """The store URL to use: `given` (--db), else $TRACEKIT_DB, else file:traces.db; a relative
    file: path is made absolute against the working directory, as in SQLite."""
    url = given or os.environ.get("TRACEKIT_DB") or DEFAULT_DB
    if url.startswith("file:") and not url.startswith("file:/"):
        parts = urllib.parse.urlsplit(url)
        if parts.path and parts.path != ":memory:":
            absolute = Path(parts.path).resolve().as_posix()
            return "file:" + absolute + (f"?{parts.query}" if parts.query else "")
    return url


def common_parent(*, json_flag: bool = True) -> argparse.ArgumentParser:
    """The options every command takes: --db, --debug (and --json when it prints data)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help=f"store URL (default: $TRACEKIT_DB or {DEFAULT_DB}); file:, http(s)://, ws(s)://, libsql://",
    )
    parent.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    if json_flag:
        parent.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parent


def parse_time(text: str) -> datetime:
    """An aware ISO-8601 time (argparse type)."""
    try:
        value = isoparse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO-8601 time, e.g. 2026-12-01T20:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no timezone; add Z or +00:00")
    return value


def parse_number(text: str) -> float:
    """A finite number (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def parse_meta(text: str) -> tuple[str, Any]:
    """KEY=VALUE, VALUE read as a JSON scalar when it is one, else as text (argparse type)."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. --meta task=support)")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, dict | list) or (isinstance(value, float) and not math.isfinite(value)):
        raise argparse.ArgumentTypeError(
            f"--meta {key}: only a JSON scalar or text can be matched, got {raw!r}"
        )
    return key, value


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The store's session filters, as options."""
    group = parser.add_argument_group("session filters")
    group.add_argument(
        "--since", type=parse_time, metavar="TIME", help="sessions created at or after TIME (ISO-8601)"
    )
    group.add_argument(
        "--until", type=parse_time, metavar="TIME", help="sessions created before TIME (ISO-8601)"
    )
    group.add_argument("--experiment", metavar="ID", help="sessions of this experiment")
    group.add_argument("--model", metavar="NAME", help="sessions with a call to this model")
    group.add_argument(
        "--min-reward", type=parse_number, metavar="R", help="sessions with an outcome reward >= R"
    )
    errors = group.add_mutually_exclusive_group()
    errors.add_argument(
        "--has-error", dest="has_error", action="store_const", const=True, help="sessions with a failed call"
    )
    errors.add_argument(
        "--no-error", dest="has_error", action="store_const", const=False, help="sessions without one"
    )
    group.add_argument(
        "--meta",
        type=parse_meta,
        action="append",
        metavar="KEY=VALUE",
        help="metadata KEY equals VALUE (repeatable)",
    )
    group.add_argument("--session", action="append", metavar="ID", help="only this session (repeatable)")


def filters_from(args: argparse.Namespace) -> SessionFilters:
    """The SessionFilters the filter options ask for."""
    return SessionFilters(
        created_after=args.since,
        created_before=args.until,
        experiment_id=args.experiment,
        model=args.model,
        metadata=dict(args.meta) if args.meta else None,
        min_reward=args.min_reward,
        has_error=args.has_error,
        session_ids=tuple(args.session) if args.session else None,
    )


def require_database(url: str) -> None:
    """Refuse a file: URL naming a database that does not exist (opening it would create an empty one)."""
    if not url.startswith("file:"):
        return
    path = urllib.parse.urlsplit(url).path
    if path and path != ":memory:" and not Path(path).exists():
        raise CliError(
            f"no database at {path} (--db {url}); "
            "run `tracekit demo` to create one, or pass --db / set TRACEKIT_DB"
        )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


def with_store(url: str, work: Callable[[TursoManager], Awaitable[T]], *, must_exist: bool = True) -> T:
    """Open the store at `url`, run `work(db)` and close it."""
    if must_exist:
        require_database(url)

    async def main() -> T:
        async with TursoManager(url) as db:
            return await work(db)

    return run(main())


def print_json(value: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout."""
    print(json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False), file=stream or sys.stdout)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """A plain-text table: the first `left` columns left-aligned, the rest right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def progress_bar(
    label: str, stream: TextIO | None = None
) -> tuple[Callable[[int, int | None], None], Callable[[], None]]:
    """(update(done, total), finish()) drawing a bar on stderr when it is a terminal, nothing otherwise."""
    out = stream or sys.stderr
    if not out.isatty():
        return (lambda done, total: None), (lambda: None)
    drawn = [False]

    def update(done: int, total: int | None) -> None:
        if total:
            filled = int(30 * done / total)
            text = f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
        else:
            text = f"\r{label} {done}"
        out.write(text)
        out.flush()
        drawn[0] = True

    def finish() -> None:
        if drawn[0]:
            out.write("\n")
            out.flush()

    return update, finish

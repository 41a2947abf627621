"""`tracekit serve`: run a local sqld (libSQL server) so many processes can write one store."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import Any

from tracekit.cli.common import UsageError, common_parent, db_url
from tracekit.store.server import start_sqld

__all__ = ["register"]

EXAMPLE = """example:
  tracekit serve                          # serves ./traces.db.sqld/ on a free port
  tracekit serve --port 8080 --data-dir /var/lib/traces
  export TRACEKIT_DB=http://127.0.0.1:8080   # then, in every process: tracekit stats, SessionTracer(...)
"""


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the wait loop."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    url = db_url(args.db)
    if not url.startswith("file:"):
        raise UsageError(
            f"serve starts a local server; --db must be a file: URL or use --data-dir (got {url})"
        )
    path = urllib.parse.urlsplit(url).path
    if not path or path == ":memory:":
        raise UsageError(
            f"serve needs a path to keep the server's data; --db {url} has none (use --data-dir)"
        )
    return Path(path + ".sqld")


def _run(args: argparse.Namespace) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    data_dir = _data_dir(args)
    server = start_sqld(data_dir, port=args.port)
    previous = signal.signal(signal.SIGTERM, _on_term)
    try:
        if args.json:
            info = {
                "url": server.url,
                "ws_url": server.ws_url,
                "env": {"TRACEKIT_DB": server.url},
                "data_dir": str(data_dir.resolve()),
                "log": str(server.log_path.resolve()),
                "pid": server.process.pid,
            }
            print(json.dumps(info))  # one line, so a parent process can read it before the server stops
        else:
            print(f"sqld serving {data_dir.resolve()} at {server.url} (log: {server.log_path})")
            print(f"export TRACEKIT_DB={server.url}")
            print("Ctrl-C stops it.")
        sys.stdout.flush()
        code = server.process.wait()
        if code != 0:
            print(f"tracekit: error: sqld exited with code {code}; see {server.log_path}", file=sys.stderr)
            return 1
    except (KeyboardInterrupt, _Stop):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    return 0


def register(commands: Any) -> None:
    """Add `serve` to the CLI's subcommands."""
    parser = commands.add_parser(
        "serve",
        parents=[common_parent()],
        help="start a local sqld for multi-process use and print its URL and the env var to set",
        description="Start sqld (TRACEKIT_SQLD, PATH or .tools/sqld/sqld) on 127.0.0.1 until Ctrl-C. "
        "The data directory defaults to the --db file's path + .sqld.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    parser.add_argument("--data-dir", metavar="DIR", help="sqld's data directory (default: <--db path>.sqld)")
    parser.set_defaults(run=_run)

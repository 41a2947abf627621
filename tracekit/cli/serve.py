"""`tracekit serve`: run a local sqld (libSQL server) so many processes can write one store; with
`--grpc-port` it also serves replicas, with `--replica-of URL` it is one."""

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
from tracekit.errors import ServerStartError
from tracekit.store.server import check_primary_url, start_sqld

__all__ = ["register"]

EXAMPLE = """example:
  tracekit serve                          # serves ./traces.db.sqld/ on a free port
  tracekit serve --port 8080 --data-dir /var/lib/traces
  export TRACEKIT_DB=http://127.0.0.1:8080   # then, in every process: tracekit stats, SessionTracer(...)
  tracekit serve --port 8080 --grpc-port 5001               # a primary that replicas can follow
  tracekit serve --port 8081 --replica-of http://127.0.0.1:5001   # a replica: reads its copy, forwards writes
"""


class _Stop(Exception):
    """Raised by the SIGTERM handler to leave the wait loop."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        return Path(args.data_dir)
    suffix = ".replica.sqld" if args.replica_of else ".sqld"
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
    return Path(path + suffix)


def _run(args: argparse.Namespace) -> int:
    if args.port is not None and not 0 < args.port < 65536:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    if args.grpc_port is not None and not 0 <= args.grpc_port < 65536:
        raise UsageError(f"--grpc-port must be 0 (a free port) or 1-65535, got {args.grpc_port}")
    if args.replica_of is not None:
        try:
            check_primary_url(args.replica_of)
        except ServerStartError as exc:
            raise UsageError(f"--replica-of: {exc}") from None
    data_dir = _data_dir(args)
    server = start_sqld(data_dir, port=args.port, grpc_port=args.grpc_port, replica_of=args.replica_of)
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
                "grpc_url": server.grpc_url,
                "replica_of": server.replica_of,
            }
            print(json.dumps(info))  # one line, so a parent process can read it before the server stops
        else:
            print(f"sqld serving {data_dir.resolve()} at {server.url} (log: {server.log_path})")
            print(f"export TRACEKIT_DB={server.url}")
            if server.grpc_url is not None:
                print(f"replicas: tracekit serve --replica-of {server.grpc_url}")
            if server.replica_of is not None:
                print(f"a replica of {server.replica_of}: reads are served here, writes go to the primary")
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
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="sqld's data directory (default: <--db path>.sqld; <--db path>.replica.sqld with --replica-of)",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        metavar="PORT",
        help="also listen for replicas on 127.0.0.1:PORT (0: a free port); prints the URL to give them",
    )
    parser.add_argument(
        "--replica-of",
        metavar="URL",
        help="run as a replica of the primary whose replica port (--grpc-port) is at URL, http://HOST:PORT",
    )
    parser.set_defaults(run=_run)

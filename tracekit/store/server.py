"""Start and stop a local libSQL server (sqld) on a free loopback port, alone or as primary + replica.

    with start_sqld("/tmp/traces.sqld") as server:
        db = TursoManager(server.url)

    primary = start_sqld("/tmp/p.sqld", grpc_port=0)              # also serves replicas over gRPC
    replica = start_sqld("/tmp/r.sqld", replica_of=primary.grpc_url)
    # writes to either land on the primary (a replica forwards them); the replica reads its own copy

Replication is sqld's own (`--grpc-listen-addr` on the primary, `--primary-grpc-url` on the
replica); tracekit only starts the processes and talks HTTP to each.

The binary is looked up in TRACEKIT_SQLD, then on PATH, then in the project's install location
(`.tools/sqld/sqld`, written by scripts/install-sqld.sh). The server's output goes to a log file
next to the database, never to a pipe that could fill up and stall it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tracekit.errors import ServerStartError

__all__ = ["SqldServer", "check_primary_url", "find_sqld", "free_port", "start_sqld"]

log = logging.getLogger(__name__)

_PROJECT_SQLD = Path(__file__).resolve().parents[2] / ".tools" / "sqld" / "sqld"


def find_sqld() -> Path:
    """The sqld binary to run; ServerStartError saying where it looked when there is none."""
    candidates: list[Path] = []
    env = os.environ.get("TRACEKIT_SQLD")
    if env:
        candidates.append(Path(env))
    on_path = shutil.which("sqld")
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(_PROJECT_SQLD)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise ServerStartError(
        f"no sqld binary found (looked at TRACEKIT_SQLD={env!r}, PATH, {_PROJECT_SQLD}); "
        "run scripts/install-sqld.sh or set TRACEKIT_SQLD to a sqld executable"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class SqldServer:
    """A running sqld: its HTTP `url` (also serves WebSocket Hrana), port, files and process."""

    url: str
    port: int
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    grpc_url: str | None = None
    """Where replicas reach this server (`--grpc-listen-addr`); None when it serves none."""
    replica_of: str | None = None
    """The primary's gRPC URL when this server is a replica; None for a primary or a lone server."""

    @property
    def ws_url(self) -> str:
        """The same server as a ws:// URL (Hrana over WebSocket)."""
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask sqld to stop (SIGTERM), kill it if it has not exited within `timeout_s`."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            log.warning("sqld (pid %d) ignored SIGTERM for %.0fs; killing it", self.process.pid, timeout_s)
            self.process.kill()
            self.process.wait(timeout_s)

    def __enter__(self) -> SqldServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


_PROBE = json.dumps({"requests": [{"type": "execute", "stmt": {"sql": "SELECT 1"}}, {"type": "close"}]})


def _answers_queries(url: str) -> bool:
    """Whether the server runs a query. A replica answers /health before it reaches its primary
    and then holds queries until it does, so /health alone does not say it is usable."""
    request = urllib.request.Request(
        url + "/v2/pipeline", data=_PROBE.encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=1.0) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError as exc:
        return exc.code in (401, 403)  # an auth-protected server: up, and the probe carries no token
    except (urllib.error.URLError, OSError):
        return False


def check_primary_url(url: str) -> str:
    """`url` when it reads as a primary's gRPC address (http(s)://host:port); else ServerStartError."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    try:
        port = parts.port if parts is not None else None
    except ValueError:
        port = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise ServerStartError(
            f"a primary must be named by its gRPC URL, http://HOST:PORT (its --grpc-listen-addr), "
            f"got {url!r}; start the primary with grpc_port= (tracekit serve --grpc-port) and pass that URL"
        )
    return url


def start_sqld(
    db_path: str | Path,
    *,
    port: int | None = None,
    grpc_port: int | None = None,
    replica_of: str | None = None,
    auth_jwt_key_file: str | Path | None = None,
    binary: str | Path | None = None,
    startup_timeout_s: float = 20.0,
) -> SqldServer:
    """Start sqld serving `db_path` on 127.0.0.1 and wait until /health answers 200.

    `grpc_port` (0 = a free one) makes it a primary that replicas can follow; `replica_of` (a
    primary's `grpc_url`) makes it a replica: it keeps a copy of the primary's database, serves
    reads from it and forwards writes to the primary. `auth_jwt_key_file` (an Ed25519 public key,
    PEM) makes the server demand a JWT signed by the matching private key. The log goes to
    `<db_path>.log`.
    """
    if replica_of is not None:
        check_primary_url(replica_of)
    exe = Path(binary) if binary is not None else find_sqld()
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_path.with_name(db_path.name + ".log")
    attempts = 1 if port is not None and grpc_port != 0 else 3
    last_problem = ""
    for _attempt in range(attempts):
        chosen = port if port is not None else free_port()
        args = [str(exe), "--db-path", str(db_path), "--http-listen-addr", f"127.0.0.1:{chosen}"]
        grpc_url = None
        if grpc_port is not None:
            grpc_chosen = grpc_port or free_port()
            grpc_url = f"http://127.0.0.1:{grpc_chosen}"
            args += ["--grpc-listen-addr", f"127.0.0.1:{grpc_chosen}"]
        if replica_of is not None:
            args += ["--primary-grpc-url", replica_of]
        # One connection at a time: with 3+ connections writing at once, this sqld (0.24) can stop
        # committing for good (later writes hang, reads still work); serialised, 8 writer processes
        # got 400/400 sessions in, faster (README, "Reliability and limits").
        args += ["--max-concurrent-connections", "1"]
        if auth_jwt_key_file is not None:
            args += ["--auth-jwt-key-file", str(auth_jwt_key_file)]
        try:
            with log_path.open("ab") as log_file:
                process = subprocess.Popen(
                    args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
        except OSError as exc:
            raise ServerStartError(
                f"cannot run {exe}: {exc}; set TRACEKIT_SQLD to a sqld executable"
            ) from None
        server = SqldServer(
            f"http://127.0.0.1:{chosen}", chosen, db_path, log_path, process, grpc_url, replica_of
        )
        deadline = time.monotonic() + startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_problem = f"sqld exited with code {process.returncode}"
                break
            if _healthy(server.url) and (replica_of is None or _answers_queries(server.url)):
                log.info("sqld (pid %d) serving %s at %s", process.pid, db_path, server.url)
                return server
            time.sleep(0.05)
        else:
            last_problem = f"sqld did not answer /health within {startup_timeout_s:g} s"
            if replica_of is not None:
                last_problem = (
                    f"the replica did not answer a query within {startup_timeout_s:g} s; is a primary "
                    f"listening for replicas at {replica_of} (its --grpc-listen-addr)?"
                )
                server.stop()
                break  # another port would not help a replica that cannot reach its primary
        server.stop()
    raise ServerStartError(f"could not start {exe}: {last_problem}; see its log at {log_path}")

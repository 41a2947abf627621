"""Start and stop a local libSQL server (sqld) on a free loopback port.

    with start_sqld("/tmp/traces.sqld") as server:
        db = TursoManager(server.url)

The binary is looked up in TRACEKIT_SQLD, then on PATH, then in the project's install location
(`.tools/sqld/sqld`, written by scripts/install-sqld.sh). The server's output goes to a log file
next to the database, never to a pipe that could fill up and stall it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tracekit.errors import ServerStartError

__all__ = ["SqldServer", "find_sqld", "free_port", "start_sqld"]

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


def start_sqld(
    db_path: str | Path,
    *,
    port: int | None = None,
    auth_jwt_key_file: str | Path | None = None,
    binary: str | Path | None = None,
    startup_timeout_s: float = 20.0,
) -> SqldServer:
    """Start sqld serving `db_path` on 127.0.0.1 and wait until /health answers 200.

    `auth_jwt_key_file` (an Ed25519 public key, PEM) makes the server demand a JWT signed by the
    matching private key. The log goes to `<db_path>.log`.
    """
    exe = Path(binary) if binary is not None else find_sqld()
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = db_path.with_name(db_path.name + ".log")
    attempts = 1 if port is not None else 3
    last_problem = ""
    for _attempt in range(attempts):
        chosen = port if port is not None else free_port()
        args = [str(exe), "--db-path", str(db_path), "--http-listen-addr", f"127.0.0.1:{chosen}"]
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
        server = SqldServer(f"http://127.0.0.1:{chosen}", chosen, db_path, log_path, process)
        deadline = time.monotonic() + startup_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                last_problem = f"sqld exited with code {process.returncode}"
                break
            if _healthy(server.url):
                log.info("sqld (pid %d) serving %s at %s", process.pid, db_path, server.url)
                return server
            time.sleep(0.05)
        else:
            last_problem = f"sqld did not answer /health within {startup_timeout_s:g} s"
        server.stop()
    raise ServerStartError(f"could not start {exe}: {last_problem}; see its log at {log_path}")

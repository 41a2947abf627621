"""`tracekit serve --grpc-port` starts a primary and `tracekit serve --replica-of URL` a replica of it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from clirunner import Cli

import tracekit as tk
from tracekit.store.server import find_sqld

pytestmark = pytest.mark.sqld


@contextmanager
def _serving(cwd: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Run `tracekit serve --json ARGS` until the block ends (SIGTERM); yields the line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tracekit.cli", "serve", "--json", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        yield json.loads(line)
    finally:
        process.terminate()
        code = process.wait(30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert code == 0


def test_serve_starts_a_primary_and_a_replica_that_serves_its_data(tmp_path: Path) -> None:
    """serve --grpc-port 0 prints the gRPC URL replicas follow; serve --replica-of that URL starts a
    replica; a session imported through the replica is listed by the primary and, within a bounded
    wait, read back from the replica."""
    find_sqld()  # `make test` installs sqld; without it this test cannot run
    cli = Cli(tmp_path)
    with _serving(tmp_path, "--db", "file:main.db", "--grpc-port", "0") as primary:
        assert primary["grpc_url"].startswith("http://127.0.0.1:")
        assert primary["replica_of"] is None
        assert primary["data_dir"] == str(tmp_path / "main.db.sqld")
        with _serving(tmp_path, "--db", "file:main.db", "--replica-of", primary["grpc_url"]) as replica:
            assert replica["replica_of"] == primary["grpc_url"]
            assert replica["grpc_url"] is None
            assert replica["data_dir"] == str(tmp_path / "main.db.replica.sqld")
            trace = tk.SessionTrace(session_id="via-replica", metadata={"k": "v"})
            imported = cli.json("import", "-", stdin=trace.to_json(), env=replica["env"])
            assert imported["imported"] == 1
            listed = cli.json("sessions", env=primary["env"])
            assert [s["session_id"] for s in listed["sessions"]] == ["via-replica"]
            deadline = time.monotonic() + 30
            while True:  # until the replica has the schema and the row ("no such table" before)
                done = cli("sessions", "--json", env=replica["env"])
                seen = json.loads(done.stdout)["sessions"] if done.returncode == 0 else []
                if seen or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert [s["session_id"] for s in seen] == ["via-replica"], done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--replica-of", "127.0.0.1:5001"), "a primary must be named by its gRPC URL"),
        (("--grpc-port", "70000"), "--grpc-port must be 0 (a free port) or 1-65535, got 70000"),
    ],
)
def test_serve_refuses_a_bad_replica_url_or_grpc_port(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """A --replica-of that is not http(s)://HOST:PORT or a --grpc-port outside 0-65535 exits 2."""
    done = Cli(tmp_path)("serve", *args)
    assert done.returncode == 2
    assert message in done.stderr

"""The `tracekit` command run as a real subprocess (`Cli`), and the store a demo run filled (`DemoStore`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Cli:
    """Runs the tracekit command in `cwd` with TRACEKIT_DB unset (unless `env` sets it).

    `subprocess=True` runs `python -m tracekit.cli` as a real process; otherwise `tracekit.cli.main`
    runs in this process (same parser and code, output captured) because each interpreter start
    costs seconds of imports on a busy machine.
    """

    cwd: Path
    subprocess: bool = False

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        if self.subprocess:
            full_env = {k: v for k, v in os.environ.items() if k != "TRACEKIT_DB"}
            full_env.update(env or {})
            return subprocess.run(
                [sys.executable, "-m", "tracekit.cli", *args],
                cwd=self.cwd,
                env=full_env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        return _in_process(self.cwd, list(args), env or {}, stdin)

    def json(self, *args: str, **kwargs: Any) -> Any:
        """Run with --json, require exit 0, and parse stdout."""
        done = self(*args, "--json", **kwargs)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _in_process(
    cwd: Path, args: list[str], env: dict[str, str], stdin: str | None
) -> subprocess.CompletedProcess[str]:
    from tracekit.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = os.environ.get("TRACEKIT_DB")
    saved_cwd = Path.cwd()
    saved_stdin = sys.stdin
    os.environ.pop("TRACEKIT_DB", None)
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        for key in env:
            os.environ.pop(key, None)
        if saved_env is not None:
            os.environ["TRACEKIT_DB"] = saved_env
    return subprocess.CompletedProcess(["tracekit", *args], code, out.getvalue(), err.getvalue())


@dataclass(frozen=True, slots=True)
class DemoStore:
    """A store filled by one `tracekit demo --no-delay --replay decorators` run."""

    cli: Cli
    url: str
    summary: dict[str, Any]


def run_demo_store(cwd: Path) -> DemoStore:
    """Fill `cwd/traces.db` with one `tracekit demo --no-delay --replay decorators` run."""
    cli = Cli(cwd)
    done = cli("demo", "--no-delay", "--replay", "decorators", "--json")
    assert done.returncode == 0, done.stderr
    return DemoStore(cli, f"file:{cwd / 'traces.db'}", json.loads(done.stdout))

"""Real writer processes for the reliability tests (writer_proc.py), started together, bounded in time."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

WRITER = Path(__file__).with_name("writer_proc.py")
TIME_LIMIT_S = 240.0
"""No writer process may run longer than this (a hang fails the test instead of stalling the suite)."""


@dataclass(slots=True)
class WriterRun:
    """What one writer process printed: save outcomes by session id, traces, its flush report, errors."""

    outcomes: dict[str, str] = field(default_factory=dict)
    traces: list[str] = field(default_factory=list)
    flush: str | None = None
    errors: list[str] = field(default_factory=list)
    returncode: int | None = None


def parse(text: str) -> WriterRun:
    """Read a writer's stdout (a last line cut by kill -9 is ignored)."""
    run = WriterRun()
    for line in text.splitlines():
        kind, _sep, rest = line.partition(" ")
        if kind in ("saved", "spooled"):
            run.outcomes[rest] = kind
        elif kind == "trace":
            run.traces.append(rest)
        elif kind == "flush":
            run.flush = rest
        elif kind == "error":
            run.errors.append(rest)
    return run


def start(
    mode: str, url: str, spool: Path, prefix: str, count: int, steps: int, go: Path
) -> subprocess.Popen[str]:
    """Start one writer process (it waits for `go` to exist)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, str(WRITER), mode, url, str(spool), prefix, str(count), str(steps), str(go)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def run_all(
    mode: str, url: str, spool: Path, prefixes: Sequence[str], count: int, steps: int
) -> list[WriterRun]:
    """Run one writer process per prefix at the same moment and wait for all (at most TIME_LIMIT_S).

    The processes are forked from a server that imported tracekit once (importing it costs more CPU
    than the writing here), so the eight start together without eight imports."""
    from reliability import writer_proc

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tracekit", "tracekit.store"])
    go = spool.with_name(spool.name + ".go")
    outs = [spool.with_name(f"{spool.name}.{prefix}.out") for prefix in prefixes]
    procs = [
        context.Process(
            target=writer_proc.run_to_file, args=(mode, url, str(spool), prefix, count, steps, go, out)
        )
        for prefix, out in zip(prefixes, outs, strict=True)
    ]
    for proc in procs:
        proc.start()
    go.touch()
    deadline = time.monotonic() + TIME_LIMIT_S
    runs: list[WriterRun] = []
    for proc, out in zip(procs, outs, strict=True):
        proc.join(max(1.0, deadline - time.monotonic()))
        if proc.exitcode is None:
            for other in procs:
                other.kill()
            raise AssertionError(f"a writer process ran longer than {TIME_LIMIT_S:g} s")
        run = parse(out.read_text(encoding="utf-8") if out.exists() else "")
        run.returncode = proc.exitcode
        runs.append(run)
    return runs

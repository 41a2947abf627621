"""8 writer processes x 50 sessions of ~150 KB each to ONE sqld, all at once.

Baseline (the real limit): the same statements sent straight through libsql-client's batch() by
the same processes, no tracekit. Figures: sessions stored (of 400) and wall time, and tracekit's
time as a ratio to the baseline's. `--unserialised` also runs the baseline against a sqld started
without `--max-concurrent-connections 1` (each process bounded to 150 s) to show the write stall.

    .venv/bin/python bench/bench_reliability.py [--processes 8] [--sessions 50] [--steps 60] [--unserialised]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

import libsql_client
from storebuilders import make_trace

from tracekit.errors import StoreError, TracekitError
from tracekit.store import TursoManager
from tracekit.store.libsql import request_bytes
from tracekit.store.manager import _default_cost, _save_statements
from tracekit.store.server import find_sqld, free_port, start_sqld

SAVED_AT = "2026-01-01T00:00:00.000000+00:00"


def _raw(url: str, prefix: str, count: int, steps: int, out: multiprocessing.Queue[object]) -> None:
    async def run() -> dict[str, object]:
        client = libsql_client.create_client(url)
        ok, errors = 0, {}
        for i in range(count):
            stmts = _save_statements(
                [make_trace(f"{prefix}-{i}", steps=steps, seed=i)], SAVED_AT, _default_cost()
            )
            try:
                await asyncio.wait_for(client.batch([(sql, list(params)) for sql, params in stmts]), 150)
                ok += 1
            except Exception as exc:  # the baseline reports what sqld answered, whatever it was
                key = f"{type(exc).__name__} {getattr(exc, 'code', '')}"
                errors[key] = errors.get(key, 0) + 1
                if isinstance(exc, TimeoutError):
                    break
        await client.close()
        return {"ok": ok, "errors": errors}

    out.put(asyncio.run(run()))


def _tracekit(url: str, prefix: str, count: int, steps: int, out: multiprocessing.Queue[object]) -> None:
    async def run() -> dict[str, object]:
        outcomes: dict[str, int] = {}
        async with TursoManager(url, spool_path=Path(tempfile.mkdtemp()) / "spool.jsonl") as db:
            for i in range(count):
                try:
                    outcome = await db.save_session(make_trace(f"{prefix}-{i}", steps=steps, seed=i))
                except TracekitError as exc:
                    outcome = f"{type(exc).__name__} {exc.code if isinstance(exc, StoreError) else ''}"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return {"outcomes": outcomes}

    out.put(asyncio.run(run()))


async def _prepare(url: str) -> None:
    async with TursoManager(url, spool_path=Path(tempfile.mkdtemp()) / "unused.jsonl"):
        pass


async def _count(url: str) -> int:
    async with TursoManager(url, spool_path=Path(tempfile.mkdtemp()) / "unused.jsonl", timeout_s=10) as db:
        return int((await db.execute("SELECT count(*) AS n FROM sessions"))[0]["n"])


def _run(target: object, url: str, processes: int, sessions: int, steps: int) -> tuple[float, list[object]]:
    queue: multiprocessing.Queue[object] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(target=target, args=(url, f"p{p}", sessions, steps, queue))  # type: ignore[arg-type]
        for p in range(processes)
    ]
    started = time.monotonic()
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(60)
    return time.monotonic() - started, results


def main() -> None:
    """Run the scenario on fresh servers and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--unserialised", action="store_true")
    args = parser.parse_args()
    total = args.processes * args.sessions
    one = _save_statements([make_trace("x", steps=args.steps)], SAVED_AT, _default_cost())
    print(
        f"{args.processes} processes x {args.sessions} sessions, {request_bytes(one) / 1000:.0f} KB a save "
        "(the HTTP request body)"
    )
    figures = {}
    for name, target in (("baseline: libsql-client batch()", _raw), ("tracekit save_session", _tracekit)):
        with tempfile.TemporaryDirectory() as tmp, start_sqld(Path(tmp) / "db.sqld") as server:
            asyncio.run(_prepare(server.url))
            elapsed, results = _run(target, server.url, args.processes, args.sessions, args.steps)
            stored = asyncio.run(_count(server.url))
        figures[name] = elapsed
        print(f"{name:34s} {stored}/{total} stored in {elapsed:6.1f} s   {json.dumps(results[0])}")
    base = figures["baseline: libsql-client batch()"]
    print(f"tracekit / baseline time: {figures['tracekit save_session'] / base:.2f}x")
    if args.unserialised:
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            proc = subprocess.Popen(
                [str(find_sqld()), "--db-path", f"{tmp}/db.sqld", "--http-listen-addr", f"127.0.0.1:{port}"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(2)
                url = f"http://127.0.0.1:{port}"
                asyncio.run(_prepare(url))
                elapsed, results = _run(_raw, url, args.processes, args.sessions, args.steps)
                stored = asyncio.run(_count(url))
            finally:
                proc.kill()
                proc.wait()
        print(
            f"{'baseline, sqld not serialised':34s} {stored}/{total} stored in {elapsed:6.1f} s   {results}"
        )


if __name__ == "__main__":
    main()

"""Benchmark: `db.aggregate(by=...)` over 1,000,000 stored calls, and opening an existing database.

    .venv/bin/python bench/bench_rollup.py [--sessions 10000] [--db PATH] [--runs 3] [--by none model ...]
        [--distinct-steps]

The database holds `--sessions` sessions of 100 timesteps (LLM event with one call record,
environment event, two messages: 100 calls a session), written the store's own way: one session
is saved through TursoManager, then its rows (its roll-up summary included) are copied inside
SQLite under new session ids (with `--distinct-steps`, under new step ids too: every step id unique
to its session, so by="timestep" has a group a step, 1,000,000 groups by default). `--db PATH`
keeps the file between runs (built when missing; a file written by an older tracekit is migrated on
the first open, and that open is timed).

Printed, min / median of `--runs` runs, each beside its baseline measured in the same run:
- every grouping of `aggregate` (None, model, provider, agent, session, timestep), against a bare
  `SELECT count(*), sum(input_tokens) FROM llm_calls` through the same connection: wall time, and
  the process's CPU time (both threads: the caller's and the database's), steadier on a shared machine;
- `TursoManager(url).open()` of the existing, current database, against the bare sqlite3 connect +
  `PRAGMA user_version` + close of the same file (and the pre-v3 open sequence, interleaved).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from store.storebuilders import make_trace

from tracekit.store import TursoManager, schema
from tracekit.store.libsql import Database
from tracekit.store.writer import TRACE_TABLES

_STEPS = 100
_GROUPINGS: tuple[Any, ...] = (None, "model", "provider", "agent", "session", "timestep")


async def _build(path: Path, sessions: int, spool: Path, *, distinct_steps: bool = False) -> None:
    """One session saved by the store, copied `sessions - 1` times under new ids inside SQLite
    (`distinct_steps`: each copy's step ids suffixed with its number, so no two sessions share one)."""
    async with TursoManager(f"file:{path}", spool_path=spool) as db:
        await db.save_session(make_trace("bench-000000", steps=_STEPS, seed=1))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        series = f"WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {sessions - 1}) "
        for table in TRACE_TABLES:
            columns = [c.name for c in table.columns]
            values = []
            for name in columns:
                if name == "session_id":
                    values.append("printf('bench-%06d', n.k)")
                elif name == "step_id" and distinct_steps:
                    values.append("step_id || printf('-%06d', n.k)")
                else:
                    values.append(name)
            conn.execute(
                f"{series}INSERT INTO {table.name} ({', '.join(columns)}) "
                f"SELECT {', '.join(values)} FROM n, {table.name} WHERE session_id = 'bench-000000'"
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


async def _timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await fn()
    return time.perf_counter() - started, result


def _fmt(values: list[float], scale: float = 1.0, unit: str = "s") -> str:
    return f"{min(values) * scale:.3f} / {statistics.median(values) * scale:.3f} {unit}"


async def bench(path: Path, runs: int, spool: Path, groupings: tuple[Any, ...] = _GROUPINGS) -> None:
    url = f"file:{path}"
    first_s, _ = await _timed(lambda: TursoManager(url, spool_path=spool, timeout_s=3600).open())
    print(f"first open (migrates an older file; else the plain open): {first_s * 1000:.1f} ms")
    async with TursoManager(url, spool_path=spool, timeout_s=3600) as db:
        count = (await db.execute("SELECT count(*) AS n FROM llm_calls"))[0]["n"]
        print(f"aggregate over {count:,} stored calls (min / median of {runs} runs; ratio to baseline)")
        base: list[float] = []
        base_cpu: list[float] = []
        times: dict[Any, list[float]] = {by: [] for by in groupings}
        cpu: dict[Any, list[float]] = {by: [] for by in groupings}
        for _run in range(runs):
            started = time.process_time()
            seconds, _ = await _timed(lambda: db.execute("SELECT count(*), sum(input_tokens) FROM llm_calls"))
            base_cpu.append(time.process_time() - started)
            base.append(seconds)
            for by in groupings:
                started = time.process_time()
                seconds, result = await _timed(lambda: db.aggregate(by=by))  # noqa: B023
                cpu[by].append(time.process_time() - started)
                times[by].append(seconds)
                assert result.total.call_count == count
        print(f"  baseline SELECT count(*), sum(input_tokens): {_fmt(base)} | CPU {_fmt(base_cpu)}")
        for by in groupings:
            ratio = min(times[by]) / min(base)
            print(
                f"  aggregate(by={by!r:11s}) {_fmt(times[by])}  ({ratio:.1f}x baseline; target <= 1 s) "
                f"| CPU {_fmt(cpu[by])} ({min(cpu[by]) / min(base_cpu):.1f}x)"
            )

    opens: list[float] = []
    raw: list[float] = []
    before: list[float] = []
    for _run in range(max(runs, 10)):
        seconds, old = await _timed(lambda: _pre_v3_open(url))
        before.append(seconds)
        await old.close()
        started = time.perf_counter()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA user_version").fetchall()
        conn.close()
        raw.append(time.perf_counter() - started)
        manager = TursoManager(url, spool_path=spool)
        seconds, _ = await _timed(manager.open)
        opens.append(seconds)
        await manager.close()
    ratio = statistics.median(opens) / statistics.median(raw)
    print(
        f"open of the existing, current database: {_fmt(opens, 1000, 'ms')} "
        f"| sqlite3 connect + PRAGMA user_version + close {_fmt(raw, 1000, 'ms')} "
        f"| median ratio {ratio:.1f}x  (target <= 5 ms)"
    )
    print(
        f"  the pre-v3 open sequence, same run: {_fmt(before, 1000, 'ms')} "
        f"(median ratio {statistics.median(before) / statistics.median(raw):.1f}x)"
    )


async def _pre_v3_open(url: str) -> Database:
    """What opening did before the one-read check: connect, set WAL, create schema_version if
    missing, read the version (each a statement of its own)."""
    db = Database(url)
    await db.open()
    await db.execute("PRAGMA journal_mode=WAL")
    for ddl in schema.table_ddl(schema.schema_version):
        await db.execute(ddl)
    await db.execute("SELECT max(version) FROM schema_version")
    return db


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10_000, help="sessions of 100 calls (default 10,000)")
    parser.add_argument("--db", type=Path, help="keep the database in this file (built when missing)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument(
        "--by",
        nargs="+",
        default=["none", "model", "provider", "agent", "session", "timestep"],
        help="groupings to time (none = the total; default: all)",
    )
    parser.add_argument(
        "--distinct-steps",
        action="store_true",
        help="build the file with step ids unique per session (a timestep group a step); default: shared",
    )
    args: Any = parser.parse_args(argv)
    logging.getLogger("tracekit").setLevel(logging.ERROR)  # the unpriced-call warning is expected here
    with tempfile.TemporaryDirectory(prefix="tracekit-bench-") as tmp:
        path: Path = args.db or Path(tmp) / "rollup.db"
        spool = Path(tmp) / "spool.jsonl"
        if not path.exists():
            started = time.perf_counter()
            asyncio.run(_build(path, args.sessions, spool, distinct_steps=args.distinct_steps))
            steps = "distinct steps" if args.distinct_steps else "shared steps"
            took = time.perf_counter() - started
            print(f"built {path} ({args.sessions:,} sessions, {steps}) in {took:.1f} s")
        groupings = tuple(None if by == "none" else by for by in args.by)
        asyncio.run(bench(path, args.runs, spool, groupings))


if __name__ == "__main__":
    main()

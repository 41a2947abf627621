"""Store benchmarks: save throughput vs the raw libSQL limit, and streaming over 1M calls.

    .venv/bin/python bench/bench_store.py [--sessions 20] [--calls 1000000]

1. Saving sessions of 100 timesteps x (LLM event with one call record + environment event + 2
   messages), embedded (file:) and against a local sqld it starts (HTTP). In the same run the raw
   limit is measured: the very same rows, already encoded, written into the same tables as
   multi-row INSERTs of 100 rows, one batch per session, through libsql-client. Printed: rows/s
   for both and the ratio (target: >= 40%).
2. `iter_call_records()` over 1,000,000 llm_calls rows, with the peak RSS (target: < 300 MB).
   (`db.aggregate` over 1M calls: bench/bench_rollup.py, on sessions saved the store's own way.)
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from store.storebuilders import make_trace

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.store import TursoManager, schema
from tracekit.store.libsql import Database, Statement
from tracekit.store.mapping import trace_rows
from tracekit.store.migrations import migrate
from tracekit.store.server import start_sqld
from tracekit.store.writer import TRACE_TABLES, insert_statements


def _cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    priced = pricing.call_cost(record)
    return (None, None) if priced is None else (priced.nanousd, priced.price_table_version)


def _bench_traces(count: int) -> list[tk.SessionTrace]:
    return [make_trace(f"bench-{i:05d}", steps=100, seed=i, created=float(i)) for i in range(count)]


async def _raw_rate(url: str, traces: list[tk.SessionTrace]) -> float:
    """Rows/s writing the same rows, pre-encoded, as 100-row INSERTs: one batch per session."""
    encoded = [trace_rows(t, saved_at="2026-01-01T00:00:00.000000+00:00", cost=_cost) for t in traces]
    batches: list[list[Statement]] = []
    for rows in encoded:
        statements: list[Statement] = []
        for table in TRACE_TABLES:
            table_rows = rows.tables[table.name]
            for start in range(0, len(table_rows), 100):
                statements.extend(insert_statements(table, table_rows[start : start + 100]))
        batches.append(statements)
    db = Database(url)
    await db.open()
    try:
        await migrate(db)
        started = time.perf_counter()
        for statements in batches:
            await db.batch(statements)
        elapsed = time.perf_counter() - started
    finally:
        await db.close()
    return sum(r.count() for r in encoded) / elapsed


async def _save_rate(url: str, traces: list[tk.SessionTrace], spool: Path, concurrency: int) -> float:
    """Rows/s through TursoManager.save_session, one session per call (encoding included), with
    `concurrency` saves in flight (1 = one after another)."""
    rows = sum(trace_rows(t, saved_at="x", cost=_cost).count() for t in traces)
    gate = asyncio.Semaphore(concurrency)

    async def save(db: TursoManager, trace: tk.SessionTrace) -> None:
        async with gate:
            await db.save_session(trace)

    async with TursoManager(url, spool_path=spool) as db:
        started = time.perf_counter()
        await asyncio.gather(*(save(db, trace) for trace in traces))
        elapsed = time.perf_counter() - started
    return rows / elapsed


async def _wipe(url: str) -> None:
    db = Database(url)
    await db.open()
    try:
        names = [t.name for t in reversed(schema.metadata.sorted_tables) if t is not schema.schema_version]
        await db.batch([(f"DELETE FROM {name}", []) for name in names])
    finally:
        await db.close()


async def bench_saves(sessions: int, work: Path) -> None:
    traces = _bench_traces(sessions)
    print(f"save: {sessions} sessions x 100 timesteps (LLM event + call, env event, 2 messages)")
    server = start_sqld(work / "sqld" / "db.sqld")
    try:
        for label, raw_url, url in (
            ("embedded", f"file:{work / 'raw.db'}", f"file:{work / 'saves.db'}"),
            ("sqld http", server.url, server.url),
        ):
            raw = await _raw_rate(raw_url, traces)
            for concurrency in (1, 4):
                if raw_url == url or concurrency > 1:
                    await _wipe(url)
                ours = await _save_rate(url, traces, work / "spool.jsonl", concurrency)
                print(
                    f"  {label:10s} save_session x{concurrency} in flight {ours:>8,.0f} rows/s | "
                    f"raw libSQL limit {raw:>8,.0f} rows/s | ratio {ours / raw:.0%}"
                )
    finally:
        server.stop()


_MODEL_CASE = (
    "CASE i % 5 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'claude-sonnet-4-5' "
    "WHEN 3 THEN 'gemini-2.5-flash' ELSE 'o3' END"
)


async def _fill_calls(url: str, calls: int) -> None:
    """`calls` llm_calls rows (+ their record JSON) generated inside SQLite: 100 calls per session."""
    record = make_trace("template", steps=1).event_history[0].call_records[0]  # type: ignore[attr-defined]
    template = record.to_json()
    db = Database(url, timeout_s=600)
    await db.open()
    try:
        await migrate(db)
        series = f"WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {calls - 1}) "
        await db.batch(
            [
                (
                    series
                    + "INSERT INTO llm_calls (session_id, event_index, call_index, call_id, in_rollup, "
                    "step_id, system_instance_id, model_name, provider, api_type, started_at, latency_ms, "
                    "ttft_ms, tpot_ms, output_tokens_per_second, input_tokens, output_tokens, total_tokens, "
                    "cache_read_tokens, "
                    "cost_nanousd, price_table_version, finish_reason, outcome, tool_call_count) "
                    f"SELECT printf('s%07d', i / 100), i % 100, 0, 'call-' || i, 1, 'step-' || (i % 100), "
                    f"'agent-' || (i % 3), {_MODEL_CASE}, 'openai', 'chat_completions', "
                    "'2026-01-01T00:00:00.000000+00:00', 100.0 + (i * 7919) % 100000 / 100.0, "
                    "CASE WHEN i % 3 = 0 THEN NULL ELSE 10.0 + (i * 104729) % 5000 / 100.0 END, "
                    "CASE WHEN i % 3 = 0 THEN NULL ELSE 2.0 + (i * 13) % 700 / 100.0 END, "
                    "CASE WHEN i % 3 = 0 THEN NULL ELSE 50.0 + (i * 31) % 9000 / 100.0 END, "
                    "1000 + i % 4000, 10 + i % 900, 1010 + i % 4000 + i % 900, "
                    "CASE WHEN i % 2 = 0 THEN 512 ELSE NULL END, "
                    "CASE WHEN i % 5 = 4 THEN NULL ELSE 1000 + i % 100000 END, "
                    "CASE WHEN i % 5 = 4 THEN NULL ELSE '2026-11-21' END, 'stop', "
                    "CASE WHEN i % 50 = 0 THEN 'error' ELSE 'success' END, i % 2 FROM n",
                    [],
                ),
                (
                    series
                    + "INSERT INTO llm_call_records (session_id, event_index, call_index, record_json) "
                    "SELECT printf('s%07d', i / 100), i % 100, 0, ? FROM n",
                    [template],
                ),
                (
                    "INSERT INTO tool_calls (session_id, event_index, call_index, tool_index, tool_call_id, "
                    "name, in_rollup, step_id, system_instance_id, model_name, provider, arguments_json) "
                    "SELECT session_id, event_index, call_index, 0, 't-' || call_id, "
                    "CASE event_index % 3 WHEN 0 THEN 'search' WHEN 1 THEN 'read_file' ELSE 'run' END, "
                    "in_rollup, step_id, system_instance_id, model_name, provider, '{}' "
                    "FROM llm_calls WHERE tool_call_count = 1",
                    [],
                ),
            ]
        )
    finally:
        await db.close()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench_million(calls: int, work: Path) -> None:
    url = f"file:{work / 'million.db'}"
    started = time.perf_counter()
    await _fill_calls(url, calls)
    print(f"{calls:,} llm_calls rows generated in {time.perf_counter() - started:.1f} s")
    async with TursoManager(url, spool_path=work / "spool2.jsonl") as db:
        # the roll-up reads per-session summaries these bare call rows lack: bench/bench_rollup.py times it
        before = _peak_rss_mb()
        started = time.perf_counter()
        count = 0
        async for _record in db.iter_call_records():
            count += 1
        elapsed = time.perf_counter() - started
        print(
            f"  iter_call_records: {count:,} records in {elapsed:.1f} s ({count / elapsed:,.0f}/s); "
            f"peak RSS {_peak_rss_mb():.0f} MB (before: {before:.0f} MB; target < 300 MB)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="sessions saved per backend (default 20)")
    parser.add_argument(
        "--calls", type=int, default=1_000_000, help="llm_calls rows for iter_call_records (default 1M)"
    )
    parser.add_argument("--skip-million", action="store_true", help="only run the save benchmark")
    args: Any = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tracekit-bench-") as tmp:
        work = Path(tmp)
        asyncio.run(bench_saves(args.sessions, work))
        if not args.skip_million:
            asyncio.run(bench_million(args.calls, work))


if __name__ == "__main__":
    main()

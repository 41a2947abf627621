"""Store benchmarks: save throughput vs the raw libSQL limit, and streaming over 1M calls.

    .venv/bin/python bench/bench_store.py [--sessions 50] [--calls 1000000] [--rounds 3]
        [--skip-million | --only-calls]

1. Saving sessions of 100 timesteps x (LLM event with one call record + environment event + 2 messages)
   through `save_session`, 1 and 4 saves in flight, embedded (file:) and against a local sqld it starts
   (HTTP). In the same run, the machine's limit on the very same rows, already encoded, run as the store's
   own statements (one transaction per session): for file:, ONE persistent sqlite3 connection (WAL,
   synchronous=FULL, as the store); for sqld, the statements sent straight through libsql-client with as
   many batches in flight (over sqld at 4 in flight also with the manager's `max_inflight_saves` raised
   from its default 2 to the baseline's 4). Each figure is measured in `--rounds` paired rounds (the
   limit, then the store, back to back) so a load change on a shared machine hits both sides of a ratio
   alike. (At 4 in flight the store prepares a queued save while the one before it commits, and over
   sqld sends the saves waiting for its 2 slots together; the limit stays the same rows and statements.)
   Printed: rows/s for both and the ratio, min / median over the rounds (targets: >= 0.7 embedded,
   >= 0.8 over sqld); for file: also rows per CPU second of the process, which a busy machine disturbs
   less than wall time (the commit's fsync is not in it). Before them, the CPU of `trace_rows` on one
   session beside the codec walk alone and its walk for orjson's text alone (the rows are built from
   that walk's output).
2. `iter_call_records()` over 1,000,000 llm_calls rows (target: <= 10 s), min / median of `--runs`, with
   the peak RSS (target: < 300 MB), beside its floors in the same rounds: the same paged query on one
   plain sqlite3 connection with nothing decoded, and that plus orjson.loads of each record (no record
   built); then the CPU time of decoding one row with the store's trusted reader, beside orjson.loads
   alone and the previous path (json.loads + full validation).
   (`db.aggregate` over 1M calls: bench/bench_rollup.py, on sessions saved the store's own way.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import libsql_client
import orjson
from store.storebuilders import make_trace

import tracekit as tk
from tracekit import codec
from tracekit.analysis import pricing
from tracekit.store import TursoManager, schema, writer
from tracekit.store.libsql import Database, Statement
from tracekit.store.mapping import TraceRows, trace_rows
from tracekit.store.migrations import migrate
from tracekit.store.server import start_sqld

_RAW_RETRIES = 20
"""How often the direct libsql-client baseline resends a batch sqld answered with 429 (busy)."""


def _cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    priced = pricing.call_cost(record)
    return (None, None) if priced is None else (priced.nanousd, priced.price_table_version)


def _bench_traces(count: int) -> list[tk.SessionTrace]:
    return [make_trace(f"bench-{i:05d}", steps=100, seed=i, created=float(i)) for i in range(count)]


def _encoded(traces: list[tk.SessionTrace]) -> list[TraceRows]:
    return [trace_rows(t, saved_at="2026-01-01T00:00:00.000000+00:00", cost=_cost) for t in traces]


def _raw_file_rate(path: Path, traces: list[tk.SessionTrace]) -> tuple[float, float]:
    """(rows/s, rows per CPU second of this process) of the machine's limit for an embedded save: ONE
    persistent sqlite3 connection (WAL, synchronous=FULL like the store) running the store's own
    statements on the same rows, already encoded, one transaction per session."""
    encoded = _encoded(traces)
    batches = [writer.save_rows([rows]) for rows in encoded]
    asyncio.run(_migrated(f"file:{path}"))
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        gc.collect()  # the setup's garbage collected before the clock starts, on both sides alike
        started = time.perf_counter()
        cpu = time.process_time()
        for statements in batches:
            conn.execute("BEGIN IMMEDIATE")
            for sql, rows in statements:
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        conn.close()
    count = sum(r.count() for r in encoded)
    return count / elapsed, count / cpu


async def _raw_remote_rate(url: str, traces: list[tk.SessionTrace], concurrency: int) -> float:
    """Rows/s of the limit over sqld: the store's own statements on the same rows, already encoded,
    sent straight through libsql-client (one batch per session), `concurrency` batches in flight."""
    encoded = _encoded(traces)
    batches = [writer.save_statements([rows]) for rows in encoded]
    await _migrated(url)
    gate = asyncio.Semaphore(concurrency)
    client = libsql_client.create_client(url)

    async def send(statements: list[Statement]) -> None:
        async with gate:
            for attempt in range(_RAW_RETRIES + 1):
                try:
                    await client.batch([(sql, list(params)) for sql, params in statements])
                    return
                except libsql_client.LibsqlError as exc:
                    # a busy sqld (one connection) answers 429 when a request waited too long for it;
                    # the batch did not run: send it again after the store's own first pause
                    if "HTTP status 429" not in str(exc) or attempt == _RAW_RETRIES:
                        raise
                    await asyncio.sleep(0.2)

    try:
        gc.collect()  # the setup's garbage collected before the clock starts, on both sides alike
        started = time.perf_counter()
        await asyncio.gather(*(send(statements) for statements in batches))
        elapsed = time.perf_counter() - started
    finally:
        await client.close()
    return sum(r.count() for r in encoded) / elapsed


async def _migrated(url: str) -> None:
    db = Database(url)
    await db.open()
    try:
        await migrate(db)
    finally:
        await db.close()


async def _save_rate(
    url: str, traces: list[tk.SessionTrace], spool: Path, concurrency: int, inflight: int = 2
) -> tuple[float, float]:
    """(rows/s, rows per CPU second of this process) through TursoManager.save_session, one session
    per call (encoding included), with `concurrency` saves in flight (1 = one after another) and the
    manager's `max_inflight_saves` (its default 2, or as many as the baseline sends)."""
    rows = sum(trace_rows(t, saved_at="x", cost=_cost).count() for t in traces)
    gate = asyncio.Semaphore(concurrency)

    async def save(db: TursoManager, trace: tk.SessionTrace) -> None:
        async with gate:
            await db.save_session(trace)

    async with TursoManager(url, spool_path=spool, max_inflight_saves=inflight) as db:
        # Collected before the clock starts, as the limit's side is: otherwise a full collection owed
        # to the setup (the traces just built, the limit's encoded rows) lands in a 20-save window
        # (~65-90 ms, ~4 ms a save) while the limit, which allocates nothing, never pays one. The
        # saves' own collections still count: steady state, ~0.4 ms a save (one full per ~200 saves).
        gc.collect()
        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(save(db, trace) for trace in traces))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return rows / elapsed, rows / cpu


async def _wipe(url: str) -> None:
    db = Database(url)
    await db.open()
    try:
        await migrate(db)
        names = [t.name for t in reversed(schema.metadata.sorted_tables) if t is not schema.schema_version]
        await db.batch([(f"DELETE FROM {name}", []) for name in names])
    finally:
        await db.close()


def bench_rows(traces: list[tk.SessionTrace]) -> None:
    """CPU (this thread) per session of `trace_rows` (the codec's check-and-encode walk, then the
    rows built from it), beside the walk alone on the same traces, and the walk for orjson's text
    alone (the one trace_rows takes first); min / median of 5 passes."""
    walks: list[float] = []
    text_walks: list[float] = []
    totals: list[float] = []
    for _ in range(5):
        started = time.thread_time()
        for trace in traces:
            codec.encode(trace, compact=True, memo={})
        walked = time.thread_time()
        for trace in traces:
            codec.encode(trace, compact=True, memo={}, text=True)
        text_walked = time.thread_time()
        for trace in traces:
            trace_rows(trace, saved_at="2026-01-01T00:00:00.000000+00:00", cost=_cost)
        done = time.thread_time()
        walks.append((walked - started) / len(traces) * 1e3)
        text_walks.append((text_walked - walked) / len(traces) * 1e3)
        totals.append((done - text_walked) / len(traces) * 1e3)
    walks.sort()
    text_walks.sort()
    totals.sort()
    print(
        f"  trace_rows of one session (CPU, min / median of 5): {totals[0]:.1f} / {totals[2]:.1f} ms | "
        f"the codec walk alone {walks[0]:.1f} / {walks[2]:.1f} ms | "
        f"its text walk alone {text_walks[0]:.1f} / {text_walks[2]:.1f} ms"
    )


async def bench_saves(sessions: int, rounds: int, work: Path) -> None:
    traces = _bench_traces(sessions)
    print(f"save: {sessions} sessions x 100 timesteps (LLM event + call, env event, 2 messages)")
    bench_rows(traces)
    print(
        f"  {rounds} paired rounds (the limit, then the store, on the same traces), rows/s min / median; "
        "ratio = store / limit per round, min / median"
    )
    for concurrency in (1, 4):
        pairs: list[tuple[float, float]] = []
        cpu_pairs: list[tuple[float, float]] = []
        for round_ in range(rounds):
            raw, raw_cpu = await asyncio.to_thread(
                _raw_file_rate, work / f"raw-{concurrency}-{round_}.db", traces
            )
            ours, ours_cpu = await _save_rate(
                f"file:{work / f'saves-{concurrency}-{round_}.db'}", traces, work / "spool.jsonl", concurrency
            )
            pairs.append((ours, raw))
            cpu_pairs.append((ours_cpu, raw_cpu))
        _report("embedded", concurrency, pairs, "one sqlite3 connection", 0.7)
        _report("  per CPU s", concurrency, cpu_pairs, "one sqlite3 connection", 0.7)
    server = start_sqld(work / "sqld" / "db.sqld")
    try:
        # the last line: 4 in flight with the manager's cap (max_inflight_saves, default 2: one
        # manager opens at most 2 write connections, see README "Reliability and limits") raised to
        # the 4 batches the baseline sends, to show what the cap costs
        for label, concurrency, inflight in (("sqld http", 1, 2), ("sqld http", 4, 2), ("  cap 4", 4, 4)):
            pairs = []
            for _round in range(rounds):
                await _wipe(server.url)
                raw = await _raw_remote_rate(server.url, traces, concurrency)
                await _wipe(server.url)
                ours, _cpu = await _save_rate(server.url, traces, work / "spool.jsonl", concurrency, inflight)
                pairs.append((ours, raw))
            _report(label, concurrency, pairs, "libsql-client direct", 0.8)
    finally:
        server.stop()


def _report(
    label: str, concurrency: int, pairs: list[tuple[float, float]], limit: str, target: float
) -> None:
    ours = sorted(pair[0] for pair in pairs)
    raw = sorted(pair[1] for pair in pairs)
    ratios = sorted(pair[0] / pair[1] for pair in pairs)
    middle = len(pairs) // 2
    print(
        f"  {label:10s} save_session x{concurrency} in flight {ours[0]:>8,.0f} / {ours[middle]:>8,.0f} | "
        f"{limit} {raw[0]:>8,.0f} / {raw[middle]:>8,.0f} | "
        f"ratio {ratios[0]:.2f} / {ratios[middle]:.2f} (target >= {target})"
    )


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


async def bench_million(calls: int, work: Path, runs: int) -> None:
    url = f"file:{work / 'million.db'}"
    started = time.perf_counter()
    await _fill_calls(url, calls)
    print(f"{calls:,} llm_calls rows generated in {time.perf_counter() - started:.1f} s")
    async with TursoManager(url, spool_path=work / "spool2.jsonl") as db:
        # the roll-up reads per-session summaries these bare call rows lack: bench/bench_rollup.py times it
        before = _peak_rss_mb()
        figures: list[tuple[float, float, float, float]] = []
        count = 0
        for _round in range(runs):  # paired rounds: the store's read, then its two floors
            started = time.perf_counter()
            cpu = time.process_time()
            count = 0
            async for _record in db.iter_call_records():
                count += 1
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            fetch_s = await asyncio.to_thread(_floor, work / "million.db", False)
            loads_s = await asyncio.to_thread(_floor, work / "million.db", True)
            figures.append((elapsed, cpu, fetch_s, loads_s))
        peak = _peak_rss_mb()
        walls, cpus, fetches, parses = (sorted(column) for column in zip(*figures, strict=True))
        ratios = sorted(f[0] / f[3] for f in figures)
        middle = len(figures) // 2
        print(
            f"  iter_call_records: {count:,} records in {walls[0]:.2f} / {walls[middle]:.2f} s (min / median "
            f"of {runs}; {walls[0] / count * 1e6:.1f} / {walls[middle] / count * 1e6:.1f} s per 1M, target "
            f"<= 10), {cpus[0]:.2f} / {cpus[middle]:.2f} s of CPU; peak RSS {peak:.0f} MB (before: "
            f"{before:.0f} MB; target < 300 MB)"
        )
        print(
            f"  floors, the same pages on one plain sqlite3 connection: rows fetched, nothing decoded "
            f"{fetches[0]:.2f} / {fetches[middle]:.2f} s; fetched and each record orjson.loads'ed "
            f"{parses[0]:.2f} / {parses[middle]:.2f} s (iter_call_records takes {ratios[0]:.1f} / "
            f"{ratios[middle]:.1f}x the second)"
        )
        sample = 20_000
        texts = [
            row["record_json"]
            for row in await db.execute("SELECT record_json FROM llm_call_records LIMIT ?", [sample])
        ]
        read = codec.trusted_json_reader(tk.LLMCallRecord)
        loads_us = _cpu_per_row(orjson.loads, texts)
        trusted_us = _cpu_per_row(read, texts)
        previous_us = _cpu_per_row(lambda text: codec._from_json_validated(tk.LLMCallRecord, text), texts)
        print(
            f"  decoding one row (CPU, {len(texts):,} rows): the store's trusted reader {trusted_us:.1f} us "
            f"| orjson.loads alone {loads_us:.1f} us | previous path (json.loads + full validation) "
            f"{previous_us:.1f} us: speed-up {previous_us / trusted_us:.1f}x"
        )


def _cpu_per_row(read: Any, texts: list[str]) -> float:
    """CPU microseconds per text of `read(text)` over `texts`."""
    started = time.process_time()
    for text in texts:
        read(text)
    return (time.process_time() - started) / len(texts) * 1e6


def _floor(path: Path, parse: bool, page_size: int = 2000) -> float:
    """Seconds for iter_call_records' paged query (same SQL, same pages, keyset after the last key) on
    ONE plain sqlite3 connection: every row fetched, and each record's JSON parsed by orjson when
    `parse` (no record built). The SQL side's limit, and that plus the parse every read needs."""
    conn = sqlite3.connect(path)
    try:
        started = time.perf_counter()
        key: tuple[Any, ...] = ()
        while True:
            where = "+c.in_rollup = 1" + (
                " AND (c.session_id, c.event_index, c.call_index) > (?, ?, ?)" if key else ""
            )
            rows = conn.execute(
                "SELECT c.session_id, c.event_index, c.call_index, r.record_json FROM llm_calls c "
                "JOIN llm_call_records r ON r.session_id = c.session_id AND r.event_index = c.event_index "
                f"AND r.call_index = c.call_index WHERE {where} "
                "ORDER BY c.session_id, c.event_index, c.call_index LIMIT ?",
                [*key, page_size],
            ).fetchall()
            if parse:
                for row in rows:
                    orjson.loads(row[3])
            if len(rows) < page_size:
                return time.perf_counter() - started
            key = rows[-1][:3]
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="sessions saved per backend (default 50)")
    parser.add_argument(
        "--calls", type=int, default=1_000_000, help="llm_calls rows for iter_call_records (default 1M)"
    )
    parser.add_argument("--skip-million", action="store_true", help="only run the save benchmark")
    parser.add_argument(
        "--rounds", type=int, default=3, help="paired rounds (limit, then store) per save figure (default 3)"
    )
    parser.add_argument(
        "--only-calls", action="store_true", help="only run the iter_call_records benchmark (part 2)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="paired rounds of iter_call_records and its floors (default 3)"
    )
    args: Any = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tracekit-bench-") as tmp:
        work = Path(tmp)
        if not args.only_calls:
            asyncio.run(bench_saves(args.sessions, args.rounds, work))
        if not args.skip_million:
            asyncio.run(bench_million(args.calls, work, args.runs))


if __name__ == "__main__":
    main()

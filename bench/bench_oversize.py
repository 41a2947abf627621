"""Oversized content: a 10 MB message and a 100,000-chunk stream, time and memory, on both backends.

1. A call record whose user message is `--megabytes` MB of text: to_json / from_json (baseline:
   json.dumps / json.loads of the same dict), then save_session + get_session on an embedded file:
   store and on a local sqld. sqld takes at most 5,000,000 bytes per stored value, so there the
   record is refused with a StoreError (nothing written) and the largest message it takes is shown.
2. A streamed Chat Completions answer of `--chunks` content chunks through a StreamRecorder (baseline:
   a bare loop reading each chunk), then the record's JSON size and its save + read on file:.
Peak memory is the process's peak RSS after each step (it only grows; steps run smallest first).
Run: .venv/bin/python bench/bench_oversize.py [--megabytes 10] [--chunks 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import start_sqld

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SQLD_VALUE_LIMIT = 5_000_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _big_trace(session_id: str, text_bytes: int) -> tk.SessionTrace:
    part = tk.LLMContentPart(type="text", text="x" * text_bytes)
    record = tk.LLMCallRecord(
        call_id=f"{session_id}-call",
        api_type="chat_completions",
        provider="openai",
        model_name="gpt-4o",
        input_messages=[tk.LLMMessage(role="user", parts=[part])],
        output_text="ok",
        outcome="success",
    )
    event = tk.LMCAISEvent(
        system_instance_id="agent", time_record=tk.TimeRecord(1_780_000_000.0), call_records=[record]
    )
    return tk.SessionTrace(session_id=session_id, event_history=[event])


def _chunks(n: int) -> list[dict[str, Any]]:
    recorded = json.loads((FIXTURES / "openai_chat" / "stream_text_usage.json").read_text(encoding="utf-8"))
    content = [c for c in recorded if c["choices"] and c["choices"][0]["delta"].get("content")]
    return [recorded[0], *(content[i % len(content)] for i in range(n)), *recorded[-2:]]


async def _save_and_read(url: str, trace: tk.SessionTrace, spool: Path) -> tuple[str, float, float]:
    """(outcome or error, save seconds, read seconds) for one trace on one store."""
    async with TursoManager(url, spool_path=spool, retries=0) as db:
        start = time.perf_counter()
        try:
            await db.save_session(trace)
        except tk.StoreError as exc:
            return f"refused: {exc}"[:220], time.perf_counter() - start, 0.0
        saved = time.perf_counter() - start
        start = time.perf_counter()
        back = await db.get_session(trace.session_id)
        read = time.perf_counter() - start
        return ("read back equal" if back == trace else "READ BACK DIFFERENT"), saved, read


async def _message(megabytes: int, work: Path, sqld_url: str) -> bool:
    size = megabytes * 1_000_000
    trace = _big_trace("big", size)
    data = trace.to_dict()
    start = time.perf_counter()
    text = json.dumps(data)
    dumps_s = time.perf_counter() - start
    start = time.perf_counter()
    json.loads(text)
    loads_s = time.perf_counter() - start
    start = time.perf_counter()
    ours = trace.to_json()
    to_json_s = time.perf_counter() - start
    start = time.perf_counter()
    ok = tk.SessionTrace.from_json(ours) == trace
    from_json_s = time.perf_counter() - start
    print(f"{megabytes} MB message ({len(ours):,} bytes of JSON):")
    print(
        f"  to_json {to_json_s * 1000:.0f} ms (json.dumps {dumps_s * 1000:.0f} ms, "
        f"x{to_json_s / dumps_s:.1f}); from_json {from_json_s * 1000:.0f} ms "
        f"(json.loads {loads_s * 1000:.0f} ms, x{from_json_s / loads_s:.1f}); "
        f"equal: {ok}; peak RSS {_rss_mb():.0f} MB"
    )
    good = ok
    for name, url in (("file:", f"file:{work / 'big.db'}"), ("sqld", sqld_url)):
        outcome, saved, read = await _save_and_read(url, trace, work / f"{name[:4]}.spool.jsonl")
        print(f"  {name:5} save {saved:.2f} s, read {read:.2f} s: {outcome}; peak RSS {_rss_mb():.0f} MB")
        good = good and (outcome == "read back equal" or (name == "sqld" and size > SQLD_VALUE_LIMIT))
    fits = _big_trace("fits", SQLD_VALUE_LIMIT - 10_000)
    outcome, saved, read = await _save_and_read(sqld_url, fits, work / "fits.spool.jsonl")
    print(
        f"  sqld, the largest message it takes ({SQLD_VALUE_LIMIT - 10_000:,} bytes): save {saved:.2f} s, "
        f"read {read:.2f} s: {outcome}"
    )
    return good and outcome == "read back equal"


async def _stream(n: int, work: Path) -> bool:
    chunks = _chunks(n)
    times = [0.001 * (i + 1) for i in range(len(chunks))]
    sink: list[Any] = []
    start = time.perf_counter()
    for chunk, at in zip(chunks, times, strict=True):
        sink.append((chunk.get("choices"), at))
    bare_s = time.perf_counter() - start
    start = time.perf_counter()
    recorder = tk.StreamRecorder(clock=lambda: 0.0)
    for chunk, at in zip(chunks, times, strict=True):
        recorder.add(chunk, at)
    record = recorder.finish()
    record_s = time.perf_counter() - start
    text = record.to_json()
    print(f"{len(chunks):,}-chunk stream ({len(record.chunks):,} chunks kept, {len(text):,} bytes of JSON):")
    print(
        f"  StreamRecorder {record_s:.2f} s ({record_s / len(chunks) * 1e6:.1f} us/chunk; bare loop "
        f"{bare_s / len(chunks) * 1e6:.2f} us/chunk); peak RSS {_rss_mb():.0f} MB"
    )
    trace = tk.SessionTrace(
        session_id="stream",
        event_history=[
            tk.LMCAISEvent(
                system_instance_id="a", time_record=tk.TimeRecord(1_780_000_000.0), call_records=[record]
            )
        ],
    )
    outcome, saved, read = await _save_and_read(f"file:{work / 'stream.db'}", trace, work / "st.spool.jsonl")
    print(f"  file: save {saved:.2f} s, read {read:.2f} s: {outcome}; peak RSS {_rss_mb():.0f} MB")
    return outcome == "read back equal"


async def main(megabytes: int, chunks: int) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print(f"peak RSS at start {_rss_mb():.0f} MB")
        ok = await _stream(chunks, work)
        with start_sqld(work / "db.sqld") as server:
            ok = await _message(megabytes, work, server.url) and ok
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=100_000)
    args = parser.parse_args()
    if not asyncio.run(main(args.megabytes, args.chunks)):
        sys.exit(1)

"""SFT export benchmark: export_sft streaming over a large embedded store, in bounded memory.

    .venv/bin/python bench/bench_sft.py [--sessions 100000] [--runs 3]

A store of N sessions (each: system prompt + user turn, a call asking for a tool, an environment
event, a call answering with the tool result; one session in ten has a failed third call) is
built once in a child process. Then, each in a fresh child process so peak RSS is its own:
1. baseline: the store's own streaming read of the same call records (`iter_call_records`, the
   same rows decoded by the same codec) with nothing done to them: the real limit of reading;
2. export_sft with a validation split (10%) and dedupe, writing the JSONL files.
Printed per run: sessions/s, calls/s, and peak RSS (target: < 300 MB at 100,000 sessions); then
min and median over the runs, and export time over baseline time.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import tracekit as tk
from tracekit.sft import export_sft
from tracekit.store import SyncTursoManager

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WEATHER = tk.ToolDefinition(
    name="get_weather",
    description="Current weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _text(role: str, value: str) -> tk.LLMMessage:
    return tk.LLMMessage(role=role, parts=[tk.LLMContentPart(type="text", text=value)])  # type: ignore[arg-type]


def _call(call_id: str, messages: list[tk.LLMMessage], i: int, **fields: object) -> tk.LLMCallRecord:
    return tk.LLMCallRecord(
        call_id=call_id,
        api_type="chat_completions",
        provider="openai",
        model_name="gpt-4o",
        started_at=T0,
        latency_ms=100.0 + i % 400,
        input_messages=messages,
        tools=[WEATHER],
        usage=tk.LLMUsage(input_tokens=200 + i % 1000, output_tokens=20 + i % 50),
        **fields,  # type: ignore[arg-type]
    )


def make_session(i: int) -> tk.SessionTrace:
    """Session i: a tool-using two-call exchange (+ a failed call in one session of ten)."""
    city = f"city-{i}"
    spec = tk.ToolCallSpec(name="get_weather", arguments_json=json.dumps({"city": city}), call_id=f"call_{i}")
    system, user = _text("system", "You are a terse weather agent."), _text("user", f"Weather in {city}?")
    ask = _call(
        f"{i}-a", [system, user], i, output_tool_calls=[spec], finish_reason="tool_calls", outcome="success"
    )
    result = tk.LLMMessage(
        role="tool", parts=[tk.LLMContentPart(type="text", text=f"{i % 35}C")], tool_call_id=spec.call_id
    )
    history = [system, user, tk.LLMMessage(role="assistant", tool_calls=[spec]), result]
    answer = _call(
        f"{i}-b",
        history,
        i,
        output_text=f"It is {i % 35}C in {city}.",
        finish_reason="stop",
        outcome="success",
    )
    events: list[tk.BaseEvent] = [
        tk.LMCAISEvent(system_instance_id=f"agent-{i % 3}", call_records=[ask]),
        tk.EnvironmentEvent(system_instance_id="env", reward=float(i % 2)),
        tk.LMCAISEvent(system_instance_id=f"agent-{i % 3}", call_records=[answer]),
    ]
    if i % 10 == 0:
        failed = _call(f"{i}-c", history, i, outcome="error", error={"type": "rate_limit"})
        events.append(tk.LMCAISEvent(system_instance_id=f"agent-{i % 3}", call_records=[failed]))
    return tk.SessionTrace(
        session_id=f"bench-{i:07d}",
        created_at=T0 + timedelta(seconds=i),
        event_history=events,
        metadata={"i": i},
    )


def build(url: str, sessions: int) -> None:
    """Save `sessions` sessions, 500 per atomic batch."""
    with SyncTursoManager(url) as db:
        for start in range(0, sessions, 500):
            db.save_sessions(make_session(i) for i in range(start, min(start + 500, sessions)))


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_only(url: str) -> dict[str, float]:
    """Baseline: the store's own streaming read of the same call records (iter_call_records: the
    same rows, decoded by the same codec), with nothing done to them."""
    start = time.perf_counter()
    calls = 0
    with SyncTursoManager(url) as db:
        sessions = len(db.execute("SELECT session_id FROM sessions"))
        for _ in db.iter_call_records():
            calls += 1
    return {
        "seconds": time.perf_counter() - start,
        "sessions": sessions,
        "calls": calls,
        "rss_mb": peak_rss_mb(),
    }


def export(url: str, folder: str) -> dict[str, float]:
    """export_sft with a 10% validation split and dedupe."""
    start = time.perf_counter()
    report = export_sft(
        url, Path(folder) / "train.jsonl", validation_out=Path(folder) / "val.jsonl", validation_fraction=0.1
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "sessions": report.sessions_seen,
        "calls": report.calls_seen,
        "kept": report.kept,
        "rss_mb": peak_rss_mb(),
    }


def child(mode: str, url: str, folder: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; its figures as a dict."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, url, folder], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, metavar=("MODE", "URL", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, folder = args.child
        if mode == "build":
            build(url, int(folder))
            print(json.dumps({"rss_mb": peak_rss_mb()}))
        else:
            print(json.dumps(read_only(url) if mode == "read" else export(url, folder)))
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"file:{folder}/sft.db"
        start = time.perf_counter()
        child("build", url, str(args.sessions))
        print(f"built {args.sessions:,} sessions in {time.perf_counter() - start:.1f} s")
        figures: dict[str, list[dict[str, float]]] = {"read": [], "export": []}
        for run in range(args.runs):
            for mode in ("read", "export"):
                result = child(mode, url, folder)
                figures[mode].append(result)
                print(
                    f"run {run + 1} {mode:6}: {result['seconds']:7.2f} s  "
                    f"{result['sessions'] / result['seconds']:8,.0f} sessions/s  "
                    f"{result['calls'] / result['seconds']:8,.0f} calls/s  "
                    f"peak RSS {result['rss_mb']:6.1f} MB"
                    + (f"  ({result['kept']:,.0f} examples written)" if mode == "export" else "")
                )
        for mode, label in (("read", "baseline (iter_call_records)"), ("export", "export_sft")):
            seconds = [r["seconds"] for r in figures[mode]]
            rss = [r["rss_mb"] for r in figures[mode]]
            sessions = figures[mode][0]["sessions"]
            print(
                f"{label:28}: min {min(seconds):.2f} s / median {statistics.median(seconds):.2f} s "
                f"({sessions / min(seconds):,.0f} / {sessions / statistics.median(seconds):,.0f} "
                "sessions/s); "
                f"peak RSS max {max(rss):.1f} MB (target < 300 MB)"
            )
        ratio = statistics.median(r["seconds"] for r in figures["export"]) / statistics.median(
            r["seconds"] for r in figures["read"]
        )
        print(f"export time / store-read time (median): {ratio:.2f}x")


if __name__ == "__main__":
    main()

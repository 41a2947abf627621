"""Benchmark: the stream recorder and the response normaliser (targets: >= 200k chunks/s,
>= 20k responses/s, recorder overhead < 5 us per chunk on this machine).

Chunks/s: recorded streams (Chat Completions with include_usage, and Responses API events)
fed through StreamRecorder.add(..., received_at=...) + finish(), best of several rounds.
Overhead per chunk = recorder time per chunk minus a bare loop over the same chunks that only
reads each chunk's type and delta, measured in the same run. Responses/s: record_from_response
over the recorded chat.completion and Responses fixtures.
Run: .venv/bin/python bench/bench_helpers.py [ROUNDS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import tracekit as tk

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def long_chat_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded chat stream with its text deltas repeated to `n_text` content chunks."""
    recorded = load("openai_chat", "stream_text_usage")
    content = [c for c in recorded if c["choices"] and c["choices"][0]["delta"].get("content")]
    body = [content[i % len(content)] for i in range(n_text)]
    return [recorded[0], *body, *recorded[-2:]]


def long_responses_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded Responses stream with its text-delta events repeated to `n_text`."""
    recorded = load("openai_responses", "stream_text")
    deltas = [e for e in recorded if e["type"] == "response.output_text.delta"]
    head = recorded[:4]
    tail = recorded[4 + len(deltas) :]
    return [*head, *(deltas[i % len(deltas)] for i in range(n_text)), *tail]


def time_recorder(chunks: list[dict[str, Any]], streams: int) -> float:
    """Seconds to record `streams` copies of the stream (add per chunk + finish)."""
    times = [0.001 * (i + 1) for i in range(len(chunks))]
    start = time.perf_counter()
    for _ in range(streams):
        recorder = tk.StreamRecorder(clock=lambda: 0.0)
        add = recorder.add
        for chunk, at in zip(chunks, times, strict=True):
            add(chunk, at)
        recorder.finish()
    return time.perf_counter() - start


def time_bare_loop(chunks: list[dict[str, Any]], streams: int) -> float:
    """Seconds for the same iteration with only a minimal read of each chunk (the baseline)."""
    times = [0.001 * (i + 1) for i in range(len(chunks))]
    sink: list[Any] = []
    start = time.perf_counter()
    for _ in range(streams):
        for chunk, at in zip(chunks, times, strict=True):
            sink.append((chunk.get("type") or chunk.get("choices"), at))
        sink.clear()
    return time.perf_counter() - start


def time_responses(payloads: list[dict[str, Any]], rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        for payload in payloads:
            tk.record_from_response(payload)
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    streams = {
        "chat (include_usage)": long_chat_stream(500),
        "responses events": long_responses_stream(500),
    }
    copies = 40
    for label, chunks in streams.items():
        n = len(chunks) * copies
        best_rec = min(time_recorder(chunks, copies) for _ in range(rounds))
        best_bare = min(time_bare_loop(chunks, copies) for _ in range(rounds))
        per_chunk_us = best_rec / n * 1e6
        overhead_us = (best_rec - best_bare) / n * 1e6
        print(
            f"StreamRecorder [{label}]: {n / best_rec:,.0f} chunks/s "
            f"({per_chunk_us:.2f} us/chunk; bare loop {best_bare / n * 1e6:.2f} us/chunk; "
            f"overhead {overhead_us:.2f} us/chunk)  target >= 200,000 chunks/s, overhead < 5 us"
        )
    payloads = [
        load("openai_chat", name)
        for name in (
            "response_basic",
            "response_parallel_tools",
            "response_n3_refusal",
            "response_cached_reasoning",
        )
    ] + [
        load("openai_responses", name)
        for name in ("response_text", "response_function_call", "response_reasoning", "response_incomplete")
    ]
    per_round = 500
    best = min(time_responses(payloads, per_round) for _ in range(rounds))
    count = len(payloads) * per_round
    print(
        f"record_from_response: {count / best:,.0f} responses/s ({best / count * 1e6:.1f} us each, "
        f"{len(payloads)} recorded OpenAI payloads)  target >= 20,000 responses/s"
    )


if __name__ == "__main__":
    main()

"""Benchmark: StreamRecorder and record_from_response on Anthropic Messages and Gemini payloads
(targets as in bench_helpers.py: >= 200k chunks/s, >= 20k responses/s, overhead < 5 us/chunk).

Streams are the recorded fixtures with their text deltas repeated to 500 content chunks (Anthropic
text_delta events; Gemini answer chunks, each a partial response carrying cumulative usage).
Overhead per chunk = recorder time minus a bare loop that only reads each chunk, same run.
Run: .venv/bin/python bench/bench_anthropic_gemini.py [ROUNDS]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench_helpers import time_bare_loop, time_recorder, time_responses  # same dir: on sys.path

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def long_anthropic_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded tool-use stream with its text deltas repeated to `n_text` events."""
    recorded = load("anthropic", "stream_tool_use")
    deltas = [
        e for e in recorded if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    ]
    first = recorded.index(deltas[0])
    rest = recorded[first + len(deltas) :]
    return [*recorded[:first], *(deltas[i % len(deltas)] for i in range(n_text)), *rest]


def long_gemini_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded thinking stream with its answer chunks repeated to `n_text` chunks."""
    recorded = load("gemini", "stream_thinking")
    answer = recorded[3]
    return [*recorded[:3], *(answer for _ in range(n_text - 1)), recorded[-1]]


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    copies = 40
    for label, chunks in {
        "anthropic messages events": long_anthropic_stream(500),
        "gemini streamGenerateContent": long_gemini_stream(500),
    }.items():
        n = len(chunks) * copies
        best_rec = min(time_recorder(chunks, copies) for _ in range(rounds))
        best_bare = min(time_bare_loop(chunks, copies) for _ in range(rounds))
        print(
            f"StreamRecorder [{label}]: {n / best_rec:,.0f} chunks/s "
            f"({best_rec / n * 1e6:.2f} us/chunk; overhead {(best_rec - best_bare) / n * 1e6:.2f} us/chunk)"
            "  target >= 200,000 chunks/s, overhead < 5 us"
        )
    for label, vendor, names in (
        ("anthropic", "anthropic", ("response_text", "response_prompt_cached", "response_tool_use")),
        (
            "gemini",
            "gemini",
            ("response_implicit_caching", "response_url_context", "response_parallel_calls"),
        ),
    ):
        payloads = [load(vendor, name) for name in names]
        per_round = 500
        best = min(time_responses(payloads, per_round) for _ in range(rounds))
        count = len(payloads) * per_round
        print(
            f"record_from_response [{label}]: {count / best:,.0f} responses/s "
            f"({best / count * 1e6:.1f} us each)  target >= 20,000 responses/s"
        )


if __name__ == "__main__":
    main()

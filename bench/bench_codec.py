"""Benchmark: the codec's to_json / from_json on a fully populated call record and trace.

Baselines measured in the same run: json.dumps of the already-built dict (what writing costs
without walking the dataclasses and checking values) and json.loads of the text (what reading
costs without validation). The store encodes every record, event and message with to_json, so
its save rate follows these figures.
Run: .venv/bin/python bench/bench_codec.py [ROUNDS]
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from factories import build_call_record, build_trace

import tracekit as tk


def per_call_us(fn: Callable[[], Any], n: int, rounds: int) -> float:
    """Best of `rounds` runs of `n` calls, in microseconds per call."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for label, obj, n in (("call record", build_call_record(), 2000), ("trace", build_trace(), 500)):
        text = obj.to_json()
        data = json.loads(text)
        cls = type(obj)
        assert isinstance(obj, tk.LLMCallRecord | tk.SessionTrace)
        write = per_call_us(obj.to_json, n, rounds)
        write_base = per_call_us(
            lambda d=data: json.dumps(d, ensure_ascii=False, separators=(",", ":")), n, rounds
        )
        read = per_call_us(lambda t=text, c=cls: c.from_json(t), n, rounds)
        read_base = per_call_us(lambda t=text: json.loads(t), n, rounds)
        print(
            f"{label} ({len(text.encode()):,} bytes of JSON): "
            f"to_json {write:.1f} us ({write / write_base:.1f}x json.dumps), "
            f"from_json {read:.1f} us ({read / read_base:.1f}x json.loads)"
        )


if __name__ == "__main__":
    main()

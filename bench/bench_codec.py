"""Benchmark: the codec's to_json / from_json on a fully populated call record and trace.

Each figure is printed beside, in the same run:
- the previous code path, still in the codec as the reference the fast paths fall back to and
  are tested against: to_json = the field-by-field walk (`encode(..., fast=False)`) + the
  standard library's json.dumps (`codec.dumps`); from_json = json.loads + the full pydantic
  validation (`codec._from_json_validated`). "speed-up" = previous / now;
- json.dumps of the already-built dict and json.loads of the text (what the standard library
  alone costs, without walking the dataclasses or validating).
`read trusted` is how the store reads rows it wrote itself (`codec.from_trusted_json`); the next
line is what orjson (the runtime dependency) does alone against the standard library. Last, the
store's walk (`codec.encode(trace, compact=True, memo={})`, what `trace_rows` builds its rows from)
on a 100-step session as bench_store.py saves it, beside the field-by-field walk (`fast=False`,
the previous path) on the same session and beside the limit: orjson.dumps of the walked tree
(compiled code writing the same values, without checking them).
Times are process CPU time (best of ROUNDS interleaved rounds), so other processes on a shared
machine disturb them less than wall time would.
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
import orjson
from factories import build_call_record, build_trace
from store.storebuilders import make_trace

import tracekit as tk
from tracekit import codec
from tracekit.codec import encoder


def per_call_us(fns: dict[str, Callable[[], Any]], n: int, rounds: int) -> dict[str, float]:
    """Best of `rounds` runs of `n` calls of each function, in microseconds of process CPU time per
    call. The rounds are interleaved (each round runs every function once), so a change of load
    on a shared machine moves a figure and its baselines together."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.process_time()
            for _ in range(n):
                fn()
            best[name] = min(best[name], time.process_time() - start)
    return {name: value / n * 1e6 for name, value in best.items()}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for label, obj, n in (("call record", build_call_record(), 2000), ("trace", build_trace(), 500)):
        assert isinstance(obj, tk.LLMCallRecord | tk.SessionTrace)
        cls = type(obj)
        text = obj.to_json()
        previous_text = codec.dumps(encoder.encode(obj, compact=True, fast=False))
        assert text == previous_text, "the fast writer must give the previous text"
        assert cls.from_json(text) == obj == codec.from_trusted_json(cls, text)
        data = json.loads(text)

        figures = per_call_us(
            {
                "write": obj.to_json,
                "write_before": lambda o=obj: codec.dumps(encoder.encode(o, compact=True, fast=False)),
                "write_base": lambda d=data: json.dumps(d, ensure_ascii=False, separators=(",", ":")),
                "read": lambda t=text, c=cls: c.from_json(t),
                "read_before": lambda t=text, c=cls: codec._from_json_validated(c, t),
                "trusted": lambda t=text, c=cls: codec.from_trusted_json(c, t),
                "read_base": lambda t=text: json.loads(t),
                "orjson_write": lambda d=data: orjson.dumps(d),
                "orjson_read": lambda t=text: orjson.loads(t),
            },
            n,
            rounds,
        )
        write, write_before, write_base = (figures[k] for k in ("write", "write_before", "write_base"))
        read, read_before, trusted = (figures[k] for k in ("read", "read_before", "trusted"))
        read_base, orjson_write, orjson_read = (
            figures[k] for k in ("read_base", "orjson_write", "orjson_read")
        )
        print(f"{label} ({len(text.encode()):,} bytes of JSON):")
        print(
            f"  to_json      {write:7.1f} us | previous {write_before:7.1f} us: speed-up "
            f"{write_before / write:4.1f}x | {write / write_base:.2f}x json.dumps ({write_base:.1f} us)"
        )
        print(
            f"  from_json    {read:7.1f} us | previous {read_before:7.1f} us: speed-up "
            f"{read_before / read:4.1f}x | {read / read_base:.2f}x json.loads ({read_base:.1f} us)"
        )
        print(
            f"  read trusted {trusted:7.1f} us | previous {read_before:7.1f} us: speed-up "
            f"{read_before / trusted:4.1f}x | {trusted / read_base:.2f}x json.loads"
        )
        print(
            f"  orjson (the dependency) alone: dumps {orjson_write:.1f} us ({write_base / orjson_write:.1f}x "
            f"faster than json.dumps), loads {orjson_read:.1f} us ({read_base / orjson_read:.1f}x faster "
            "than json.loads)"
        )
    session = make_trace("bench-walk", steps=100, seed=1, created=1.0)
    walk = codec.encode(session, compact=True, memo={})
    assert walk == encoder.encode(session, compact=True, memo={}, fast=False)
    figures = per_call_us(
        {
            "walk": lambda: codec.encode(session, compact=True, memo={}),
            "walk_before": lambda: encoder.encode(session, compact=True, memo={}, fast=False),
            "limit": lambda: orjson.dumps(walk),
        },
        20,
        rounds,
    )
    print("store walk of a 100-step session (what trace_rows builds its rows from):")
    walk_ms, before_ms, limit_ms = (figures[k] / 1e3 for k in ("walk", "walk_before", "limit"))
    print(
        f"  encode       {walk_ms:7.2f} ms | field-by-field walk {before_ms:7.2f} ms: "
        f"speed-up {before_ms / walk_ms:4.1f}x | {walk_ms / limit_ms:.1f}x orjson.dumps of the walked "
        f"tree ({limit_ms:.2f} ms: compiled code writing the same values, unchecked)"
    )


if __name__ == "__main__":
    main()

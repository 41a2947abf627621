"""Benchmark: tk.aggregate over 1,000,000 in-memory LLM call records (target: under 3 s here).

Prints the aggregate time (by=None and by="model"), a baseline measured in the same run (a bare
loop summing input_tokens over the same records) and the ratio, the aggregate's own peak
allocation (tracemalloc, measured in a separate pass so it does not slow the timed runs) and
the process's peak RSS. Run: .venv/bin/python bench/bench_aggregate.py [N]
"""

from __future__ import annotations

import logging
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import tracekit as tk

P = ParamSpec("P")
R = TypeVar("R")

MODELS = [
    ("openai", "gpt-4o-2024-08-06"),
    ("openai", "gpt-4.1-mini"),
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-2.5-flash"),
    ("custom", "in-house-llm"),  # not in the price table: counted as unpriced
]


def build_records(n: int) -> list[tk.LLMCallRecord]:
    """n records with varied models, usage, timing, outcomes and tool calls, sharing immutable parts
    (usage/timing pools, empty lists) so building a million stays cheap."""
    params = tk.LLMRequestParams()
    empty: list[Any] = []  # shared: never mutated, keeps a million records small
    no_metadata: dict[str, object] = {}
    usages = [
        tk.LLMUsage(
            input_tokens=500 + 37 * k,
            output_tokens=50 + 11 * k,
            total_tokens=550 + 48 * k,
            cache_read_tokens=(100 + k) if k % 3 == 0 else None,
            reasoning_tokens=(10 + k) if k % 4 == 0 else None,
        )
        for k in range(61)
    ]
    timings = [
        tk.LLMTiming(ttft_ms=80.0 + k, tpot_ms=9.0 + k / 10, output_tokens_per_second=50.0 + k)
        for k in range(53)
    ]
    tool_lists = [
        [tk.ToolCallSpec(name="search", arguments_json="{}")],
        [
            tk.ToolCallSpec(name="search", arguments_json="{}"),
            tk.ToolCallSpec(name="open", arguments_json="{}"),
        ],
    ]
    outcomes: list[Any] = ["success"] * 17 + ["error", "timeout", "incomplete"]
    records = []
    for i in range(n):
        provider, model = MODELS[i % len(MODELS)]
        records.append(
            tk.LLMCallRecord(
                call_id=str(i),
                api_type="chat_completions",
                provider=provider,
                model_name=model,
                latency_ms=float(200 + (i * 7919) % 4001),
                usage=None if i % 50 == 0 else usages[i % 61],
                timing=timings[i % 53] if i % 2 else None,
                outcome=outcomes[i % 20],
                output_tool_calls=tool_lists[i % 2] if i % 5 == 0 else empty,
                request_params=params,
                input_messages=empty,
                output_messages=empty,
                outputs=empty,
                tools=empty,
                tool_results=empty,
                metadata=no_metadata,
            )
        )
    return records


def baseline(records: list[tk.LLMCallRecord]) -> int:
    """The floor: one bare pass summing input_tokens."""
    total = 0
    for record in records:
        usage = record.usage
        if usage is not None and usage.input_tokens is not None:
            total += usage.input_tokens
    return total


def timed(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> tuple[float, R]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    # the unpriced-calls warning is expected here (one model is deliberately unknown); print it once
    logging.getLogger("tracekit").setLevel(logging.ERROR)
    build_s, records = timed(build_records, n)
    tk.get_prices()  # load the bundled table outside the timed runs
    base_s, base_total = timed(baseline, records)
    agg_s, result = timed(tk.aggregate, records)
    by_model_s, by_model = timed(tk.aggregate, records, by="model")
    assert result.total.input_tokens == base_total
    assert sum(g.cost_nanousd or 0 for g in by_model.groups) == result.total.cost_nanousd

    tracemalloc.start()
    tk.aggregate(records, by="model")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    total = result.total
    print(f"records: {n:,} (built in {build_s:.2f} s)")
    print(f"baseline (bare loop summing input_tokens): {base_s:.3f} s")
    print(f"aggregate(by=None):    {agg_s:.3f} s  ({agg_s / base_s:.1f}x baseline)  target < 3 s")
    print(f"aggregate(by='model'): {by_model_s:.3f} s  ({by_model_s / base_s:.1f}x baseline)")
    print(f"aggregate peak allocation (tracemalloc): {peak / 2**20:.1f} MiB")
    print(f"process peak RSS (records included): {rss_kib / 1024:.0f} MiB")
    print(
        f"totals: calls={total.call_count:,} input={total.input_tokens:,} output={total.output_tokens:,} "
        f"cost=${total.cost_usd:,.6f} unpriced={total.unpriced_call_count:,} "
        f"latency p50/p99={total.latency_ms.p50}/{total.latency_ms.p99} ms"
    )
    for warning in result.warnings:
        print(f"warning: {warning}")


if __name__ == "__main__":
    main()

"""Tracer benchmarks: the cost of record_event, and of ending a 1,000-call session with a store.

    .venv/bin/python bench/bench_tracer.py [--events 200000] [--calls 1000]

1. `record_event` inside a session and timestep (target: <= 5 us per call), beside the baseline
   measured in the same run: appending the same event to two plain lists (what any tracer must
   do at least: the step's list and the session's history). Also with one event_recorded hook.
2. Leaving a session of 1,000 LLM calls (LMCAISEvents with a full call record each) on a tracer
   with an embedded store: the caller-visible time of `__exit__` (target: < 1 ms), beside the
   baseline of one `queue.Queue.put_nowait` (the hand-over itself), and the caller thread's CPU
   time for the same exit (wall time on a loaded machine includes preemption by other processes;
   the load average is printed). The writer's save time is printed for information; it runs on
   the writer thread, off the caller's path.
Each figure is measured in 3 runs and printed as min / median.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from factories import build_call_record

import tracekit as tk
from tracekit.store import TursoManager

RUNS = 3


def min_median(samples: list[float]) -> str:
    """'min / median' of samples."""
    return f"{min(samples):.3f} / {statistics.median(samples):.3f}"


def per_call_us(fn: Callable[[], object], n: int) -> float:
    """Microseconds per call of `fn` over `n` calls."""
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def bench_record_event(n: int) -> None:
    event = tk.RuntimeEvent(system_instance_id="agent")
    tracer = tk.SessionTracer()
    hooked = tk.SessionTracer(hooks={"event_recorded": lambda e, t: None})
    plain, hooked_us, base = [], [], []
    for _ in range(RUNS):
        with tracer.session(), tracer.timestep("t"):
            plain.append(per_call_us(lambda: tracer.record_event(event), n))
        with hooked.session(), hooked.timestep("t"):
            hooked_us.append(per_call_us(lambda: hooked.record_event(event), n))
        step_events: list[tk.BaseEvent] = []
        history: list[tk.BaseEvent] = []

        def two_appends(
            step_events: list[tk.BaseEvent] = step_events, history: list[tk.BaseEvent] = history
        ) -> None:
            step_events.append(event)
            history.append(event)

        base.append(per_call_us(two_appends, n))
    print(f"record_event ({n:,} calls, us, min / median of {RUNS}):")
    print(f"  tracer.record_event              {min_median(plain)}   (target <= 5 us)")
    print(f"  with one event_recorded hook     {min_median(hooked_us)}")
    print(f"  baseline: two list.append        {min_median(base)}")
    print(f"  ratio (median)                   {statistics.median(plain) / statistics.median(base):.1f}x")


def bench_session_end(calls: int) -> None:
    record = build_call_record()
    exit_ms, exit_cpu_ms, put_ms, save_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = TursoManager(f"file:{Path(tmp) / 'bench.db'}", spool_path=Path(tmp) / "spool.jsonl")
        tracer = tk.SessionTracer(store)
        tracer.flush()  # the writer has opened the store; not part of the measured hand-over
        for run in range(RUNS):
            scope = tracer.session(session_id=f"bench-{run}")
            scope.__enter__()
            for i in range(calls):
                with tracer.timestep(turn_number=i):
                    tracer.record_event(
                        tk.LMCAISEvent(
                            system_instance_id="agent", model_name=record.model_name, call_records=[record]
                        )
                    )
            start, start_cpu = time.perf_counter(), time.thread_time()
            scope.__exit__(None, None, None)
            exit_ms.append((time.perf_counter() - start) * 1e3)
            exit_cpu_ms.append((time.thread_time() - start_cpu) * 1e3)
            start = time.perf_counter()
            result = tracer.flush()
            save_s.append(time.perf_counter() - start)
            assert result.written == 1, result
            q: queue.Queue[object] = queue.Queue(maxsize=10)
            start = time.perf_counter()
            q.put_nowait(scope)
            put_ms.append((time.perf_counter() - start) * 1e3)
        tracer.close()
    print(f"\nsession end with {calls:,} LLM calls, embedded store (min / median of {RUNS}):")
    print(f"  caller-visible session exit      {min_median(exit_ms)} ms wall   (target < 1 ms)")
    print(f"  the same, caller thread CPU      {min_median(exit_cpu_ms)} ms (excludes preemption)")
    print(f"  baseline: queue.put_nowait       {min_median(put_ms)} ms")
    print(f"  writer: save on its thread       {min_median(save_s)} s (off the caller's path)")


def load_average() -> str:
    """The 1-minute load average and core count: wall-clock figures above it include preemption."""
    try:
        one_minute = Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"
    return f"{one_minute} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    print(f"load average: {load_average()}\n")
    bench_record_event(args.events)
    bench_session_end(args.calls)


if __name__ == "__main__":
    main()

"""Live-metrics benchmarks: the event bus's cost per event, and live_metrics() on a 10,000-call session.

    .venv/bin/python bench/bench_live.py [--events 100000] [--calls 10000]

1. Bus overhead per event (targets: < 2 us with no subscriber, < 5 us with one), with 0, 1 and 10
   subscribers (no-op callbacks, buffers large enough that nothing is dropped): (a) publishing
   as the tracer does (`if bus.active: bus.publish(...)`) minus an empty loop, and (b) a
   timestep's enter + exit (two events) with subscribers minus the same with none, halved.
   Baseline in the same run: one `queue.SimpleQueue.put` (the least a hand-off to another
   thread costs). Delivery threads run meanwhile and compete for the GIL: that is part of the wall
   time. The publishing thread's CPU time is printed too (on a loaded machine wall time includes
   preemption by other processes; the load average is printed).
2. `tracer.live_metrics()` on a session of 10,000 LLM calls (target: < 1 ms) while it grows by
   10 calls between polls (an agent making 100 calls/s polled 10 times a second), and with
   nothing new; the first (cold) poll, which folds all 10,000, is printed for information.
   Baseline in the same run: `tk.aggregate` over the same session (re-aggregating on each poll).
Each figure is measured in 3 runs and printed as min / median.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from factories import build_call_record

import tracekit as tk
from tracekit.live import EventBus

RUNS = 3


def min_median(samples: list[float]) -> str:
    """'min / median' of samples."""
    return f"{min(samples):.3f} / {statistics.median(samples):.3f}"


def per_call_us(fn: Callable[[], object], n: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Microseconds per call of `fn` over `n` calls, on `clock` (wall time by default)."""
    start = clock()
    for _ in range(n):
        fn()
    return (clock() - start) / n * 1e6


def _noop(event: dict[str, object]) -> None:
    return None


def bench_bus(n: int) -> None:
    fields = {
        "tool_name": "search",
        "call_id": "call_1",
        "success": True,
        "duration_ms": 1.5,
    }  # baseline payload
    q: queue.SimpleQueue[object] = queue.SimpleQueue()
    baseline = []
    publish: dict[int, list[float]] = {0: [], 1: [], 10: []}
    publish_cpu: dict[int, list[float]] = {0: [], 1: [], 10: []}
    steps: dict[int, list[float]] = {0: [], 1: [], 10: []}
    for _ in range(RUNS):
        baseline.append(per_call_us(lambda: q.put(fields), n))
        while not q.empty():
            q.get_nowait()
        empty = per_call_us(lambda: None, n)
        empty_cpu = per_call_us(lambda: None, n, time.thread_time)
        step_base = 0.0
        for count in (0, 1, 10):
            tracer = tk.SessionTracer()
            subs = [tracer.subscribe(_noop, buffer=8 * n) for _ in range(count)]
            bus = tracer.bus

            def emit(bus: EventBus = bus) -> None:
                if bus.active:  # as tracekit.live.event_recorded builds a tool_end event
                    bus.publish(
                        {
                            "kind": "tool_end",
                            "seq": bus.next_seq(),
                            "t": time.time(),
                            "session_id": "s",
                            "step_id": "t",
                            "tool_name": "search",
                            "call_id": "call_1",
                            "success": True,
                            "duration_ms": 1.5,
                        }
                    )

            publish[count].append(per_call_us(emit, n) - empty)
            publish_cpu[count].append(per_call_us(emit, n, time.thread_time) - empty_cpu)
            with tracer.session(session_id="s"):
                start = time.perf_counter()
                for _ in range(n // 2):
                    with tracer.timestep("t"):
                        pass
                step_us = (time.perf_counter() - start) / (n // 2) * 1e6
            if count == 0:
                step_base = step_us
            steps[count].append((step_us - step_base) / 2)
            for sub in subs:
                sub.close(timeout=60)
                assert sub.dropped == 0, sub.dropped
            tracer.close()
    print(f"bus, {n:,} events, us per event (min / median of {RUNS}):")
    print(f"  baseline: queue.SimpleQueue.put                    {min_median(baseline)}")
    for count in (0, 1, 10):
        print(f"  publish, {count:>2} subscriber(s)                       {min_median(publish[count])}")
    for count in (0, 1, 10):
        print(f"  publish, {count:>2} subscriber(s), caller thread CPU    {min_median(publish_cpu[count])}")
    for count in (1, 10):
        print(f"  timestep enter+exit, {count:>2} subscriber(s), per event  {min_median(steps[count])}")


def bench_live_metrics(calls: int) -> None:
    cold, warm, idle, agg = [], [], [], []
    for _ in range(RUNS):
        tracer = tk.SessionTracer()
        with tracer.session(session_id="big") as trace:
            for index in range(calls):
                record = build_call_record()
                record.call_id = f"call-{index}"
                tracer.record_event(
                    tk.LMCAISEvent(system_instance_id=f"agent-{index % 4}", call_records=[record])
                )
            start = time.perf_counter()
            tracer.live_metrics()
            cold.append((time.perf_counter() - start) * 1e3)
            extra = [build_call_record() for _ in range(10)]
            polls = []
            for _ in range(50):
                for record in extra:
                    tracer.record_event(tk.LMCAISEvent(system_instance_id="agent-0", call_records=[record]))
                start = time.perf_counter()
                tracer.live_metrics()
                polls.append((time.perf_counter() - start) * 1e3)
            warm.append(statistics.median(polls))
            idle.append(per_call_us(tracer.live_metrics, 200) / 1e3)
            start = time.perf_counter()
            tk.aggregate([trace])
            agg.append((time.perf_counter() - start) * 1e3)
        tracer.close()
    print(f"live_metrics on a {calls:,}-call session, ms per poll (min / median of {RUNS}):")
    print(f"  baseline: tk.aggregate over the session        {min_median(agg)}")
    print(f"  poll after 10 new calls (median of 50 polls)   {min_median(warm)}")
    print(f"  poll with nothing new                          {min_median(idle)}")
    print(f"  first poll (folds all {calls:,} calls)          {min_median(cold)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=10_000)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    bench_bus(args.events)
    bench_live_metrics(args.calls)


if __name__ == "__main__":
    main()

"""Run by test_sink.py: records timesteps forever into an NDJSONSink, reporting how many lines
the sink has flushed (one number a line on stdout) until it is killed."""

from __future__ import annotations

import sys
import time

import tracekit as tk


def main(path: str) -> None:
    tracer = tk.SessionTracer()
    sink = tk.NDJSONSink(path, flush_interval_ms=20)
    tracer.subscribe(sink, kinds={"timestep_start", "timestep_end"}, buffer=1_000_000)
    reported = 0
    with tracer.session(session_id="crash"):
        index = 0
        while True:
            with tracer.timestep(f"t{index}", turn_number=index):
                pass
            index += 1
            if sink.written != reported:
                reported = sink.written
                sys.stdout.write(f"{reported}\n")
                sys.stdout.flush()
            if index % 50 == 0:
                time.sleep(0.001)


if __name__ == "__main__":
    main(sys.argv[1])

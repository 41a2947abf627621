"""A benchmark client, run as its own process by test_end_to_end.py.

It sees only the service's message stream (stdin, one JSON message a line), records each
`llm_metrics` packet with tracekit, and prints one JSON line: its own aggregate per agent, its
live metrics, and the service's aggregate it was sent.
"""

from __future__ import annotations

import json
import sys

import tracekit as tk


def main() -> None:
    tracer = tk.SessionTracer(strict=True)
    service_aggregate = None
    with tracer.session(session_id="benchmark-run") as trace:
        for line in sys.stdin:
            message = json.loads(line)
            if "llm_metrics" in message:
                tracer.record_llm_metrics(message["llm_metrics"])
            elif message["type"] == "done":
                service_aggregate = message["aggregate"]
        live = tracer.live_metrics()
    result = {
        "client": tk.aggregate([trace], by="agent").to_dict(),
        "service": service_aggregate,
        "live": live,
        "received": [r.metadata["tracekit_received"] for e in trace.event_history for r in e.call_records],
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

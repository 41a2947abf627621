"""A writer process for the reliability tests: saves sessions to a store and reports each one.

    python writer_proc.py MODE URL SPOOL PREFIX COUNT STEPS GO_FILE

MODE `direct` saves `make_trace(f"{PREFIX}-{i}", steps=STEPS, seed=i)` one by one through a
TursoManager and prints `<outcome> <session_id>` once each save returned (flushed at once, so a
process killed with -9 has reported exactly the saves that returned). MODE `tracer` records the
same number of sessions through a SessionTracer with its background writer and prints each
finished trace's JSON as `trace <json>`, then `flush <FlushResult as JSON>`. Every process waits
for GO_FILE to exist, so all writers start together. Any error is printed as `error <type> <msg>`.
`run_to_file` does the same in a process forked from a server that imported tracekit once (the
multi-process tests start eight at a time), writing the lines to a file instead of stdout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TextIO

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))

from storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager

_out: TextIO = sys.stdout


def _say(line: str) -> None:
    _out.write(line + "\n")
    _out.flush()


def _wait_for(go: Path) -> None:
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{go} never appeared")
        time.sleep(0.005)


async def _direct(url: str, spool: str, prefix: str, count: int, steps: int) -> None:
    db = TursoManager(url, spool_path=spool, timeout_s=30)
    try:
        for i in range(count):
            outcome = await db.save_session(make_trace(f"{prefix}-{i}", steps=steps, seed=i))
            _say(f"{outcome} {prefix}-{i}")
    finally:
        await db.close()


def _tracer(url: str, spool: str, prefix: str, count: int, steps: int) -> None:
    tracer = tk.SessionTracer(store=TursoManager(url, spool_path=spool, timeout_s=30))
    for i in range(count):
        with tracer.session(session_id=f"{prefix}-{i}", metadata={"i": i}) as trace:
            for s in range(steps):
                with tracer.timestep(f"turn-{s}", turn_number=s):
                    tracer.record_event(tk.RuntimeEvent(system_instance_id=prefix, actions=[i, s]))
                    tracer.record_message(f"{prefix}-{i}-{s}", "obs", from_role="env", to_role="agent")
        _say(f"trace {trace.to_json()}")
    result = tracer.flush(timeout=120)
    _say("flush " + json.dumps(dataclasses.asdict(result) | {"errors": dict(result.errors)}))
    tracer.close(timeout=30)


def run_to_file(
    mode: str, url: str, spool: str, prefix: str, count: int, steps: int, go: Path, out: Path
) -> None:
    """Run `mode` as `main` does, writing the report lines to `out`."""
    global _out
    with out.open("w", encoding="utf-8") as handle:
        _out = handle
        _run(mode, url, spool, prefix, str(count), str(steps), str(go))


def main() -> None:
    """Run the mode named on the command line (see the module doc)."""
    _run(*sys.argv[1:8])


def _run(mode: str, url: str, spool: str, prefix: str, count: str, steps: str, go: str) -> None:
    _wait_for(Path(go))
    try:
        if mode == "direct":
            asyncio.run(_direct(url, spool, prefix, int(count), int(steps)))
        else:
            _tracer(url, spool, prefix, int(count), int(steps))
    except tk.TracekitError as exc:
        _say(f"error {type(exc).__name__} {exc}")


if __name__ == "__main__":
    main()

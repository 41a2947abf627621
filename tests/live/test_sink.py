"""NDJSONSink: one JSON object a line, flushed on its interval and on close, readable after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tracekit as tk
from tracekit.tracer import SessionTracer

HERE = Path(__file__).resolve().parent


def test_sink_writes_one_object_a_line_and_flushes_on_close(tmp_path: Path) -> None:
    """Events written through a subscription read back equal, in order, once the subscription closes."""
    path = tmp_path / "events.ndjson"
    tracer = SessionTracer(strict=True)
    seen: list[dict[str, Any]] = []
    first, second = (
        tracer.subscribe(seen.append),
        tracer.subscribe(tk.NDJSONSink(path, flush_interval_ms=60_000)),
    )
    with tracer.session(session_id="s", metadata={"task": "ü"}), tracer.timestep("t1", turn_number=1):
        pass
    first.close()
    second.close()  # delivers what is buffered, then closes the sink: flushed
    assert tk.read_ndjson(path) == seen
    assert [e["kind"] for e in seen] == ["session_start", "timestep_start", "timestep_end", "session_end"]
    assert path.read_text(encoding="utf-8").count("\n") == 4


def test_sink_flushes_on_its_interval(tmp_path: Path) -> None:
    """Without close, buffered lines reach the file within the flush interval."""
    path = tmp_path / "events.ndjson"
    sink = tk.NDJSONSink(path, flush_interval_ms=20)
    sink({"kind": "tool_end", "seq": 0})
    assert path.read_bytes() == b""
    deadline = time.monotonic() + 10
    while sink.written == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.read_bytes() == b'{"kind":"tool_end","seq":0}\n'
    sink.close()
    sink({"kind": "tool_end", "seq": 1})  # after close: logged, not written
    assert sink.written == 1


def test_sink_survives_kill_9_up_to_its_last_flush(tmp_path: Path) -> None:
    """After SIGKILL every flushed event is in the file, in order with no gap; a torn tail is not read."""
    path = tmp_path / "events.ndjson"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    writer = subprocess.Popen(
        [sys.executable, str(HERE / "ndjson_writer.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert writer.stdout is not None
    flushed = 0
    try:
        for line in writer.stdout:
            flushed = int(line)
            if flushed >= 500:
                break
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    events = tk.read_ndjson(path)
    assert len(events) >= flushed >= 500
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # seq 0: session_start
    assert [e["kind"] for e in events[:4]] == ["timestep_start", "timestep_end"] * 2
    assert [e["turn_number"] for e in events[:4]] == [0, 0, 1, 1]
    with path.open("ab") as torn:  # what a write cut by a crash would leave
        torn.write(b'{"kind":"timestep_start","seq":')
    assert tk.read_ndjson(path) == events


def test_corrupt_middle_line_and_bad_interval_are_refused(tmp_path: Path) -> None:
    """A line that is not a JSON object inside the file raises; a flush interval <= 0 is refused."""
    path = tmp_path / "bad.ndjson"
    path.write_bytes(b'{"kind":"a"}\n[1]\n{"kind":"b"}\n')
    with pytest.raises(tk.InvalidArgumentError, match="line 2 is not a JSON object"):
        tk.read_ndjson(path)
    with pytest.raises(tk.InvalidArgumentError, match="flush_interval_ms"):
        tk.NDJSONSink(tmp_path / "x.ndjson", flush_interval_ms=0)

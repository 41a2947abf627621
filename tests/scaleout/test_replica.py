"""Scale-out on the real engine: writers on a sqld primary and on its replica, readers on the replica;
every session converges on both and reads back equal to what was written."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scaleout_traces import scaleout_trace

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import SqldServer, check_primary_url, start_sqld

pytestmark = pytest.mark.sqld

WRITER = Path(__file__).resolve().parent / "writer.py"
PER_WRITER = 10
CONVERGE_S = 30.0


async def _wait_for_count(db: TursoManager, expected: int) -> int:
    """Poll the sessions count until it reaches `expected` or CONVERGE_S passes; the last count seen."""
    deadline = time.monotonic() + CONVERGE_S
    while True:
        count = int((await db.execute("SELECT count(*) AS n FROM sessions"))[0]["n"])
        if count >= expected or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.1)


async def test_writers_on_primary_and_replica_converge_and_read_back_equal(
    cluster: tuple[SqldServer, SqldServer], tmp_path: Path
) -> None:
    """Four writer processes (two on the primary, two on the replica, which forwards their writes)
    save 40 sessions; within a bounded wait the replica holds all 40, each equal to what was written,
    and its SQL roll-up (totals, groups, warnings) equals tk.aggregate over them, as does the primary's."""
    primary, replica = cluster
    jobs = [(primary.url, "p0"), (primary.url, "p1"), (replica.url, "r0"), (replica.url, "r1")]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WRITER),
                url,
                prefix,
                str(PER_WRITER),
                str(tmp_path / f"{prefix}.spool.jsonl"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url, prefix in jobs
    ]
    results = [proc.communicate(timeout=180) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert json.loads(out) == {"outcomes": ["saved"] * PER_WRITER}
    written = {
        f"{prefix}-{i}": scaleout_trace(f"{prefix}-{i}", i) for _, prefix in jobs for i in range(PER_WRITER)
    }
    expected = tk.aggregate(list(written.values()), by="model")
    async with TursoManager(replica.url, spool_path=tmp_path / "read.spool.jsonl") as reader:
        assert await _wait_for_count(reader, len(written)) == len(written)
        for session_id, trace in written.items():
            assert await reader.get_session(session_id) == trace
        rolled = await reader.aggregate(by="model")
        assert (rolled.total, rolled.groups, rolled.warnings) == (
            expected.total,
            expected.groups,
            expected.warnings,
        )
    async with TursoManager(primary.url, spool_path=tmp_path / "primary.spool.jsonl") as on_primary:
        assert await _wait_for_count(on_primary, len(written)) == len(written)
        rolled = await on_primary.aggregate(by="model")
        assert (rolled.total, rolled.groups, rolled.warnings) == (
            expected.total,
            expected.groups,
            expected.warnings,
        )


async def test_tracer_writing_through_the_replica_lands_on_the_primary(
    cluster: tuple[SqldServer, SqldServer], tmp_path: Path
) -> None:
    """A SessionTracer whose store is the replica saves through its background writer; the primary
    then holds each session equal to the tracer's live trace."""
    primary, replica = cluster
    tracer = tk.SessionTracer(store=replica.url)
    live: list[tk.SessionTrace] = []
    try:
        for i in range(3):
            source = scaleout_trace(f"tracer-{i}", i)
            with tracer.session(session_id=f"tracer-{i}", metadata=source.metadata) as trace:
                for event in source.event_history:
                    tracer.record_event(event)
            live.append(trace)
        flushed = await tracer.aflush(60)
        assert (flushed.written, flushed.spooled, flushed.failed) == (3, 0, 0)
    finally:
        tracer.close(30)
    async with TursoManager(primary.url, spool_path=tmp_path / "primary.spool.jsonl") as on_primary:
        for trace in live:
            assert await on_primary.get_session(trace.session_id) == trace


def test_a_replica_whose_primary_is_unreachable_is_a_clear_start_error(tmp_path: Path) -> None:
    """start_sqld(replica_of=<nothing listening>) stops the replica and raises ServerStartError naming
    the primary URL, after its bounded start-up wait, not a replica that hangs every query."""
    from tracekit.store.server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(tk.ServerStartError, match=f"is a primary listening for replicas at {url}"):
        start_sqld(tmp_path / "orphan.sqld", replica_of=url, startup_timeout_s=2)
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("bad", ["127.0.0.1:5001", "libsql://db.turso.io", "http://host", "http://:5001", ""])
def test_a_primary_url_without_scheme_host_or_port_is_refused(bad: str) -> None:
    """replica_of must read http(s)://HOST:PORT; anything else is a ServerStartError naming it."""
    with pytest.raises(tk.ServerStartError, match="a primary must be named by its gRPC URL"):
        check_primary_url(bad)
    assert check_primary_url("http://127.0.0.1:5001") == "http://127.0.0.1:5001"

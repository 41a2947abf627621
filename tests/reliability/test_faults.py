"""Faults: a writer killed with -9 mid-save, sqld killed and restarted, a hung server, a full disk and
a read-only file. Nothing that a save reported is lost, nothing partial is stored, errors are clear."""

from __future__ import annotations

import asyncio
import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability.procs import parse, start
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import SqldServer, free_port, start_sqld
from tracekit.store.spool import Spool

STEPS = 3


def _read_until(proc: subprocess.Popen[str], kind: str, count: int, limit_s: float = 90) -> str:
    """The writer's stdout up to its `count`-th line starting with `kind` (bounded in time)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + limit_s
    while sum(line.startswith(kind) for line in lines) < count:
        assert time.monotonic() < deadline, f"the writer reported too little in {limit_s:g} s: {lines}"
        line = proc.stdout.readline()
        assert line, f"the writer exited early: {lines}"
        lines.append(line)
    return "".join(lines)


def _kill(proc: subprocess.Popen[str]) -> str:
    """SIGKILL the process mid-work and return what else it printed: read through `proc.stdout`,
    whose buffer may already hold lines `readline` read ahead (`communicate` reads the pipe itself
    and would miss them, so saves the writer did report looked unreported)."""
    assert proc.stdout is not None
    proc.kill()
    with proc.stdout:
        out = proc.stdout.read()
    proc.wait(timeout=30)
    if proc.stderr is not None:
        proc.stderr.close()
    return out


@pytest.mark.parametrize("backend", ["file", pytest.param("sqld", marks=pytest.mark.sqld)])
async def test_kill_9_mid_save_leaves_only_whole_sessions(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A writer killed with -9 while saving: every save it reported is stored, every stored session
    is whole (equal to its trace, no orphan rows), and the database passes its integrity check."""
    url = f"file:{tmp_path / 'traces.db'}" if backend == "file" else request.getfixturevalue("fresh_sqld").url
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl"):
        pass
    go = tmp_path / "go"
    go.touch()
    proc = start("direct", url, tmp_path / "spool.jsonl", "k", 10_000, STEPS, go)
    text = _read_until(proc, "saved", 15)
    text += _kill(proc)
    reported = set(parse(text).outcomes)
    assert len(reported) >= 15
    async with TursoManager(url, spool_path=tmp_path / "spool.jsonl") as db:
        if backend == "file":
            assert await db.execute("PRAGMA integrity_check") == [{"integrity_check": "ok"}]
        stored = [row["session_id"] for row in await db.execute("SELECT session_id FROM sessions")]
        assert reported <= set(stored)
        assert len(stored) <= len(reported) + 1  # at most the save that was in flight landed
        for session_id in stored:
            index = int(session_id.rsplit("-", 1)[1])
            assert await db.get_session(session_id) == make_trace(session_id, steps=STEPS, seed=index)
        orphans = await db.execute(
            "SELECT (SELECT count(*) FROM timesteps t WHERE t.session_id NOT IN (SELECT session_id FROM "
            "sessions)) + (SELECT count(*) FROM events e WHERE e.session_id NOT IN (SELECT session_id FROM "
            "sessions)) AS n"
        )
        assert orphans == [{"n": 0}]
        assert await db.execute("SELECT count(*) AS n FROM timesteps") == [{"n": STEPS * len(stored)}]
    assert not (tmp_path / "spool.jsonl").exists()


async def test_kill_9_while_spooling_keeps_every_spooled_trace(tmp_path: Path) -> None:
    """A writer spooling to a dead server, killed with -9: every save it reported as spooled is
    replayed later, equal to its trace; a torn last line is set aside, never replayed as garbage."""
    spool = tmp_path / "spool.jsonl"
    go = tmp_path / "go"
    go.touch()
    proc = start("direct", f"http://127.0.0.1:{free_port()}", spool, "s", 100_000, STEPS, go)
    text = _read_until(proc, "spooled", 40)
    text += _kill(proc)
    reported = set(parse(text).outcomes)
    async with TursoManager(f"file:{tmp_path / 'traces.db'}", spool_path=spool) as db:
        stored = {row["session_id"] for row in await db.execute("SELECT session_id FROM sessions")}
        assert reported <= stored
        assert len(stored) <= len(reported) + 1
        for session_id in stored:
            index = int(session_id.rsplit("-", 1)[1])
            assert await db.get_session(session_id) == make_trace(session_id, steps=STEPS, seed=index)
    assert not spool.exists()


@pytest.fixture
def silent_port() -> Iterator[socket.socket]:
    """A loopback listener that accepts connections and never answers (a hung server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener
    finally:
        listener.close()


async def test_hung_server_blocks_one_save_then_the_breaker_spools_and_replays(
    silent_port: socket.socket, tmp_path: Path
) -> None:
    """Against a server that never answers, one save waits timeout_s (not (retries+1) x timeout_s);
    the next saves are spooled at once; when a real server answers on that port, a background probe
    closes the breaker, the spool drains in the background, and every session is stored once."""
    port = int(silent_port.getsockname()[1])
    spool = tmp_path / "spool.jsonl"
    db = TursoManager(f"http://127.0.0.1:{port}", spool_path=spool, timeout_s=1, retries=3)
    written = [make_trace(f"h-{i}", steps=1, seed=i) for i in range(21)]
    started = time.monotonic()
    assert await db.save_session(written[0]) == "spooled"
    first = time.monotonic() - started
    assert db.breaker.is_open
    started = time.monotonic()
    assert [await db.save_session(trace) for trace in written[1:]] == ["spooled"] * 20
    rest = time.monotonic() - started
    assert 1 <= first < 1 + 1 + 0.5 + 1.5  # timeout_s + one probe (<= timeout_s) + backoff, with slack
    assert rest < 2.0  # 20 saves, none waiting for the server
    silent_port.close()
    server = start_sqld(tmp_path / "db.sqld", port=port)
    try:
        deadline = time.monotonic() + 30
        outcomes: list[str] = []
        while spool.exists() or db.breaker.is_open:
            assert time.monotonic() < deadline, "the spool was not drained within 30 s"
            trace = make_trace(f"h-{len(written)}", steps=1, seed=len(written))
            written.append(trace)
            outcomes.append(await db.save_session(trace))
            await asyncio.sleep(0.2)
        assert "spooled" in outcomes  # the breaker was still open for the first of these
        last = make_trace(f"h-{len(written)}", steps=1, seed=len(written))
        written.append(last)
        assert await db.save_session(last) == "saved"  # closed: straight to the server again
        stored = await db.execute("SELECT session_id FROM sessions ORDER BY session_id")
        assert [row["session_id"] for row in stored] == sorted(t.session_id for t in written)
        for trace in written:
            assert await db.get_session(trace.session_id) == trace
    finally:
        await db.close()
        server.stop()


def test_sqld_killed_and_restarted_loses_no_trace(tmp_path: Path) -> None:
    """sqld killed with -9 while a tracer's sessions keep ending, then restarted on the same port and
    data: ending a session never waits for the server, and all 60 sessions end up stored, equal."""
    port = free_port()
    db_path = tmp_path / "db.sqld"
    server: SqldServer = start_sqld(db_path, port=port)
    spool = tmp_path / "spool.jsonl"
    store = TursoManager(server.url, spool_path=spool, timeout_s=2, retries=1, retry_backoff_s=0.05)
    tracer = tk.SessionTracer(store=store)
    produced: list[tk.SessionTrace] = []
    slowest_end = 0.0
    try:
        for n in range(60):
            if n == 20:
                server.process.kill()
                server.process.wait(10)
            if n == 40:
                server = start_sqld(db_path, port=port)
            with tracer.session(session_id=f"r{n}", metadata={"n": n}) as trace:
                with tracer.timestep("turn-0", turn_number=0):
                    tracer.record_event(tk.RuntimeEvent(system_instance_id="agent", actions=[n]))
                began_end = time.monotonic()
            slowest_end = max(slowest_end, time.monotonic() - began_end)
            produced.append(trace)
            time.sleep(0.02)
        results = [tracer.flush(timeout=60)]
        deadline = time.monotonic() + 60
        while spool.exists():  # the writer replays on its own timer
            assert time.monotonic() < deadline, "the spool was not replayed within 60 s"
            time.sleep(0.2)
        results.append(tracer.flush(timeout=30))
        written, spooled, replayed = (
            sum(getattr(r, k) for r in results) for k in ("written", "spooled", "replayed")
        )
        assert written + spooled == 60
        assert replayed == spooled
        assert (results[-1].failed, results[-1].pending) == (0, 0)
        assert slowest_end < 0.5

        async def read() -> list[tk.SessionTrace]:
            async with TursoManager(server.url, spool_path=tmp_path / "unused.jsonl") as db:
                assert await db.execute("SELECT count(*) AS n FROM sessions") == [{"n": 60}]
                return [await db.get_session(t.session_id) for t in produced]

        assert asyncio.run(read()) == produced
    finally:
        tracer.close(timeout=10)
        server.stop()


CHILD = """
import asyncio, json, sys
sys.path.insert(0, sys.argv[3])
from storebuilders import make_trace
import tracekit as tk
from tracekit.store import TursoManager

async def main():
    db = TursoManager(sys.argv[1], spool_path=sys.argv[2])
    try:
        print(await db.save_session(make_trace("new", steps=int(sys.argv[4]))))
    except tk.TracekitError as exc:
        print(type(exc).__name__, exc)
    finally:
        await db.close()

asyncio.run(main())
"""


def _child(url: str, spool: Path, steps: int, preexec: object) -> str:
    store_tests = str(Path(__file__).resolve().parents[1] / "store")
    result = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(spool), store_tests, str(steps)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec,  # type: ignore[arg-type]
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


async def test_full_disk_is_a_clear_error_and_the_spool_is_kept(tmp_path: Path) -> None:
    """A process whose files cannot grow (RLIMIT_FSIZE, as on a full disk): the save raises a
    StoreError naming the file and saying what to do, the spooled trace its replay could not write
    stays in the spool byte for byte, and a later process with room stores both."""
    url = f"file:{tmp_path / 'traces.db'}"
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl"):
        pass
    spool = tmp_path / "spool.jsonl"
    waiting = make_trace("waiting", steps=300)
    Spool(spool).append([waiting.to_json()])
    before = spool.read_bytes()
    limit = (tmp_path / "traces.db").stat().st_size + 64 * 1024

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = _child(url, spool, 300, small_files)
    assert out.startswith(f"StoreError cannot write the database file {str(tmp_path / 'traces.db')!r}")
    assert "free space and save again" in out
    assert spool.read_bytes() == before
    async with TursoManager(url, spool_path=spool) as db:
        assert await db.get_session("waiting") == waiting
    assert not spool.exists()


async def test_read_only_database_file_is_a_clear_error_and_the_spool_is_kept(tmp_path: Path) -> None:
    """A database file the process may not write: the save raises a StoreError naming the file and
    the reason; the spool is left as it was and nothing is written."""
    data = tmp_path / "data"
    data.mkdir()
    url = f"file:{data / 'traces.db'}"
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl") as db:
        await db.save_session(make_trace("old", steps=1))
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    spool = spool_dir / "spool.jsonl"
    Spool(spool).append([make_trace("waiting", steps=1).to_json()])
    before = spool.read_bytes()
    for path in data.iterdir():
        path.chmod(0o444)
    data.chmod(0o555)
    spool_dir.chmod(0o777)
    for path in spool_dir.iterdir():
        path.chmod(0o666)

    def unprivileged() -> None:
        if os.geteuid() == 0:  # root ignores file modes: drop the capabilities that let it
            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
                if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone after exec too
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    try:
        out = _child(url, spool, 1, unprivileged)
    finally:
        data.chmod(0o755)
        for path in data.iterdir():
            path.chmod(0o644)
    assert out.startswith(f"StoreError cannot use the database file {str(data / 'traces.db')!r}")
    assert "readonly" in out
    assert spool.read_bytes() == before
    async with TursoManager(url, spool_path=tmp_path / "unused.jsonl") as db:
        stored = await db.execute("SELECT session_id FROM sessions")
    assert stored == [{"session_id": "old"}]

"""SyncTursoManager for plain code and notebooks, and the sqld launcher's failure modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import SyncTursoManager
from tracekit.store.server import find_sqld, start_sqld


def test_sync_manager_round_trip(tmp_path: Path) -> None:
    """The blocking manager saves, reads back, lists, iterates and aggregates like the async one."""
    traces = [make_trace(f"sync{i}", steps=3, seed=i) for i in range(3)]
    with SyncTursoManager(f"file:{tmp_path / 'sync.db'}") as db:
        assert db.save_sessions(traces) == "saved"
        assert db.get_session("sync1") == traces[1]
        assert [s.session_id for s in db.list_sessions(limit=10).sessions] == ["sync0", "sync1", "sync2"]
        records = list(db.iter_call_records(page_size=2))
        assert [r.call_id for r in records] == [f"call-{s * 1000 + i}" for s in range(3) for i in range(3)]
        assert db.aggregate(by="model").total.call_count == 9
        assert db.delete_session("sync0") is True


async def test_sync_manager_works_inside_a_running_loop(tmp_path: Path) -> None:
    """Called from code already running an event loop (as in Jupyter), the blocking API still works."""
    trace = make_trace("in-loop", steps=2)
    with SyncTursoManager(f"file:{tmp_path / 'loop.db'}") as db:
        db.save_session(trace)
        assert db.get_session("in-loop") == trace


def test_closed_sync_manager_says_so(tmp_path: Path) -> None:
    """Using a SyncTursoManager after close() raises a clear error instead of hanging."""
    db = SyncTursoManager(f"file:{tmp_path / 'closed.db'}")
    db.close()
    db.close()
    with pytest.raises(tk.StoreError, match="is closed; create a new one"):
        db.get_session("x")


def test_find_sqld_prefers_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """TRACEKIT_SQLD names the binary when it is an executable file."""
    fake = tmp_path / "sqld"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TRACEKIT_SQLD", str(fake))
    assert find_sqld() == fake


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    """A binary that does not exist raises ServerStartError naming it."""
    with pytest.raises(tk.ServerStartError, match="cannot run /nonexistent/sqld"):
        start_sqld(tmp_path / "db", binary="/nonexistent/sqld")


def test_binary_that_exits_is_a_clear_error(tmp_path: Path) -> None:
    """A process that exits before serving raises ServerStartError with its exit code and log path."""
    with pytest.raises(tk.ServerStartError, match=r"exited with code 1; see its log at .*db\.log"):
        start_sqld(tmp_path / "db", binary="/bin/false", port=1)


@pytest.mark.sqld
def test_started_server_answers_and_stops(tmp_path: Path) -> None:
    """start_sqld serves on a free loopback port and stop() ends the process."""
    server = start_sqld(tmp_path / "own.sqld")
    try:
        with SyncTursoManager(server.url) as db:
            assert db.execute("SELECT 2 * 21 AS v") == [{"v": 42}]
    finally:
        server.stop()
    assert server.process.returncode is not None
    assert server.url.startswith("http://127.0.0.1:")

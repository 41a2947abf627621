"""Unreachable servers fail fast and clearly; saves that cannot land are spooled, then replayed."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import free_port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (a hung server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


async def test_refused_connection_is_a_clear_error() -> None:
    """Nothing listening: open() raises StoreConnectionError naming the URL, at once."""
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(tk.StoreConnectionError, match=f"cannot reach {url}"):
        await TursoManager(url, timeout_s=5).open()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("scheme", ["http", "ws"])
async def test_hung_server_times_out(silent_port: int, scheme: str) -> None:
    """A server that never answers gives StoreConnectionError after timeout_s, not a hang."""
    url = f"{scheme}://127.0.0.1:{silent_port}"
    started = time.monotonic()
    with pytest.raises(tk.StoreConnectionError, match=r"did not answer within 0\.5 s"):
        await TursoManager(url, timeout_s=0.5).open()
    assert time.monotonic() - started < 3


async def test_unsaveable_trace_is_spooled_then_replayed_on_open(tmp_path: Path) -> None:
    """After the retries a save spools the trace; the next manager that opens replays it."""
    spool = tmp_path / "spool.jsonl"
    down = TursoManager(f"http://127.0.0.1:{free_port()}", spool_path=spool, retries=2, retry_backoff_s=0.01)
    trace = make_trace("spooled", steps=2)
    assert await down.save_session(trace) == "spooled"
    assert await down.save_sessions([make_trace("second", steps=1)]) == "spooled"
    lines = spool.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line.partition(" ")[2])["session_id"] for line in lines] == ["spooled", "second"]
    async with TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool) as up:
        assert await up.get_session("spooled") == trace
        assert await up.get_session("second") == make_trace("second", steps=1)
    assert not spool.exists()


async def test_replay_keeps_what_still_fails(tmp_path: Path) -> None:
    """replay_spool saves what it can, keeps unreadable lines, and reports how many landed."""
    spool = tmp_path / "spool.jsonl"
    good = make_trace("ok", steps=1)
    spool.write_text(good.to_json() + "\n" + '{"session_id": 5}\n', encoding="utf-8")
    db = TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool)
    await db.open()
    try:
        assert spool.read_text(encoding="utf-8") == '{"session_id": 5}\n'
        assert await db.get_session("ok") == good
        assert await db.replay_spool() == 0
    finally:
        await db.close()


async def test_data_errors_are_raised_not_spooled(tmp_path: Path) -> None:
    """A value the database cannot hold raises at once and writes nothing to the spool."""
    spool = tmp_path / "spool.jsonl"
    trace = make_trace("nan", steps=1)
    trace.session_time_steps[0].events[1].reward = float("nan")  # type: ignore[attr-defined]
    async with TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool) as db:
        with pytest.raises(tk.SerializationError, match="non-finite float"):
            await db.save_session(trace)
    assert not spool.exists()


async def test_file_saves_do_not_block_the_event_loop(tmp_path: Path) -> None:
    """While a large trace is saved to a file: database, other tasks keep running every few ms.

    A save run on the loop would stall it for most of the save, every time; a pause of the host or
    a full GC collection can stall it once. So the longest stall must stay under half the save in at
    least one of three saves."""
    trace = make_trace("large", steps=1500)
    stalls: list[tuple[float, float]] = []
    async with TursoManager(f"file:{tmp_path / 'db.sqlite'}") as db:
        for _attempt in range(3):
            gaps: list[float] = []
            done = asyncio.Event()

            async def ticker(gaps: list[float] = gaps, done: asyncio.Event = done) -> None:
                last = time.monotonic()
                while not done.is_set():
                    await asyncio.sleep(0.001)
                    now = time.monotonic()
                    gaps.append(now - last)
                    last = now

            task = asyncio.create_task(ticker())
            await asyncio.sleep(0.01)
            started = time.monotonic()
            await db.save_session(trace)
            elapsed = time.monotonic() - started
            done.set()
            await task
            assert elapsed > 0.1  # the save is long enough for a blocked loop to show
            assert len(gaps) > 10
            stalls.append((max(gaps), elapsed))
            if max(gaps) < elapsed / 2:
                return
    raise AssertionError(f"the loop stalled for over half of every save: (longest stall, save) = {stalls}")

"""Saves to a server waiting for a free slot go out together in the first one's batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from storebuilders import make_trace

import tracekit as tk
from tracekit.errors import StoreError
from tracekit.store import TursoManager, schema
from tracekit.store.libsql import Database
from tracekit.store.manager import _save_statements
from tracekit.store.migrations import migrate
from tracekit.store.server import SqldServer

pytestmark = pytest.mark.sqld


def _no_cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    return None, None


async def _empty(url: str) -> None:
    db = Database(url)
    await db.open()
    try:
        await migrate(db)
        names = [t.name for t in reversed(schema.metadata.sorted_tables) if t is not schema.schema_version]
        await db.batch([(f"DELETE FROM {name}", []) for name in names])
    finally:
        await db.close()


@pytest.fixture
async def one_slot(sqld: SqldServer, tmp_path: Path) -> AsyncIterator[tuple[TursoManager, list[int]]]:
    """A manager on the emptied sqld with one slot, and the size of every batch it sends."""
    await _empty(sqld.url)
    manager = TursoManager(sqld.url, spool_path=tmp_path / "spool.jsonl", cost=_no_cost, max_inflight_saves=1)
    await manager.open()
    sizes: list[int] = []
    client = manager._db._client  # libsql-client's own client: counted, then sent to the real sqld
    send = client.batch

    async def counted(statements: Sequence[Any]) -> Any:
        sizes.append(len(statements))
        return await send(statements)

    client.batch = counted
    try:
        yield manager, sizes
    finally:
        await manager.close()


async def _queued(db: TursoManager, traces: list[tk.SessionTrace]) -> list[Any]:
    """Save `traces` while the one slot is held, each joining the waiting saves in turn, then free the
    slot: the saves' outcomes (or exceptions)."""
    await db._slots.acquire()
    tasks = []
    for count, trace in enumerate(traces, start=1):
        tasks.append(asyncio.ensure_future(db.save_session(trace)))
        while len(db._joiner._waiting) < count:
            await asyncio.sleep(0.005)
    db._slots.release()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_waiting_saves_share_one_batch_and_read_back_equal(
    one_slot: tuple[TursoManager, list[int]],
) -> None:
    """Three saves waiting for the one busy slot go out in one batch, in order, and every session
    reads back equal."""
    db, sizes = one_slot
    traces = [make_trace(f"s-{i}", steps=3, seed=i) for i in range(3)]
    assert await _queued(db, traces) == ["saved"] * 3
    assert sizes == [sum(len(_save_statements([trace], "x", _no_cost)) for trace in traces)]
    for trace in traces:
        assert await db.get_session(trace.session_id) == trace


async def test_two_saves_of_one_session_in_one_batch_keep_the_later(
    one_slot: tuple[TursoManager, list[int]],
) -> None:
    """Two waiting saves of the same session sent in one batch store the later one, as they would
    one after the other."""
    db, sizes = one_slot
    earlier, later = make_trace("s-same", steps=2, seed=1), make_trace("s-same", steps=4, seed=2)
    assert await _queued(db, [earlier, later]) == ["saved"] * 2
    assert len(sizes) == 1
    assert await db.get_session("s-same") == later


# aiohttp warns about any request body over 1 MB sent as bytes (libsql-client sends it that way)
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_a_refusal_in_a_shared_batch_reaches_only_its_own_save(
    one_slot: tuple[TursoManager, list[int]],
) -> None:
    """A batch the server refuses for one save's data (a value over its 5,000,000-byte limit) is
    sent again save by save: that save raises StoreError, the one beside it is stored."""
    db, sizes = one_slot
    db.max_batch_bytes = 20_000_000  # room for the oversized save and the one beside it
    too_big = make_trace("s-big", steps=1)
    too_big.metadata["blob"] = "x" * 5_100_000
    good = make_trace("s-good", steps=2)
    results = await _queued(db, [too_big, good])
    assert isinstance(results[0], StoreError)
    assert "5,000,000-byte limit" in str(results[0])
    assert results[1] == "saved"
    assert len(sizes) == 3  # together (refused), then each alone
    assert sizes[0] == sizes[1] + sizes[2]
    assert await db.get_session("s-good") == good
    with pytest.raises(tk.NotFoundError):
        await db.get_session("s-big")


async def test_a_waiting_save_cancelled_before_it_is_sent_is_not_stored(
    one_slot: tuple[TursoManager, list[int]],
) -> None:
    """A save cancelled while it waits for the busy slot leaves the queue and is never sent; the
    save queued behind it is stored in a batch of its own."""
    db, sizes = one_slot
    dropped, kept = make_trace("s-dropped", steps=1), make_trace("s-kept", steps=2)
    await db._slots.acquire()
    first = asyncio.ensure_future(db.save_session(dropped))
    while not db._joiner.waiting():
        await asyncio.sleep(0.005)
    second = asyncio.ensure_future(db.save_session(kept))
    while len(db._joiner._waiting) < 2:
        await asyncio.sleep(0.005)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    db._slots.release()
    assert await second == "saved"
    assert sizes == [len(_save_statements([kept], "x", _no_cost))]
    assert await db.get_session("s-kept") == kept
    with pytest.raises(tk.NotFoundError):
        await db.get_session("s-dropped")

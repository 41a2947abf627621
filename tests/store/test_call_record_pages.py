"""iter_call_records' paged read (async and blocking): every counted record once, in key order,
for any page size; a damaged or foreign row read exactly as the full validation reads it, after
the records before it; stopping early leaves nothing running."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store.storebuilders import make_trace

import tracekit as tk
from tracekit import codec
from tracekit.store import SyncTursoManager, TursoManager
from tracekit.store.libsql import Database


def _calls(traces: list[tk.SessionTrace]) -> list[tk.LLMCallRecord]:
    return [
        c
        for t in sorted(traces, key=lambda t: t.session_id)
        for e in t.event_history
        if isinstance(e, tk.LMCAISEvent)
        for c in e.call_records
    ]


async def _rewrite(store: TursoManager, session_id: str, event_index: int, text: str) -> None:
    """Replace one stored record's JSON behind the store's back (as a foreign writer would)."""
    db = Database(store.url)
    await db.open()
    try:
        await db.execute(
            "UPDATE llm_call_records SET record_json = ? WHERE session_id = ? AND event_index = ?",
            [text, session_id, event_index],
        )
    finally:
        await db.close()


@pytest.mark.parametrize("page_size", [1, 4, 13])
async def test_every_page_size_gives_every_record_once_in_key_order(
    store: TursoManager, page_size: int
) -> None:
    """Page sizes dividing the count, not dividing it, equal to it and past it all give the saved
    records, in (session, event, call) order."""
    traces = [make_trace(f"p{i}", steps=4, seed=i) for i in (2, 0, 1)]
    await store.save_sessions(traces)
    assert [r async for r in store.iter_call_records(page_size=page_size)] == _calls(traces)


async def test_a_damaged_row_is_refused_after_the_records_before_it(store: TursoManager) -> None:
    """A row that is not a record's JSON raises the full validation's InvalidDataError when the
    iteration reaches it, after yielding the records before it on the same page."""
    traces = [make_trace("d", steps=4)]
    await store.save_sessions(traces)
    damaged = '{"call_id":"c","api_type":"responses","usage":"x"}'
    lmcais = [i for i, e in enumerate(traces[0].event_history) if isinstance(e, tk.LMCAISEvent)]
    await _rewrite(store, "d", lmcais[2], damaged)
    with pytest.raises(tk.InvalidDataError) as caught:
        codec.from_json(tk.LLMCallRecord, damaged)
    got: list[tk.LLMCallRecord] = []
    records = store.iter_call_records(page_size=3)
    for _ in range(2):
        got.append(await anext(records))
    with pytest.raises(tk.InvalidDataError) as refused:
        await anext(records)
    assert got == _calls(traces)[:2]
    assert str(refused.value) == str(caught.value)
    assert [p.path for p in refused.value.problems] == ["usage"]


async def test_a_row_with_an_unknown_key_reads_as_the_full_validation(store: TursoManager) -> None:
    """A foreign row (a key no field has) is read by the full validation, which leaves the key out."""
    traces = [make_trace("f", steps=2)]
    await store.save_sessions(traces)
    first = next(i for i, e in enumerate(traces[0].event_history) if isinstance(e, tk.LMCAISEvent))
    await _rewrite(store, "f", first, '{"call_id":"x","api_type":"responses","surprise":1}')
    got = [r async for r in store.iter_call_records()]
    assert got == [tk.LLMCallRecord(call_id="x", api_type="responses"), *_calls(traces)[1:]]


async def test_stopping_early_leaves_the_manager_usable(store: TursoManager) -> None:
    """Closing the iteration while the next page is on its way cancels it cleanly; the manager
    then reads and saves as before."""
    traces = [make_trace(f"s{i}", steps=3, seed=i) for i in range(3)]
    await store.save_sessions(traces)
    pages = store.iter_call_records(page_size=2)
    assert await anext(pages) == _calls(traces)[0]
    await pages.aclose()
    assert [r async for r in store.iter_call_records(page_size=4)] == _calls(traces)
    await store.save_session(make_trace("s9", steps=1, seed=9))
    assert len([r async for r in store.iter_call_records(page_size=4)]) == 10


def test_the_blocking_iterator_reads_pages_and_stops_cleanly(tmp_path: Path) -> None:
    """SyncTursoManager.iter_call_records gives the async iterator's records, refuses a bad page
    size and a damaged row the same way, and can be abandoned half-way."""
    traces = [make_trace(f"b{i}", steps=3, seed=i) for i in range(3)]
    with SyncTursoManager(f"file:{tmp_path / 'b.db'}", spool_path=tmp_path / "spool.jsonl") as db:
        db.save_sessions(traces)
        assert list(db.iter_call_records(page_size=2)) == _calls(traces)
        assert list(db.iter_call_records(session_id="b1")) == _calls(traces)[3:6]
        half = db.iter_call_records(page_size=2)
        assert next(half) == _calls(traces)[0]
        half.close()
        refused = "page_size must be an int from 1 to 9223372036854775807, got 0"
        with pytest.raises(tk.InvalidArgumentError, match=refused):
            list(db.iter_call_records(page_size=0))
        _rewrite_file(db.manager.url, "b2", 0, "[1]")
        records = db.iter_call_records(page_size=4)
        assert [next(records) for _ in range(6)] == _calls(traces)[:6]
        with pytest.raises(tk.InvalidDataError):
            next(records)


def _rewrite_file(url: str, session_id: str, event_index: int, text: str) -> None:
    """_rewrite for blocking tests on a file: database (a sqlite3 connection of its own)."""
    conn = sqlite3.connect(url.removeprefix("file:"))
    try:
        with conn:
            conn.execute(
                "UPDATE llm_call_records SET record_json = ? WHERE session_id = ? AND event_index = ?",
                [text, session_id, event_index],
            )
    finally:
        conn.close()


_PAGE_SIZES = (
    st.integers(min_value=-3, max_value=12)
    | st.integers(min_value=2**62, max_value=2**63 - 1)
    | st.integers(min_value=2**63, max_value=2**80)
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=True)
    | st.text(max_size=3)
)


def test_any_page_size_gives_every_record_or_an_argument_error(tmp_path: Path) -> None:
    """Whatever page_size is passed (wrong types, zero, negatives, huge ints), the iteration gives
    every record in order or raises an InvalidArgumentError naming the value before reading anything."""
    traces = [make_trace(f"h{i}", steps=2, seed=i) for i in range(3)]
    with SyncTursoManager(f"file:{tmp_path / 'h.db'}", spool_path=tmp_path / "spool.jsonl") as db:
        db.save_sessions(traces)

        @settings(derandomize=True, max_examples=60, deadline=None)
        @given(_PAGE_SIZES)
        def check(page_size: Any) -> None:
            valid = type(page_size) is int and 1 <= page_size < 2**63
            if valid:
                assert list(db.iter_call_records(page_size=page_size)) == _calls(traces)
            else:
                with pytest.raises(tk.InvalidArgumentError) as refused:
                    list(db.iter_call_records(page_size=page_size))
                assert repr(page_size) in str(refused.value)

        check()

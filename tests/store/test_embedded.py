"""The embedded save path: one kept connection, durable commits, atomic writes, and the same rows and
JSON as the server path."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store.storebuilders import make_trace

import tracekit as tk
from tracekit import codec
from tracekit.store import TursoManager, schema, writer
from tracekit.store.libsql import Database
from tracekit.store.mapping import dumps, trace_rows
from tracekit.store.migrations import migrate
from tracekit.store.server import SqldServer

SAVED_AT = "2026-01-01T00:00:00.000000+00:00"
COUNTS = "SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM llm_calls) AS c"


def _cost(record: object) -> tuple[int | None, str | None]:
    return 7, "test"


async def test_file_saves_commit_with_full_sync_in_wal_mode(tmp_path: Path) -> None:
    """The embedded store runs in WAL mode with synchronous=FULL (2), so a returned save is on disk."""
    async with TursoManager(f"file:{tmp_path / 't.db'}", spool_path=tmp_path / "sp") as db:
        assert await db.execute("PRAGMA journal_mode") == [{"journal_mode": "wal"}]
        assert await db.execute("PRAGMA synchronous") == [{"synchronous": 2}]


async def test_the_connection_stays_open_between_saves(tmp_path: Path) -> None:
    """The WAL file outlives each save (one kept connection; a connection per call checkpointed and
    deleted it every time), and another process reads every returned save."""
    path = tmp_path / "t.db"
    async with TursoManager(f"file:{path}", spool_path=tmp_path / "sp") as db:
        for i in range(3):
            assert await db.save_session(make_trace(f"s{i}", steps=2, seed=i)) == "saved"
            assert Path(f"{path}-wal").exists()
        reader = (
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
            "print(c.execute('SELECT count(*) FROM sessions').fetchone()[0], "
            "c.execute('SELECT count(*) FROM llm_calls').fetchone()[0])"
        )
        seen = subprocess.run(
            [sys.executable, "-c", reader, str(path)], capture_output=True, text=True, timeout=60, check=True
        )
        assert seen.stdout.split() == ["3", "6"]


async def test_a_refused_write_rolls_back_and_the_store_stays_usable(
    store: TursoManager, tmp_path: Path
) -> None:
    """A value SQL cannot bind (from a custom cost) fails the whole save as a StoreError, writes
    nothing, and the next saves on the same connection work."""
    unbindable: Any = lambda record: (5, object())  # noqa: E731 - a cost whose version SQL cannot bind
    async with TursoManager(store.url, cost=unbindable, spool_path=tmp_path / "sp2", retries=0) as bad:
        with pytest.raises(tk.StoreError, match="refused the request"):
            await bad.save_session(make_trace("bad", steps=3))
        assert await bad.execute(COUNTS) == [{"s": 0, "c": 0}]
        with pytest.raises(tk.StoreError, match="refused the request"):
            await bad.save_session(make_trace("bad", steps=3))
    trace = make_trace("good", steps=3)
    assert await store.save_session(trace) == "saved"
    assert await store.get_session("good") == trace
    assert await store.execute(COUNTS) == [{"s": 1, "c": 3}]


async def test_parameters_bind_as_on_the_server(store: TursoManager) -> None:
    """execute() binds True as 1 and refuses NaN and unsupported types on file: as on sqld."""
    assert await store.execute("SELECT ? AS v, ? AS w", [True, b"ab"]) == [{"v": 1, "w": b"ab"}]
    with pytest.raises(tk.StoreError, match=r"refused the request.*finite"):
        await store.execute("SELECT ? AS v", [float("nan")])
    with pytest.raises(tk.StoreError, match="refused the request"):
        await store.execute("SELECT ? AS v", [[1, 2]])


async def test_a_file_locked_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """A save while another process holds the write lock waits for it (busy timeout) and is saved."""
    path = tmp_path / "t.db"
    async with TursoManager(f"file:{path}", spool_path=tmp_path / "sp") as db:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
                "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(1.0); "
                "c.execute('COMMIT')",
                str(path),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            assert await db.save_session(make_trace("waited", steps=2)) == "saved"
        finally:
            assert await asyncio.to_thread(holder.wait, 60) == 0
            holder.stdout.close()  # type: ignore[union-attr]
        assert await db.execute(COUNTS) == [{"s": 1, "c": 2}]
        assert db.spool is not None
        assert not db.spool.exists()


async def _table_rows(db: Database, ids: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    names = [t.name for t in writer.TRACE_TABLES]
    marks = ", ".join("?" * len(ids))
    results = await db.batch(
        [(f"SELECT * FROM {name} WHERE session_id IN ({marks}) ORDER BY 1, 2, 3", ids) for name in names]
    )
    return {name: result.rows for name, result in zip(names, results, strict=True)}


@pytest.mark.sqld
async def test_both_statement_shapes_store_the_same_rows(sqld: SqldServer) -> None:
    """save_rows (executemany, embedded) and save_statements (multi-row INSERTs, servers) leave the
    same rows, also when replacing an earlier copy of a session; `Database.write` runs save_rows on
    a server too."""
    ids = [f"shape-{uuid.uuid4()}" for _ in range(3)]
    traces = [make_trace(sid, steps=30, seed=i) for i, sid in enumerate(ids)]
    rows = [trace_rows(t, saved_at=SAVED_AT, cost=_cost) for t in traces]
    first = [trace_rows(make_trace(ids[1], steps=5, seed=9), saved_at=SAVED_AT, cost=_cost)]
    stored = []
    for url, shape in ((":memory:", "rows"), (":memory:", "statements"), (sqld.url, "rows")):
        db = Database(url)
        await db.open()
        try:
            await migrate(db)
            if shape == "rows":
                await db.write(writer.save_rows(first))
                await db.write(writer.save_rows(rows))
            else:
                await db.batch(writer.save_statements(first))
                await db.batch(writer.save_statements(rows))
            stored.append(await _table_rows(db, ids))
        finally:
            await db.close()
    assert stored[0] == stored[1]
    assert stored[2] == stored[0]
    assert len(stored[0][schema.llm_calls.name]) == 90
    assert [r[0] for r in stored[0][schema.sessions.name]] == sorted(ids)


_text = st.text() | st.text(alphabet=st.sampled_from(["a", "é", "\n", '"', "\ud800", "\udfff", "\U0001f600"]))
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(derandomize=True, deadline=None, max_examples=300)
@given(_json)
def test_row_json_is_the_codec_text(value: Any) -> None:
    """The store's row JSON is exactly codec.dumps's text for any checked JSON value (lone
    surrogates, non-ASCII, big ints, -0.0 included), and refused exactly when the codec refuses it."""
    try:
        expected = codec.dumps(value)
    except tk.SerializationError as exc:
        refusal = str(exc)
    else:
        assert dumps(value) == expected
        return
    with pytest.raises(tk.SerializationError) as caught:
        dumps(value)
    assert str(caught.value) == refusal


def test_row_json_keeps_a_lone_surrogate_as_its_escape() -> None:
    """A lone surrogate in free text is written as the \\u escape the codec writes."""
    assert dumps({"t": "a\ud83d", "u": "é"}) == '{"t":"a\\ud83d","u":"é"}'


def test_an_embedded_database_file_is_one_sqlite_database(tmp_path: Path) -> None:
    """Rows saved through the store are readable by plain sqlite3 (no private format)."""
    path = tmp_path / "t.db"

    async def save() -> None:
        async with TursoManager(f"file:{path}", spool_path=tmp_path / "sp") as db:
            await db.save_session(make_trace("plain", steps=4))

    asyncio.run(save())
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("SELECT count(*) FROM llm_call_records").fetchone() == (4,)

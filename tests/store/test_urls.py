"""Database URLs read as SQLite and Turso users expect; unopenable paths are StoreErrors naming them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import SyncTursoManager, TursoManager


async def _round_trip(url: str, session_id: str = "s1") -> TursoManager:
    trace = make_trace(session_id, steps=2)
    async with TursoManager(url) as db:
        assert await db.save_session(trace) == "saved"
        assert await db.get_session(session_id) == trace
    return db


@pytest.mark.parametrize("url", ["file:traces.db", "file:./traces.db"])
async def test_relative_file_url_is_relative_to_the_working_directory(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file:NAME and file:./NAME open NAME in the working directory, with the spool beside it."""
    monkeypatch.chdir(tmp_path)
    db = await _round_trip(url)
    assert db.url == f"file:{tmp_path / 'traces.db'}"
    assert db.spool is not None
    assert db.spool.path == tmp_path / "traces.db.spool.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("traces.db-")) == ["traces.db"]


async def test_default_url_is_traces_db_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TursoManager() stores in ./traces.db, as the README says."""
    monkeypatch.chdir(tmp_path)
    async with TursoManager() as db:
        await db.save_session(make_trace("d", steps=1))
    assert db.url == f"file:{tmp_path / 'traces.db'}"
    assert (tmp_path / "traces.db").stat().st_size > 0


async def test_nested_relative_path_creates_missing_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """file:./x/y/t.db creates x/y under the working directory and keeps its spool there."""
    monkeypatch.chdir(tmp_path)
    db = await _round_trip("file:./x/y/t.db")
    assert (tmp_path / "x" / "y" / "t.db").is_file()
    assert db.spool is not None
    assert db.spool.path == tmp_path / "x" / "y" / "t.db.spool.jsonl"


async def test_relative_path_is_resolved_when_the_manager_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later chdir does not move the database: the path is resolved once, at construction."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    db = TursoManager("file:t.db")
    monkeypatch.chdir(tmp_path / "b")
    async with db:
        await db.save_session(make_trace("moved", steps=1))
    assert (tmp_path / "a" / "t.db").is_file()
    assert not (tmp_path / "b" / "t.db").exists()


@pytest.mark.parametrize("form", ["file:{path}", "file://{path}", "file://localhost{path}"])
async def test_absolute_file_urls(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file:/abs, file:///abs and file://localhost/abs all open /abs, whatever the working directory."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "abs" / "t.db"
    db = await _round_trip(form.format(path=target))
    assert db.url == f"file:{target}"
    assert target.is_file()


async def test_percent_escapes_are_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file:my%20runs.db opens 'my runs.db', as SQLite URI file names do."""
    monkeypatch.chdir(tmp_path)
    await _round_trip("file:my%20runs.db")
    assert (tmp_path / "my runs.db").is_file()


@pytest.mark.parametrize("url", [":memory:", "file::memory:"])
async def test_memory_database_lives_as_long_as_the_manager(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """:memory: keeps what is saved across calls, writes no file and has no spool; each manager
    has its own database."""
    monkeypatch.chdir(tmp_path)
    trace = make_trace("mem", steps=3)
    async with TursoManager(url) as db, TursoManager(url) as other:
        assert db.url == ":memory:"
        assert db.spool is None
        await db.save_session(trace)
        assert await db.get_session("mem") == trace
        assert [s.session_id for s in (await db.list_sessions()).sessions] == ["mem"]
        assert (await db.aggregate()).total.call_count == 3
        assert (await other.list_sessions()).sessions == []
    assert list(tmp_path.iterdir()) == []


def test_memory_database_in_the_blocking_manager() -> None:
    """SyncTursoManager(":memory:") works for notebooks and tests."""
    trace = make_trace("nb", steps=1)
    with SyncTursoManager(":memory:") as db:
        db.save_session(trace)
        assert db.get_session("nb") == trace


async def test_a_directory_is_a_store_error_naming_it(tmp_path: Path) -> None:
    """A URL naming a directory raises StoreError with the path and the reason."""
    with pytest.raises(tk.StoreError) as caught:
        await TursoManager(f"file:{tmp_path}").open()
    assert str(caught.value) == (
        f"cannot open the database file {str(tmp_path)!r}: it is a directory; "
        "give the path of a file (it is created when missing)"
    )


async def test_a_parent_that_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    """When the missing parent cannot be created (a file is in the way), StoreError names both."""
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    with pytest.raises(tk.StoreError) as caught:
        await TursoManager(f"file:{tmp_path / 'plain' / 'sub' / 't.db'}").open()
    assert str(caught.value).startswith(
        f"cannot create the directory {str(tmp_path / 'plain' / 'sub')!r} for the database file "
        f"{str(tmp_path / 'plain' / 'sub' / 't.db')!r}: "
    )
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc, where no file can be created")
async def test_an_unwritable_place_is_a_store_error() -> None:
    """Where sqlite cannot create the file, StoreError names the path, the reason and sqlite's code."""
    with pytest.raises(tk.StoreError) as caught:
        await TursoManager("file:/proc/self/tracekit-test.db").open()
    assert str(caught.value) == (
        "cannot use the database file '/proc/self/tracekit-test.db': unable to open database file; "
        "check that the path is a database file (or does not exist yet) in a directory you can write to"
        " [libsql code SQLITE_CANTOPEN]"
    )


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    """A file with other content gives StoreError naming it, with sqlite's code SQLITE_NOTADB."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a database, just text " * 100)
    with pytest.raises(tk.StoreError) as caught:
        await TursoManager(f"file:{path}").open()
    assert caught.value.code == "SQLITE_NOTADB"
    assert f"cannot use the database file {str(path)!r}: file is not a database;" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file://example.com/t.db", "names a host ('example.com')"),
        ("file:t.db?mode=ro", "has query parameters or a fragment"),
        ("file:", "names no file"),
        ("traces.db", "unsupported database URL scheme ''"),
        ("http://[bad", "cannot read the database URL '<unparseable URL>': Invalid IPv6 URL"),
        (5, "the database URL must be a str, got 5"),
    ],
)
def test_malformed_urls_are_refused_at_once(url: str, message: str) -> None:
    """URLs tracekit cannot read as a file are refused when the manager is made, saying why."""
    with pytest.raises(tk.StoreError, match=re.escape(message)):
        TursoManager(url)

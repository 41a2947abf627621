"""Store fixtures: one real sqld per test session, and a manager per test on each backend.

`store` is parametrised over an embedded `file:` database in tmp_path and the live sqld (HTTP);
the sqld database is emptied before each test so tests stay independent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tracekit.store import TursoManager, schema
from tracekit.store.libsql import Database
from tracekit.store.server import SqldServer, start_sqld


@pytest.fixture(scope="session")
def sqld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqldServer]:
    """One sqld for the whole test session, on a free loopback port."""
    server = start_sqld(tmp_path_factory.mktemp("sqld") / "db.sqld")
    try:
        yield server
    finally:
        server.stop()


async def _wipe(url: str) -> None:
    db = Database(url)
    await db.open()
    try:
        tables = [t.name for t in reversed(schema.metadata.sorted_tables) if t is not schema.schema_version]
        existing = {
            row[0] for row in (await db.execute("SELECT name FROM sqlite_master WHERE type='table'")).rows
        }
        await db.batch([(f"DELETE FROM {name}", []) for name in tables if name in existing])
    finally:
        await db.close()


@pytest.fixture(params=["file", pytest.param("sqld", marks=pytest.mark.sqld)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TursoManager]:
    """An open TursoManager on an empty database: embedded file, or the session's sqld over HTTP."""
    if request.param == "file":
        url = f"file:{tmp_path / 'traces.db'}"
    else:
        url = request.getfixturevalue("sqld").url
        await _wipe(url)
    manager = TursoManager(url, spool_path=tmp_path / "spool.jsonl", retries=1, retry_backoff_s=0.01)
    await manager.open()
    try:
        yield manager
    finally:
        await manager.close()

"""Many sessions saved to a real sqld in one call, or replayed from the spool, go in batches whose
HTTP body stays under aiohttp's large-body warning (an error under this suite's filterwarnings)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from store.storebuilders import make_trace
from store.test_request_bytes import real_body

from tracekit.store import TursoManager
from tracekit.store.libsql import LARGE_BODY_BYTES, Database, Result, Statement
from tracekit.store.server import SqldServer
from tracekit.store.spool import Spool

pytestmark = pytest.mark.sqld


async def _counts(db: TursoManager, prefix: str) -> list[int]:
    """Rows of the sessions whose id starts with `prefix`: sessions, timesteps, events, messages, calls."""
    tables = ("sessions", "timesteps", "events", "messages", "llm_calls")
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t} WHERE session_id GLOB ?)" for t in tables)
    rows = await db.execute(sql, [prefix + "*"] * len(tables))
    return list(rows[0].values())


def _record_bodies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The real body size of every batch sent from now on (libsql-client's own encoding of it)."""
    bodies: list[int] = []
    batch = Database.batch

    async def recording_batch(self: Database, statements: Sequence[Statement]) -> list[Result]:
        bodies.append(real_body(statements))
        return await batch(self, statements)

    monkeypatch.setattr(Database, "batch", recording_batch)
    return bodies


async def test_90_sessions_in_one_call_are_saved_under_the_warning(
    sqld: SqldServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """save_sessions of 90 sessions (a 1.6 MB body as one batch) sends batches each under 1 MiB, no
    warning, and every row of every session is in the database."""
    traces = [make_trace(f"many{i:03d}", steps=3, seed=i, created=i) for i in range(90)]
    async with TursoManager(sqld.url, spool_path=tmp_path / "s.jsonl") as db:
        bodies = _record_bodies(monkeypatch)
        assert await db.save_sessions(traces) == "saved"
        assert len(bodies) >= 2
        assert max(bodies) <= db.max_batch_bytes < LARGE_BODY_BYTES
        assert sum(bodies) > LARGE_BODY_BYTES
        assert await _counts(db, "many") == [90, 270, 540, 540, 270]
        assert await db.get_session("many089") == traces[-1]


async def test_a_replayed_spool_is_sent_under_the_warning(
    sqld: SqldServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """64 spooled sessions (one replay chunk, a 1.1 MB body) replay in batches under 1 MiB, and all
    their rows are stored."""
    traces = [make_trace(f"replayed{i:03d}", steps=3, seed=i, created=i) for i in range(64)]
    spool = Spool(tmp_path / "spool.jsonl")
    spool.append([trace.to_json() for trace in traces])
    bodies = _record_bodies(monkeypatch)
    async with TursoManager(sqld.url, spool_path=spool.path) as db:
        assert not spool.exists()
        assert await _counts(db, "replayed") == [64, 192, 384, 384, 192]
    assert max(bodies) < LARGE_BODY_BYTES
    assert sum(body > 100_000 for body in bodies) >= 2


async def test_one_session_over_1_mib_goes_whole_and_aiohttp_warns_over_http(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """One session is one atomic batch however large: over HTTP its 1.2 MB body draws aiohttp's
    ResourceWarning (the documented limit) and is stored; over a WebSocket nothing warns."""
    big = make_trace("big-one", steps=2)
    big.metadata["notes"] = ['"quoted" \\ text'] * 40_000  # ~0.7 MB raw, ~1.2 MB escaped in the body
    async with TursoManager(sqld.url, spool_path=tmp_path / "s.jsonl") as db:
        with pytest.warns(ResourceWarning, match="Sending a large body directly"):
            assert await db.save_session(big) == "saved"
        assert await db.get_session("big-one") == big
    big.metadata["run"] = "again over ws"
    async with TursoManager(sqld.ws_url, spool_path=tmp_path / "w.jsonl") as db:
        assert await db.save_session(big) == "saved"
        assert await db.get_session("big-one") == big

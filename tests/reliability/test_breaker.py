"""The circuit breaker's schedule, and how saves to a server are bounded (batch bytes, busy retries)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from store.storebuilders import make_trace

from tracekit.store import TursoManager
from tracekit.store.breaker import CircuitBreaker
from tracekit.store.server import SqldServer


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_probes_on_a_doubling_schedule_and_closes() -> None:
    """Tripped, the breaker allows one probe per interval, doubling up to the cap; close() resets it."""
    clock = FakeClock()
    breaker = CircuitBreaker(probe_interval_s=0.5, max_probe_interval_s=2.0, clock=clock)
    assert (breaker.is_open, breaker.claim_probe()) == (False, False)
    breaker.trip()
    claims = []
    for _ in range(24):
        clock.now += 0.25
        claims.append(breaker.claim_probe())
    # due at +0.5, then +1.0 later, then +2.0 (capped) each time
    assert [i for i, claimed in enumerate(claims) if claimed] == [1, 5, 13, 21]
    breaker.trip()  # already open: the schedule is kept
    assert not breaker.claim_probe()
    breaker.close()
    assert (breaker.is_open, breaker.claim_probe()) == (False, False)
    breaker.trip()
    clock.now += 0.5
    assert breaker.claim_probe()


@pytest.mark.sqld
async def test_sessions_to_a_server_go_in_batches_under_max_batch_bytes(
    fresh_sqld: SqldServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """save_sessions of 12 sessions of ~40 KB with max_batch_bytes=100 KB sends several atomic
    batches, each under the bound, and every session reads back equal."""
    traces = [make_trace(f"b{i}", steps=16, seed=i) for i in range(12)]
    sizes: list[int] = []
    async with TursoManager(fresh_sqld.url, spool_path=tmp_path / "s.jsonl", max_batch_bytes=100_000) as db:
        send = db._send

        async def spy(group, work):  # type: ignore[no-untyped-def]
            from tracekit.store.libsql import request_bytes

            remote, statements = work
            assert remote
            sizes.append(request_bytes(statements))
            return await send(group, work)

        db._send = spy  # type: ignore[method-assign]
        assert await db.save_sessions(traces) == "saved"
        assert len(sizes) >= 4
        assert max(sizes) <= 100_000
        assert [await db.get_session(t.session_id) for t in traces] == traces
    assert not caplog.records or all(r.levelno < logging.WARNING for r in caplog.records)

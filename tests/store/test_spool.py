"""The spool file: lines carry ids, replays remove by id, torn and corrupt lines are set aside."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import free_port
from tracekit.store.spool import Spool


def test_lines_carry_ids_and_removal_keeps_lines_appended_since_the_read(tmp_path: Path) -> None:
    """remove() drops exactly the ids given: a line appended after the read survives the rewrite."""
    spool = Spool(tmp_path / "s.jsonl")
    first = spool.append(['{"session_id":"a"}', '{"session_id":"b"}'])
    snapshot = spool.read()
    assert [e.spool_id for e in snapshot.entries] == first
    assert [e.trace_json for e in snapshot.entries] == ['{"session_id":"a"}', '{"session_id":"b"}']
    late = spool.append(['{"session_id":"c"}'])
    assert spool.remove({first[0]}) == 2
    assert [(e.spool_id, e.trace_json) for e in spool.read().entries] == [
        (first[1], '{"session_id":"b"}'),
        (late[0], '{"session_id":"c"}'),
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.jsonl", "s.jsonl.lock"]  # no temp file left
    assert spool.remove({first[1], late[0]}) == 0
    assert not spool.exists()


def test_an_append_after_a_torn_line_starts_a_new_line(tmp_path: Path) -> None:
    """A crashed writer's half line is never glued to the next append, which stays readable."""
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'0123456789abcdef0123456789abcdef {"session_id":"hal')
    spool = Spool(path)
    [ident] = spool.append(['{"session_id":"whole"}'])
    snapshot = spool.read()
    assert [(e.spool_id, e.trace_json) for e in snapshot.entries] == [(ident, '{"session_id":"whole"}')]
    assert snapshot.rejected == [b'0123456789abcdef0123456789abcdef {"session_id":"hal']


def test_multi_line_json_is_refused(tmp_path: Path) -> None:
    """A trace JSON with a newline cannot be one spool line: StoreError, nothing written."""
    spool = Spool(tmp_path / "s.jsonl")
    with pytest.raises(tk.StoreError, match="must be one line"):
        spool.append(['{"a":\n1}'])
    assert not spool.exists()


def test_unwritable_spool_is_a_store_error(tmp_path: Path) -> None:
    """A spool path under a regular file raises StoreError naming the spool, not a bare OSError."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    spool = Spool(blocker / "s.jsonl")
    with pytest.raises(tk.StoreError, match=r"cannot lock the spool '.*/file/s\.jsonl'"):
        spool.append(['{"session_id":"a"}'])


async def test_replay_skips_torn_and_corrupt_lines_and_saves_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A torn line and a corrupt line are moved to `.rejected` with a warning; the traces around
    them are replayed and the spool ends empty."""
    spool_path = tmp_path / "s.jsonl"
    down = TursoManager(f"http://127.0.0.1:{free_port()}", spool_path=spool_path, retries=0)
    traces = [make_trace(f"t{i}", steps=1, seed=i) for i in range(3)]
    assert await down.save_session(traces[0]) == "spooled"
    torn = b'0123456789abcdef0123456789abcdef {"session_id":"torn","session_time_st'
    corrupt = b"\xff\xfe garbage \x00 bytes"
    with spool_path.open("ab") as handle:
        handle.write(torn + b"\n" + corrupt + b"\n")
    assert await down.save_sessions(traces[1:]) == "spooled"
    caplog.clear()  # the breaker's "unreachable" warning above is not what this test is about
    caplog.set_level(logging.WARNING, logger="tracekit.store.manager")
    async with TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool_path) as db:
        assert [await db.get_session(f"t{i}") for i in range(3)] == traces
        assert await db.replay_spool() == 0
    assert not spool_path.exists()
    assert (tmp_path / "s.jsonl.rejected").read_bytes() == torn + b"\n" + corrupt + b"\n"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"2 torn or corrupt line(s) in the spool {spool_path} cannot be replayed; "
        f"moved to {tmp_path / 's.jsonl.rejected'}"
    ]


async def test_plain_json_lines_of_older_spools_are_replayed(tmp_path: Path) -> None:
    """A spool written by tracekit 0.1 (plain JSON lines, no ids) is still replayed."""
    spool_path = tmp_path / "s.jsonl"
    trace = make_trace("old", steps=2)
    spool_path.write_text(trace.to_json() + "\n", encoding="utf-8")
    async with TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool_path) as db:
        assert await db.get_session("old") == trace
    assert not spool_path.exists()


async def test_a_refused_trace_stays_spooled_and_the_others_are_saved(tmp_path: Path) -> None:
    """In a replayed batch, one trace the store refuses stays in the spool; the others are saved."""
    spool_path = tmp_path / "s.jsonl"
    good = [make_trace(f"g{i}", steps=1, seed=i) for i in range(2)]
    refused = json.loads(make_trace("bad", steps=1).to_json())
    refused["session_time_steps"][0]["turn_number"] = 2**70  # beyond SQLite's 64-bit integers
    spool = Spool(spool_path)
    ids = spool.append([good[0].to_json(), json.dumps(refused, separators=(",", ":")), good[1].to_json()])
    db = TursoManager(f"file:{tmp_path / 'db.sqlite'}", spool_path=spool_path)
    async with db:
        assert [await db.get_session(t.session_id) for t in good] == good
        assert [e.spool_id for e in spool.read().entries] == [ids[1]]
        with pytest.raises(tk.NotFoundError):
            await db.get_session("bad")

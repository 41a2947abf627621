"""Oversized content against the documented limits: sqld takes at most 5,000,000 bytes per stored
value (a call record's JSON), an embedded file: store takes a 10 MB message."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import SqldServer

SQLD_VALUE_LIMIT = 5_000_000


def _trace(session_id: str, text_bytes: int) -> tk.SessionTrace:
    """A session with one call whose user message is `text_bytes` bytes of ASCII text."""
    part = tk.LLMContentPart(type="text", text="x" * text_bytes)
    record = tk.LLMCallRecord(
        call_id=f"{session_id}-call",
        api_type="chat_completions",
        model_name="gpt-4o",
        input_messages=[tk.LLMMessage(role="user", parts=[part])],
    )
    event = tk.LMCAISEvent(
        system_instance_id="agent", time_record=tk.TimeRecord(1_780_000_000.0), call_records=[record]
    )
    return tk.SessionTrace(session_id=session_id, event_history=[event])


@pytest.mark.sqld
# aiohttp warns when libsql-client posts a multi-MB body as raw bytes (it may hold the event loop
# while it is sent); that cost is what this test measures against the limit, not a defect to fail on
@pytest.mark.filterwarnings("ignore:Sending a large body directly:ResourceWarning")
async def test_sqld_refuses_a_record_over_its_value_limit_and_writes_nothing(
    sqld: SqldServer, tmp_path: Path
) -> None:
    """On sqld a 6 MB message is a StoreError naming the 5,000,000-byte limit and the fix; no row
    is written and nothing is spooled; a message just under the limit reads back equal."""
    spool = tmp_path / "spool.jsonl"
    async with TursoManager(sqld.url, spool_path=spool, retries=0) as db:
        too_big = _trace("too-big", 6_000_000)
        with pytest.raises(
            tk.StoreError, match="over the server's 5,000,000-byte limit: shorten the content"
        ):
            await db.save_session(too_big)
        assert await db.execute("SELECT count(*) AS n FROM sessions WHERE session_id = 'too-big'") == [
            {"n": 0}
        ]
        assert not spool.exists()
        fits = _trace("fits", SQLD_VALUE_LIMIT - 10_000)
        assert await db.save_session(fits) == "saved"
        assert await db.get_session("fits") == fits
        await db.delete_session("fits")


async def test_file_store_keeps_a_10_mb_message(tmp_path: Path) -> None:
    """An embedded file: store saves a call whose message is 10,000,000 bytes and reads it back equal."""
    trace = _trace("ten-mb", 10_000_000)
    async with TursoManager(f"file:{tmp_path / 'big.db'}", spool_path=tmp_path / "spool.jsonl") as db:
        assert await db.save_session(trace) == "saved"
        assert await db.get_session("ten-mb") == trace

"""Store fixtures: one real sqld per test session, and a manager per test on each backend.

`store` is parametrised over an embedded `file:` database in tmp_path and the live sqld (HTTP);
the sqld database is emptied before each test so tests stay independent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tracekit as tk
from tracekit.store import TursoManager, schema
from tracekit.store.libsql import Database
from tracekit.store.server import SqldServer, start_sqld

T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
MODELS = ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash", "unknown-model-x")


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


def at(seconds: float) -> datetime:
    """T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def llm_call(i: int, *, model: str, outcome: str | None = "success", tools: int = 1) -> tk.LLMCallRecord:
    """A call record whose numbers vary with `i` (some unreported, to exercise None handling)."""
    streamed = i % 3 != 0
    return tk.LLMCallRecord(
        call_id=f"call-{i}",
        api_type="chat_completions",
        provider=None if model.startswith("unknown") else model.split("-")[0],
        model_name=model,
        started_at=at(i),
        completed_at=at(i + 0.5),
        latency_ms=100.0 + (i * 37) % 250 + 0.125,
        input_messages=[tk.LLMMessage(role="user", parts=[tk.LLMContentPart(type="text", text=f"q{i}")])],
        output_text=f"answer {i}",
        output_tool_calls=[
            tk.ToolCallSpec(
                name=f"tool_{k % 2}", arguments_json=f'{{"k": {k}}}', arguments={"k": k}, call_id=f"t{k}"
            )
            for k in range(tools)
        ],
        usage=None
        if i % 11 == 5
        else tk.LLMUsage(
            input_tokens=1000 + i,
            output_tokens=50 + i % 7,
            total_tokens=1050 + i + i % 7,
            cache_read_tokens=None if i % 2 else 512,
            reasoning_tokens=i % 4 or None,
        ),
        timing=tk.LLMTiming(
            ttft_ms=20.0 + i % 13, tpot_ms=3.5 + (i % 5) / 4, output_tokens_per_second=80.0 + i % 9
        )
        if streamed
        else None,
        finish_reason="stop",
        outcome=outcome,  # type: ignore[arg-type]
        error={"type": "rate_limit"} if outcome == "error" else None,
    )


def make_trace(session_id: str, *, steps: int = 3, seed: int = 0, created: float = 0.0) -> tk.SessionTrace:
    """A session of `steps` timesteps, each with an LLM event (one call), an environment event
    and two messages; models, outcomes and numbers vary with `seed`."""
    trace = tk.SessionTrace(
        session_id=session_id, created_at=at(created), metadata={"seed": seed, "run": "r1"}
    )
    for s in range(steps):
        i = seed * 1000 + s
        outcome = ("success", "success", "error", "incomplete", None)[i % 5]
        call = llm_call(i, model=MODELS[(seed + s) % len(MODELS)], outcome=outcome, tools=s % 3)
        lm = tk.LMCAISEvent(
            system_instance_id=f"agent-{seed % 2}",
            time_record=tk.TimeRecord(at(created + s)),
            model_name=call.model_name,
            call_records=[call],
        )
        env = tk.EnvironmentEvent(
            system_instance_id="env", time_record=tk.TimeRecord(at(created + s + 0.5)), reward=s * 0.5
        )
        msgs = [
            tk.SessionEventMarkovBlanketMessage(
                content=tk.SessionMessageContent(text=f"obs {s}"),
                message_type="observation",
                time_record=tk.TimeRecord(at(created + s + 0.1)),
            ),
            tk.SessionEventMarkovBlanketMessage(
                content=tk.SessionMessageContent(json_payload=f'{{"action": {s}}}'),
                message_type="tool_call",
                time_record=tk.TimeRecord(at(created + s + 0.2)),
            ),
        ]
        step = tk.SessionTimeStep(
            step_id=f"step-{s}",
            step_index=s,
            timestamp=at(created + s),
            events=[lm, env],
            markov_blanket_messages=msgs,
        )
        trace.session_time_steps.append(step)
        trace.event_history.extend([lm, env])
        trace.markov_blanket_message_history.extend(msgs)
    return trace

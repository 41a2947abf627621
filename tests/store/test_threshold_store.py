"""The threshold rule through the store, on an embedded file: database and a live sqld: what
save_session accepts, get_session returns exactly; what it refuses leaves the store unchanged."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import T0
from hostile import ISSUE_CASES, exact, in_trace, mutated, mutations, trace_with, unregistered_trace
from hypothesis import given, settings

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import SqldServer

COUNTS = (
    "SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM timesteps) AS t, "
    "(SELECT count(*) FROM events) AS e, (SELECT count(*) FROM messages) AS m, "
    "(SELECT count(*) FROM llm_calls) AS c, (SELECT count(*) FROM llm_call_records) AS r, "
    "(SELECT count(*) FROM tool_calls) AS k, (SELECT count(*) FROM session_metadata) AS d"
)

_ids = itertools.count()


async def _saved_exactly_or_refused_untouched(
    db: TursoManager, trace: tk.SessionTrace, codec_accepts: bool
) -> bool:
    """Save `trace`: True when it read back exactly; False when it was refused and nothing changed."""
    before = await db.execute(COUNTS)
    refusal: tk.SerializationError | None = None
    try:
        outcome = await db.save_session(trace)
    except tk.SerializationError as exc:
        refusal = exc
    if refusal is not None:
        assert await db.execute(COUNTS) == before
        assert not codec_accepts, f"to_json accepts what save_session refuses: {refusal}"
        return False
    assert codec_accepts, "save_session accepted what to_json refuses"
    assert outcome == "saved"
    assert exact(trace, await db.get_session(trace.session_id))
    return True


def _codec_accepts(trace: tk.SessionTrace) -> bool:
    try:
        trace.to_json()
    except tk.SerializationError:
        return False
    return True


@pytest.fixture(scope="module")
def both_stores(
    sqld: SqldServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[asyncio.AbstractEventLoop, list[TursoManager]]]:
    """An open manager on a file: database and one on the live sqld, with the loop they run on
    (module-scoped, so hypothesis examples share them; each example uses its own session id)."""
    loop = asyncio.new_event_loop()
    root: Path = tmp_path_factory.mktemp("threshold")
    managers = [
        TursoManager(f"file:{root / 'traces.db'}", spool_path=root / "file.spool.jsonl", retries=0),
        TursoManager(sqld.url, spool_path=root / "sqld.spool.jsonl", retries=0),
    ]
    for manager in managers:
        loop.run_until_complete(manager.open())
    try:
        yield loop, managers
    finally:
        for manager in managers:
            loop.run_until_complete(manager.close())
        loop.close()


@pytest.mark.sqld
@settings(derandomize=True, max_examples=200, deadline=None)
@given(mutations())
def test_any_value_in_any_field_saves_exactly_or_is_refused_untouched(
    both_stores: tuple[asyncio.AbstractEventLoop, list[TursoManager]], case: tuple[type, str, Any]
) -> None:
    """On file: and sqld, a trace holding any value in any field of any record type reads back
    exactly, or save_session refuses it (as to_json does) and no row changes."""
    loop, managers = both_stores
    cls, name, value = case
    trace = in_trace(mutated(cls, name, value), f"thr-{next(_ids)}")
    accepts = _codec_accepts(trace)
    for db in managers:
        loop.run_until_complete(_saved_exactly_or_refused_untouched(db, trace, accepts))


@pytest.mark.parametrize(
    ("build", "path"), [pytest.param(case[1], case[2], id=case[0]) for case in ISSUE_CASES]
)
async def test_issue_cases_are_refused_before_anything_is_written(
    store: TursoManager, build: Any, path: str | None
) -> None:
    """Each value the issue found saved but unreadable is refused by save_session; no row changes."""
    before = await store.execute(COUNTS)
    with pytest.raises(tk.SerializationError) as info:
        await store.save_session(build())
    if path is not None:
        assert info.value.path == path
    assert await store.execute(COUNTS) == before
    assert not store.spool.path.exists()


@pytest.mark.parametrize("bad", [None, "trace", {"session_id": "s"}])
async def test_save_of_something_not_a_trace_is_refused(store: TursoManager, bad: Any) -> None:
    """save_session of a non-trace raises SerializationError, not AttributeError."""
    with pytest.raises(tk.SerializationError, match="save_session takes a SessionTrace"):
        await store.save_session(bad)
    with pytest.raises(tk.SerializationError, match="save_session takes a SessionTrace"):
        await store.save_sessions([trace_with(), bad])
    assert await store.execute(COUNTS) == [dict.fromkeys("stemcrkd", 0)]


async def test_unhashable_session_id_is_refused(store: TursoManager) -> None:
    """A list as session_id is a SerializationError naming session_id, not a TypeError."""
    with pytest.raises(tk.SerializationError) as info:
        await store.save_session(trace_with(session_id=["x"]))
    assert info.value.path == "session_id"


async def test_unregistered_event_class_is_refused_at_save(store: TursoManager) -> None:
    """A subclass that would read back as its parent without its own fields is refused, nothing stored."""
    with pytest.raises(tk.SerializationError, match="register_event_type"):
        await store.save_session(unregistered_trace())
    assert (await store.list_sessions()).sessions == []


@pytest.mark.parametrize(
    "session_id",
    [
        "a\x00b",
        "'; DROP TABLE sessions; --",
        'x" OR "1"="1',
        "é🧪中文",
        "",
        "\ud83d\ude00 joined".encode("utf-16", "surrogatepass").decode("utf-16"),
    ],
)
async def test_hostile_session_ids_round_trip(store: TursoManager, session_id: str) -> None:
    """NUL, quotes, SQL injection text and non-ASCII ids are stored and found exactly."""
    trace = trace_with(session_id=session_id, metadata={session_id: session_id})
    await store.save_session(trace)
    assert exact(trace, await store.get_session(session_id))


async def test_synth_ai_forms_round_trip_through_the_store(store: TursoManager) -> None:
    """Str and dict message content and epoch-second event times are converted once and read back exactly."""
    messages = [
        tk.SessionEventMarkovBlanketMessage(
            content="observe", message_type="observation", time_record=tk.TimeRecord(1_780_000_000.5)
        ),  # type: ignore[arg-type]
        tk.SessionEventMarkovBlanketMessage(
            content={"action": [1, 2]}, message_type="act", time_record=tk.TimeRecord(1_780_000_001)
        ),  # type: ignore[arg-type]
    ]
    trace = trace_with(session_id="synth", markov_blanket_message_history=messages)
    await store.save_session(trace)
    back = await store.get_session("synth")
    assert exact(trace, back)
    assert back.markov_blanket_message_history[0].content == tk.SessionMessageContent(text="observe")
    assert back.markov_blanket_message_history[1].content.json_payload == '{"action":[1,2]}'


async def test_free_text_surrogates_negative_zero_and_big_ints_round_trip(store: TursoManager) -> None:
    """Lone surrogates in free text, -0.0 and ints beyond 64 bits in free-form JSON come back exactly."""
    env = tk.EnvironmentEvent(system_instance_id="env", time_record=tk.TimeRecord(T0), reward=-0.0)
    trace = trace_with(
        session_id="edges",
        event_history=[env],
        metadata={"half": "\ud83d", "big": 2**70, "zero": -0.0, "nul": "\x00"},
    )
    await store.save_session(trace)
    back = await store.get_session("edges")
    assert exact(trace, back)
    assert math.copysign(1.0, back.metadata["zero"]) == -1.0


async def test_reading_an_id_that_cannot_be_stored_is_not_found(store: TursoManager) -> None:
    """get_session of an id with a lone surrogate (no save accepts one) is NotFoundError, not a bare error."""
    with pytest.raises(tk.NotFoundError, match="valid Unicode"):
        await store.get_session("a\ud83d")

"""The storage contract, run against an embedded file: database and a live sqld."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from factories import build_trace
from store.storebuilders import at, make_trace

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.store import TursoManager

HOSTILE = [
    "it's",
    'say "hi"',
    "'; DROP TABLE sessions; --",
    "a\x00b",
    "emoji 🧪🔥 and 中文",
    "back\\slash %_ wildcards",
    "",
]


async def test_round_trip_of_a_large_mixed_trace(store: TursoManager) -> None:
    """A trace with every event kind, custom events, nested call records and 40 timesteps reads back equal."""
    trace = make_trace("big", steps=40, seed=3)
    full = build_trace()
    trace.session_time_steps.extend(full.session_time_steps)
    trace.event_history.extend(full.event_history)
    trace.markov_blanket_message_history.extend(full.markov_blanket_message_history)
    trace.session_metadata = full.session_metadata
    assert await store.save_session(trace) == "saved"
    assert await store.get_session("big") == trace


async def test_factory_trace_round_trips_exactly(store: TursoManager) -> None:
    """The shared fully-populated trace (custom event type, unicode id) reads back equal."""
    trace = build_trace()
    await store.save_session(trace)
    assert await store.get_session(trace.session_id) == trace


async def test_events_only_in_timesteps_and_only_in_history_keep_their_places(store: TursoManager) -> None:
    """An event present only in a timestep, and one only in the history, come back where they were."""
    trace = make_trace("split", steps=2)
    extra_step_event = tk.RuntimeEvent(system_instance_id="rt", time_record=tk.TimeRecord(at(9)), actions=[1])
    extra_history_event = tk.RuntimeEvent(
        system_instance_id="rt", time_record=tk.TimeRecord(at(10)), actions=[2]
    )
    trace.session_time_steps[1].events.append(extra_step_event)
    trace.event_history.append(extra_history_event)
    await store.save_session(trace)
    back = await store.get_session("split")
    assert back == trace
    assert back.session_time_steps[1].events[-1].actions == [1]  # type: ignore[attr-defined]
    assert back.event_history[-1].actions == [2]  # type: ignore[attr-defined]


async def test_resave_replaces_and_keeps_one_copy(store: TursoManager) -> None:
    """Saving a session twice stores one copy; a different trace under the same id saved later wins."""
    first = make_trace("dup", steps=3, seed=1)
    await store.save_session(first)
    await store.save_session(first)
    rows = await store.execute(
        "SELECT (SELECT count(*) FROM sessions) AS s, (SELECT count(*) FROM llm_calls) AS c, "
        "(SELECT count(*) FROM events) AS e, (SELECT count(*) FROM messages) AS m"
    )
    assert rows == [{"s": 1, "c": 3, "e": 6, "m": 6}]
    second = make_trace("dup", steps=1, seed=2)
    await store.save_session(second)
    assert await store.get_session("dup") == second
    rows = await store.execute("SELECT count(*) AS c FROM llm_calls WHERE session_id = ?", ["dup"])
    assert rows == [{"c": 1}]


async def test_read_back_trace_resaves_to_the_same_rows(store: TursoManager) -> None:
    """Re-saving a trace that was read back (equal copies, not shared objects) stores no duplicate events."""
    await store.save_session(make_trace("again", steps=4))
    back = await store.get_session("again")
    await store.save_session(back)
    rows = await store.execute(
        "SELECT count(*) AS e, sum(in_history) AS h FROM events WHERE session_id = 'again'"
    )
    assert rows == [{"e": 8, "h": 8}]
    assert await store.get_session("again") == back


async def test_save_sessions_last_duplicate_wins(store: TursoManager) -> None:
    """save_sessions with a repeated session_id stores only the last of them."""
    older, newer = make_trace("x", steps=2, seed=1), make_trace("x", steps=3, seed=2)
    await store.save_sessions([older, make_trace("y"), newer])
    assert await store.get_session("x") == newer
    page = await store.list_sessions()
    assert [s.session_id for s in page.sessions] == ["x", "y"]


async def test_concurrent_saves_from_many_tasks(store: TursoManager) -> None:
    """Twenty tasks saving different sessions at once all land, each intact."""
    traces = [make_trace(f"c{i:02d}", steps=2, seed=i, created=i) for i in range(20)]
    outcomes = await asyncio.gather(*(store.save_session(t) for t in traces))
    assert outcomes == ["saved"] * 20
    for trace in traces:
        assert await store.get_session(trace.session_id) == trace


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_strings_round_trip(store: TursoManager, text: str) -> None:
    """Quotes, SQL fragments, NUL and emoji in ids and metadata are stored and matched unchanged."""
    trace = make_trace(f"id {text}", steps=1)
    trace.metadata = {text: text, "k": text}
    trace.session_time_steps[0].step_id = text
    await store.save_session(trace)
    assert await store.get_session(f"id {text}") == trace
    page = await store.list_sessions(metadata={"k": text})
    assert [s.session_id for s in page.sessions] == [f"id {text}"]
    assert page.sessions[0].metadata == {text: text, "k": text}


async def test_get_missing_session_raises_not_found(store: TursoManager) -> None:
    """Reading an id that was never saved raises NotFoundError (also a LookupError)."""
    with pytest.raises(tk.NotFoundError, match="no session 'nope'"):
        await store.get_session("nope")


async def test_delete_cascades_to_every_table(store: TursoManager) -> None:
    """Deleting a session removes its rows from every table and leaves other sessions alone."""
    await store.save_sessions([make_trace("gone", steps=3), make_trace("kept", steps=2)])
    exp = await store.create_experiment("e1")
    await store.link_session(exp, "gone")
    await store.add_outcome_reward("gone", 1.0)
    await store.add_event_reward("gone", 0.5, event_index=0)
    assert await store.delete_session("gone") is True
    assert await store.delete_session("gone") is False
    for table in (
        "sessions",
        "session_metadata",
        "timesteps",
        "events",
        "messages",
        "llm_calls",
        "llm_call_records",
        "tool_calls",
        "session_experiments",
        "outcome_rewards",
        "event_rewards",
    ):
        rows = await store.execute(f"SELECT count(*) AS n FROM {table} WHERE session_id = 'gone'")
        assert rows == [{"n": 0}], table
    assert await store.get_session("kept") == make_trace("kept", steps=2)


async def test_keyset_pagination_visits_every_session_once(store: TursoManager) -> None:
    """Paging 3 at a time through 10 sessions returns each once, in (created_at, id) order."""
    traces = [make_trace(f"p{i}", steps=1, created=float(i // 2)) for i in range(10)]
    await store.save_sessions(traces)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await store.list_sessions(limit=3, after=cursor)
        seen.extend(s.session_id for s in page.sessions)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"p{i}" for i in range(10)]
    assert pages == 4


async def test_bad_cursor_is_a_clear_error(store: TursoManager) -> None:
    """A cursor that was not produced by list_sessions is refused with a StoreError."""
    with pytest.raises(tk.StoreError, match="invalid page cursor"):
        await store.list_sessions(after="not-a-cursor")


async def test_list_filters(store: TursoManager) -> None:
    """Time range, experiment, model, metadata, min reward and has_error each select the right sessions."""
    a = make_trace("a", steps=1, seed=0, created=0)  # gpt-4o, success
    b = make_trace("b", steps=3, seed=1, created=10)  # includes an error outcome
    c = make_trace("c", steps=1, seed=2, created=20)  # gemini
    c.metadata = {"team": "red", "flag": True, "n": 3}
    await store.save_sessions([a, b, c])
    exp = await store.create_experiment("baseline", experiment_id="exp-1", metadata={"lr": 0.1})
    await store.link_session(exp, "b")
    await store.link_session(exp, "b")
    await store.add_outcome_reward("a", 0.25)
    await store.add_outcome_reward("c", 0.9)

    async def ids(**filters: object) -> list[str]:
        page = await store.list_sessions(**filters)  # type: ignore[arg-type]
        return [s.session_id for s in page.sessions]

    assert await ids(created_after=at(5)) == ["b", "c"]
    assert await ids(created_before=at(10)) == ["a"]
    assert await ids(created_after=at(5), created_before=at(20)) == ["b"]
    assert await ids(experiment_id="exp-1") == ["b"]
    assert await ids(model="gemini-2.5-flash") == ["b", "c"]
    assert await ids(model="gpt-4o") == ["a"]
    assert await ids(metadata={"team": "red", "flag": True}) == ["c"]
    assert await ids(metadata={"flag": 1}) == []
    assert await ids(metadata={"run": "r1"}) == ["a", "b"]
    assert await ids(min_reward=0.5) == ["c"]
    assert await ids(has_error=True) == ["b"]
    assert await ids(has_error=False) == ["a", "c"]
    experiments = await store.list_experiments()
    assert [(e["experiment_id"], e["name"], e["metadata"], e["session_count"]) for e in experiments] == [
        ("exp-1", "baseline", {"lr": 0.1}, 1)
    ]


async def test_session_experiments_lists_each_link_of_one_session(store: TursoManager) -> None:
    """session_experiments gives the experiments one session is linked to, with details, and no other."""
    await store.save_sessions([make_trace("linked", steps=1), make_trace("alone", steps=1)])
    await store.create_experiment(
        "baseline", experiment_id="exp-a", description="first", metadata={"lr": 0.1}
    )
    await store.create_experiment("ablation", experiment_id="exp-b")
    await store.link_session("exp-a", "linked")
    await store.link_session("exp-b", "linked")
    assert await store.session_experiments("linked") == [
        {"experiment_id": "exp-a", "name": "baseline", "description": "first", "metadata": {"lr": 0.1}},
        {"experiment_id": "exp-b", "name": "ablation", "description": None, "metadata": {}},
    ]
    assert await store.session_experiments("alone") == []
    assert await store.session_experiments("missing") == []


async def test_rewards_are_recorded_and_survive_a_resave(store: TursoManager) -> None:
    """Outcome and event rewards read back in order and are kept when the trace is saved again."""
    trace = make_trace("r", steps=2)
    await store.save_session(trace)
    first = await store.add_outcome_reward("r", 2.5, achievements_count=3, metadata={"why": "won"})
    second = await store.add_event_reward("r", -0.5, event_index=1, reward_type="shaped", key="step")
    await store.save_session(trace)
    rewards = await store.get_rewards("r")
    assert [
        (r["reward_id"], r["total_reward"], r["achievements_count"], r["metadata"])
        for r in rewards["outcome"]
    ] == [(first, 2.5, 3, {"why": "won"})]
    assert [
        (r["reward_id"], r["event_index"], r["reward_value"], r["reward_type"], r["key"])
        for r in rewards["event"]
    ] == [(second, 1, -0.5, "shaped", "step")]


async def test_rewards_for_unknown_sessions_and_nan_are_refused(store: TursoManager) -> None:
    """A reward for an unsaved session is NotFoundError; a NaN reward is a SerializationError."""
    with pytest.raises(tk.NotFoundError, match="no session 'ghost'"):
        await store.add_outcome_reward("ghost", 1.0)
    await store.save_session(make_trace("real", steps=1))
    with pytest.raises(tk.SerializationError, match="total_reward must be a finite number"):
        await store.add_outcome_reward("real", float("nan"))
    with pytest.raises(tk.NotFoundError, match="no experiment 'nope'"):
        await store.link_session("nope", "real")


async def test_iter_call_records_pages_through_all_calls(store: TursoManager) -> None:
    """Iterating with a small page size yields every stored call once, in (session, event, call) order."""
    traces = [make_trace(f"it{i}", steps=4, seed=i) for i in range(3)]
    await store.save_sessions(traces)
    expected = [
        c for t in traces for e in t.event_history if isinstance(e, tk.LMCAISEvent) for c in e.call_records
    ]
    got = [r async for r in store.iter_call_records(page_size=5)]
    assert got == expected
    only = [r async for r in store.iter_call_records(session_id="it1", model="gemini-2.5-flash")]
    assert [r.call_id for r in only] == ["call-1001"]


async def test_execute_runs_reads_and_refuses_writes(store: TursoManager) -> None:
    """execute() returns rows as dicts for SELECT/WITH and refuses statements that change data."""
    await store.save_session(make_trace("q", steps=2))
    rows = await store.execute(
        "SELECT model_name, input_tokens FROM llm_calls WHERE session_id = ? ORDER BY 1", ["q"]
    )
    assert rows == [
        {"model_name": "claude-sonnet-4-5", "input_tokens": 1001},
        {"model_name": "gpt-4o", "input_tokens": 1000},
    ]
    assert await store.execute("WITH x AS (SELECT 1 AS v) SELECT v FROM x") == [{"v": 1}]
    assert await store.execute("SELECT replace('a-b', '-', '+') AS v, 'DROP TABLE x' AS w") == [
        {"v": "a+b", "w": "DROP TABLE x"}
    ]
    for sql in (
        "DELETE FROM sessions",
        "WITH x AS (SELECT 1) DELETE FROM sessions",
        "SELECT 1; DROP TABLE sessions",
        "PRAGMA journal_mode = DELETE",
    ):
        with pytest.raises(tk.StoreError, match="read-only"):
            await store.execute(sql)
    assert (await store.list_sessions()).sessions[0].session_id == "q"


async def test_values_sqlite_cannot_hold_are_refused_before_writing(store: TursoManager) -> None:
    """A token count beyond 64 bits raises SerializationError naming the field, and nothing is stored."""
    trace = make_trace("big-int", steps=1)
    record = trace.session_time_steps[0].events[0].call_records[0]  # type: ignore[attr-defined]
    record.usage = dataclasses.replace(record.usage, input_tokens=2**63)
    with pytest.raises(
        tk.SerializationError,
        match=r"call_records\.0\.usage\.input_tokens: int 9223372036854775808 does not fit 64 bits",
    ):
        await store.save_session(trace)
    assert (await store.list_sessions()).sessions == []


async def test_saved_cost_is_exact_nanodollars(store: TursoManager) -> None:
    """Each call row carries the pricing module's integer nano-dollar cost and price table version."""
    trace = make_trace("cost", steps=4)
    await store.save_session(trace)
    rows = await store.execute(
        "SELECT call_id, cost_nanousd, price_table_version FROM llm_calls "
        "WHERE session_id = 'cost' ORDER BY call_id"
    )
    calls = {
        c.call_id: c for e in trace.event_history if isinstance(e, tk.LMCAISEvent) for c in e.call_records
    }
    expected = []
    for call_id in sorted(calls):
        cost = pricing.call_cost(calls[call_id])
        expected.append(
            {
                "call_id": call_id,
                "cost_nanousd": None if cost is None else cost.nanousd,
                "price_table_version": None if cost is None else cost.price_table_version,
            }
        )
    assert rows == expected
    assert [r["cost_nanousd"] is None for r in rows] == [False, False, False, True]

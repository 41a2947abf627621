"""SQL roll-ups equal tracekit.aggregate (the Python oracle) on the same stored calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from store.storebuilders import at, llm_call, make_trace

import tracekit as tk
from tracekit.analysis.aggregates import AggregateResult
from tracekit.store import TursoManager
from tracekit.store.server import SqldServer


def assert_same(sql: AggregateResult, python: AggregateResult) -> None:
    """Totals, groups and warnings equal field for field, means included (exact sums on both sides)."""
    assert sql.by == python.by
    assert sql.warnings == python.warnings
    assert [g.key for g in sql.groups] == [g.key for g in python.groups]
    assert sql.total.to_dict() == python.total.to_dict()
    assert [g.to_dict() for g in sql.groups] == [g.to_dict() for g in python.groups]
    assert (sql.total, sql.groups) == (python.total, python.groups)


def _traces() -> list[tk.SessionTrace]:
    traces = [make_trace(f"s{i}", steps=2 + i % 4, seed=i, created=i) for i in range(7)]
    # a session whose history is empty: its calls are counted from its timesteps
    steps_only = make_trace("steps-only", steps=3, seed=9, created=50)
    steps_only.event_history = []
    # a timestep without an id and an extra event that sits only in a timestep (not counted)
    odd = make_trace("odd", steps=2, seed=11, created=60)
    odd.session_time_steps[0].step_id = ""
    odd.session_time_steps[1].events.append(
        tk.LMCAISEvent(
            system_instance_id="",
            time_record=tk.TimeRecord(at(61)),
            call_records=[llm_call(7, model="gpt-4o")],
        )
    )
    odd.event_history.append(
        tk.LMCAISEvent(
            system_instance_id="", time_record=tk.TimeRecord(at(62)), call_records=[llm_call(8, model="")]
        )
    )
    return [*traces, steps_only, odd, *_invalid_traces()]


def _invalid_traces() -> list[tk.SessionTrace]:
    """Sessions every validity warning fires on: tool activity without LLM calls, an LM event
    without call records, calls held only by timesteps, and an unpriced call."""
    tools_only = make_trace("tools-only", steps=0, created=70)
    tools_only.event_history.append(
        tk.RuntimeEvent(system_instance_id="tool-runtime", time_record=tk.TimeRecord(at(71)), actions=[1])
    )
    tools_only.markov_blanket_message_history.append(
        tk.SessionEventMarkovBlanketMessage(
            content=tk.SessionMessageContent(text="ls"),
            message_type="tool_call",
            time_record=tk.TimeRecord(at(72)),
        )
    )
    # messages only in a timestep (no message history): they are the counted ones
    switches = make_trace("switches-only", steps=0, created=80)
    switches.session_time_steps.append(
        tk.SessionTimeStep(
            step_id="hand-off",
            events=[tk.LMCAISEvent(system_instance_id="planner", time_record=tk.TimeRecord(at(81)))],
            markov_blanket_messages=[
                tk.SessionEventMarkovBlanketMessage(
                    content=tk.SessionMessageContent(text="{}"),
                    message_type="tool_result",
                    time_record=tk.TimeRecord(at(82)),
                )
            ],
        )
    )
    empty_event = make_trace("empty-lm-event", steps=1, seed=3, created=90)
    empty_event.event_history.append(
        tk.LMCAISEvent(system_instance_id="critic", time_record=tk.TimeRecord(at(91)))
    )
    # a timestep event that is not in event_history: its call is held by a timestep only
    hidden = make_trace("step-calls", steps=1, seed=5, created=95)
    hidden.session_time_steps[0].events.append(
        tk.LMCAISEvent(
            system_instance_id="x",
            time_record=tk.TimeRecord(at(96)),
            call_records=[llm_call(9, model="model-nobody-prices")],
        )
    )
    unpriced = make_trace("unpriced", steps=1, seed=7, created=97)
    unpriced.event_history.append(
        tk.LMCAISEvent(
            system_instance_id="y",
            time_record=tk.TimeRecord(at(98)),
            call_records=[llm_call(10, model="model-nobody-prices"), llm_call(11, model="")],
        )
    )
    return [tools_only, switches, empty_event, hidden, unpriced]


@pytest.mark.parametrize("by", [None, "model", "provider", "agent", "session", "timestep"])
async def test_sql_aggregate_equals_python(store: TursoManager, by: Any) -> None:
    """For every grouping, the SQL roll-up equals tk.aggregate over the same traces."""
    traces = _traces()
    await store.save_sessions(traces)
    sql = await store.aggregate(by=by)
    assert_same(sql, tk.aggregate(traces, by=by))
    # no call reports cache writes: the sum is "not reported", not zero; cache reads are reported
    assert sql.total.cache_write_tokens is None
    assert sql.total.cache_read_tokens is not None


async def test_filtered_aggregate_equals_python_on_the_subset(store: TursoManager) -> None:
    """Session filters narrow the roll-up to exactly the calls of the matching sessions."""
    traces = _traces()
    await store.save_sessions(traces)
    exp = await store.create_experiment("subset")
    for sid in ("s1", "s4"):
        await store.link_session(exp, sid)
    subset = [t for t in traces if t.session_id in ("s1", "s4")]
    assert_same(await store.aggregate(by="model", experiment_id=exp), tk.aggregate(subset, by="model"))
    later = [t for t in traces if t.created_at >= at(3)]
    assert_same(await store.aggregate(by="agent", created_after=at(3)), tk.aggregate(later, by="agent"))
    chosen = [t for t in traces if t.session_id in ("s0", "odd")]
    assert_same(await store.aggregate(session_ids=["s0", "odd"]), tk.aggregate(chosen))


@pytest.mark.parametrize("by", [None, "model", "provider", "agent", "session", "timestep"])
async def test_filtered_aggregate_equals_python_for_every_grouping(store: TursoManager, by: Any) -> None:
    """Under a session filter every grouping, tool counts by name too, equals tk.aggregate of the subset."""
    traces = _traces()
    await store.save_sessions(traces)
    chosen = [t for t in traces if t.session_id in ("s2", "steps-only", "odd")]
    sql = await store.aggregate(by=by, session_ids=[t.session_id for t in chosen])
    assert_same(sql, tk.aggregate(chosen, by=by))
    # the subset's tool calls are counted, and only theirs
    assert sql.total.tool_calls_by_name
    assert sql.total.tool_calls_by_name != tk.aggregate(traces).total.tool_calls_by_name


@pytest.mark.parametrize("backend", ["file", pytest.param("sqld", marks=pytest.mark.sqld)])
async def test_sql_aggregate_carries_the_validity_warnings(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    """db.aggregate carries tk.aggregate's exact warnings (no LLM calls, empty LM events, calls only in
    timesteps, unpriced calls), over everything and within an experiment, on file: and on sqld."""
    invalid = _invalid_traces()
    traces = [make_trace("fine", steps=2, seed=1, created=1), *invalid]
    url = f"file:{tmp_path / 'w.db'}" if backend == "file" else request.getfixturevalue("sqld").url
    async with TursoManager(url, spool_path=tmp_path / "s.jsonl") as db:
        for summary in (await db.list_sessions(limit=1000)).sessions:
            await db.delete_session(summary.session_id)
        await db.save_sessions(traces)
        python = tk.aggregate(traces)
        assert [w.split(":")[0] for w in python.warnings] == [
            "session 'empty-lm-event'",
            "session 'step-calls'",
            "session 'switches-only'",
            "session 'tools-only'",
            "4 of 7 LLM call(s) are unpriced and not in cost_usd",
        ]
        assert "1 runtime event(s), 1 tool message(s) and 0 LM event(s)" in python.warnings[3]
        assert "0 runtime event(s), 1 tool message(s) and 1 LM event(s)" in python.warnings[2]
        for by in (None, "model", "session"):
            assert_same(await db.aggregate(by=by), tk.aggregate(traces, by=by))
        exp = await db.create_experiment("benchmark")
        for sid in ("fine", "tools-only"):
            await db.link_session(exp, sid)
        in_exp = await db.aggregate(experiment_id=exp)
        assert_same(in_exp, tk.aggregate(traces[:2]))
        assert len(in_exp.warnings) == 1
        assert "session 'tools-only': no LLM calls recorded" in in_exp.warnings[0]


async def test_empty_store_aggregates_to_zeros(store: TursoManager) -> None:
    """With nothing stored the roll-up equals tk.aggregate of no items (zero counts, None sums)."""
    assert_same(await store.aggregate(by="model"), tk.aggregate([], by="model"))
    assert_same(await store.aggregate(), tk.aggregate([]))


async def test_unknown_group_is_refused(store: TursoManager) -> None:
    """aggregate(by=...) with an unsupported key raises StoreError naming the choices."""
    with pytest.raises(tk.StoreError, match="cannot group by 'color'"):
        await store.aggregate(by="color")  # type: ignore[arg-type]


latencies = st.lists(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=40
)


@settings(deadline=None, max_examples=25)
@given(values=latencies)
def test_percentiles_match_python_for_any_values(
    tmp_path_factory: pytest.TempPathFactory, values: list[float]
) -> None:
    """Nearest-rank percentiles, min, max and count from SQL equal Python's for arbitrary latencies."""
    import asyncio

    path: Path = tmp_path_factory.mktemp("prop") / "p.db"
    trace = make_trace("prop", steps=len(values), seed=0)
    for step, value in zip(trace.session_time_steps, values, strict=True):
        step.events[0].call_records[0].latency_ms = value  # type: ignore[attr-defined]

    async def check() -> None:
        async with TursoManager(f"file:{path}") as db:
            await db.save_session(trace)
            assert_same(await db.aggregate(by="model"), tk.aggregate([trace], by="model"))

    asyncio.run(check())


_NOTABLE = [
    0.0,
    5e-324,  # the smallest subnormal: bits far below what the SQL split holds
    1e-7,
    2.0**-12,
    0.1,
    1 / 3,
    123.456789,
    3e12,  # past what the cheaper two-integer split holds
    2.0**52 + 1,
    2.0**63,  # CAST(v AS INTEGER) saturates from here: the roll-up fetches values instead
    1e300,
    1.7e308,  # two of these overflow a float sum; the mean is still finite
]
measure = st.one_of(
    st.none(),
    st.sampled_from(_NOTABLE),
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(min_value=0.0, max_value=1e-3, allow_nan=False, allow_infinity=False),
)
call_specs = st.lists(
    st.tuples(
        st.integers(0, 2),  # session
        st.sampled_from(["gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash", "unknown-model", ""]),
        measure,  # latency_ms
        st.one_of(st.none(), st.tuples(measure, measure, measure)),  # ttft, tpot, tokens/s
    ),
    min_size=1,
    max_size=12,
)


def _call_traces(specs: list[tuple[int, str, float | None, Any]]) -> list[tk.SessionTrace]:
    traces = [make_trace(f"p{s}", steps=0, created=s) for s in range(3)]
    for i, (session, model, latency, timing) in enumerate(specs):
        call = llm_call(i, model=model)
        call.latency_ms = latency
        call.timing = None if timing is None else tk.LLMTiming(*timing)
        event = tk.LMCAISEvent(
            system_instance_id=f"agent-{i % 2}", time_record=tk.TimeRecord(at(i)), call_records=[call]
        )
        step = tk.SessionTimeStep(step_id=f"step-{i % 3}", turn_number=i, events=[event])
        traces[session].session_time_steps.append(step)
        traces[session].event_history.append(event)
    return traces


@pytest.mark.parametrize("backend", ["file", pytest.param("sqld", marks=pytest.mark.sqld)])
@settings(
    deadline=None,
    max_examples=10,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(specs=call_specs)
@example(  # two-integer split sums in SQL, the tiny values corrected in Python
    specs=[
        (0, "gpt-4o", 5e-324, (1e-7, 0.1, 0.25)),
        (1, "", 1e-3 / 7, (1 / 3, 123.456789, 2.0**40 + 0.5)),
        (2, "gpt-4o", 2.0**-13 * 3, None),
    ]
)
@example(  # a value past 2**41: three-integer split sums
    specs=[
        (0, "gpt-4o", 3e12, (2.0**52 + 1, 1e-7, 0.1)),
        (1, "", 2.0**-12, (1 / 3, 5e-324, 123.456789)),
    ]
)
@example(  # a value at 2**63 or a float sum beyond float range: the values are fetched instead
    specs=[
        (0, "gpt-4o", 1.7e308, (5e-324, 2.0**63, 1e-7)),
        (0, "gpt-4o", 1.7e308, (0.1, 1.0, 2.0)),
        (1, "", 2.0**-12, (1 / 3, 1e300, 123.456789)),
    ]
)
@example(  # split sums beyond 64 bits (SQLite: integer overflow): the values are fetched instead
    specs=[(0, "gpt-4o", 9e18, None), (1, "gpt-4o", 9e18, None), (2, "", 1e-9, None)]
)
def test_sql_aggregate_equals_python_exactly_for_any_calls(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    backend: str,
    specs: list[tuple[int, str, float | None, Any]],
) -> None:
    """For random call sets (tiny, subnormal, huge and overflowing measures included), every
    grouping and a session filter: db.aggregate == tk.aggregate field for field, means with ==."""
    import asyncio

    traces = _call_traces(specs)
    if backend == "file":
        url = f"file:{tmp_path_factory.mktemp('exact') / 'e.db'}"
    else:
        server: SqldServer = request.getfixturevalue("sqld")
        url = server.url

    async def check() -> None:
        async with TursoManager(url, spool_path=tmp_path_factory.mktemp("spool") / "s.jsonl") as db:
            for summary in (await db.list_sessions(limit=1000)).sessions:
                await db.delete_session(summary.session_id)
            await db.save_sessions(traces)
            for by in (None, "model", "provider", "agent", "session", "timestep"):
                assert_same(await db.aggregate(by=by), tk.aggregate(traces, by=by))
            chosen = [traces[0], traces[2]]
            assert_same(
                await db.aggregate(by="model", session_ids=["p0", "p2"]), tk.aggregate(chosen, by="model")
            )

    asyncio.run(check())

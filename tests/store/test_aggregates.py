"""SQL roll-ups equal tracekit.aggregate (the Python oracle) on the same stored calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store.storebuilders import at, llm_call, make_trace

import tracekit as tk
from tracekit.aggregates import AggregateResult, GroupAggregate
from tracekit.store import TursoManager

DISTRIBUTIONS = ("latency_ms", "ttft_ms", "tpot_ms", "output_tokens_per_second")


def _split_means(group: GroupAggregate) -> tuple[dict[str, Any], dict[str, float | None]]:
    data = group.to_dict()
    means = {name: data[name].pop("mean") for name in DISTRIBUTIONS}
    return data, means


def assert_same(sql: AggregateResult, python: AggregateResult) -> None:
    """Totals and groups equal exactly, means to 1e-12 (SQL sums vs math.fsum)."""
    assert sql.by == python.by
    pairs = [(sql.total, python.total)]
    assert [g.key for g in sql.groups] == [g.key for g in python.groups]
    pairs += list(zip(sql.groups, python.groups, strict=True))
    for got, want in pairs:
        got_data, got_means = _split_means(got)
        want_data, want_means = _split_means(want)
        assert got_data == want_data
        for name in DISTRIBUTIONS:
            if want_means[name] is None:
                assert got_means[name] is None
            else:
                assert got_means[name] == pytest.approx(want_means[name], rel=1e-12)


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
    return [*traces, steps_only, odd]


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

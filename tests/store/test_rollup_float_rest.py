"""The call-row roll-up's first split (an integer part and a float rest a value): exact means, and
its ways back to the integer split, equal to tk.aggregate."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from store.storebuilders import at, llm_call, make_trace
from store.test_aggregates import assert_same

import tracekit as tk
from tracekit.store import TursoManager, rollup
from tracekit.store.libsql import Database
from tracekit.store.queries import SessionFilter

_GROUPINGS = (None, "model", "provider", "agent", "session", "timestep")


def _trace(session_id: str, stepped: list[float | None], loose: list[float | None]) -> tk.SessionTrace:
    """A session whose timestep "s" holds a call per `stepped` value (one model and outcome: one group
    row of the timestep index), and a call per `loose` value in no timestep (the None step); each value
    is the call's latency and ttft."""
    trace = make_trace(session_id, steps=0)
    events: list[tk.LMCAISEvent] = []
    for i, value in enumerate([*stepped, *loose]):
        call = llm_call(i, model="gpt-4o")
        call.latency_ms = value
        call.timing = tk.LLMTiming(ttft_ms=value)
        event = tk.LMCAISEvent(system_instance_id="a", time_record=tk.TimeRecord(at(i)), call_records=[call])
        events.append(event)
        trace.event_history.append(event)
    trace.session_time_steps.append(
        tk.SessionTimeStep(step_id="s", step_index=0, events=events[: len(stepped)])
    )
    return trace


async def _check_call_rows(url: str, traces: list[tk.SessionTrace]) -> None:
    """Every grouping from the call rows (the summaries removed, as after a cut-short back-fill)
    equals tk.aggregate."""
    raw = Database(url)
    await raw.open()
    try:
        await raw.execute("UPDATE sessions SET rollup_json = NULL")
        for by in _GROUPINGS:
            assert_same(await rollup.aggregate(raw, by, SessionFilter()), tk.aggregate(traces, by=by))
    finally:
        await raw.close()


async def test_a_rest_below_the_float_sums_reach_takes_the_integer_split(store: TursoManager) -> None:
    """A group holding a value below 2**-2 whose low bits a float sum of the rests would round away
    (here the bit that decides the rounding of the exact sum, 1 + 2**-53 + 2**-105) is summed with
    the integer split instead: the mean equals tk.aggregate's."""
    trace = _trace("f", [0.5 + 2.0**-23, 0.5 - 2.0**-23, 2.0**-53 + 2.0**-105], [])
    await store.save_session(trace)
    expected = tk.aggregate([trace], by="timestep")
    assert expected.groups[0].latency_ms.mean == (1 + 2.0**-52) / 3  # the low bit rounds the sum up
    assert_same(await store.aggregate(by="timestep"), expected)


async def test_a_group_past_the_float_rest_count_takes_the_integer_split(
    store: TursoManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group row with more values than the float rest may sum (2**21; lowered here to 2) is summed
    with the integer split: still equal to tk.aggregate."""
    monkeypatch.setattr(rollup, "_FLOAT_REST_COUNT", 2)
    trace = _trace("g", [0.1, 1 / 3, 123.456789, 2.0**40 + 0.5], [0.7])
    await store.save_session(trace)
    assert_same(await store.aggregate(by="timestep"), tk.aggregate([trace], by="timestep"))


def test_a_value_past_the_range_skips_the_splits_of_the_same_range() -> None:
    """Past `big` (or an integer overflow) the next split tried has a larger range; a group too large
    for the float rest moves to the integer split of the same range."""
    splits = rollup._SPLITS
    first = splits[0]
    assert first is not None
    assert first.float_rest
    bigger = splits[rollup._next_split(0, magnitude=True)]
    assert bigger is not None
    assert bigger.big > first.big
    same = splits[rollup._next_split(0, magnitude=False)]
    assert same is not None
    assert (same.float_rest, same.big) == (False, first.big)
    assert splits[rollup._next_split(len(splits) - 2, magnitude=True)] is None


_values = st.one_of(
    st.none(),
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(min_value=0.0, max_value=0.25, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.25, 0.25 - 2.0**-54, 2.0**-30 * 3, 2.0**41 - 1, 2.0**41, 5e-324, 1e300]),
)


@settings(
    deadline=None,
    max_examples=25,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(stepped=st.lists(_values, min_size=1, max_size=40), loose=st.lists(_values, max_size=5))
@example(stepped=[0.5 + 2.0**-23, 0.5 - 2.0**-23, 2.0**-53 + 2.0**-105], loose=[None])
@example(stepped=[1e300, 1e300, 0.1], loose=[2.0**41])  # rests past float range: fetched values
def test_call_row_roll_up_equals_python_for_any_values(
    tmp_path_factory: pytest.TempPathFactory, stepped: list[float | None], loose: list[float | None]
) -> None:
    """Random values in one group row (zeros, tiny, subnormal, boundary and huge ones, None) and in no
    timestep: every grouping from the call rows equals tk.aggregate, means with ==."""
    folder = tmp_path_factory.mktemp("rest")
    url = f"file:{folder / 'r.db'}"
    traces = [_trace("r", stepped, loose)]

    async def check() -> None:
        async with TursoManager(url, spool_path=folder / "s.jsonl") as db:
            await db.save_sessions(traces)
            assert_same(await db.aggregate(by="timestep"), tk.aggregate(traces, by="timestep"))
        await _check_call_rows(url, traces)

    asyncio.run(check())

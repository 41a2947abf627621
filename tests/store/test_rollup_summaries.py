"""Per-session roll-up summaries: exact sums, and roll-ups from them equal to tk.aggregate."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store.storebuilders import at, llm_call, make_trace
from store.test_aggregates import assert_same

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.rollup_rows import ExactSum

finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, derandomize=True)
@given(values=st.lists(finite, max_size=30), split=st.integers(0, 30))
def test_exact_sum_equals_the_fraction_sum_in_any_grouping(values: list[float], split: int) -> None:
    """ExactSum of any finite floats (subnormal, huge, mixed signs), summed whole or as two merged
    parts, is exactly their Fraction sum, and rounds to math.fsum's float when that is finite."""
    whole, first, second = ExactSum(), ExactSum(), ExactSum()
    for i, value in enumerate(values):
        whole.add_float(value)
        (first if i < split else second).add_float(value)
    first.add(second.mantissa, second.exponent)
    exact = sum((Fraction(v) for v in values), Fraction(0))
    assert whole.fraction() == exact
    assert first.fraction() == exact
    try:
        rounded = math.fsum(values)
    except OverflowError:
        return
    assert float(exact) == rounded


def _provider_traces(missing: str | None) -> list[tk.SessionTrace]:
    """Sessions whose calls with no provider all hold `missing` (None or "") as their provider."""
    traces = [make_trace(f"p{i}", steps=4, seed=i, created=i) for i in range(3)]
    for i, trace in enumerate(traces):
        call = llm_call(100 + i, model="in-house")
        call.provider = missing
        event = tk.LMCAISEvent(
            system_instance_id="", time_record=tk.TimeRecord(at(200 + i)), call_records=[call]
        )
        trace.event_history.append(event)
    return traces


@pytest.mark.parametrize("missing", [None, ""])
async def test_provider_roll_up_picks_the_missing_provider_group_by_index(
    store: TursoManager, missing: Any
) -> None:
    """by="provider" and by="agent" over calls whose missing key is all NULL or all "" equal
    tk.aggregate (their None group's percentiles come from one index range)."""
    traces = _provider_traces(missing)
    await store.save_sessions(traces)
    for by in ("provider", "agent", "model", None):
        assert_same(await store.aggregate(by=by), tk.aggregate(traces, by=by))


async def test_session_roll_up_percentiles_come_from_each_summary(store: TursoManager) -> None:
    """by="session" (unfiltered and filtered) equals tk.aggregate, percentiles per session included."""
    traces = [make_trace(f"s{i}", steps=3 + i, seed=i, created=i) for i in range(4)]
    traces[2].session_id = ""
    await store.save_sessions(traces)
    assert_same(await store.aggregate(by="session"), tk.aggregate(traces, by="session"))
    chosen = [traces[0], traces[2]]
    assert_same(
        await store.aggregate(by="session", session_ids=["s0", ""]), tk.aggregate(chosen, by="session")
    )

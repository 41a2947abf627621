"""The save path's rows equal, column by column, what the mapping gave before it was cut (rows_reference.py):
for the tests' trace factories, real vendor records, hostile values, unicode, big ints, None-heavy and
error records; a trace either mapping refuses is refused by both with the same error."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from codec_fuzzing import _vendor_records
from factories import T0, build_trace
from hostile import in_trace, mutated, mutations, trace_with
from hypothesis import given, settings
from store import rows_reference
from store.storebuilders import make_trace

import tracekit as tk
from tracekit import codec
from tracekit.errors import TracekitError
from tracekit.store import mapping

SAVED_AT = "2026-01-01T00:00:00.000000+00:00"


def _cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    if record.call_id == "priceless":
        return 2**64, "v1"  # beyond SQLite's integers: refused
    return (None, None) if record.usage is None else (len(record.call_id) * 1000, "v1")


def _outcome(build: Any) -> tuple[str, Any]:
    """("rows", every table's rows) or ("refused", the error's type, message and path)."""
    try:
        rows = build()
    except TracekitError as exc:
        return "refused", (type(exc), str(exc), getattr(exc, "path", None))
    return "rows", (rows.session_id, rows.tables)


def _assert_same_rows(trace: Any) -> None:
    ours = _outcome(lambda: mapping.trace_rows(trace, saved_at=SAVED_AT, cost=_cost))
    before = _outcome(lambda: rows_reference.trace_rows(trace, saved_at=SAVED_AT, cost=_cost))
    assert ours[0] == before[0], (ours, before)
    if ours[0] == "refused":
        assert ours == before
        return
    (sid, tables), (sid_before, tables_before) = ours[1], before[1]
    assert sid == sid_before
    assert list(tables) == list(tables_before)
    for name, rows in tables.items():
        assert len(rows) == len(tables_before[name]), name
        for row, row_before in zip(rows, tables_before[name], strict=True):
            assert type(row) is tuple
            assert len(row) == len(row_before), name
            for column, (value, value_before) in enumerate(zip(row, row_before, strict=True)):
                assert type(value) is type(value_before), (name, column, value, value_before)
                assert value == value_before, (name, column, value, value_before)


def _call_trace(**fields: Any) -> tk.SessionTrace:
    record = tk.LLMCallRecord(**{"call_id": "c", "api_type": "responses", **fields})
    event = tk.LMCAISEvent(system_instance_id="a", time_record=tk.TimeRecord(T0), call_records=[record])
    step = tk.SessionTimeStep(step_id="s", timestamp=T0, events=[event])
    return trace_with(event_history=[event], session_time_steps=[step])


_PLUS5 = timezone(timedelta(hours=5))

CASES: dict[str, Any] = {
    "factory trace": build_trace,
    "store trace": lambda: make_trace("store", steps=7, seed=3, created=12.5),
    "bench-sized trace": lambda: make_trace("bench", steps=100, seed=1),
    "empty trace": lambda: trace_with(),
    "None-heavy call": lambda: _call_trace(),
    "error call": lambda: _call_trace(outcome="error", error={"message": "boom \u2603", "code": 2**40}),
    "unicode everywhere": lambda: trace_with(
        session_id="s\u00e9\u2603\U0001f600", metadata={"k\u00ef": "\u00e9\u4e2d\U0001f680", "e-1": "e-5"}
    ),
    "big ints in metadata": lambda: trace_with(metadata={"big": 2**70, "neg": -(2**64), "n": [2**63]}),
    "tiny floats (orjson spells them otherwise)": lambda: trace_with(
        metadata={"a": 1e-05, "b": 1.5e-7, "c": 0.00001234, "d": -0.0}
    ),
    "lone surrogate": lambda: trace_with(metadata={"s": "x\ud800y"}),
    "surrogate pair as two code points": lambda: trace_with(metadata={"s": "\ud83d\ude00"}),
    "datetimes at a whole second": lambda: trace_with(
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        session_time_steps=[
            tk.SessionTimeStep(step_id="s", timestamp=datetime(1, 1, 1, tzinfo=UTC)),
            tk.SessionTimeStep(step_id="t", timestamp=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ],
    ),
    "datetime not in UTC": lambda: _call_trace(started_at=datetime(2026, 1, 1, 12, 0, 0, 5, tzinfo=_PLUS5)),
    "naive datetime": lambda: _call_trace(started_at=datetime(2026, 1, 1)),  # noqa: DTZ001
    "cost out of range": lambda: _call_trace(call_id="priceless", usage=tk.LLMUsage(input_tokens=1)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_rows_equal_the_mapping_before_the_cut(name: str) -> None:
    """Every row and column (values and types) of each case, or the same refusal."""
    _assert_same_rows(CASES[name]())


def test_real_vendor_records_map_to_the_same_rows() -> None:
    """The records every vendor response and stream fixture normalises to, in one trace."""
    records = [codec.from_dict(tk.LLMCallRecord, data) for data in _vendor_records().values()]
    assert len(records) > 10
    events = [
        tk.LMCAISEvent(system_instance_id=f"agent-{i}", time_record=tk.TimeRecord(T0), call_records=[record])
        for i, record in enumerate(records)
    ]
    steps = [tk.SessionTimeStep(step_id=f"s{i}", timestamp=T0, events=[e]) for i, e in enumerate(events)]
    _assert_same_rows(trace_with(event_history=events, session_time_steps=steps))


@settings(derandomize=True, max_examples=400, deadline=None)
@given(mutations())
def test_hostile_values_map_to_the_same_rows_or_the_same_refusal(mutation: tuple[type, str, Any]) -> None:
    """A wrong-typed or extreme value in any field of any record, where such a record lives."""
    cls, name, value = mutation
    try:
        obj = mutated(cls, name, value)
    except (TypeError, ValueError):  # the constructor itself refused it: nothing to save
        return
    _assert_same_rows(in_trace(obj, "hostile"))


def test_the_text_walk_maps_a_usual_trace() -> None:
    """A usual trace takes the fast way (the checked way is only the fallback) and gives its rows."""
    trace = make_trace("fast", steps=20, seed=2)
    rows = mapping.text_trace_rows(trace, saved_at=SAVED_AT, cost=_cost)
    assert rows is not None
    assert rows == mapping.checked_trace_rows(trace, saved_at=SAVED_AT, cost=_cost)


@pytest.mark.parametrize(
    "metadata", [{"a": 1e-05}, {"s": "x\ud800y"}, {"big": 2**70}], ids=["tiny float", "surrogate", "big int"]
)
def test_the_text_walk_declines_what_orjson_would_write_otherwise(metadata: dict[str, Any]) -> None:
    """A value orjson refuses or spells otherwise sends the save the checked way, whose text it keeps."""
    trace = trace_with(metadata=metadata)
    assert mapping.text_trace_rows(trace, saved_at=SAVED_AT, cost=_cost) is None
    rows = mapping.trace_rows(trace, saved_at=SAVED_AT, cost=_cost).tables["sessions"][0]
    assert rows[8] == codec.dumps(metadata)


def test_a_shared_datetime_object_is_written_in_every_column() -> None:
    """One datetime object held by many records (the usual `now` reused) gives each column its text."""
    when = datetime(2026, 5, 6, 7, 8, 9, 10, tzinfo=UTC)
    trace = dataclasses.replace(make_trace("shared", steps=3), created_at=when)
    for step in trace.session_time_steps:
        step.timestamp = when
    _assert_same_rows(trace)
    rows = mapping.trace_rows(trace, saved_at=SAVED_AT, cost=_cost).tables
    assert {row[5] for row in rows["timesteps"]} == {"2026-05-06T07:08:09.000010+00:00"}

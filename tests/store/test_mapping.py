"""Row mapping and SQL building are pure and respect the table shapes and SQLite's limits."""

from __future__ import annotations

from store.storebuilders import make_trace

from tracekit.store import schema, writer
from tracekit.store.mapping import trace_from_rows, trace_rows

SAVED_AT = "2026-01-01T00:00:00.000000+00:00"


def _cost(record: object) -> tuple[int | None, str | None]:
    return 7, "test"


def test_every_row_has_its_table_width() -> None:
    """Each row tuple has exactly as many values as its table has columns."""
    rows = trace_rows(make_trace("w", steps=5), saved_at=SAVED_AT, cost=_cost)
    tables = {t.name: t for t in schema.metadata.sorted_tables}
    for name, table_rows in rows.tables.items():
        assert table_rows, name
        assert {len(r) for r in table_rows} == {len(tables[name].columns)}, name


def test_rows_of_a_trace_rebuild_it() -> None:
    """trace_from_rows of the rows trace_rows made gives back an equal trace."""
    trace = make_trace("pure", steps=4)
    t = trace_rows(trace, saved_at=SAVED_AT, cost=_cost).tables
    back = trace_from_rows(
        t["sessions"][0][[c.name for c in schema.sessions.columns].index("trace_json")],
        [r[-1] for r in t["timesteps"]],
        [(r[1], r[2], r[3], r[4], r[-1]) for r in t["events"]],
        [(r[1], r[-1]) for r in t["llm_call_records"]],
        [(r[1], r[2], r[3], r[4], r[-1]) for r in t["messages"]],
    )
    assert back == trace


def test_tool_rows_repeat_their_calls_rollup_facts() -> None:
    """Each tool_calls row carries its call's in_rollup and group-key columns, so roll-ups need no join."""
    trace = make_trace("keys", steps=6)
    # the last LLM event (two tool calls) stays in its timestep only: not counted, in_rollup 0
    trace.event_history.remove(trace.session_time_steps[-1].events[0])
    t = trace_rows(trace, saved_at=SAVED_AT, cost=_cost).tables
    names = [c.name for c in schema.llm_calls.columns]
    calls = {r[1:3]: dict(zip(names, r, strict=True)) for r in t["llm_calls"]}
    shared = ("in_rollup", "step_id", "system_instance_id", "model_name", "provider")
    tool_names = [c.name for c in schema.tool_calls.columns]
    tools = [dict(zip(tool_names, r, strict=True)) for r in t["tool_calls"]]
    assert {tool["in_rollup"] for tool in tools} == {0, 1}
    for tool in tools:
        call = calls[(tool["event_index"], tool["call_index"])]
        assert {k: tool[k] for k in shared} == {k: call[k] for k in shared}


def test_counts_cover_every_row() -> None:
    """A session of 100 timesteps maps to 1 + 2 + 100 + 200 + 200 + 100 + 100 + tool rows."""
    rows = trace_rows(make_trace("n", steps=100), saved_at=SAVED_AT, cost=_cost)
    sizes = {name: len(r) for name, r in rows.tables.items()}
    assert sizes == {
        "sessions": 1,
        "session_metadata": 2,
        "timesteps": 100,
        "events": 200,
        "messages": 200,
        "llm_calls": 100,
        "llm_call_records": 100,
        "tool_calls": 99,
    }
    assert rows.count() == 802


def test_inserts_stay_under_the_variable_limit() -> None:
    """Multi-row INSERTs are split so no statement binds more than MAX_VARIABLES values."""
    rows = trace_rows(make_trace("many", steps=2000), saved_at=SAVED_AT, cost=_cost)
    statements = writer.save_statements([rows])
    call_inserts = [s for s in statements if s[0].startswith("INSERT INTO llm_calls ")]
    assert len(call_inserts) == -(-2000 // writer.rows_per_statement(schema.llm_calls))
    assert len(call_inserts) > 1
    assert max(len(params) for _sql, params in statements) <= writer.MAX_VARIABLES
    assert sum(len(p) for sql, p in call_inserts) == 2000 * len(schema.llm_calls.columns)

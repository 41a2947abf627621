"""Notebook views: rows, DataFrames and plots of sessions, calls, tool calls and aggregates."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib
import pytest

import tracekit as tk
from tracekit import notebook as nb
from tracekit.store import SyncTursoManager

matplotlib.use("Agg")

T0 = datetime(2026, 6, 1, 8, 0, 0, tzinfo=UTC)


def call(
    call_id: str, model: str, latency: float, tokens: tuple[int, int] | None, tools: int = 0
) -> tk.LLMCallRecord:
    """A call record with the given numbers (tool calls named t0, t1, ...)."""
    return tk.LLMCallRecord(
        call_id=call_id,
        api_type="chat_completions",
        provider="openai",
        model_name=model,
        started_at=T0,
        latency_ms=latency,
        output_text="ok",
        output_tool_calls=[
            tk.ToolCallSpec(name=f"t{k}", arguments_json="{}", arguments={}, call_id=f"{call_id}-{k}")
            for k in range(tools)
        ],
        tool_results=[tk.ToolCallResult(call_id=f"{call_id}-0", status="ok", duration_ms=12.5)]
        if tools
        else [],
        usage=None if tokens is None else tk.LLMUsage(input_tokens=tokens[0], output_tokens=tokens[1]),
        outcome="success",
    )


def traces() -> list[tk.SessionTrace]:
    """Two sessions: planner calls to gpt-4o, a critic call to an unpriced model."""
    planner = [call("c1", "gpt-4o", 100.0, (1000, 100), tools=2), call("c2", "gpt-4o", 300.0, (2000, 200))]
    critic = [call("c3", "mystery-model", 50.0, (10, 5))]
    return [
        tk.SessionTrace(
            session_id="s1",
            created_at=T0,
            event_history=[tk.LMCAISEvent(system_instance_id="planner", call_records=planner)],
            metadata={"run": 1},
        ),
        tk.SessionTrace(
            session_id="s2",
            created_at=T0 + timedelta(seconds=1),
            event_history=[tk.LMCAISEvent(system_instance_id="critic", call_records=critic)],
        ),
    ]


def test_call_rows_carry_session_agent_and_numbers() -> None:
    """Call rows name their session, agent and event, with tokens, latency and exact cost."""
    rows = nb.to_records(traces(), kind="calls")
    assert [(r["session_id"], r["agent"], r["event_index"], r["call_id"]) for r in rows] == [
        ("s1", "planner", 0, "c1"),
        ("s1", "planner", 0, "c2"),
        ("s2", "critic", 0, "c3"),
    ]
    assert rows[0]["input_tokens"] == 1000
    assert rows[0]["latency_ms"] == 100.0
    assert rows[0]["started_at"] == "2026-06-01T08:00:00.000000+00:00"
    assert rows[0]["cost_usd"] == tk.estimate_cost(
        "gpt-4o", tk.LLMUsage(input_tokens=1000, output_tokens=100)
    )
    assert rows[2]["cost_usd"] is None
    assert rows[0]["tool_call_count"] == 2


def test_tool_call_rows_match_results() -> None:
    """Tool call rows list each requested call in order, joined to its result when there is one."""
    rows = nb.to_records(traces(), kind="tool_calls")
    assert [
        (r["llm_call_id"], r["position"], r["name"], r["result_status"], r["result_duration_ms"])
        for r in rows
    ] == [
        ("c1", 0, "t0", "ok", 12.5),
        ("c1", 1, "t1", None, None),
    ]


def test_aggregate_rows_flatten_distributions() -> None:
    """An AggregateResult gives one row per group with distributions flattened (latency_ms_p50, ...)."""
    result = tk.aggregate(traces(), by="model")
    rows = nb.to_records(result)
    assert [(r["key"], r["call_count"], r["latency_ms_p50"], r["latency_ms_max"]) for r in rows] == [
        ("gpt-4o", 2, 100.0, 300.0),
        ("mystery-model", 1, 50.0, 50.0),
    ]
    assert rows[1]["unpriced_call_count"] == 1
    assert nb.to_records(tk.aggregate(traces()))[0]["call_count"] == 3


def test_session_rows_from_traces_and_from_the_store(tmp_path: Path) -> None:
    """Session rows come from traces (their roll-ups) and from list_sessions pages (their summaries)."""
    from_traces = nb.to_records(traces(), kind="sessions")
    assert [(r["session_id"], r["llm_call_count"], r["metadata"]) for r in from_traces] == [
        ("s1", 2, {"run": 1}),
        ("s2", 1, {}),
    ]
    with SyncTursoManager(f"file:{tmp_path / 't.db'}") as db:
        db.save_sessions(traces())
        rows = nb.to_records(db.list_sessions())
    assert [(r["session_id"], r["num_llm_calls"], r["created_at"]) for r in rows] == [
        ("s1", 2, "2026-06-01T08:00:00.000000+00:00"),
        ("s2", 1, "2026-06-01T08:00:01.000000+00:00"),
    ]


async def test_sync_manager_inside_a_running_loop_feeds_a_dataframe(tmp_path: Path) -> None:
    """As in Jupyter (a loop already running): SyncTursoManager calls work and become DataFrames."""
    db = SyncTursoManager(f"file:{tmp_path / 'nb.db'}")
    try:
        db.save_sessions(traces())
        frame = nb.to_dataframe(db.iter_call_records(), kind="calls")
        by_model = nb.to_dataframe(db.aggregate(by="model"))
    finally:
        db.close()
    assert list(frame["call_id"]) == ["c1", "c2", "c3"]
    assert list(frame["session_id"]) == [None, None, None]  # bare records: no session around them
    assert frame["output_tokens"].sum() == 305
    assert list(by_model["key"]) == ["gpt-4o", "mystery-model"]
    assert list(by_model["call_count"]) == [2, 1]


def test_plot_latency_bars_are_the_percentiles() -> None:
    """plot_latency draws one bar container per percentile whose heights are the groups' values."""
    figure = nb.plot_latency(traces(), by="agent", percentiles=("p50", "max"))
    axes = figure.axes[0]
    heights = [[bar.get_height() for bar in container] for container in axes.containers]
    assert heights == [[50.0, 100.0], [50.0, 300.0]]  # groups: critic, planner
    assert [t.get_text() for t in axes.get_xticklabels()] == ["critic", "planner"]
    assert axes.get_ylabel() == "latency (ms)"


def test_plot_cost_flags_unpriced_groups() -> None:
    """plot_cost bars are the groups' costs, and a group with unpriced calls says how many."""
    result = tk.aggregate(traces(), by="model")
    figure = nb.plot_cost(result)
    axes = figure.axes[0]
    assert [bar.get_height() for bar in axes.containers[0]] == [result.group("gpt-4o").cost_usd, 0.0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["gpt-4o", "mystery-model\n(1 unpriced)"]


def test_plot_onto_given_axes() -> None:
    """Given an Axes, the plot draws there and returns its figure."""
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.add_subplot()
    assert nb.plot_cost(traces(), by="agent", ax=axes) is figure
    assert len(axes.containers[0]) == 2


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (traces(), None, "cannot tell which rows to make from SessionTrace items"),
        (traces(), "rows", "kind must be one of"),
        ([1, 2], "calls", "got int"),
        (traces(), "aggregate", "kind='aggregate' needs an AggregateResult"),
    ],
)
def test_bad_inputs_are_refused(data: Any, kind: Any, message: str) -> None:
    """Ambiguous or wrong inputs raise InvalidArgumentError saying what to pass."""
    with pytest.raises(tk.InvalidArgumentError, match=message):
        nb.to_records(data, kind=kind)


def test_plots_need_a_grouped_result() -> None:
    """An ungrouped AggregateResult cannot be plotted by group: InvalidArgumentError says how."""
    with pytest.raises(tk.InvalidArgumentError, match="by='model'"):
        nb.plot_latency(tk.aggregate(traces()))


MISSING = """
import sys
sys.modules["{module}"] = None  # as if not installed
import tracekit as tk
from tracekit import notebook as nb
rows = nb.to_records([tk.LLMCallRecord(call_id="c", api_type="chat_completions")])
assert len(rows) == 1
try:
    {call}
except tk.TracekitError as exc:
    assert isinstance(exc, ImportError)
    print(exc)
"""


@pytest.mark.parametrize(
    ("module", "call"),
    [
        ("pandas", "nb.to_dataframe([])"),
        ("matplotlib", "nb.plot_cost(tk.aggregate([], by='model'))"),
    ],
)
def test_missing_extra_names_it(module: str, call: str) -> None:
    """Without pandas or matplotlib, rows still work and the views raise an error naming the extra."""
    done = subprocess.run(
        [sys.executable, "-c", MISSING.format(module=module, call=call)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        f"{module} is not installed; install the notebook extra: pip install 'tracekit[notebook]'\n"
    )

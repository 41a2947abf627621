"""export_sft over the crafted store (tests/sft/conftest.py), on an embedded file and on a live sqld."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import tracekit as tk
from tracekit.errors import InvalidArgumentError, StoreError
from tracekit.sft import calls_of, convert_record, export_sft, export_sft_async, in_validation
from tracekit.store import SyncTursoManager, TursoManager

T0 = datetime(2026, 4, 1, 9, 0, 0, tzinfo=UTC)  # the crafted store's first session (conftest.T0)
Crafted = Any  # conftest.Crafted: url, records, experiment_id

SYSTEM = {"role": "system", "content": "You are terse."}
USER = {"role": "user", "content": "Weather in Paris?"}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
A1 = {"messages": [SYSTEM, USER, {"role": "assistant", "tool_calls": [CALL]}], "tools": TOOLS}
A2 = {
    "messages": [
        SYSTEM,
        USER,
        {"role": "assistant", "tool_calls": [CALL], "weight": 0},
        {"role": "tool", "content": "18C", "tool_call_id": "call_1"},
        {"role": "assistant", "content": "Sunny, 18C."},
    ],
    "tools": TOOLS,
}


def line(example: dict[str, Any]) -> str:
    """An example as export_sft writes it: compact JSON, UTF-8 kept."""
    return json.dumps(example, ensure_ascii=False, separators=(",", ":"))


def run(crafted: Crafted, tmp_path: Path, **options: Any) -> tuple[list[str], Any]:
    """Export with `options`; the train file's lines and the report."""
    out = tmp_path / "train.jsonl"
    report = export_sft(crafted.url, out, **options)
    return out.read_text(encoding="utf-8").splitlines(), report


def vendor_line(crafted: Crafted, key: str) -> str:
    """The line of a fixture-built record (its exact shape is pinned in test_convert.py)."""
    example = convert_record(crafted.records[key]).example
    assert example is not None
    return line(example)


def test_default_export_exact_lines_and_report(crafted: Crafted, tmp_path: Path) -> None:
    """No filters: every successful call once, in session order, and a report of each drop."""
    lines, report = run(crafted, tmp_path)
    assert lines == [line(A1), line(A2), vendor_line(crafted, "b1"), vendor_line(crafted, "c1")]
    assert report.to_dict() == {
        "train_path": str(tmp_path / "train.jsonl"),
        "validation_path": None,
        "sessions_seen": 3,
        "sessions_skipped": 0,
        "calls_seen": 7,
        "kept": 4,
        "train": 4,
        "validation": 0,
        "dropped": {"not_success": 1, "orphan_tool_result": 1, "duplicate": 1},
        "orphan_tool_results": 1,
        "over_max_tokens": 0,
        "token_length": {
            "count": 4,
            "mean": (100 + 150 + 2598 + 12101) / 4,
            "min": 100.0,
            "p50": 150.0,
            "p90": 12101.0,
            "p99": 12101.0,
            "max": 12101.0,
        },
        "tokens_unknown": 0,
    }


@pytest.mark.parametrize(
    ("options", "kept", "dropped"),
    [
        ({"min_outcome_reward": 0.5}, ["a1", "a2"], {}),
        ({"min_event_reward": 0.5}, ["a2"], {"not_success": 1, "event_reward": 5}),
        ({"metadata": {"task": "weather"}}, ["a1", "a2", "b1"], {"not_success": 1, "duplicate": 1}),
        ({"metadata_predicate": lambda m: m.get("team") == "blue"}, ["b1", "b2"], {"not_success": 1}),
        ({"model": "gpt-4o"}, ["a1", "a2"], {"model": 3, "not_success": 1, "duplicate": 1}),
        (
            {"model": ["gpt-4o", "gemini-2.5-flash"]},
            ["a1", "a2", "c1"],
            {"model": 2, "not_success": 1, "duplicate": 1},
        ),
        ({"agent": "critic"}, ["b1", "b2"], {"agent": 4, "not_success": 1}),
        (
            {"finish_reason": ["stop", "STOP"]},
            ["a2", "c1"],
            {"finish_reason": 3, "not_success": 1, "orphan_tool_result": 1},
        ),
        (
            {"max_tokens": 120},
            ["a1"],
            {"over_max_tokens": 3, "not_success": 1, "orphan_tool_result": 1, "duplicate": 1},
        ),
        ({"min_tokens": 120}, ["a2", "b1", "c1"], {"under_min_tokens": 3, "not_success": 1}),
        (
            {"max_latency_ms": 250},
            ["a1"],
            {"latency": 1, "latency_unknown": 2, "not_success": 1, "orphan_tool_result": 1, "duplicate": 1},
        ),
        (
            {"min_cost_usd": 0.0},
            ["a1", "a2", "b1", "c1"],
            {"cost_unknown": 1, "not_success": 1, "duplicate": 1},
        ),
        (
            {"created_after": T0 + timedelta(seconds=1)},
            ["b1", "b2", "c1"],
            {"not_success": 1, "orphan_tool_result": 1},
        ),
        ({"created_before": T0 + timedelta(seconds=1)}, ["a1", "a2"], {}),
        ({"experiment_id": "exp-1"}, ["a1", "a2", "c1"], {"orphan_tool_result": 1}),
        (
            {"success_only": False},
            ["a1", "a2", "b1", "c1"],
            {"empty_output": 1, "orphan_tool_result": 1, "duplicate": 1},
        ),
        ({"dedupe": False}, ["a1", "a2", "b1", "b2", "c1"], {"not_success": 1, "orphan_tool_result": 1}),
    ],
)
def test_filters_pick_exactly_their_calls(
    crafted: Crafted, tmp_path: Path, options: dict[str, Any], kept: list[str], dropped: dict[str, int]
) -> None:
    """Each session and call filter keeps exactly the calls it names and counts the rest by reason."""
    lines, report = run(crafted, tmp_path, **options)
    by_key = {"a1": line(A1), "a2": line(A2), "b2": line(A1)}
    assert lines == [by_key.get(k) or vendor_line(crafted, k) for k in kept]
    assert report.dropped == dropped


def test_metadata_predicate_counts_skipped_sessions(crafted: Crafted, tmp_path: Path) -> None:
    """Sessions a metadata predicate refuses are counted as skipped, and their calls never read."""
    _, report = run(crafted, tmp_path, metadata_predicate=lambda m: m["task"] == "story")
    assert (report.sessions_seen, report.sessions_skipped, report.calls_seen) == (3, 2, 2)


def test_split_by_session_is_deterministic(crafted: Crafted, tmp_path: Path) -> None:
    """Whole sessions go to validation by the seeded hash, and a rerun writes the same bytes."""
    val = tmp_path / "val.jsonl"
    outputs = []
    for _ in range(2):
        report = export_sft(
            crafted.url,
            tmp_path / "train.jsonl",
            validation_out=val,
            validation_fraction=0.5,
            seed=3,
            dedupe=False,
        )
        outputs.append(((tmp_path / "train.jsonl").read_bytes(), val.read_bytes()))
    assert outputs[0] == outputs[1]
    assert [in_validation(s, 0.5, seed=3) for s in ("s-a", "s-b", "s-c")] == [True, False, True]
    assert val.read_text(encoding="utf-8").splitlines() == [line(A1), line(A2), vendor_line(crafted, "c1")]
    assert (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines() == [
        vendor_line(crafted, "b1"),
        line(A1),
    ]
    assert (report.train, report.validation) == (2, 3)


def test_split_hash_fraction_and_seed() -> None:
    """in_validation puts the asked fraction of ids in validation, and the seed reshuffles them."""
    ids = [f"session-{i}" for i in range(2000)]
    picked = [s for s in ids if in_validation(s, 0.1, seed=0)]
    assert len(picked) == 192
    assert picked != [s for s in ids if in_validation(s, 0.1, seed=1)]
    assert not any(in_validation(s, 0.0) for s in ids)
    assert all(in_validation(s, 1.0) for s in ids)


async def test_async_export_writes_the_same_lines(crafted: Crafted, tmp_path: Path) -> None:
    """export_sft_async (inside a running loop) writes what export_sft writes."""
    sync_lines, sync_report = run(crafted, tmp_path, min_event_reward=0.05)
    async with TursoManager(crafted.url) as db:
        report = await export_sft_async(db, tmp_path / "async.jsonl", min_event_reward=0.05, page_size=1)
    assert (
        (tmp_path / "async.jsonl").read_text(encoding="utf-8").splitlines()
        == sync_lines
        == [line(A1), line(A2)]
    )
    assert report.to_dict() | {"train_path": None} == sync_report.to_dict() | {"train_path": None}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"validation_fraction": 0.2}, "needs validation_out"),
        ({"validation_fraction": 1.5, "validation_out": "v.jsonl"}, "within [0, 1]"),
        ({"min_tokens": 10, "max_tokens": 5}, "min_tokens (10) is above max_tokens (5)"),
        ({"max_cost_usd": float("nan")}, "max_cost_usd must be a finite number"),
        ({"max_latency_ms": -1}, "max_latency_ms must be at least 0"),
        ({"model": 5}, "model must be a str or a collection of str"),
        ({"reasoning": "keep"}, "reasoning must be 'drop', 'field' or 'inline'"),
        ({"train_on": "first"}, "train_on must be 'last' or 'all'"),
        ({"seed": "x"}, "seed must be an int"),
        ({"page_size": 0}, "page_size must be an int from 1 to 900"),
        ({"created_after": T0.replace(tzinfo=None)}, "created_after must be a timezone-aware datetime"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    """A bad argument raises InvalidArgumentError naming it, and no file appears."""
    with pytest.raises(
        InvalidArgumentError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        export_sft(f"file:{tmp_path / 'none.db'}", tmp_path / "out.jsonl", **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_store_failure_leaves_no_partial_file(tmp_path: Path) -> None:
    """When the store fails midway the output files are not created (no half-written JSONL)."""
    with pytest.raises(StoreError):
        export_sft("http://127.0.0.1:9", tmp_path / "out.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_store_reads_give_the_calls_of_the_traces(crafted: Crafted, tmp_path: Path) -> None:
    """The calls export_sft reads per page are the calls of the stored traces, in order (calls_of)."""
    lines, _ = run(crafted, tmp_path, success_only=False, dedupe=False)
    db = SyncTursoManager(crafted.url)
    try:
        expected = []
        for session_id in ("s-a", "s-b", "s-c"):
            for record, _where in calls_of(db.get_session(session_id)):
                example = convert_record(record).example
                if example is not None:
                    expected.append(line(example))
        assert lines == expected
        export_sft(
            db, tmp_path / "again.jsonl", success_only=False, dedupe=False
        )  # an open manager stays open
        assert db.list_sessions().sessions[0].session_id == "s-a"
    finally:
        db.close()
    assert (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines() == lines


def test_calls_inside_timesteps_only_are_exported(tmp_path: Path) -> None:
    """A trace whose events live only in its timesteps still exports its calls (as aggregates count them)."""
    record = tk.LLMCallRecord(
        call_id="x",
        api_type="chat_completions",
        model_name="gpt-4o",
        input_messages=[tk.LLMMessage(role="user", parts=[tk.LLMContentPart(type="text", text="hi")])],
        output_text="hello",
        outcome="success",
    )
    step = tk.SessionTimeStep(
        step_id="t1", timestamp=T0, events=[tk.LMCAISEvent(system_instance_id="solo", call_records=[record])]
    )
    trace = tk.SessionTrace(session_id="steps-only", created_at=T0, session_time_steps=[step])
    url = f"file:{tmp_path / 'steps.db'}"
    with SyncTursoManager(url) as db:
        db.save_session(trace)
    lines, report = run(_AtUrl(url), tmp_path, agent="solo")
    assert lines == [
        line({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
    ]
    assert [(r.call_id, w.agent, w.event_index) for r, w in calls_of(trace)] == [("x", "solo", None)]
    assert report.calls_seen == 1


class _AtUrl:
    """A store given by URL only, where run() takes the crafted store."""

    def __init__(self, url: str) -> None:
        self.url = url

"""The save path's shortcuts give exactly what the general code gives: placement, the session summary."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tracekit.store import schema
from tracekit.store.mapping import _placement, _placement_matched
from tracekit.store.rollup_rows import DISTRIBUTION_COLUMNS, ExactSum, session_summary

_CALL = [column.name for column in schema.llm_calls.columns]
_TOOL = [column.name for column in schema.tool_calls.columns]


def _key(obj: list[int]) -> int:
    return obj[0]


def _ids(
    placed: list[tuple[Any, int, int | None, int | None]],
) -> list[tuple[int, int, int | None, int | None]]:
    return [(id(obj), flag, position, slot) for obj, flag, position, slot in placed]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    values=st.lists(st.integers(0, 3), min_size=1, max_size=8),
    history=st.lists(st.integers(0, 7), max_size=10),
    steps=st.lists(st.lists(st.integers(0, 7), max_size=4), max_size=4),
)
def test_placement_shortcut_places_as_the_matching_walk(
    values: list[int], history: list[int], steps: list[list[int]]
) -> None:
    """_placement gives the general matching walk's rows, object for object, for any lists: objects
    held twice, step objects missing from the history, equal copies instead of the same object."""
    pool = [[value] for value in values]  # equal values, distinct objects: equality is not identity
    held = [pool[i % len(pool)] for i in history]
    stepped = [[pool[i % len(pool)] for i in step] for step in steps]
    assert _ids(_placement(held, stepped, _key)) == _ids(_placement_matched(held, stepped, _key))


def test_placement_shortcut_of_the_usual_trace() -> None:
    """Every step object held once by the history: history order, each with its step and slot."""
    objects = [[i] for i in range(5)]
    placed = _placement(objects, [[objects[3], objects[0]], [], [objects[4]]], _key)
    assert _ids(placed) == [
        (id(objects[0]), 1, 0, 1),
        (id(objects[1]), 1, None, None),
        (id(objects[2]), 1, None, None),
        (id(objects[3]), 1, 0, 0),
        (id(objects[4]), 1, 2, 0),
    ]


_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, -0.0, 5e-324, 1e308, -1.5, 1.5, 0.25, -0.25, 100.125]),
)
_call = st.fixed_dictionaries(
    {
        "in_rollup": st.sampled_from([0, 1, 1]),
        "model_name": st.sampled_from(["gpt-4o", "o3", None]),
        "provider": st.sampled_from(["openai", None]),
        "system_instance_id": st.sampled_from(["a", "b"]),
        "cost_nanousd": st.none() | st.integers(0, 2**62),
        "price_table_version": st.sampled_from(["2026-11-21", None]),
        "outcome": st.sampled_from(["success", "error", "timeout", "cancelled", "incomplete", None]),
        "input_tokens": st.none() | st.integers(0, 2**40),
        "output_tokens": st.none() | st.integers(0, 2**40),
        "total_tokens": st.none() | st.integers(0, 2**41),
        "cache_read_tokens": st.none() | st.integers(0, 2**40),
        "cache_write_tokens": st.none() | st.integers(0, 2**40),
        "reasoning_tokens": st.none() | st.integers(0, 2**40),
        "tool_call_count": st.integers(0, 3),
        **{column: st.none() | _floats for column in DISTRIBUTION_COLUMNS},
    }
)


def _reference_summary(calls: list[dict[str, Any]], tools: list[dict[str, Any]], warnings: list[int]) -> str:
    """The summary as the layout defines it, one ExactSum per (group, column) added value by value."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    sums: dict[tuple[tuple[Any, ...], str], tuple[int, ExactSum]] = {}
    values: dict[str, list[float]] = {column: [] for column in DISTRIBUTION_COLUMNS}
    group_of: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    for call in calls:
        if call["in_rollup"] != 1:
            continue
        cost = call["cost_nanousd"]
        key = (
            call["model_name"],
            call["provider"],
            call["system_instance_id"],
            None if cost is None else call["price_table_version"],
            0 if cost is None else 1,
        )
        group = groups.setdefault(key, [*key, 0, 0, 0, 0, 0, *([None] * 7), 0, 0, {}])
        group[5] += 1
        group[6] += call["outcome"] == "success"
        group[7] += call["outcome"] in ("error", "timeout", "cancelled")
        group[8] += call["outcome"] == "incomplete"
        group[9] += call["input_tokens"] is None and call["output_tokens"] is None
        summed = ("input_tokens", "output_tokens", "total_tokens", "cache_read_tokens", "cache_write_tokens")
        for i, column in enumerate((*summed, "reasoning_tokens", "cost_nanousd"), start=10):
            if call[column] is not None:
                group[i] = call[column] if group[i] is None else group[i] + call[column]
        group[17] += cost is None
        group[18] += call["tool_call_count"]
        for column in DISTRIBUTION_COLUMNS:
            if call[column] is not None:
                count, total = sums.get((key, column), (0, ExactSum()))
                total.add_float(call[column])
                sums[(key, column)] = (count + 1, total)
                values[column].append(call[column])
        group_of[(call["event_index"], call["call_index"])] = key
    for tool in tools:
        key = group_of.get((tool["event_index"], tool["call_index"]))
        if key is not None:
            names = groups[key][19]
            names[tool["name"]] = names.get(tool["name"], 0) + 1
    out_groups = []
    for key, group in groups.items():
        for column in DISTRIBUTION_COLUMNS:
            count, total = sums.get((key, column), (0, ExactSum()))
            group.append([count, total.mantissa, total.exponent])
        out_groups.append(group)
    picks: list[list[float] | None] = []
    for column in DISTRIBUTION_COLUMNS:
        ordered = sorted(values[column])
        n = len(ordered)
        ranks = [1, (50 * n + 99) // 100, (90 * n + 99) // 100, (99 * n + 99) // 100, n]
        picks.append([ordered[r - 1] for r in ranks] if ordered else None)
    return json.dumps(
        {"v": 1, "w": warnings, "g": out_groups, "p": picks},
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


@settings(max_examples=200, derandomize=True, deadline=None)
@given(calls=st.lists(_call, max_size=12), tool_names=st.lists(st.sampled_from(["x", "y"]), max_size=6))
def test_session_summary_equals_the_reference(calls: list[dict[str, Any]], tool_names: list[str]) -> None:
    """session_summary's inline exact sums and constant column positions give the reference's text
    for any call rows: mixed signs, zeros, subnormals, huge floats, unpriced and uncounted calls."""
    for index, call in enumerate(calls):
        call["event_index"], call["call_index"] = index, 0
    tools = [
        {"event_index": i % max(1, len(calls)), "call_index": 0, "tool_index": i, "name": name}
        for i, name in enumerate(tool_names)
    ]
    call_rows = [tuple(call.get(column) for column in _CALL) for call in calls]
    tool_rows = [tuple(tool.get(column) for column in _TOOL) for tool in tools]
    warnings = [len(calls), 0, 1, 2, 3]
    assert session_summary(call_rows, tool_rows, warnings) == _reference_summary(calls, tools, warnings)

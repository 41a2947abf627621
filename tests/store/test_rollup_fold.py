"""fold: sessions' summaries merged as they are parsed, exact even where orjson reads a float."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tracekit.store.rollup_rows import ExactSum, Merged, fold, load


def _entry(model: str, calls: int, tokens: int | None, total: ExactSum, tools: dict[str, int]) -> list[Any]:
    """A summary group entry (rollup_rows' layout) with one latency sum and nothing else measured."""
    return [
        model,
        "p",
        "a",
        None,
        0,
        calls,
        calls,
        0,
        0,
        0,
        tokens,
        None,
        None,
        None,
        None,
        None,
        None,
        calls,
        len(tools),
        tools,
        [calls, total.mantissa, total.exponent],
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
    ]


def _summary(entries: list[list[Any]]) -> str:
    return json.dumps({"v": 1, "w": [1, 0, 0, 0, 0], "g": entries, "p": [[1.0] * 5, None, None, None]})


def _sum(*values: float) -> ExactSum:
    total = ExactSum()
    for value in values:
        total.add_float(value)
    return total


def _state(merged: Merged) -> tuple[Any, ...]:
    return (
        merged.numbers,
        merged.counts,
        [(s.fraction(), type(s.mantissa)) for s in merged.sums],
        merged.tools,
        merged.models,
        merged.unpriced_models,
    )


@pytest.mark.parametrize("values", [(2.0**20, 2.0**-50), (1e300, 5e-324)])
def test_fold_with_a_mantissa_past_64_bits_equals_the_exact_merge(values: tuple[float, float]) -> None:
    """A summary whose exact sum needs an integer past 64 bits (orjson: a float, or refused) folds to
    the same integers as adding the standard library's exact parse entry by entry."""
    huge = _sum(*values)
    assert huge.mantissa.bit_length() > 64
    rows = [
        ("s1", _summary([_entry("m", 2, 10, _sum(1.5, 2.25), {"t": 1}), _entry("n", 1, None, huge, {})])),
        ("s2", _summary([_entry("m", 3, 2**64 - 1, huge, {"t": 2, "u": 1})])),
        ("s3", _summary([_entry("n", 1, 7, _sum(0.1), {})])),
    ]
    folded = fold(rows, lambda summary, entry: entry[0])
    assert folded is not None
    expected: dict[str, Merged] = {}
    for _sid, text in rows:
        for entry in json.loads(text)["g"]:
            expected.setdefault(entry[0], Merged()).add(entry)
    assert {k: _state(m) for k, m in folded.merged.items()} == {k: _state(m) for k, m in expected.items()}
    assert folded.merged["m"].numbers[5] == 2**64 + 9
    assert folded.merged["n"].sums[0].fraction() == huge.fraction() + _sum(0.1).fraction()
    assert folded.unpriced_by_model == {"m": 5, "n": 2}
    assert [s.session_id for s in folded.summaries] == ["s1", "s2", "s3"]
    assert [s.groups for s in folded.summaries] == [[], [], []]


def test_fold_of_a_session_without_a_summary_is_none() -> None:
    """A session saved before summaries existed (NULL) or of another layout makes fold None (the
    roll-up then reads the call rows)."""
    good = ("s1", _summary([_entry("m", 1, 1, _sum(1.0), {})]))
    assert fold([good, ("s2", None)], lambda summary, entry: None) is None
    assert fold([good, ("s2", _summary([]).replace('"v": 1', '"v": 2'))], lambda s, e: None) is None
    assert load("s2", None) is None

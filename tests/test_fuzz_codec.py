"""from_dict/from_json under thousands of seeded mutations of real records: refused, or read back equal."""

from __future__ import annotations

import json
from typing import Any

import pytest
from codec_fuzzing import CASE_LIMIT_S, NAMES, Case, cases, check, timed
from hypothesis import HealthCheck, given, settings

import tracekit as tk

FUZZ_CASES = 2000


def test_mutated_records_are_refused_or_read_back_equal() -> None:
    """Every mutated real record (wrong types, missing and extra keys, swapped event types, deep
    nesting, truncated or non-UTF-8 JSON) read through from_dict or from_json raises InvalidDataError
    or gives a record of the requested class that to_json writes and that reads back equal; none
    takes longer than CASE_LIMIT_S."""
    outcomes = {"refused": 0, "accepted": 0}
    kinds: set[str] = set()
    slowest = 0.0

    @settings(
        max_examples=FUZZ_CASES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases())
    def one(case: Case) -> None:
        nonlocal slowest
        record, seconds = timed(case)
        slowest = max(slowest, seconds)
        kinds.update(case.applied)
        if record is None:
            outcomes["refused"] += 1
            return
        outcomes["accepted"] += 1
        check(case, record)

    one()
    assert outcomes["accepted"] + outcomes["refused"] == FUZZ_CASES
    assert outcomes["accepted"] > FUZZ_CASES * 0.05
    assert outcomes["refused"] > FUZZ_CASES * 0.5
    assert {"delete", "extra-key", "as-list", "deep5000", "nan", "naive-time", "swap-event"} <= kinds
    assert slowest < CASE_LIMIT_S


def test_every_record_fixture_is_a_seed() -> None:
    """The seeds are the factory trace and call record plus every whole vendor response and stream fixture."""
    assert len(NAMES) == 2 + 41


def test_a_wrong_value_nested_thousands_deep_is_shown_shortened_not_a_recursion_error() -> None:
    """A list nested 5,000 deep in an id field is an InvalidDataError whose message shows its first
    levels (found by the fuzz: the message's repr used to raise RecursionError)."""
    value: Any = "bottom"
    for _ in range(5000):
        value = [value]
    with pytest.raises(tk.InvalidDataError) as info:
        tk.LLMCallRecord.from_dict({"call_id": value, "api_type": "responses"})
    assert [p.path for p in info.value.problems] == ["call_id"]
    assert "call_id: Input should be a valid string (got [[[[[[[...]]]]]]])" in str(info.value)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ((1, 2), "usage.raw.input_tokens"),
        ({1: "x"}, "usage.raw.input_tokens"),
        (b"\xff", "usage.raw.input_tokens"),
    ],
    ids=["tuple", "int-key", "bytes"],
)
def test_from_dict_refuses_free_form_values_to_json_would_refuse(value: Any, path: str) -> None:
    """A tuple, a non-str key or bytes in a free-form field is refused by from_dict (InvalidDataError
    naming the field), not accepted into a record that to_json then refuses (found by the fuzz)."""
    with pytest.raises(tk.InvalidDataError) as info:
        tk.LLMCallRecord.from_dict(
            {"call_id": "c", "api_type": "responses", "usage": {"raw": {"input_tokens": value}}}
        )
    assert [p.path for p in info.value.problems] == [path]


def _deep_list(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"request_params": {"max_tokens": 2**70}}, "request_params.max_tokens"),
        ({"request_params": {"max_tokens": 1e300}}, "request_params.max_tokens"),
        ({"metadata": {"d": _deep_list(150)}}, "metadata.d" + ".0" * 99),
    ],
    ids=["int70-in-int-field", "1e300-in-int-field", "nested-150"],
)
@pytest.mark.parametrize("via", ["dict", "json"])
def test_reads_refuse_numbers_and_nesting_that_to_json_refuses(
    fields: dict[str, Any], path: str, via: str
) -> None:
    """An int field given a number past 64 bits, or a free-form value nested past MAX_DEPTH, is refused
    by from_dict and from_json alike (found by the fuzz: both used to accept what to_json refuses)."""
    doc = {"call_id": "c", "api_type": "responses", **fields}
    read = (
        tk.LLMCallRecord.from_dict if via == "dict" else lambda d: tk.LLMCallRecord.from_json(json.dumps(d))
    )
    with pytest.raises(tk.InvalidDataError) as info:
        read(doc)
    assert [p.path for p in info.value.problems] == [path]

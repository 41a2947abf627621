"""The summary roll-up's fast paths: means from exact sums without Fractions, summaries parsed by orjson."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracekit.analysis.aggregates import mean_of_sum
from tracekit.store.rollup_rows import ExactSum, load

finite = st.floats(allow_nan=False, allow_infinity=False)
tiny = st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, derandomize=True)
@given(values=st.lists(st.one_of(finite, tiny), min_size=1, max_size=20), extra=st.integers(0, 5))
@example(values=[5e-324], extra=0)  # a subnormal sum: the Fraction decides
@example(values=[2.2250738585072014e-308, -5e-324], extra=0)  # just below the smallest normal
@example(values=[1.7e308, 1.7e308], extra=1)  # a sum past float range, a finite mean
@example(values=[0.1, -0.1], extra=2)  # an exact zero
def test_exact_sum_mean_equals_mean_of_sum_of_its_fraction(values: list[float], extra: int) -> None:
    """ExactSum.mean(n) is exactly mean_of_sum(the Fraction sum, n) for any finite floats and counts."""
    total = ExactSum()
    for value in values:
        total.add_float(value)
    count = len(values) + extra
    exact = sum((Fraction(v) for v in values), Fraction(0))
    assert total.mean(count) == mean_of_sum(exact, count)
    assert str(total.mean(count)) == str(mean_of_sum(exact, count))  # -0.0 and 0.0 told apart


@pytest.mark.parametrize("values", [(2.0**20, 2.0**-50), (1e300, 5e-324)])
def test_summary_with_a_mantissa_past_64_bits_is_read_exactly(values: tuple[float, float]) -> None:
    """A summary whose exact sum needs an integer past 64 bits (orjson reads one as a float, or
    refuses it past float range) loads equal to the standard library's exact parse."""
    huge = ExactSum()
    for value in values:
        huge.add_float(value)
    assert huge.mantissa.bit_length() > 64
    entry = ["m", "p", "a", "v1", 1, 2, 2, 0, 0, 0, 10, 5, 15, None, None, None, 7, 0, 0, {}]
    entry += [[2, huge.mantissa, huge.exponent], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    text = json.dumps({"v": 1, "w": [2, 0, 0, 0, 0], "g": [entry], "p": [[5e-324] * 5, None, None, None]})
    summary = load("s", text)
    assert summary is not None
    assert summary.groups == [entry]
    assert summary.groups[0][20][1] == huge.mantissa
    assert type(summary.groups[0][20][1]) is int


def test_summary_of_64_bit_integers_loads_as_json_does() -> None:
    """Token sums at the edge of 64 bits load as exact integers, equal to json.loads."""
    entry = ["m", None, "", None, 0, 1, 0, 0, 0, 1, 2**63 - 1, 2**64 - 1, None, 0, None, None, None, 1, 0]
    entry += [{"t": 3}, [1, 3, -1], [0, 0, 0], [0, 0, 0], [0, 0, 0]]
    text = json.dumps({"v": 1, "w": [1, 0, 0, 0, 0], "g": [entry], "p": [[1.5] * 5, None, None, None]})
    summary = load("s", text)
    assert summary is not None
    assert (summary.warnings, summary.groups, summary.picks) == (
        [1, 0, 0, 0, 0],
        json.loads(text)["g"],
        json.loads(text)["p"],
    )
    assert load("s", text.replace('"v": 1', '"v": 2')) is None

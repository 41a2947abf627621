"""session_groups: by="session" groups built from each summary as it is read, exact past 64 bits."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from store.test_rollup_fold import _entry, _state, _sum, _summary

from tracekit.analysis.aggregates import Distribution, mean_of_sum
from tracekit.store.rollup_rows import Merged, fold
from tracekit.store.rollup_sessions import PicksMissing, session_groups


@pytest.mark.parametrize("values", [(2.0**20, 2.0**-50), (1e300, 5e-324)])
def test_session_groups_past_64_bits_equal_the_exact_merge(values: tuple[float, float]) -> None:
    """Sessions whose sums need integers past 64 bits (orjson: a float, or refused) give each session
    the exact sums and mean, and a total equal to the summary fold's, in key order with "" last."""
    huge = _sum(*values)
    assert huge.mantissa.bit_length() > 64
    rows = [
        ("s2", _summary([_entry("m", 3, 2**64 - 1, huge, {"t": 2, "u": 1})])),
        ("", _summary([_entry("n", 1, 7, _sum(0.1), {})])),
        ("s1", _summary([_entry("m", 2, 10, _sum(1.5, 2.25), {"t": 1}), _entry("n", 1, None, huge, {})])),
        ("s3", _summary([])),
    ]
    built = session_groups(rows)
    assert built is not None
    assert [g.key for g in built.groups] == ["s1", "s2", None]
    s1, s2, missing = built.groups
    assert (s1.call_count, s1.input_tokens, s1.tool_calls_by_name, s1.models) == (3, 10, {"t": 1}, ("m", "n"))
    assert (s2.call_count, s2.input_tokens, s2.tool_calls_by_name) == (3, 2**64 - 1, {"t": 2, "u": 1})
    assert (missing.call_count, missing.input_tokens, missing.unpriced_call_count) == (1, 7, 1)
    exact_s1 = Fraction(1.5) + Fraction(2.25) + huge.fraction()
    assert s1.latency_ms == Distribution(3, mean_of_sum(exact_s1, 3), 1.0, 1.0, 1.0, 1.0, 1.0)
    assert s2.latency_ms.mean == mean_of_sum(huge.fraction(), 3)
    assert s1.ttft_ms == Distribution()
    folded = fold(rows, lambda summary, entry: None)
    assert folded is not None
    assert _state(built.total) == _state(folded.merged[None])
    assert built.unpriced_by_model == folded.unpriced_by_model == {"m": 5, "n": 2}
    assert [s.session_id for s in built.summaries] == ["s2", "", "s1", "s3"]
    expected = Merged()
    for _sid, text in rows:
        for entry in json.loads(text)["g"]:
            expected.add(entry)
    assert _state(built.total) == _state(expected)


def test_session_groups_of_a_session_without_a_summary_is_none() -> None:
    """A session with no summary (saved before version 3) makes the by-session pass None."""
    good = ("s1", _summary([_entry("m", 1, 1, _sum(1.0), {})]))
    assert session_groups([good, ("s2", None)]) is None


def test_session_groups_refuse_values_without_picks() -> None:
    """A summary counting values it holds no picks for (changed under the read) raises PicksMissing,
    which the roll-up answers by reading again."""
    text = _summary([_entry("m", 1, 1, _sum(1.0), {})]).replace(
        '"p": [[1.0, 1.0, 1.0, 1.0, 1.0]', '"p": [null'
    )
    with pytest.raises(PicksMissing):
        session_groups([("s1", text)])

"""The orjson respelling screen sends to the standard library exactly the floats orjson spells
otherwise, and not a timestamp with zero microseconds (the false positive it once had)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit import codec
from tracekit.codec import encoder


@settings(derandomize=True, max_examples=300, deadline=None)
@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-5, -1e-5, 1e-7, 9.99e-5, 1e-4, 1.5e-10, 2.5e-8, 1e16, 5e-324, 0.0, -0.0])
)
def test_screen_flags_exactly_the_floats_orjson_respells(value: float) -> None:
    """For any finite float, the screen flags orjson's text iff it differs from json.dumps's."""
    out = orjson.dumps([value])
    assert codec._respelled(out) is (out.decode() != json.dumps([value], separators=(",", ":")))


def test_zero_microsecond_timestamps_are_not_flagged() -> None:
    """Timestamps at :00, :40 and :50 seconds with zero microseconds keep orjson's text."""
    for second in (0, 10, 40, 50):
        when = datetime(2026, 5, 1, 12, 16, second, tzinfo=UTC)
        data = {"t": codec.format_datetime(when), "n": [1.5, 0.5]}
        assert codec._respelled(orjson.dumps(data)) is False
        assert codec._orjson_text(data) == json.dumps(data, separators=(",", ":"))


def test_zero_microsecond_record_is_written_by_the_fast_path() -> None:
    """A record whose times have zero microseconds gets orjson's text, equal to the reference text."""
    when = datetime(2026, 5, 1, 12, 16, 40, tzinfo=UTC)
    record = tk.ToolCallResult(call_id="c", started_at=when, completed_at=when, duration_ms=0.0)
    written = encoder.text_data(record)
    assert written is not None
    out = orjson.dumps(written[0], option=codec._TEXT_OPTIONS)
    assert out.decode() == '{"call_id":"c","started_at":"2026-05-01T12:16:40.000000+00:00",' + (
        '"completed_at":"2026-05-01T12:16:40.000000+00:00","duration_ms":0.0}'
    )
    assert codec._respelled(out) is False
    assert record.to_json() == codec.dumps(encoder.encode(record, compact=True, fast=False)) == out.decode()


def test_respelled_floats_still_get_the_reference_text() -> None:
    """Floats orjson spells otherwise (1e-05, 1e-07, -9.99e-05) are written as json.dumps writes them."""
    record = tk.LLMCallRecord(call_id="c", api_type="responses", metadata={"v": [1e-05, 1e-07, -9.99e-05]})
    assert '"v":[1e-05,1e-07,-9.99e-05]' in record.to_json()
    assert tk.LLMCallRecord.from_json(record.to_json()) == record

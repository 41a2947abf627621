"""StreamRecorder.add's first test (an SDK chunk of the shape of the chunk before it) takes the
arrival exactly as the rest of `add` does: a float, none (the recorder's clock), an int, or a value
that is no finite number (noted; strict raises)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from test_recorder_snapshot import T0, load, sdk_objects

from tracekit.errors import RecordingError
from tracekit.helpers import _shapes
from tracekit.helpers.recorder import StreamRecorder
from tracekit.helpers.sdk import sdk_json

STREAMS = {"openai_chat": "stream_text_usage", "gemini": "stream_thinking"}
ARRIVALS: list[Any] = [2.0, 2.5, None, 3, math.nan, None, 6, "7", math.inf, 8.0]
"""Per chunk index; chunk 2 follows a chunk of its shape, so the first test keeps it untimed-given."""


def _record(chunks: list[Any], strict: bool = False) -> Any:
    ticks = iter(float(n) for n in range(10, 100))
    rec = StreamRecorder(call_id="call-1", clock=lambda: next(ticks), now=lambda: T0, strict=strict)
    for i, chunk in enumerate(chunks):
        rec.add(chunk, ARRIVALS[i % len(ARRIVALS)])
    return rec.finish()


@pytest.mark.parametrize("vendor", list(STREAMS))
def test_fast_path_arrivals_equal_the_dict_path(vendor: str) -> None:
    """SDK chunks kept by a learnt shape, arriving as floats, None, ints and non-numbers, give the
    record their dumped dicts give with the same arrivals (the same clock readings, the same notes)."""
    objects = sdk_objects(vendor, load(vendor, STREAMS[vendor]))
    _record(objects)  # learns the shapes
    assert all(any(take(obj) is not None for take in _shapes.TAKERS[type(obj)]) for obj in objects)
    dumped = [sdk_json(obj) for obj in objects]
    record = _record(objects)
    assert record == _record(dumped)
    assert record.chunks is not None
    assert record.chunks[2].offset_ms == 1000.0  # the clock's second reading after the start's
    assert record.error is not None
    assert record.error["replaced"][0] == {
        "path": "chunks[4].received_at",
        "value": "nan",
        "replaced_by": "null",
    }


def test_fast_path_odd_arrival_raises_when_strict() -> None:
    """A strict recorder refuses a non-number arrival of a chunk a learnt shape would take."""
    objects = sdk_objects("openai_chat", load("openai_chat", "stream_text_usage"))
    _record(objects)
    rec = StreamRecorder(strict=True)
    rec.add(objects[1], 1.0)
    with pytest.raises(RecordingError, match="received_at='x'"):
        rec.add(objects[2], "x")  # type: ignore[arg-type]

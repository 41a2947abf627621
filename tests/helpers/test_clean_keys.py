"""Keys that are text of another class (a str subclass, an enum member) keep their text in records."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import pytest

import tracekit as tk
from tracekit.helpers._clean import clean


class _Text(str):
    """A str subclass, as a user's own key type would be."""


class _Color(enum.Enum):
    RED = "red"


class _Other(enum.Enum):
    RED = "red"


def _rekeyed(value: Any) -> Any:
    """`value` with every dict key made a `_Text`."""
    if isinstance(value, dict):
        return {_Text(key): _rekeyed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rekeyed(item) for item in value]
    return value


@pytest.mark.parametrize(
    ("vendor", "name"),
    [("openai_chat", "stream_no_usage"), ("anthropic", "stream_tool_use"), ("gemini", "stream_thinking")],
)
def test_a_stream_with_str_subclass_keys_records_what_plain_keys_record(
    load_fixture: Callable[[str, str], Any], vendor: str, name: str
) -> None:
    """Every chunk keyed by a str subclass gives the record plain keys give: same text, no notes."""
    chunks = load_fixture(vendor, name)

    def record(rows: list[Any]) -> tk.LLMCallRecord:
        recorder = tk.StreamRecorder(clock=lambda: 0.0)
        for at, chunk in enumerate(rows):
            recorder.add(chunk, 0.001 * (at + 1))
        return recorder.finish()

    plain, subclassed = record(chunks), record([_rekeyed(chunk) for chunk in chunks])
    assert subclassed.output_text == plain.output_text
    assert subclassed.output_tool_calls == plain.output_tool_calls
    assert subclassed.error == plain.error
    assert [c.raw for c in subclassed.chunks] == [c.raw for c in plain.chunks]
    assert all(type(key) is str for c in subclassed.chunks for key in c.raw or {})


def test_an_enum_key_is_its_text_unless_another_key_already_is() -> None:
    """An enum member's key becomes its text value; when that text is taken it is its repr, noted."""
    notes: list[dict[str, Any]] = []
    assert clean({_Color.RED: 1, 5: 2}, "p", notes) == {"red": 1, "5": 2}
    assert [n["replaced_by"] for n in notes] == ["text key"]
    notes.clear()
    assert clean({"red": 1, _Color.RED: 2}, "p", notes) == {"red": 1, "<_Color.RED: 'red'>": 2}
    taken = "<_Color.RED: 'red'>"
    assert notes == [{"path": f"p.{taken}", "value": taken, "replaced_by": "text key"}]
    notes.clear()
    assert clean({_Color.RED: 1, _Other.RED: 2}, "p", notes) == {"red": 1, "<_Other.RED: 'red'>": 2}
    assert len(notes) == 1

"""The generated record builder gives exactly the object LLMCallRecord's own constructor gives."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.helpers import recorder
from tracekit.helpers._record_build import record_builder
from tracekit.model import LLMCallRecord, LLMContentPart, LLMMessage, LLMUsage

SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
NAMES = [f.name for f in dataclasses.fields(LLMCallRecord)]
anything = (
    st.none()
    | st.text(max_size=5)
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.sampled_from(
        [
            [],
            {},
            LLMUsage(input_tokens=3, raw={"x": 1}),
            [LLMMessage(role="assistant", parts=[LLMContentPart(type="text", text="hi")])],
            {"type": "malformed_payload", "path": "", "message": "m"},
        ]
    )
)


@st.composite
def field_sets(draw: st.DrawFn) -> tuple[list[str], list[Any]]:
    optional = draw(st.lists(st.sampled_from(NAMES[2:]), unique=True, max_size=len(NAMES) - 2))
    names = ["call_id", "api_type", *optional]
    return names, [draw(anything) for _ in names]


@SETTINGS
@given(field_sets())
def test_builder_equals_the_constructor(case: tuple[list[str], list[Any]]) -> None:
    """Any subset of fields with values of any type: every slot holds what the constructor stores
    (the very objects given; fresh, equal defaults for the rest), and the records are equal."""
    names, values = case
    built = record_builder(names)(*values)
    expected = LLMCallRecord(**dict(zip(names, values, strict=True)))
    assert type(built) is LLMCallRecord
    for name in NAMES:
        mine, theirs = getattr(built, name), getattr(expected, name)
        if name in names:
            assert mine is theirs
        else:
            assert type(mine) is type(theirs)
            assert mine == theirs or (mine != mine and theirs != theirs)
    if all(v == v for v in values):
        assert built == expected


def test_defaults_are_fresh_per_record() -> None:
    """Two built records never share a default list, dict or request-params object."""
    build = record_builder(["call_id", "api_type"])
    first, second = build("a", "chat_completions"), build("b", "chat_completions")
    shared = [
        f
        for f in NAMES
        if isinstance(getattr(first, f), list | dict | tk.LLMRequestParams)
        and getattr(first, f) is getattr(second, f)
    ]
    assert shared == []


def test_the_recorder_builders_cover_its_fields() -> None:
    """record_from_response's builders take the response fields, and the request's on top."""
    assert recorder._RESPONSE_FIELDS[:2] == ("call_id", "api_type")
    record = tk.record_from_response(
        {"object": "chat.completion", "model": "m", "choices": []},
        request={"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5},
        call_id="c1",
    )
    assert (record.call_id, record.model_name, record.request_params.temperature) == ("c1", "m", 0.5)
    assert [m.role for m in record.input_messages] == ["user"]


def test_a_bad_field_list_is_refused() -> None:
    """Unknown or repeated names, or a missing required field, are refused when the builder is made."""
    for names in (["call_id", "api_type", "nope"], ["call_id", "call_id", "api_type"], ["api_type"]):
        with pytest.raises(ValueError, match="record_builder"):
            record_builder(names)

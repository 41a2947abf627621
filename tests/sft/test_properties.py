"""Property tests: conversion invariants over generated records, and arguments of any type."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.errors import InvalidArgumentError
from tracekit.sft import SFTOptions, convert_record, in_validation

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
PART_TYPES = (
    "text",
    "thinking",
    "reasoning",
    "tool_result",
    "image",
    "refusal",
    "audio",
    "redacted_thinking",
)
IDS = st.sampled_from(["call_1", "call_2", "toolu_9", None])

parts = st.builds(
    tk.LLMContentPart,
    type=st.sampled_from(PART_TYPES),
    text=st.one_of(st.none(), st.text(max_size=8)),
    uri=st.one_of(st.none(), st.just("https://example.com/a.png")),
    data=st.one_of(
        st.none(),
        st.fixed_dictionaries({"tool_use_id": IDS.filter(bool)}),
        st.fixed_dictionaries(
            {
                "name": st.sampled_from(["f", "g"]),
                "response": st.dictionaries(st.text(max_size=3), st.integers()),
            }
        ),
    ),
)
calls = st.builds(
    tk.ToolCallSpec,
    name=st.sampled_from(["f", "g"]),
    arguments_json=st.sampled_from(["{}", '{"a":1}', "not json"]),
    call_id=IDS,
    type=st.sampled_from(["function", "function", "custom"]),
)
messages = st.builds(
    tk.LLMMessage,
    role=st.sampled_from(ROLES),
    parts=st.lists(parts, max_size=3),
    tool_calls=st.lists(calls, max_size=2),
    tool_call_id=IDS,
    name=st.one_of(st.none(), st.sampled_from(["f", "g"])),
)
records = st.builds(
    tk.LLMCallRecord,
    call_id=st.just("c"),
    api_type=st.just("chat_completions"),
    input_messages=st.lists(messages, max_size=6),
    output_text=st.one_of(st.none(), st.text(max_size=8)),
    output_tool_calls=st.lists(calls, max_size=2),
    reasoning_text=st.one_of(st.none(), st.text(max_size=8)),
)


@settings(max_examples=60, derandomize=True, deadline=None)
@given(records, st.sampled_from(["drop", "field", "inline"]), st.sampled_from(["last", "all"]))
def test_examples_are_well_formed(record: tk.LLMCallRecord, reasoning: Any, train_on: Any) -> None:
    """Any record converts without raising; an example ends with the assistant's answer and every
    tool message answers a tool call made earlier in it."""
    converted = convert_record(record, reasoning=reasoning, train_on=train_on)
    if converted.example is None:
        assert converted.reason is not None
        return
    assert converted.reason is None
    assert converted.orphan_tool_results == 0
    chat = converted.example["messages"]
    assert chat[-1]["role"] == "assistant"
    assert "weight" not in chat[-1]
    seen: set[str] = set()
    for message in chat:
        assert message["role"] in ("system", "user", "assistant", "tool")
        if message["role"] == "assistant":
            seen.update(call["id"] for call in message.get("tool_calls", []))
            assert ("weight" in message) == (train_on == "last" and message is not chat[-1])
        if message["role"] == "tool":
            assert message["tool_call_id"] in seen
            assert isinstance(message["content"], str | list)


ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
)
NAMES = (
    "min_outcome_reward",
    "min_event_reward",
    "min_tokens",
    "max_tokens",
    "min_cost_usd",
    "max_cost_usd",
    "min_latency_ms",
    "max_latency_ms",
    "validation_fraction",
    "seed",
    "reasoning",
    "train_on",
    "model",
    "agent",
    "finish_reason",
    "created_after",
    "metadata_predicate",
)


@settings(max_examples=120, derandomize=True, deadline=None)
@given(st.sampled_from(NAMES), ANY)
def test_any_argument_value_is_accepted_or_refused_cleanly(name: str, value: Any) -> None:
    """Every option takes any value without a crash: accepted, or an InvalidArgumentError naming it."""
    message = None
    try:
        SFTOptions.build(**{name: value})
    except InvalidArgumentError as exc:
        message = str(exc)
    assert message is None or name in message


@settings(max_examples=100, derandomize=True, deadline=None)
@given(st.text(max_size=20), st.floats(0, 1), st.floats(0, 1), st.integers(-(2**63), 2**63))
def test_split_grows_with_the_fraction(session_id: str, low: float, high: float, seed: int) -> None:
    """A session in validation at some fraction stays there at any larger fraction (same seed)."""
    low, high = min(low, high), max(low, high)
    if in_validation(session_id, low, seed):
        assert in_validation(session_id, high, seed)

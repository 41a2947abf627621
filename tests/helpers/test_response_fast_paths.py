"""record_from_response's hot paths give exactly what the checked paths give: Gemini usage read
from a plain dict, chat choices read without copying their message, the call id's uuid4 form."""

from __future__ import annotations

import uuid
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.helpers import openai_chat
from tracekit.helpers.base import PayloadProblem
from tracekit.helpers.recorder import _new_call_id
from tracekit.helpers.usage import from_gemini

SETTINGS = settings(
    derandomize=True, max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

counts = (
    st.none()
    | st.integers(min_value=-5, max_value=2**64)
    | st.sampled_from([0, 1, 2**62, 2**63 - 1, 2**63, 1.0, 2.5, True, "3", float("nan"), float("inf")])
)
GEMINI_KEYS = [
    "promptTokenCount",
    "prompt_token_count",
    "toolUsePromptTokenCount",
    "tool_use_prompt_token_count",
    "candidatesTokenCount",
    "candidates_token_count",
    "thoughtsTokenCount",
    "thoughts_token_count",
    "totalTokenCount",
    "total_token_count",
    "cachedContentTokenCount",
    "cached_content_token_count",
]
gemini_usage = st.fixed_dictionaries({}, optional=dict.fromkeys(GEMINI_KEYS, counts))


@SETTINGS
@given(gemini_usage)
def test_gemini_usage_fast_path_equals_the_checked_path(usage: dict[str, Any]) -> None:
    """Gemini usage on a plain dict (both spellings, wrong types, overflowing sums) equals the
    checked path fed the same counts as a non-dict mapping, problems included."""
    fast_problems: list[PayloadProblem] = []
    slow_problems: list[PayloadProblem] = []
    fast = from_gemini(usage, problems=fast_problems)
    slow = from_gemini(MappingProxyType(usage), problems=slow_problems)
    assert fast == slow
    assert [str(p) for p in fast_problems] == [str(p) for p in slow_problems]


def test_gemini_usage_fast_path_reads_each_spelling() -> None:
    """A REST count wins over the SDK spelling; a null REST count falls back to the SDK one."""
    got = from_gemini(
        {
            "promptTokenCount": 10,
            "prompt_token_count": 99,
            "candidatesTokenCount": None,
            "candidates_token_count": 4,
            "thoughtsTokenCount": 3,
            "toolUsePromptTokenCount": 2,
        }
    )
    assert (got.input_tokens, got.output_tokens, got.total_tokens, got.reasoning_tokens) == (12, 7, 19, 3)
    assert got.tool_use_input_tokens == 2


def test_gemini_usage_fast_path_keeps_the_overflow_check() -> None:
    """A sum past 2**63-1 is still refused on the dict path."""
    with pytest.raises(PayloadProblem, match=r"usageMetadata\.promptTokenCount: token counts add up"):
        from_gemini({"promptTokenCount": 2**63 - 1, "toolUsePromptTokenCount": 1})
    with pytest.raises(PayloadProblem, match=r"usageMetadata\.candidatesTokenCount: token counts add up"):
        from_gemini({"candidatesTokenCount": 2**63 - 1, "thoughtsTokenCount": 1})
    with pytest.raises(PayloadProblem, match=r"usageMetadata\.totalTokenCount: token counts add up"):
        from_gemini({"promptTokenCount": 2**62, "candidatesTokenCount": 2**62})


class _Message(dict[str, Any]):
    """A dict subclass: the choice reader copies it into a plain dict, as before."""


messages = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["assistant", "user", None, 3, "robot"]),
        "content": st.none() | st.text(max_size=4) | st.just(5),
        "refusal": st.none() | st.text(max_size=3),
        "reasoning_content": st.none() | st.text(max_size=3),
    },
)
choices = st.fixed_dictionaries(
    {"message": messages | st.none() | st.just("x")},
    optional={
        "index": st.integers(min_value=0, max_value=3) | st.just("0"),
        "finish_reason": st.none() | st.sampled_from(["stop", "length"]) | st.just(7),
    },
)


@SETTINGS
@given(st.lists(choices, max_size=3), st.booleans())
def test_chat_choices_read_the_same_from_any_mapping(raw: list[dict[str, Any]], subclass: bool) -> None:
    """A chat completion's choices parse the same whether each message is a plain dict or another
    mapping (copied as before): roles, order by index, finish reasons and errors alike."""
    plain = {"object": "chat.completion", "model": "m", "choices": raw}
    wrap = _Message if subclass else MappingProxyType
    other = {
        **plain,
        "choices": [
            {**c, "message": wrap(c["message"])} if isinstance(c["message"], dict) else c for c in raw
        ],
    }
    assert openai_chat.parse_response(plain) == openai_chat.parse_response(other)


def test_chat_message_without_role_is_the_assistant_and_null_role_is_refused() -> None:
    """A response message with no role is the assistant's; an explicit null role stays an error."""
    ok = tk.record_from_response(
        {"object": "chat.completion", "model": "m", "choices": [{"index": 0, "message": {"content": "hi"}}]}
    )
    assert (ok.output_messages[0].role, ok.output_text, ok.error) == ("assistant", "hi", None)
    bad = tk.record_from_response(
        {"object": "chat.completion", "model": "m", "choices": [{"message": {"role": None, "content": "x"}}]}
    )
    assert bad.outcome == "error"
    assert bad.error is not None
    assert bad.error["path"] == "choices[0].message.role"


def test_call_id_is_a_uuid4_hex() -> None:
    """Each call id is 32 hex digits of a version-4, RFC 4122 UUID, and ids do not repeat."""
    ids = [_new_call_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    for text in ids:
        parsed = uuid.UUID(hex=text)
        assert (len(text), parsed.hex, parsed.version, parsed.variant) == (32, text, 4, uuid.RFC_4122)
    assert len(tk.record_from_response({"object": "chat.completion", "choices": []}).call_id) == 32

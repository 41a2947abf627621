"""The usage rules every vendor normaliser shares (OpenTelemetry GenAI conventions)."""

from __future__ import annotations

import pytest

import tracekit as tk
from tracekit.helpers import usage
from tracekit.helpers.base import PayloadProblem


def test_openai_chat_prompt_tokens_already_include_cached() -> None:
    """Chat Completions: input is prompt_tokens as sent; cached and reasoning are breakdowns only."""
    raw = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 256, "audio_tokens": 0},
    }
    assert usage.from_openai_chat(raw) == tk.LLMUsage(
        input_tokens=2006,
        output_tokens=300,
        total_tokens=2306,
        reasoning_tokens=256,
        cache_read_tokens=1920,
        input_audio_tokens=0,
        output_audio_tokens=0,
        raw=raw,
    )


def test_openai_responses_usage() -> None:
    """Responses API: input_tokens include cached; reasoning sits inside output_tokens."""
    raw = {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 64},
        "total_tokens": 123,
    }
    got = usage.from_openai_responses(raw)
    assert (got.input_tokens, got.output_tokens, got.total_tokens) == (36, 87, 123)
    assert (got.cache_read_tokens, got.reasoning_tokens, got.cache_write_tokens) == (0, 64, None)


def test_anthropic_input_adds_back_cache_reads_and_writes() -> None:
    """Anthropic reports uncached input only: input = input + cache_read + cache_creation."""
    raw = {
        "input_tokens": 21,
        "cache_creation_input_tokens": 188086,
        "cache_read_input_tokens": 1000,
        "cache_creation": {"ephemeral_5m_input_tokens": 88086, "ephemeral_1h_input_tokens": 100000},
        "output_tokens": 393,
        "output_tokens_details": {"thinking_tokens": 120},
    }
    got = usage.from_anthropic(raw)
    assert got.input_tokens == 21 + 188086 + 1000
    assert got.output_tokens == 393
    assert got.total_tokens == 21 + 188086 + 1000 + 393  # Anthropic sends no total
    assert got.cache_read_tokens == 1000
    assert got.cache_write_tokens == 188086
    assert got.cache_write_1h_tokens == 100000
    assert got.reasoning_tokens == 120  # a breakdown of output_tokens, not added to it
    assert got.raw == raw


def test_anthropic_without_cache_fields_counts_input_as_sent() -> None:
    """Older responses without cache fields: input is input_tokens; cache breakdowns stay None."""
    got = usage.from_anthropic({"input_tokens": 10, "output_tokens": 5})
    assert (got.input_tokens, got.output_tokens, got.total_tokens) == (10, 5, 15)
    assert (got.cache_read_tokens, got.cache_write_tokens, got.reasoning_tokens) == (None, None, None)


def test_anthropic_stream_snapshot_without_input_keeps_input_unknown() -> None:
    """A usage snapshot with only output_tokens leaves input and total unknown, not zero."""
    got = usage.from_anthropic({"output_tokens": 15})
    assert (got.input_tokens, got.output_tokens, got.total_tokens) == (None, 15, None)


def test_gemini_adds_thoughts_to_output_and_tool_prompt_to_input() -> None:
    """Gemini: output = candidates + thoughts; input = prompt (cached included) + tool-use prompt."""
    raw = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 600,
        "candidatesTokenCount": 50,
        "thoughtsTokenCount": 200,
        "toolUsePromptTokenCount": 30,
        "totalTokenCount": 1280,
    }
    got = usage.from_gemini(raw)
    assert got.input_tokens == 1030
    assert got.output_tokens == 250
    assert got.total_tokens == 1280  # the vendor's total wins
    assert (got.cache_read_tokens, got.reasoning_tokens, got.tool_use_input_tokens) == (600, 200, 30)


def test_gemini_sdk_snake_case_spelling() -> None:
    """google-genai's model_dump() spelling gives the same numbers as the REST spelling."""
    got = usage.from_gemini({"prompt_token_count": 8, "candidates_token_count": 12, "total_token_count": 20})
    assert (got.input_tokens, got.output_tokens, got.total_tokens, got.reasoning_tokens) == (8, 12, 20, None)


def test_total_is_computed_only_when_both_sides_are_known() -> None:
    """Without a vendor total, total = input + output, and None if either is missing."""
    assert usage.from_openai_chat({"prompt_tokens": 3, "completion_tokens": 4}).total_tokens == 7
    assert usage.from_openai_chat({"prompt_tokens": 3}).total_tokens is None


def test_empty_usage_reports_nothing() -> None:
    """An empty usage object gives None everywhere, never zeros."""
    got = usage.from_gemini({})
    assert (got.input_tokens, got.output_tokens, got.total_tokens) == (None, None, None)


def test_integral_floats_are_accepted_as_counts() -> None:
    """A proxy that sends 12.0 still gives the integer 12."""
    got = usage.from_openai_chat({"prompt_tokens": 12.0, "completion_tokens": 3})
    assert got.input_tokens == 12
    assert type(got.input_tokens) is int


@pytest.mark.parametrize("bad", ["12", 1.5, -1.0, True, [1]])
def test_malformed_count_names_the_field(bad: object) -> None:
    """A count that is not a whole number raises PayloadProblem with its path and value."""
    with pytest.raises(PayloadProblem) as info:
        usage.from_openai_chat({"prompt_tokens": 1, "completion_tokens_details": {"reasoning_tokens": bad}})
    assert info.value.path == "usage.completion_tokens_details.reasoning_tokens"
    assert info.value.value == bad


@pytest.mark.parametrize(
    ("reader", "details"),
    [
        (usage.from_openai_chat, "prompt_tokens_details"),
        (usage.from_openai_responses, "input_tokens_details"),
    ],
)
def test_openai_cache_writes_from_both_apis(reader: object, details: str) -> None:
    """OpenAI's cache_write_tokens is read from both APIs: N stays N, 0 stays 0, absent stays None."""
    read = usage.from_openai_chat if reader is usage.from_openai_chat else usage.from_openai_responses
    assert read({details: {"cached_tokens": 0, "cache_write_tokens": 1536}}).cache_write_tokens == 1536
    assert read({details: {"cached_tokens": 0, "cache_write_tokens": 0}}).cache_write_tokens == 0
    assert read({details: {"cached_tokens": 0}}).cache_write_tokens is None


@pytest.mark.parametrize("bad", [-1, 2**63, 2**70, 1e308, -5.0, 12.5])
def test_impossible_counts_are_refused_field_by_field(bad: object) -> None:
    """A negative, beyond-64-bit or fractional count is noted and left None; the others are kept
    and the vendor's value stays in raw."""
    problems: list[PayloadProblem] = []
    got = usage.from_anthropic({"input_tokens": bad, "output_tokens": 7}, problems=problems)
    assert (got.input_tokens, got.output_tokens, got.total_tokens) == (None, 7, None)
    assert [p.path for p in problems] == ["usage.input_tokens"]
    assert got.raw == {"input_tokens": bad, "output_tokens": 7}


def test_counts_that_add_up_beyond_64_bits_are_refused() -> None:
    """Anthropic input (uncached + cache reads + writes) that overflows 64 bits is refused, not stored."""
    problems: list[PayloadProblem] = []
    half = 2**62
    got = usage.from_anthropic(
        {"input_tokens": half, "cache_read_input_tokens": half, "output_tokens": 1}, problems=problems
    )
    assert got.input_tokens is None
    assert got.cache_read_tokens == half
    assert [p.path for p in problems] == ["usage.input_tokens"]

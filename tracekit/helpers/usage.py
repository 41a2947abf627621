"""Vendor usage objects -> LLMUsage, following the OpenTelemetry GenAI conventions.

- input_tokens counts ALL input, cached included (Anthropic reports only uncached input, so its
  cache reads and writes are added back; Gemini's tool-use prompt tokens are added);
- output_tokens includes reasoning/thinking (Gemini reports thoughts separately: added);
- cache_read / cache_write / reasoning tokens are breakdowns, never added again;
- total_tokens is the vendor's total when given, else input + output when both are known;
- a field the vendor did not send stays None; `raw` keeps the vendor's object untouched.

Accepts the REST spelling and the Python SDK spelling (`promptTokenCount` / `prompt_token_count`).
A count that is present but not a whole number raises PayloadProblem naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracekit.helpers.base import PayloadProblem
from tracekit.model import LLMUsage

__all__ = ["from_anthropic", "from_gemini", "from_openai_chat", "from_openai_responses"]


def _count(usage: Mapping[str, Any] | None, path: str, *keys: str) -> int | None:
    """The first of `keys` present in `usage`, as an int (None when absent or null)."""
    if usage is None:
        return None
    for key in keys:
        value = usage.get(key)
        if value is None:
            continue
        if type(value) is int:
            return value
        if type(value) is float and value.is_integer() and value >= 0:
            return int(value)
        raise PayloadProblem(f"{path}.{key}", "token count is not a whole number", value)
    return None


def _details(usage: Mapping[str, Any], path: str, *keys: str) -> Mapping[str, Any] | None:
    for key in keys:
        value = usage.get(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            return value
        raise PayloadProblem(f"{path}.{key}", "expected an object", value)
    return None


def _sum(*values: int | None) -> int | None:
    """Sum of the reported values; None only when none of them was reported."""
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def _total(vendor_total: int | None, input_tokens: int | None, output_tokens: int | None) -> int | None:
    if vendor_total is not None:
        return vendor_total
    if input_tokens is None or output_tokens is None:
        return None
    return input_tokens + output_tokens


def from_openai_chat(usage: Mapping[str, Any], path: str = "usage") -> LLMUsage:
    """Chat Completions `usage` (prompt_tokens already include cached tokens)."""
    prompt = _details(usage, path, "prompt_tokens_details") or {}
    completion = _details(usage, path, "completion_tokens_details") or {}
    input_tokens = _count(usage, path, "prompt_tokens")
    output_tokens = _count(usage, path, "completion_tokens")
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_total(_count(usage, path, "total_tokens"), input_tokens, output_tokens),
        reasoning_tokens=_count(completion, f"{path}.completion_tokens_details", "reasoning_tokens"),
        cache_read_tokens=_count(prompt, f"{path}.prompt_tokens_details", "cached_tokens"),
        input_audio_tokens=_count(prompt, f"{path}.prompt_tokens_details", "audio_tokens"),
        output_audio_tokens=_count(completion, f"{path}.completion_tokens_details", "audio_tokens"),
        raw=dict(usage),
    )


def from_openai_responses(usage: Mapping[str, Any], path: str = "usage") -> LLMUsage:
    """Responses API `usage` (input_tokens already include cached tokens)."""
    input_details = _details(usage, path, "input_tokens_details") or {}
    output_details = _details(usage, path, "output_tokens_details") or {}
    input_tokens = _count(usage, path, "input_tokens")
    output_tokens = _count(usage, path, "output_tokens")
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_total(_count(usage, path, "total_tokens"), input_tokens, output_tokens),
        reasoning_tokens=_count(output_details, f"{path}.output_tokens_details", "reasoning_tokens"),
        cache_read_tokens=_count(input_details, f"{path}.input_tokens_details", "cached_tokens"),
        raw=dict(usage),
    )


def from_anthropic(usage: Mapping[str, Any], path: str = "usage") -> LLMUsage:
    """Anthropic Messages `usage`: input_tokens is uncached input only, so cache reads and
    writes are added back; output_tokens already includes thinking (`output_tokens_details.
    thinking_tokens` is its breakdown). For streams, pass the merged snapshot (latest value of each field)."""
    uncached = _count(usage, path, "input_tokens")
    cache_read = _count(usage, path, "cache_read_input_tokens")
    cache_write = _count(usage, path, "cache_creation_input_tokens")
    creation = _details(usage, path, "cache_creation") or {}
    write_1h = _count(creation, f"{path}.cache_creation", "ephemeral_1h_input_tokens")
    output_details = _details(usage, path, "output_tokens_details") or {}
    thinking = _count(output_details, f"{path}.output_tokens_details", "thinking_tokens")
    input_tokens = None if uncached is None else _sum(uncached, cache_read, cache_write)
    output_tokens = _count(usage, path, "output_tokens")
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_total(None, input_tokens, output_tokens),
        reasoning_tokens=thinking,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        raw=dict(usage),
    )


def from_gemini(usage: Mapping[str, Any], path: str = "usageMetadata") -> LLMUsage:
    """Gemini `usageMetadata`: promptTokenCount includes cached content; thoughts and tool-use
    prompt tokens are reported apart and added to output and input respectively."""
    prompt = _count(usage, path, "promptTokenCount", "prompt_token_count")
    tool_use = _count(usage, path, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
    candidates = _count(usage, path, "candidatesTokenCount", "candidates_token_count")
    thoughts = _count(usage, path, "thoughtsTokenCount", "thoughts_token_count")
    input_tokens = None if prompt is None else _sum(prompt, tool_use)
    output_tokens = _sum(candidates, thoughts)
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_total(
            _count(usage, path, "totalTokenCount", "total_token_count"), input_tokens, output_tokens
        ),
        reasoning_tokens=thoughts,
        cache_read_tokens=_count(usage, path, "cachedContentTokenCount", "cached_content_token_count"),
        tool_use_input_tokens=tool_use,
        raw=dict(usage),
    )

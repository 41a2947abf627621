"""Vendor usage objects -> LLMUsage, following the OpenTelemetry GenAI conventions.

- input_tokens counts ALL input, cached included (Anthropic reports only uncached input, so its
  cache reads and writes are added back; Gemini's tool-use prompt tokens are added);
- output_tokens includes reasoning/thinking (Gemini reports thoughts separately: added);
- cache_read / cache_write / reasoning tokens are breakdowns, never added again;
- total_tokens is the vendor's total when given, else input + output when both are known;
- a field the vendor did not send stays None; `raw` keeps the vendor's object untouched.

Accepts the REST spelling and the Python SDK spelling (`promptTokenCount` / `prompt_token_count`).
A count that is present but not a whole number in 0..2**63-1 (negative, 2**70, 1e308, 1.5) is refused:
PayloadProblem naming it, or, with a `problems` list, noted there while the field stays None and
the other counts are kept (the vendor's value stays in `raw`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracekit.helpers._clean import INT64_MAX
from tracekit.helpers._record_build import builder
from tracekit.helpers.base import PayloadProblem
from tracekit.model import LLMUsage

__all__ = ["from_anthropic", "from_gemini", "from_openai_chat", "from_openai_responses"]

Problems = list[PayloadProblem] | None
"""Where a malformed count is noted (its field then stays None); None: raise it instead."""


def _refuse(problems: Problems, problem: PayloadProblem) -> None:
    if problems is None:
        raise problem
    problems.append(problem)


def _count(usage: Mapping[str, Any] | None, path: str, problems: Problems, *keys: str) -> int | None:
    """The first of `keys` present in `usage`, as an int (None when absent or null). A count that
    is not a whole number in 0..2**63-1 (negative, 2**70, 1e308, 1.5, "12", NaN) is refused."""
    if usage is None:
        return None
    for key in keys:
        value = usage.get(key)
        if value is None:
            continue
        if type(value) is int:
            if 0 <= value <= INT64_MAX:
                return value
        elif type(value) is float and value.is_integer() and 0 <= value <= INT64_MAX:
            return int(value)
        _refuse(
            problems,
            PayloadProblem(f"{path}.{key}", "token count is not a whole number in 0..2**63-1", value),
        )
        return None
    return None


def _details(usage: Mapping[str, Any], path: str, problems: Problems, *keys: str) -> Mapping[str, Any]:
    for key in keys:
        value = usage.get(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            return value
        _refuse(problems, PayloadProblem(f"{path}.{key}", "expected an object", value))
        return {}
    return {}


def _checked(value: int | None, path: str, problems: Problems) -> int | None:
    """A computed count (a sum) kept only when it fits a 64-bit integer."""
    if value is None or value <= INT64_MAX:
        return value
    _refuse(problems, PayloadProblem(path, "token counts add up beyond 2**63-1", value))
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


def _plain_counts(counts: tuple[Any, ...]) -> bool:
    """Whether every count is absent/null or an int in 0..2**63-1 (the hot paths' precondition:
    anything else takes the checked path, which notes or raises it). A plain loop: cheaper than
    filter/set/min/max over the eight or so counts of one usage object."""
    for value in counts:
        if value is not None and (type(value) is not int or not 0 <= value <= INT64_MAX):
            return False
    return True


_OPENAI_USAGE = builder(
    LLMUsage,
    (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "reasoning_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "input_audio_tokens",
        "output_audio_tokens",
        "raw",
    ),
)
_ANTHROPIC_USAGE = builder(
    LLMUsage,
    (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "reasoning_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "raw",
    ),
)
_GEMINI_USAGE = builder(
    LLMUsage,
    (
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "reasoning_tokens",
        "cache_read_tokens",
        "tool_use_input_tokens",
        "raw",
    ),
)
"""`LLMUsage(**fields)` for the hot paths' fields, without matching keywords (see `_record_build`)."""

_CHAT_KEYS = ("prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details")
_RESPONSES_KEYS = ("input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details")


def _openai_fast(usage: dict[str, Any], keys: tuple[str, str, str, str], *, audio: bool) -> LLMUsage | None:
    """Both OpenAI usages' hot path (every call): plain ints in plain dicts and a total within 64
    bits give what the checked path gives for the same values; None sends the rest through it."""
    in_key, out_key, in_details_key, out_details_key = keys
    details_in = usage.get(in_details_key)
    details_out = usage.get(out_details_key)
    details_in = {} if details_in is None else details_in
    details_out = {} if details_out is None else details_out
    if type(details_in) is not dict or type(details_out) is not dict:
        return None
    counts = (
        usage.get(in_key),
        usage.get(out_key),
        usage.get("total_tokens"),
        details_out.get("reasoning_tokens"),
        details_in.get("cached_tokens"),
        details_in.get("cache_write_tokens"),
        details_in.get("audio_tokens") if audio else None,
        details_out.get("audio_tokens") if audio else None,
    )
    if not _plain_counts(counts):
        return None
    input_tokens, output_tokens, total = counts[0], counts[1], counts[2]
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    if total is not None and total > INT64_MAX:
        return None
    return _OPENAI_USAGE(
        input_tokens, output_tokens, total, counts[3], counts[4], counts[5], counts[6], counts[7], dict(usage)
    )


def from_openai_chat(usage: Mapping[str, Any], path: str = "usage", problems: Problems = None) -> LLMUsage:
    """Chat Completions `usage` (prompt_tokens already include cached tokens; cache writes are
    `prompt_tokens_details.cache_write_tokens` where OpenAI reports them)."""
    if type(usage) is dict:
        fast = _openai_fast(usage, _CHAT_KEYS, audio=True)
        if fast is not None:
            return fast
    prompt = _details(usage, path, problems, "prompt_tokens_details")
    completion = _details(usage, path, problems, "completion_tokens_details")
    prompt_path = f"{path}.prompt_tokens_details"
    completion_path = f"{path}.completion_tokens_details"
    input_tokens = _count(usage, path, problems, "prompt_tokens")
    output_tokens = _count(usage, path, problems, "completion_tokens")
    total = _total(_count(usage, path, problems, "total_tokens"), input_tokens, output_tokens)
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_checked(total, f"{path}.total_tokens", problems),
        reasoning_tokens=_count(completion, completion_path, problems, "reasoning_tokens"),
        cache_read_tokens=_count(prompt, prompt_path, problems, "cached_tokens"),
        cache_write_tokens=_count(prompt, prompt_path, problems, "cache_write_tokens"),
        input_audio_tokens=_count(prompt, prompt_path, problems, "audio_tokens"),
        output_audio_tokens=_count(completion, completion_path, problems, "audio_tokens"),
        raw=dict(usage),
    )


def from_openai_responses(
    usage: Mapping[str, Any], path: str = "usage", problems: Problems = None
) -> LLMUsage:
    """Responses API `usage` (input_tokens already include cached tokens; cache writes are
    `input_tokens_details.cache_write_tokens` where OpenAI reports them)."""
    if type(usage) is dict:
        fast = _openai_fast(usage, _RESPONSES_KEYS, audio=False)
        if fast is not None:
            return fast
    input_details = _details(usage, path, problems, "input_tokens_details")
    output_details = _details(usage, path, problems, "output_tokens_details")
    input_path = f"{path}.input_tokens_details"
    input_tokens = _count(usage, path, problems, "input_tokens")
    output_tokens = _count(usage, path, problems, "output_tokens")
    total = _total(_count(usage, path, problems, "total_tokens"), input_tokens, output_tokens)
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_checked(total, f"{path}.total_tokens", problems),
        reasoning_tokens=_count(
            output_details, f"{path}.output_tokens_details", problems, "reasoning_tokens"
        ),
        cache_read_tokens=_count(input_details, input_path, problems, "cached_tokens"),
        cache_write_tokens=_count(input_details, input_path, problems, "cache_write_tokens"),
        raw=dict(usage),
    )


def from_anthropic(usage: Mapping[str, Any], path: str = "usage", problems: Problems = None) -> LLMUsage:
    """Anthropic Messages `usage`: input_tokens is uncached input only, so cache reads and
    writes are added back; output_tokens already includes thinking (`output_tokens_details.
    thinking_tokens` is its breakdown). For streams, pass the merged snapshot (latest value of each field)."""
    if type(usage) is dict:
        # the hot path: plain ints in plain dicts; gives what the checked path below gives
        creation = usage.get("cache_creation")
        details = usage.get("output_tokens_details")
        creation = {} if creation is None else creation
        details = {} if details is None else details
        if type(creation) is dict and type(details) is dict:
            counts = (
                usage.get("input_tokens"),
                usage.get("cache_read_input_tokens"),
                usage.get("cache_creation_input_tokens"),
                usage.get("output_tokens"),
                creation.get("ephemeral_1h_input_tokens"),
                details.get("thinking_tokens"),
            )
            if _plain_counts(counts):
                uncached, cache_read, cache_write, output_tokens = counts[0], counts[1], counts[2], counts[3]
                input_tokens = None if uncached is None else uncached + (cache_read or 0) + (cache_write or 0)
                total = (
                    None if input_tokens is None or output_tokens is None else input_tokens + output_tokens
                )
                if (input_tokens is None or input_tokens <= INT64_MAX) and (
                    total is None or total <= INT64_MAX
                ):
                    return _ANTHROPIC_USAGE(
                        input_tokens,
                        output_tokens,
                        total,
                        counts[5],
                        cache_read,
                        cache_write,
                        counts[4],
                        dict(usage),
                    )
    uncached = _count(usage, path, problems, "input_tokens")
    cache_read = _count(usage, path, problems, "cache_read_input_tokens")
    cache_write = _count(usage, path, problems, "cache_creation_input_tokens")
    creation = _details(usage, path, problems, "cache_creation")
    write_1h = _count(creation, f"{path}.cache_creation", problems, "ephemeral_1h_input_tokens")
    output_details = _details(usage, path, problems, "output_tokens_details")
    thinking = _count(output_details, f"{path}.output_tokens_details", problems, "thinking_tokens")
    input_tokens = None if uncached is None else _sum(uncached, cache_read, cache_write)
    input_tokens = _checked(input_tokens, f"{path}.input_tokens", problems)
    output_tokens = _count(usage, path, problems, "output_tokens")
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_checked(_total(None, input_tokens, output_tokens), f"{path}.output_tokens", problems),
        reasoning_tokens=thinking,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        raw=dict(usage),
    )


def from_gemini(usage: Mapping[str, Any], path: str = "usageMetadata", problems: Problems = None) -> LLMUsage:
    """Gemini `usageMetadata`: promptTokenCount includes cached content; thoughts and tool-use
    prompt tokens are reported apart and added to output and input respectively."""
    if type(usage) is dict:
        fast = _gemini_fast(usage)
        if fast is not None:
            return fast
    prompt = _count(usage, path, problems, "promptTokenCount", "prompt_token_count")
    tool_use = _count(usage, path, problems, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
    candidates = _count(usage, path, problems, "candidatesTokenCount", "candidates_token_count")
    thoughts = _count(usage, path, problems, "thoughtsTokenCount", "thoughts_token_count")
    input_tokens = _checked(
        None if prompt is None else _sum(prompt, tool_use), f"{path}.promptTokenCount", problems
    )
    output_tokens = _checked(_sum(candidates, thoughts), f"{path}.candidatesTokenCount", problems)
    vendor_total = _count(usage, path, problems, "totalTokenCount", "total_token_count")
    return LLMUsage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=_checked(
            _total(vendor_total, input_tokens, output_tokens), f"{path}.totalTokenCount", problems
        ),
        reasoning_tokens=thoughts,
        cache_read_tokens=_count(
            usage, path, problems, "cachedContentTokenCount", "cached_content_token_count"
        ),
        tool_use_input_tokens=tool_use,
        raw=dict(usage),
    )


def _either(usage: dict[str, Any], rest_name: str, sdk_name: str) -> Any:
    """The count under its REST name, else under the SDK's name (absent or null: the next)."""
    value = usage.get(rest_name)
    return usage.get(sdk_name) if value is None else value


def _gemini_fast(usage: dict[str, Any]) -> LLMUsage | None:
    """from_gemini's hot path (every response and stream chunk): each count read as `_count` reads
    it (the REST name, else the SDK name, when the first is absent or null); plain ints whose sums
    fit 64 bits give what the checked path gives, None sends the rest through it."""
    prompt = _either(usage, "promptTokenCount", "prompt_token_count")
    tool_use = _either(usage, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
    candidates = _either(usage, "candidatesTokenCount", "candidates_token_count")
    thoughts = _either(usage, "thoughtsTokenCount", "thoughts_token_count")
    vendor_total = _either(usage, "totalTokenCount", "total_token_count")
    cached = _either(usage, "cachedContentTokenCount", "cached_content_token_count")
    if not _plain_counts((prompt, tool_use, candidates, thoughts, vendor_total, cached)):
        return None
    input_tokens = None if prompt is None else prompt + (tool_use or 0)
    output_tokens = thoughts if candidates is None else candidates + (thoughts or 0)
    total = vendor_total
    if total is None and input_tokens is not None and output_tokens is not None:
        total = input_tokens + output_tokens
    if (
        (input_tokens is not None and input_tokens > INT64_MAX)
        or (output_tokens is not None and output_tokens > INT64_MAX)
        or (total is not None and total > INT64_MAX)
    ):
        return None
    return _GEMINI_USAGE(input_tokens, output_tokens, total, thoughts, cached, tool_use, dict(usage))

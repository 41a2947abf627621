"""What a traced call keeps of the caller's data: a JSON-ready snapshot of the request (so later
mutation of the caller's lists and dicts cannot change the record) and, for
`capture_content=False`, the record without prompt and completion text.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

from tracekit.helpers._json import encode_json
from tracekit.model import LLMCallRecord, LLMContentPart, LLMMessage, ToolCallSpec, ToolDefinition

__all__ = ["REQUEST_KEYS", "SKIP", "drop_content", "plain", "snapshot"]

logger = logging.getLogger(__name__)

REQUEST_KEYS = frozenset(
    {
        # what is sent: OpenAI Chat Completions / Responses, Anthropic Messages, Gemini generateContent
        "model", "messages", "input", "instructions", "system", "contents", "system_instruction", "config",
        "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
        "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "max_output_tokens",
        "stop", "stop_sequences", "n", "seed", "presence_penalty", "frequency_penalty", "logit_bias",
        "logprobs", "top_logprobs", "response_format", "text", "reasoning", "reasoning_effort",
        "thinking", "stream", "stream_options", "service_tier", "store", "previous_response_id",
        "include", "truncation", "prediction", "modalities", "audio", "user", "metadata",
        "generation_config", "safety_settings", "tool_config", "cached_content", "verbosity",
    }
)  # fmt: skip
"""Argument names `@trace_llm_call` reads as the request when it decorates the user's own function
(other arguments are the user's business and are not recorded)."""

SKIP: Any = object()
"""What `plain` returns for a value it leaves out."""
_MAX_DEPTH = 64
_SENTINELS = frozenset({"NotGiven", "Omit"})  # the SDKs' "argument not passed" markers


def plain(value: Any, depth: int = 0) -> Any:
    """A JSON-ready deep copy of a request value, so later mutation of the caller's lists and dicts
    cannot change the record. SDK objects become their JSON dump; bytes become base64 text; values
    JSON cannot hold (SDK sentinels, classes, clients) are left out."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if depth > _MAX_DEPTH:
        return SKIP
    if kind is dict or isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            copied = plain(item, depth + 1)
            if copied is not SKIP:
                out[key if type(key) is str else str(key)] = copied
        return out
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        return [c for c in (plain(v, depth + 1) for v in value) if c is not SKIP]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if kind.__name__ in _SENTINELS or isinstance(value, type):
        return SKIP
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return plain(dump(mode="json", exclude_none=True), depth + 1)
        except Exception as exc:  # an SDK object that cannot dump itself is left out, not fatal
            logger.debug("tracekit: request value of type %s not captured: %s", kind.__name__, exc)
            return SKIP
    if isinstance(value, (str, int, float)):  # str/int/float subclasses (enums)
        return value
    if isinstance(value, (set, frozenset)):
        return [c for c in (plain(v, depth + 1) for v in value) if c is not SKIP]
    return SKIP


_DECODE = json.JSONDecoder().decode
_NON_TEXT_KEYS = ('"true":', '"false":', '"null":')
"""How json writes a bool or None dict key (plain() writes str(key): "True", "None"): JSON text
holding one of these (even inside a string) is copied by plain() instead."""


class _NotPlain(Exception):
    """Raised inside `_copy_pure` at the first value it does not copy itself."""


_PURE_DEPTH = 32
"""How deep `_copy_pure` goes; anything nested deeper takes the general path (which keeps 64 levels)."""


def _copy_pure(value: Any, depth: int) -> Any:
    """A deep copy of a dict or list holding only dicts with str keys, lists, str, int, finite
    float, bool and None of exactly those types: what the JSON round trip gives for it, without
    writing any text (strings are immutable and shared, only containers are new). Raises
    _NotPlain at the first other value, key or level past `_PURE_DEPTH`."""
    if depth > _PURE_DEPTH:
        raise _NotPlain
    if type(value) is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                out[key] = item
            elif kind is dict or kind is list:
                out[key] = _copy_pure(item, depth + 1)
            elif kind is float and item - item == 0.0:  # finite: NaN and infinities take the general path
                out[key] = item
            else:
                raise _NotPlain
        return out
    items: list[Any] = []
    append = items.append
    for item in value:
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            append(item)
        elif kind is dict and depth < _PURE_DEPTH:
            # a list of dicts (chat messages, tool definitions): each dict copied in this frame, its
            # scalars inline, only what nests deeper recursing
            copied: dict[str, Any] = {}
            for key, element in item.items():
                if type(key) is not str:
                    raise _NotPlain
                kind = type(element)
                if kind is str or kind is int or kind is bool or element is None:
                    copied[key] = element
                elif kind is dict or kind is list:
                    copied[key] = _copy_pure(element, depth + 2)
                elif kind is float and element - element == 0.0:
                    copied[key] = element
                else:
                    raise _NotPlain
            append(copied)
        elif kind is dict or kind is list:
            append(_copy_pure(item, depth + 1))
        elif kind is float and item - item == 0.0:
            append(item)
        else:
            raise _NotPlain
    return items


def snapshot(value: Any) -> tuple[Any, bool]:
    """A request value's copy, and whether it is pure JSON (only dicts, lists, str, int, float,
    bool and None of exactly those types). The hot path of every traced LLM call: a pure value is
    copied container by container (`_copy_pure`: no text written, strings shared); any other
    value json can write is copied by writing and reading it back in C, the same once the recorder
    has made the request JSON-ready (same keys, order and values; an enum member becomes its value,
    as request_json makes it); anything else (SDK objects, bytes, sentinels, NaN, bool or None
    keys, more brackets than plain() keeps levels) goes through plain()."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value, True
    if kind is dict or kind is list:
        try:
            return _copy_pure(value, 0), True
        except (_NotPlain, RecursionError):  # not pure, or nested past what the stack holds
            pass
        try:
            text = encode_json(value)
        except (TypeError, ValueError, RecursionError):
            return plain(value), False
        if text.count("{") + text.count("[") < _MAX_DEPTH and not any(k in text for k in _NON_TEXT_KEYS):
            return _DECODE(text), True
    return plain(value), False


def _no_text(part: LLMContentPart) -> LLMContentPart:
    return LLMContentPart(
        type=part.type,
        mime_type=part.mime_type,
        size_bytes=part.size_bytes,
        width=part.width,
        height=part.height,
        duration_ms=part.duration_ms,
        sample_rate=part.sample_rate,
        channels=part.channels,
    )


def _no_args(call: ToolCallSpec) -> ToolCallSpec:
    return ToolCallSpec(
        name=call.name,
        arguments_json="",
        call_id=call.call_id,
        index=call.index,
        parent_call_id=call.parent_call_id,
        type=call.type,
    )


def _message_shell(message: LLMMessage) -> LLMMessage:
    return LLMMessage(
        role=message.role,
        parts=[_no_text(p) for p in message.parts],
        name=message.name,
        tool_call_id=message.tool_call_id,
        tool_calls=[_no_args(c) for c in message.tool_calls],
    )


def drop_content(record: LLMCallRecord) -> None:
    """Remove prompt and completion text from `record` in place, keeping every number, role,
    part type, tool name and id (`capture_content=False`)."""
    record.input_messages = [_message_shell(m) for m in record.input_messages]
    record.output_messages = [_message_shell(m) for m in record.output_messages]
    record.outputs = [_message_shell(m) for m in record.outputs]
    record.output_tool_calls = [_no_args(c) for c in record.output_tool_calls]
    record.tools = [ToolDefinition(name=t.name, type=t.type) for t in record.tools]
    record.input_text = record.output_text = record.reasoning_text = record.refusal = None
    record.request_raw_json = record.response_raw_json = None
    params = record.request_params
    params.raw_params = {
        k: v for k, v in params.raw_params.items() if isinstance(v, (int, float, bool)) or v is None
    }
    if params.response_format is not None:
        params.response_format = {"type": params.response_format.get("type")}
    if record.chunks is not None:
        for chunk in record.chunks:
            chunk.raw = chunk.delta = chunk.delta_text = None
    record.metadata["content_captured"] = False

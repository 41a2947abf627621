"""Anthropic Messages API: request, response and event-stream normaliser.

Responses are `{"type": "message", "content": [blocks], "stop_reason", "usage"}`; streams are the
typed events message_start, content_block_start/delta/stop, message_delta (stop_reason plus
CUMULATIVE usage), message_stop, ping and error. Blocks keep vendor order: text, tool_use
(call_id = the block id), thinking (signature kept in `data`) and redacted_thinking; any other
block type is kept verbatim as a content part. Each block and the usage are read on their own, so
one malformed section is reported in `error` without losing the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers._anthropic_content import (
    as_mapping,
    compact_json,
    join_text,
    joined_texts,
    opt_str,
    parse_arguments,
    parse_request,
    problem_dict,
    read_blocks,
    redacted_part,
    req_str,
)
from tracekit.helpers.base import ChunkInfo, PayloadProblem, ResponseParts
from tracekit.helpers.usage import from_anthropic
from tracekit.model import (
    ApiType,
    LLMContentPart,
    LLMMessage,
    Role,
    ToolCallSpec,
)

__all__ = [
    "API_TYPE",
    "PROVIDER",
    "AnthropicStreamState",
    "add_chunk",
    "finish_stream",
    "is_chunk",
    "is_response",
    "new_stream_state",
    "parse_request",
    "parse_response",
]

logger = logging.getLogger(__name__)

PROVIDER: Final = "anthropic"
API_TYPE: Final[ApiType] = "messages"

_EVENT_TYPES: Final = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
    }
)
_MESSAGE_META_KEYS: Final = ("stop_sequence", "stop_details")


# ---------------------------------------------------------------------------------------------
# Detection


def is_response(payload: Mapping[str, Any]) -> bool:
    """A complete Messages response: `type == "message"`, or an assistant `content` list next to a
    `stop_reason` key (the shape Anthropic's docs show)."""
    if not isinstance(payload.get("content"), list):
        return False
    kind = payload.get("type")
    return kind == "message" or (
        kind is None and payload.get("role") == "assistant" and "stop_reason" in payload
    )


def is_chunk(chunk: Mapping[str, Any]) -> bool:
    """Whether `chunk` is a Messages stream event (including Anthropic's nested `error` event)."""
    kind = chunk.get("type")
    if kind in _EVENT_TYPES:
        return True
    return kind == "error" and isinstance(chunk.get("error"), Mapping) and "sequence_number" not in chunk


# ---------------------------------------------------------------------------------------------
# Responses


def _assemble(
    *,
    model_name: str | None,
    response_id: str | None,
    role: Role,
    parts: list[LLMContentPart],
    calls: list[ToolCallSpec],
    metadata: dict[str, Any],
    usage_raw: Mapping[str, Any] | None,
    finish_reason: str | None,
    problems: list[PayloadProblem],
) -> ResponseParts:
    """ResponseParts from the pieces a response or a finished stream yields."""
    usage = None
    if usage_raw is not None:
        try:
            usage = from_anthropic(usage_raw, "usage", problems)
        except PayloadProblem as problem:
            problems.append(problem)
    message = LLMMessage(role=role, parts=parts, tool_calls=calls, metadata=metadata)
    result = ResponseParts(
        model_name=model_name,
        response_id=response_id,
        output_messages=[message],
        output_text=joined_texts(parts, "text"),
        reasoning_text=joined_texts(parts, "thinking"),
        output_tool_calls=list(calls),
        usage=usage,
        finish_reason=finish_reason,
    )
    if problems:
        logger.warning("malformed Anthropic payload: %s", problems[0])
        result.outcome = "error"
        result.error = problem_dict(problems[0])
    return result


def _role(payload: Mapping[str, Any], problems: list[PayloadProblem]) -> Role:
    role = payload.get("role", "assistant")
    if role != "assistant":
        problems.append(PayloadProblem("role", "expected 'assistant'", role))
    return "assistant"


def _optional_field(payload: Mapping[str, Any], key: str, problems: list[PayloadProblem]) -> str | None:
    """`payload[key]` as text or None; anything else is noted as a problem at `key`."""
    value = payload.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.append(PayloadProblem(key, "expected a string", value))
    return None


def parse_response(payload: Mapping[str, Any]) -> ResponseParts:
    """Normalise a complete Messages response; malformed sections are reported in `error`."""
    problems: list[PayloadProblem] = []
    content = payload.get("content")
    if not isinstance(content, list):
        problems.append(PayloadProblem("content", "expected a list of content blocks", content))
        content = []
    parts, calls = read_blocks(content, "content", problems)
    usage_raw = payload.get("usage")
    if usage_raw is not None and not isinstance(usage_raw, Mapping):
        problems.append(PayloadProblem("usage", "expected an object", usage_raw))
        usage_raw = None
    return _assemble(
        model_name=_optional_field(payload, "model", problems),
        response_id=_optional_field(payload, "id", problems),
        role=_role(payload, problems),
        parts=parts,
        calls=calls,
        metadata={k: payload[k] for k in _MESSAGE_META_KEYS if payload.get(k) is not None},
        usage_raw=usage_raw,
        finish_reason=_optional_field(payload, "stop_reason", problems),
        problems=problems,
    )


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(slots=True)
class _Block:
    """One content block being streamed: its start payload plus the deltas received so far."""

    type: str
    start: dict[str, Any]
    pieces: list[str] = field(default_factory=list)
    signature: str | None = None
    citations: list[Any] = field(default_factory=list)
    """`citations_delta` citations of a text block, in order."""


@dataclass(slots=True)
class AnthropicStreamState:
    """Accumulator for one Messages event stream (mutated by `add_chunk`)."""

    model_name: str | None = None
    response_id: str | None = None
    role: Role = "assistant"
    blocks: dict[int, _Block] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    """The merged usage snapshot: message_start's, overwritten field by field by message_delta's."""
    stop_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    """stop_sequence / stop_details as message_delta reported them."""
    finished: bool = False
    vendor_error: dict[str, Any] | None = None
    problems: list[PayloadProblem] = field(default_factory=list)


def new_stream_state() -> AnthropicStreamState:
    """A fresh accumulator for one Messages stream."""
    return AnthropicStreamState()


_DELTA_BLOCK_TYPES: Final = {
    "text_delta": "text",
    "input_json_delta": "tool_use",
    "thinking_delta": "thinking",
    "signature_delta": "thinking",
}
_DELTA_FIELDS: Final = {
    "text_delta": "text",
    "input_json_delta": "partial_json",
    "thinking_delta": "thinking",
}


def _merge_usage(state: AnthropicStreamState, usage: Any, path: str) -> None:
    """Newest non-null value of each usage field wins: message_delta usage is cumulative."""
    for key, value in as_mapping(usage, path).items():
        if value is not None:
            state.usage[key] = dict(value) if isinstance(value, Mapping) else value


def _block_index(chunk: Mapping[str, Any]) -> int:
    index = chunk.get("index")
    if type(index) is int and index >= 0:
        return index
    raise PayloadProblem(f"{chunk.get('type')}.index", "expected a non-negative integer", index)


def _on_message_start(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    message = as_mapping(chunk.get("message"), "message_start.message")
    state.model_name = opt_str(message, "model", "message_start.message") or state.model_name
    state.response_id = opt_str(message, "id", "message_start.message") or state.response_id
    if message.get("usage") is not None:
        _merge_usage(state, message["usage"], "message_start.message.usage")
    return ChunkInfo(kind="meta", event_type="message_start")


def _on_block_start(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    index = _block_index(chunk)
    block = as_mapping(chunk.get("content_block"), "content_block_start.content_block")
    kind = block.get("type")
    if not isinstance(kind, str):
        raise PayloadProblem("content_block_start.content_block.type", "expected a string", kind)
    entry = _Block(type=kind, start=dict(block))
    state.blocks[index] = entry
    text_key = {"text": "text", "thinking": "thinking"}.get(kind)
    initial = block.get(text_key) if text_key else None
    if isinstance(initial, str) and initial:
        entry.pieces.append(initial)
        return ChunkInfo(
            kind="content", event_type="content_block_start", delta_text=initial if kind == "text" else None
        )
    return ChunkInfo(kind="meta", event_type="content_block_start")


def _on_block_delta(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    index = _block_index(chunk)
    delta = as_mapping(chunk.get("delta"), "content_block_delta.delta")
    kind = delta.get("type")
    block = state.blocks.get(index)
    if block is None:
        inferred = _DELTA_BLOCK_TYPES.get(kind) if isinstance(kind, str) else None
        if inferred is None:
            raise PayloadProblem("content_block_delta.delta.type", "unknown delta type", kind)
        state.problems.append(
            PayloadProblem("content_block_delta.index", "delta for a content block that never started", index)
        )
        block = state.blocks[index] = _Block(type=inferred, start={"type": inferred})
    if kind == "signature_delta":
        block.signature = (block.signature or "") + req_str(delta, "signature", "content_block_delta.delta")
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    if kind == "citations_delta":
        block.citations.append(as_mapping(delta.get("citation"), "content_block_delta.delta.citation"))
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    key = _DELTA_FIELDS.get(kind) if isinstance(kind, str) else None
    if key is None:
        # A delta type this version does not know: kept on the chunk only.
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    piece = req_str(delta, key, "content_block_delta.delta")
    block.pieces.append(piece)
    if not piece:
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    return ChunkInfo(
        kind="content", event_type="content_block_delta", delta_text=piece if kind == "text_delta" else None
    )


def _on_message_delta(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    delta = chunk.get("delta")
    if delta is not None:
        delta = as_mapping(delta, "message_delta.delta")
        state.stop_reason = opt_str(delta, "stop_reason", "message_delta.delta") or state.stop_reason
        for key in _MESSAGE_META_KEYS:
            if delta.get(key) is not None:
                state.metadata[key] = delta[key]
    if chunk.get("usage") is not None:
        _merge_usage(state, chunk["usage"], "message_delta.usage")
    return ChunkInfo(kind="usage", event_type="message_delta")


def _on_error(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    error = as_mapping(chunk.get("error"), "error.error")
    if state.vendor_error is None:
        state.vendor_error = {
            "type": str(error.get("type") or "error"),
            "message": str(error.get("message") or ""),
        }
    return ChunkInfo(kind="error", event_type="error")


def add_chunk(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    """Fold one stream event into `state` and say what it carried; a malformed event is noted, not raised."""
    kind = chunk.get("type")
    event_type = kind if isinstance(kind, str) else None
    try:
        if kind == "content_block_delta":
            return _on_block_delta(state, chunk)
        if kind == "content_block_start":
            return _on_block_start(state, chunk)
        if kind == "content_block_stop":
            _block_index(chunk)
            return ChunkInfo(kind="meta", event_type=event_type)
        if kind == "message_start":
            return _on_message_start(state, chunk)
        if kind == "message_delta":
            return _on_message_delta(state, chunk)
        if kind == "message_stop":
            state.finished = True
            return ChunkInfo(kind="done", event_type=event_type)
        if kind == "ping":
            return ChunkInfo(kind="ping", event_type=event_type)
        if kind == "error":
            return _on_error(state, chunk)
        if isinstance(kind, str):
            # Anthropic adds event types over time and asks clients to ignore the ones they do
            # not know: kept on the chunk, never an error
            return ChunkInfo(kind="meta", event_type=kind)
        raise PayloadProblem("type", "not a Messages stream event type", kind)
    except PayloadProblem as problem:
        state.problems.append(problem)
        return ChunkInfo(kind="meta", event_type=event_type)


def _finish_block(block: _Block, index: int, calls: list[ToolCallSpec], parts: list[LLMContentPart]) -> None:
    path = f"content_block[{index}]"
    if block.type == "text":
        extra = {k: v for k, v in block.start.items() if k not in ("type", "text") and v is not None}
        if block.citations:
            # a complete response holds the same citations in the text block's `citations`
            earlier = extra.get("citations")
            extra["citations"] = [*(earlier if isinstance(earlier, list) else []), *block.citations]
        parts.append(LLMContentPart(type="text", text=join_text(block.pieces), data=extra or None))
    elif block.type == "thinking":
        signature = (
            block.signature if block.signature is not None else opt_str(block.start, "signature", path)
        )
        parts.append(
            LLMContentPart(
                type="thinking",
                text=join_text(block.pieces),
                data=None if signature is None else {"signature": signature},
            )
        )
    elif block.type == "tool_use":
        arguments_json = join_text(block.pieces)
        if not arguments_json:
            arguments_json = compact_json(block.start.get("input", {}), f"{path}.input")
        calls.append(
            ToolCallSpec(
                name=opt_str(block.start, "name", path) or "",
                arguments_json=arguments_json,
                arguments=parse_arguments(arguments_json),
                call_id=opt_str(block.start, "id", path),
                index=len(calls),
            )
        )
    elif block.type == "redacted_thinking":
        parts.append(redacted_part(block.start, path))
    elif block.pieces:
        # a server tool call (e.g. web_search's server_tool_use) streams its input like tool_use does
        input_json = join_text(block.pieces)
        parsed = parse_arguments(input_json)
        extra = {"input": parsed} if parsed is not None else {"input_json": input_json}
        parts.append(LLMContentPart(type=block.type, data={**block.start, **extra}))
    else:
        parts.append(LLMContentPart(type=block.type, data=block.start))


def finish_stream(state: AnthropicStreamState) -> ResponseParts:
    """The response so far: `incomplete` without message_stop, `error` after an error event."""
    problems = list(state.problems)
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    for index in sorted(state.blocks):
        try:
            _finish_block(state.blocks[index], index, calls, parts)
        except PayloadProblem as problem:
            problems.append(problem)
    result = _assemble(
        model_name=state.model_name,
        response_id=state.response_id,
        role=state.role,
        parts=parts,
        calls=calls,
        metadata=dict(state.metadata),
        usage_raw=state.usage or None,
        finish_reason=state.stop_reason,
        problems=problems,
    )
    if state.vendor_error is not None:
        result.outcome = "error"
        result.error = dict(state.vendor_error)
    elif result.error is None and not state.finished:
        result.outcome = "incomplete"
    return result

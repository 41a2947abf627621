"""Anthropic Messages API: request, response and event-stream normaliser.

Responses are `{"type": "message", "content": [blocks], "stop_reason", "usage"}`; streams are the
typed events message_start, content_block_start/delta/stop, message_delta (stop_reason plus
CUMULATIVE usage), message_stop, ping and error. Blocks keep vendor order: text, tool_use
(call_id = the block id), thinking (signature kept in `data`) and redacted_thinking; any other
block type is kept verbatim as a content part. Each block and the usage are read on their own, so
one malformed section is reported in `error` without losing the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers.base import ChunkInfo, PayloadProblem, RequestParts, ResponseParts
from tracekit.helpers.usage import from_anthropic
from tracekit.model import (
    ApiType,
    LLMContentPart,
    LLMMessage,
    LLMRequestParams,
    Role,
    ToolCallSpec,
    ToolDefinition,
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
_REQUEST_KEYS: Final = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "max_tokens", "temperature", "top_p", "top_k"}
    | {"stop_sequences", "stream"}
)


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
# Small readers


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise PayloadProblem(path, "expected an object", value)


def _list(value: Any, path: str) -> list[Any]:
    if isinstance(value, list):
        return value
    raise PayloadProblem(path, "expected a list", value)


def _opt_str(block: Mapping[str, Any], key: str, path: str) -> str | None:
    value = block.get(key)
    if value is None or isinstance(value, str):
        return value
    raise PayloadProblem(f"{path}.{key}", "expected a string", value)


def _str(block: Mapping[str, Any], key: str, path: str) -> str:
    value = block.get(key)
    if isinstance(value, str):
        return value
    raise PayloadProblem(f"{path}.{key}", "expected a string", value)


def _compact_json(value: Any, path: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadProblem(path, f"not JSON-serialisable ({exc})", value) from None


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"non-finite number {token}")


def _parse_arguments(arguments_json: str) -> Any:
    """The parsed tool arguments, or None when the text is not valid JSON (never an error).
    NaN/Infinity count as invalid: a record holding them could not be stored."""
    try:
        return json.loads(arguments_json, parse_constant=_refuse_constant)
    except ValueError:
        return None


def _join_text(pieces: list[str]) -> str:
    """Deltas joined into one text; a non-BMP character whose UTF-16 halves arrived in different
    deltas (as JSON escapes) is paired up again, unpaired halves become U+FFFD."""
    text = "".join(pieces)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _problem_dict(problem: PayloadProblem) -> dict[str, Any]:
    return {"type": "malformed_payload", "path": problem.path, "message": str(problem)}


def _join(pieces: list[str]) -> str | None:
    return "".join(pieces) if pieces else None


# ---------------------------------------------------------------------------------------------
# Content blocks (shared by requests and responses)


def _source_part(part_type: str, block: Mapping[str, Any], path: str) -> LLMContentPart:
    """An image/document block: base64 data and URLs are kept; other source kinds stay in `data`."""
    source = _mapping(block.get("source"), f"{path}.source")
    kind = source.get("type")
    extra = {k: v for k, v in block.items() if k not in ("type", "source")}
    if kind == "base64":
        return LLMContentPart(
            type=part_type,
            mime_type=_opt_str(source, "media_type", f"{path}.source"),
            base64_data=_str(source, "data", f"{path}.source"),
            data=extra or None,
        )
    if kind == "url":
        return LLMContentPart(type=part_type, uri=_str(source, "url", f"{path}.source"), data=extra or None)
    if kind == "text":
        return LLMContentPart(
            type=part_type,
            text=_str(source, "data", f"{path}.source"),
            mime_type=_opt_str(source, "media_type", f"{path}.source"),
            data=extra or None,
        )
    return LLMContentPart(type=part_type, data={**extra, "source": dict(source)})


def _text_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    extra = {k: v for k, v in block.items() if k not in ("type", "text") and v is not None}
    return LLMContentPart(type="text", text=_str(block, "text", path), data=extra or None)


def _thinking_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    signature = _opt_str(block, "signature", path)
    return LLMContentPart(
        type="thinking",
        text=_str(block, "thinking", path),
        data=None if signature is None else {"signature": signature},
    )


def _redacted_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    return LLMContentPart(type="redacted_thinking", data={"data": _str(block, "data", path)})


def _tool_use(block: Mapping[str, Any], path: str, index: int) -> ToolCallSpec:
    arguments = block.get("input", {})
    arguments_json = _compact_json(arguments, f"{path}.input")
    return ToolCallSpec(
        name=_str(block, "name", path),
        arguments_json=arguments_json,
        arguments=json.loads(arguments_json),
        call_id=_opt_str(block, "id", path),
        index=index,
    )


def _tool_result_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    """A user-side tool_result block; text content is flattened, anything else is kept in `data`."""
    content = block.get("content")
    data: dict[str, Any] = {"tool_use_id": _str(block, "tool_use_id", path)}
    if block.get("is_error") is not None:
        data["is_error"] = block["is_error"]
    text: str | None = None
    if isinstance(content, str):
        text = content
    elif content is not None:
        items = _list(content, f"{path}.content")
        texts = [
            item.get("text") for item in items if isinstance(item, Mapping) and item.get("type") == "text"
        ]
        if len(texts) == len(items) and all(isinstance(t, str) for t in texts):
            text = "".join(t for t in texts if isinstance(t, str))
        else:
            data["content"] = [dict(item) if isinstance(item, Mapping) else item for item in items]
    return LLMContentPart(type="tool_result", text=text, data=data)


def _read_blocks(
    blocks: list[Any], path: str, problems: list[PayloadProblem]
) -> tuple[list[LLMContentPart], list[ToolCallSpec]]:
    """Content parts and tool calls from a block list; a bad block is noted in `problems` and skipped."""
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    for i, raw in enumerate(blocks):
        where = f"{path}[{i}]"
        try:
            block = _mapping(raw, where)
            kind = block.get("type")
            if kind == "text":
                parts.append(_text_part(block, where))
            elif kind == "tool_use":
                calls.append(_tool_use(block, where, len(calls)))
            elif kind == "thinking":
                parts.append(_thinking_part(block, where))
            elif kind == "redacted_thinking":
                parts.append(_redacted_part(block, where))
            elif kind == "image":
                parts.append(_source_part("image", block, where))
            elif kind == "document":
                parts.append(_source_part("file", block, where))
            elif kind == "tool_result":
                parts.append(_tool_result_part(block, where))
            elif isinstance(kind, str):
                parts.append(LLMContentPart(type=kind, data=dict(block)))
            else:
                raise PayloadProblem(f"{where}.type", "content block without a string type", kind)
        except PayloadProblem as problem:
            problems.append(problem)
    return parts, calls


def _texts(parts: list[LLMContentPart], part_type: str) -> str | None:
    return _join([p.text for p in parts if p.type == part_type and p.text is not None])


# ---------------------------------------------------------------------------------------------
# Requests


def _system_message(system: Any) -> LLMMessage:
    if isinstance(system, str):
        return LLMMessage(role="system", parts=[LLMContentPart(type="text", text=system)])
    problems: list[PayloadProblem] = []
    parts, _ = _read_blocks(_list(system, "system"), "system", problems)
    if problems:
        raise problems[0]
    return LLMMessage(role="system", parts=parts)


def _request_message(raw: Any, path: str) -> LLMMessage:
    message = _mapping(raw, path)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise PayloadProblem(f"{path}.role", "expected 'user' or 'assistant'", role)
    content = message.get("content")
    if isinstance(content, str):
        return LLMMessage(role=role, parts=[LLMContentPart(type="text", text=content)])
    problems: list[PayloadProblem] = []
    parts, calls = _read_blocks(_list(content, f"{path}.content"), f"{path}.content", problems)
    if problems:
        raise problems[0]
    return LLMMessage(role=role, parts=parts, tool_calls=calls)


def _tool_definition(raw: Any, path: str) -> ToolDefinition:
    tool = _mapping(raw, path)
    kind = tool.get("type")
    schema = tool.get("input_schema")
    extra = {k: v for k, v in tool.items() if k not in ("name", "description", "input_schema", "type")}
    custom = kind is None or kind == "custom"
    return ToolDefinition(
        name=_str(tool, "name", path),
        description=_opt_str(tool, "description", path),
        parameters=None if schema is None else dict(_mapping(schema, f"{path}.input_schema")),
        type="function" if custom else str(kind),
        raw=dict(tool) if extra or not custom else None,
    )


def _int_param(request: Mapping[str, Any], key: str, path: str | None = None) -> int | None:
    value = request.get(key)
    if value is None or (type(value) is int):
        return value
    raise PayloadProblem(path or key, "expected an integer", value)


def _float_param(request: Mapping[str, Any], key: str) -> float | None:
    value = request.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PayloadProblem(key, "expected a number", value)


def _params(request: Mapping[str, Any]) -> LLMRequestParams:
    stop = request.get("stop_sequences")
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise PayloadProblem("stop_sequences", "expected a list of strings", stop)
    budget: int | None = None
    thinking = request.get("thinking")
    if thinking is not None:
        budget = _int_param(_mapping(thinking, "thinking"), "budget_tokens", "thinking.budget_tokens")
    stream = request.get("stream")
    return LLMRequestParams(
        temperature=_float_param(request, "temperature"),
        top_p=_float_param(request, "top_p"),
        top_k=_int_param(request, "top_k"),
        max_tokens=_int_param(request, "max_tokens"),
        stop=None if stop is None else list(stop),
        thinking_budget_tokens=budget,
        stream=stream if isinstance(stream, bool) else None,
        raw_params={k: v for k, v in request.items() if k not in _REQUEST_KEYS and v is not None},
    )


def parse_request(request: Mapping[str, Any]) -> RequestParts:
    """Normalise a Messages request body (system, messages, tools, tool_choice, sampling params).

    Raises PayloadProblem naming the first malformed field.
    """
    messages: list[LLMMessage] = []
    if request.get("system") is not None:
        messages.append(_system_message(request["system"]))
    raw_messages = request.get("messages")
    if raw_messages is not None:
        for i, raw in enumerate(_list(raw_messages, "messages")):
            messages.append(_request_message(raw, f"messages[{i}]"))
    tools_raw = request.get("tools")
    tools = (
        [_tool_definition(t, f"tools[{i}]") for i, t in enumerate(_list(tools_raw, "tools"))]
        if tools_raw is not None
        else []
    )
    tool_choice = request.get("tool_choice")
    if tool_choice is not None and not isinstance(tool_choice, str):
        tool_choice = dict(_mapping(tool_choice, "tool_choice"))
    model = request.get("model")
    return RequestParts(
        input_messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        request_params=_params(request),
        model_name=model if isinstance(model, str) else None,
    )


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
    usage_path: str,
    finish_reason: str | None,
    problems: list[PayloadProblem],
) -> ResponseParts:
    """ResponseParts from the pieces a response or a finished stream yields."""
    usage = None
    if usage_raw is not None:
        try:
            usage = from_anthropic(usage_raw, usage_path)
        except PayloadProblem as problem:
            problems.append(problem)
    message = LLMMessage(role=role, parts=parts, tool_calls=calls, metadata=metadata)
    result = ResponseParts(
        model_name=model_name,
        response_id=response_id,
        output_messages=[message],
        output_text=_texts(parts, "text"),
        reasoning_text=_texts(parts, "thinking"),
        output_tool_calls=list(calls),
        usage=usage,
        finish_reason=finish_reason,
    )
    if problems:
        logger.warning("malformed Anthropic payload: %s", problems[0])
        result.outcome = "error"
        result.error = _problem_dict(problems[0])
    return result


def _role(payload: Mapping[str, Any], problems: list[PayloadProblem]) -> Role:
    role = payload.get("role", "assistant")
    if role != "assistant":
        problems.append(PayloadProblem("role", "expected 'assistant'", role))
    return "assistant"


def _optional_field(
    payload: Mapping[str, Any], key: str, path: str, problems: list[PayloadProblem]
) -> str | None:
    try:
        return _opt_str(payload, key, path)
    except PayloadProblem as problem:
        problems.append(problem)
        return None


def parse_response(payload: Mapping[str, Any]) -> ResponseParts:
    """Normalise a complete Messages response; malformed sections are reported in `error`."""
    problems: list[PayloadProblem] = []
    content = payload.get("content")
    if not isinstance(content, list):
        problems.append(PayloadProblem("content", "expected a list of content blocks", content))
        content = []
    parts, calls = _read_blocks(content, "content", problems)
    usage_raw = payload.get("usage")
    if usage_raw is not None and not isinstance(usage_raw, Mapping):
        problems.append(PayloadProblem("usage", "expected an object", usage_raw))
        usage_raw = None
    return _assemble(
        model_name=_optional_field(payload, "model", "response", problems),
        response_id=_optional_field(payload, "id", "response", problems),
        role=_role(payload, problems),
        parts=parts,
        calls=calls,
        metadata={k: payload[k] for k in _MESSAGE_META_KEYS if payload.get(k) is not None},
        usage_raw=usage_raw,
        usage_path="usage",
        finish_reason=_optional_field(payload, "stop_reason", "response", problems),
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
    for key, value in _mapping(usage, path).items():
        if value is not None:
            state.usage[key] = dict(value) if isinstance(value, Mapping) else value


def _block_index(chunk: Mapping[str, Any]) -> int:
    index = chunk.get("index")
    if type(index) is int and index >= 0:
        return index
    raise PayloadProblem(f"{chunk.get('type')}.index", "expected a non-negative integer", index)


def _on_message_start(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    message = _mapping(chunk.get("message"), "message_start.message")
    state.model_name = _opt_str(message, "model", "message_start.message") or state.model_name
    state.response_id = _opt_str(message, "id", "message_start.message") or state.response_id
    if message.get("usage") is not None:
        _merge_usage(state, message["usage"], "message_start.message.usage")
    return ChunkInfo(kind="meta", event_type="message_start")


def _on_block_start(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    index = _block_index(chunk)
    block = _mapping(chunk.get("content_block"), "content_block_start.content_block")
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
    delta = _mapping(chunk.get("delta"), "content_block_delta.delta")
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
        block.signature = (block.signature or "") + _str(delta, "signature", "content_block_delta.delta")
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    key = _DELTA_FIELDS.get(kind) if isinstance(kind, str) else None
    if key is None:
        # A delta type this version does not know (e.g. citations_delta): kept on the chunk only.
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    piece = _str(delta, key, "content_block_delta.delta")
    block.pieces.append(piece)
    if not piece:
        return ChunkInfo(kind="meta", event_type="content_block_delta")
    return ChunkInfo(
        kind="content", event_type="content_block_delta", delta_text=piece if kind == "text_delta" else None
    )


def _on_message_delta(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    delta = chunk.get("delta")
    if delta is not None:
        delta = _mapping(delta, "message_delta.delta")
        state.stop_reason = _opt_str(delta, "stop_reason", "message_delta.delta") or state.stop_reason
        for key in _MESSAGE_META_KEYS:
            if delta.get(key) is not None:
                state.metadata[key] = delta[key]
    if chunk.get("usage") is not None:
        _merge_usage(state, chunk["usage"], "message_delta.usage")
    return ChunkInfo(kind="usage", event_type="message_delta")


def _on_error(state: AnthropicStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    error = _mapping(chunk.get("error"), "error.error")
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
        raise PayloadProblem("type", "not a Messages stream event type", kind)
    except PayloadProblem as problem:
        state.problems.append(problem)
        return ChunkInfo(kind="meta", event_type=event_type)


def _finish_block(block: _Block, index: int, calls: list[ToolCallSpec], parts: list[LLMContentPart]) -> None:
    path = f"content_block[{index}]"
    if block.type == "text":
        extra = {k: v for k, v in block.start.items() if k not in ("type", "text") and v is not None}
        parts.append(LLMContentPart(type="text", text=_join_text(block.pieces), data=extra or None))
    elif block.type == "thinking":
        signature = (
            block.signature if block.signature is not None else _opt_str(block.start, "signature", path)
        )
        parts.append(
            LLMContentPart(
                type="thinking",
                text=_join_text(block.pieces),
                data=None if signature is None else {"signature": signature},
            )
        )
    elif block.type == "tool_use":
        arguments_json = _join_text(block.pieces)
        if not arguments_json:
            arguments_json = _compact_json(block.start.get("input", {}), f"{path}.input")
        calls.append(
            ToolCallSpec(
                name=_opt_str(block.start, "name", path) or "",
                arguments_json=arguments_json,
                arguments=_parse_arguments(arguments_json),
                call_id=_opt_str(block.start, "id", path),
                index=len(calls),
            )
        )
    elif block.type == "redacted_thinking":
        parts.append(_redacted_part(block.start, path))
    elif block.pieces:
        # a server tool call (e.g. web_search's server_tool_use) streams its input like tool_use does
        input_json = _join_text(block.pieces)
        parsed = _parse_arguments(input_json)
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
        usage_path="usage",
        finish_reason=state.stop_reason,
        problems=problems,
    )
    if state.vendor_error is not None:
        result.outcome = "error"
        result.error = dict(state.vendor_error)
    elif result.error is None and not state.finished:
        result.outcome = "incomplete"
    return result

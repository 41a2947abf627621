"""Anthropic Messages content: value readers, content blocks -> parts, and request parsing.

Shared by `anthropic.py` (responses and streams) and its `parse_request`. Blocks keep vendor
order; any block type not listed here is kept verbatim as a content part of that type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from tracekit.helpers._common import as_mapping, compact_json, join_text, parse_arguments, problem_dict
from tracekit.helpers._record_build import builder
from tracekit.helpers.base import PayloadProblem, RequestParts
from tracekit.model import LLMContentPart, LLMMessage, LLMRequestParams, ToolCallSpec, ToolDefinition

__all__ = [
    "as_mapping",
    "compact_json",
    "join_text",
    "joined_texts",
    "list_of",
    "opt_str",
    "parse_arguments",
    "parse_request",
    "problem_dict",
    "read_blocks",
    "redacted_part",
    "req_str",
]

_REQUEST_KEYS: Final = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "max_tokens", "temperature", "top_p", "top_k"}
    | {"stop_sequences", "stream"}
)

# ---------------------------------------------------------------------------------------------
# Small readers


def list_of(value: Any, path: str) -> list[Any]:
    """`value` as a list, else PayloadProblem at `path`."""
    if isinstance(value, list):
        return value
    raise PayloadProblem(path, "expected a list", value)


def opt_str(block: Mapping[str, Any], key: str, path: str) -> str | None:
    """`block[key]` as text or None, else PayloadProblem."""
    value = block.get(key)
    if value is None or isinstance(value, str):
        return value
    raise PayloadProblem(f"{path}.{key}", "expected a string", value)


def req_str(block: Mapping[str, Any], key: str, path: str) -> str:
    """`block[key]` as text, else PayloadProblem (also when absent)."""
    value = block.get(key)
    if isinstance(value, str):
        return value
    raise PayloadProblem(f"{path}.{key}", "expected a string", value)


def _join(pieces: list[str]) -> str | None:
    return "".join(pieces) if pieces else None


# ---------------------------------------------------------------------------------------------
# Content blocks (shared by requests and responses)


def _source_part(part_type: str, block: Mapping[str, Any], path: str) -> LLMContentPart:
    """An image/document block: base64 data and URLs are kept; other source kinds stay in `data`."""
    source = as_mapping(block.get("source"), f"{path}.source")
    kind = source.get("type")
    extra = {k: v for k, v in block.items() if k not in ("type", "source")}
    if kind == "base64":
        return LLMContentPart(
            type=part_type,
            mime_type=opt_str(source, "media_type", f"{path}.source"),
            base64_data=req_str(source, "data", f"{path}.source"),
            data=extra or None,
        )
    if kind == "url":
        return LLMContentPart(
            type=part_type, uri=req_str(source, "url", f"{path}.source"), data=extra or None
        )
    if kind == "text":
        return LLMContentPart(
            type=part_type,
            text=req_str(source, "data", f"{path}.source"),
            mime_type=opt_str(source, "media_type", f"{path}.source"),
            data=extra or None,
        )
    return LLMContentPart(type=part_type, data={**extra, "source": dict(source)})


_PART: Final = builder(LLMContentPart, ("type", "text", "data"))
"""`LLMContentPart(type=, text=, data=)` without matching keywords (see `_record_build`)."""


def _text_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    extra = {k: v for k, v in block.items() if k not in ("type", "text") and v is not None}
    return _PART("text", req_str(block, "text", path), extra or None)


def _thinking_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    signature = opt_str(block, "signature", path)
    return LLMContentPart(
        type="thinking",
        text=req_str(block, "thinking", path),
        data=None if signature is None else {"signature": signature},
    )


def redacted_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    """A redacted_thinking block as a content part keeping its encrypted `data`."""
    return LLMContentPart(type="redacted_thinking", data={"data": req_str(block, "data", path)})


def _tool_use(block: Mapping[str, Any], path: str, index: int) -> ToolCallSpec:
    arguments = block.get("input", {})
    arguments_json = compact_json(arguments, f"{path}.input")
    return ToolCallSpec(
        name=req_str(block, "name", path),
        arguments_json=arguments_json,
        arguments=json.loads(arguments_json),
        call_id=opt_str(block, "id", path),
        index=index,
    )


def _tool_result_part(block: Mapping[str, Any], path: str) -> LLMContentPart:
    """A user-side tool_result block; text content is flattened, anything else is kept in `data`."""
    content = block.get("content")
    data: dict[str, Any] = {"tool_use_id": req_str(block, "tool_use_id", path)}
    if block.get("is_error") is not None:
        data["is_error"] = block["is_error"]
    text: str | None = None
    if isinstance(content, str):
        text = content
    elif content is not None:
        items = list_of(content, f"{path}.content")
        texts = [
            item.get("text") for item in items if isinstance(item, Mapping) and item.get("type") == "text"
        ]
        if len(texts) == len(items) and all(isinstance(t, str) for t in texts):
            text = "".join(t for t in texts if isinstance(t, str))
        else:
            data["content"] = [dict(item) if isinstance(item, Mapping) else item for item in items]
    return LLMContentPart(type="tool_result", text=text, data=data)


def read_blocks(
    blocks: list[Any], path: str, problems: list[PayloadProblem]
) -> tuple[list[LLMContentPart], list[ToolCallSpec]]:
    """Content parts and tool calls from a block list; a bad block is noted in `problems` and skipped."""
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    for i, raw in enumerate(blocks):
        where = f"{path}[{i}]"
        try:
            block = as_mapping(raw, where)
            kind = block.get("type")
            if kind == "text":
                parts.append(_text_part(block, where))
            elif kind == "tool_use":
                calls.append(_tool_use(block, where, len(calls)))
            elif kind == "thinking":
                parts.append(_thinking_part(block, where))
            elif kind == "redacted_thinking":
                parts.append(redacted_part(block, where))
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


def joined_texts(parts: list[LLMContentPart], part_type: str) -> str | None:
    """The texts of `parts` of `part_type` joined, None when there are none."""
    return _join([p.text for p in parts if p.type == part_type and p.text is not None])


# ---------------------------------------------------------------------------------------------
# Requests


def _system_message(system: Any) -> LLMMessage:
    if isinstance(system, str):
        return LLMMessage(role="system", parts=[LLMContentPart(type="text", text=system)])
    problems: list[PayloadProblem] = []
    parts, _ = read_blocks(list_of(system, "system"), "system", problems)
    if problems:
        raise problems[0]
    return LLMMessage(role="system", parts=parts)


def _request_message(raw: Any, path: str) -> LLMMessage:
    message = as_mapping(raw, path)
    role = message.get("role")
    if role not in ("user", "assistant"):
        raise PayloadProblem(f"{path}.role", "expected 'user' or 'assistant'", role)
    content = message.get("content")
    if isinstance(content, str):
        return LLMMessage(role=role, parts=[LLMContentPart(type="text", text=content)])
    problems: list[PayloadProblem] = []
    parts, calls = read_blocks(list_of(content, f"{path}.content"), f"{path}.content", problems)
    if problems:
        raise problems[0]
    return LLMMessage(role=role, parts=parts, tool_calls=calls)


def _tool_definition(raw: Any, path: str) -> ToolDefinition:
    tool = as_mapping(raw, path)
    kind = tool.get("type")
    schema = tool.get("input_schema")
    extra = {k: v for k, v in tool.items() if k not in ("name", "description", "input_schema", "type")}
    custom = kind is None or kind == "custom"
    return ToolDefinition(
        name=req_str(tool, "name", path),
        description=opt_str(tool, "description", path),
        parameters=None if schema is None else dict(as_mapping(schema, f"{path}.input_schema")),
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
        budget = _int_param(as_mapping(thinking, "thinking"), "budget_tokens", "thinking.budget_tokens")
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
        for i, raw in enumerate(list_of(raw_messages, "messages")):
            messages.append(_request_message(raw, f"messages[{i}]"))
    tools_raw = request.get("tools")
    tools = (
        [_tool_definition(t, f"tools[{i}]") for i, t in enumerate(list_of(tools_raw, "tools"))]
        if tools_raw is not None
        else []
    )
    tool_choice = request.get("tool_choice")
    if tool_choice is not None and not isinstance(tool_choice, str):
        tool_choice = dict(as_mapping(tool_choice, "tool_choice"))
    model = request.get("model")
    return RequestParts(
        input_messages=messages,
        tools=tools,
        tool_choice=tool_choice,
        request_params=_params(request),
        model_name=model if isinstance(model, str) else None,
    )

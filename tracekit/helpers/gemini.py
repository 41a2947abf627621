"""Gemini generateContent / streamGenerateContent: request, response and stream normaliser.

A response holds `candidates[].content.parts` (text, thought text, functionCall, inline or file
data, ...), `finishReason` per candidate, `usageMetadata` and, when the prompt was blocked,
`promptFeedback.blockReason` with no candidates. Each streamed chunk is a partial response: text
concatenates, usage is cumulative (the last snapshot wins) and the finishReason arrives last.

Both spellings are read: REST camelCase (`functionCall`, `usageMetadata`) and the google-genai
SDK's `model_dump()` snake_case (`function_call`, `usage_metadata`), where enums and bytes are
turned into their JSON values (enum value, base64 text). Role `model` becomes `assistant`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final

from tracekit.helpers.base import ChunkInfo, PayloadProblem, RequestParts, ResponseParts
from tracekit.helpers.usage import from_gemini
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
    "GeminiStreamState",
    "add_chunk",
    "finish_stream",
    "is_chunk",
    "is_response",
    "new_stream_state",
    "parse_request",
    "parse_response",
]

logger = logging.getLogger(__name__)

PROVIDER: Final = "google"
API_TYPE: Final[ApiType] = "generate_content"

_ROLES: Final[dict[str, Role]] = {
    "user": "user",
    "model": "assistant",
    "function": "tool",
    "system": "system",
}
_PART_META_KEYS: Final = frozenset(
    {"thought", "thoughtSignature", "thought_signature", "videoMetadata", "video_metadata"}
    | {"partMetadata", "part_metadata", "mediaResolution", "media_resolution"}
)


# ---------------------------------------------------------------------------------------------
# Small readers


def _get(mapping: Mapping[str, Any], camel: str, snake: str) -> Any:
    """The value under the REST (camelCase) or SDK (snake_case) key; None when neither is set."""
    value = mapping.get(camel)
    return mapping.get(snake) if value is None else value


def _plain(value: Any) -> Any:
    """A JSON-ready copy: SDK enums become their values and bytes become base64 text."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def _mapping(value: Any, path: str) -> Mapping[str, Any]:
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise PayloadProblem(path, "expected an object", value)


def _list(value: Any, path: str) -> list[Any]:
    if isinstance(value, list):
        return value
    raise PayloadProblem(path, "expected a list", value)


def _text(value: Any, path: str) -> str:
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return value
    raise PayloadProblem(path, "expected a string", value)


def _opt_text(value: Any, path: str) -> str | None:
    return None if value is None else _text(value, path)


def _opt_b64(value: Any, path: str) -> str | None:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return _opt_text(value, path)


def _compact_json(value: Any, path: str) -> str:
    try:
        return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadProblem(path, f"not JSON-serialisable ({exc})", value) from None


def _join_text(pieces: list[str]) -> str:
    """Streamed text pieces joined; a non-BMP character whose UTF-16 halves arrived in different
    chunks (as JSON escapes) is paired up again, unpaired halves become U+FFFD."""
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


def _role(value: Any, path: str, default: Role) -> Role:
    if value is None:
        return default
    role = _ROLES.get(_text(value, path))
    if role is None:
        raise PayloadProblem(path, "expected 'user' or 'model'", value)
    return role


def _media_type(mime_type: str | None) -> str:
    major = (mime_type or "").partition("/")[0]
    return major if major in ("image", "audio", "video") else "file"


# ---------------------------------------------------------------------------------------------
# Parts (shared by requests, responses and finished streams)


def _read_part(raw: Any, path: str, parts: list[LLMContentPart], calls: list[ToolCallSpec]) -> None:
    """Append one Gemini part to `parts` (or `calls` for a functionCall)."""
    part = _mapping(raw, path)
    signature = _opt_b64(_get(part, "thoughtSignature", "thought_signature"), f"{path}.thoughtSignature")
    text = part.get("text")
    if text is not None:
        thought = part.get("thought") is True
        data = None if signature is None else {"thought_signature": signature}
        parts.append(
            LLMContentPart(type="thinking" if thought else "text", text=_text(text, path), data=data)
        )
        return
    call = _get(part, "functionCall", "function_call")
    if call is not None:
        call = _mapping(call, f"{path}.functionCall")
        args = call.get("args")
        arguments_json = _compact_json({} if args is None else args, f"{path}.functionCall.args")
        calls.append(
            ToolCallSpec(
                name=_text(call.get("name"), f"{path}.functionCall.name"),
                arguments_json=arguments_json,
                arguments=json.loads(arguments_json),
                call_id=_opt_text(call.get("id"), f"{path}.functionCall.id"),
                index=len(calls),
                metadata={} if signature is None else {"thought_signature": signature},
            )
        )
        return
    response = _get(part, "functionResponse", "function_response")
    if response is not None:
        response = _mapping(response, f"{path}.functionResponse")
        parts.append(
            LLMContentPart(
                type="tool_result", data=_plain({k: v for k, v in response.items() if v is not None})
            )
        )
        return
    inline = _get(part, "inlineData", "inline_data")
    if inline is not None:
        inline = _mapping(inline, f"{path}.inlineData")
        mime = _opt_text(_get(inline, "mimeType", "mime_type"), f"{path}.inlineData.mimeType")
        parts.append(
            LLMContentPart(
                type=_media_type(mime),
                mime_type=mime,
                base64_data=_opt_b64(inline.get("data"), f"{path}.inlineData.data"),
            )
        )
        return
    file_data = _get(part, "fileData", "file_data")
    if file_data is not None:
        file_data = _mapping(file_data, f"{path}.fileData")
        mime = _opt_text(_get(file_data, "mimeType", "mime_type"), f"{path}.fileData.mimeType")
        parts.append(
            LLMContentPart(
                type=_media_type(mime),
                mime_type=mime,
                uri=_text(_get(file_data, "fileUri", "file_uri"), f"{path}.fileData.fileUri"),
            )
        )
        return
    others = {k: v for k, v in part.items() if v is not None and k not in _PART_META_KEYS}
    if len(others) != 1:
        raise PayloadProblem(path, "expected exactly one kind of part (text, functionCall, ...)", part)
    ((kind, value),) = others.items()
    parts.append(LLMContentPart(type=kind, data=_plain({kind: value})))


def _read_parts(
    raw_parts: Any, path: str, problems: list[PayloadProblem]
) -> tuple[list[LLMContentPart], list[ToolCallSpec]]:
    """Parts and tool calls of one Content; a bad part is noted in `problems` and skipped."""
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    if raw_parts is None:
        return parts, calls
    try:
        items = _list(raw_parts, path)
    except PayloadProblem as problem:
        problems.append(problem)
        return parts, calls
    for i, raw in enumerate(items):
        try:
            _read_part(raw, f"{path}[{i}]", parts, calls)
        except PayloadProblem as problem:
            problems.append(problem)
    return parts, calls


def _joined(parts: list[LLMContentPart], part_type: str) -> str | None:
    texts = [p.text for p in parts if p.type == part_type and p.text is not None]
    return "".join(texts) if texts else None


# ---------------------------------------------------------------------------------------------
# Detection


def _looks_like_response(payload: Mapping[str, Any]) -> bool:
    if isinstance(payload.get("candidates"), list):
        return True
    return isinstance(_get(payload, "promptFeedback", "prompt_feedback"), Mapping) or (
        isinstance(_get(payload, "usageMetadata", "usage_metadata"), Mapping)
        and _get(payload, "modelVersion", "model_version") is not None
    )


def is_response(payload: Mapping[str, Any]) -> bool:
    """Whether `payload` is a GenerateContentResponse (candidates, promptFeedback or usage + model)."""
    return _looks_like_response(payload)


def is_chunk(chunk: Mapping[str, Any]) -> bool:
    """Whether `chunk` is a streamGenerateContent chunk (a partial response) or a Google API error."""
    if _looks_like_response(chunk):
        return True
    error = chunk.get("error")
    return isinstance(error, Mapping) and "status" in error and "code" in error


# ---------------------------------------------------------------------------------------------
# Requests


def _content_message(raw: Mapping[str, Any], path: str, default_role: Role) -> LLMMessage:
    problems: list[PayloadProblem] = []
    parts, calls = _read_parts(raw.get("parts"), f"{path}.parts", problems)
    if problems:
        raise problems[0]
    return LLMMessage(
        role=_role(raw.get("role"), f"{path}.role", default_role), parts=parts, tool_calls=calls
    )


def _loose_message(items: list[Any], path: str, role: Role) -> LLMMessage:
    """One message from SDK shorthand: strings and bare parts (the SDK wraps them in one Content)."""
    problems: list[PayloadProblem] = []
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            parts.append(LLMContentPart(type="text", text=item))
            continue
        try:
            _read_part(item, f"{path}[{i}]", parts, calls)
        except PayloadProblem as problem:
            problems.append(problem)
    if problems:
        raise problems[0]
    return LLMMessage(role=role, parts=parts, tool_calls=calls)


def _contents(contents: Any, path: str, role: Role) -> list[LLMMessage]:
    """Messages from `contents`: a string, a Content, or a list of Contents, strings and parts."""
    if isinstance(contents, str):
        return [LLMMessage(role=role, parts=[LLMContentPart(type="text", text=contents)])]
    if isinstance(contents, Mapping):
        if "parts" in contents:
            return [_content_message(contents, path, role)]
        return [_loose_message([contents], path, role)]
    messages: list[LLMMessage] = []
    loose: list[Any] = []
    for i, item in enumerate(_list(contents, path)):
        if isinstance(item, Mapping) and "parts" in item:
            if loose:
                messages.append(_loose_message(loose, path, role))
                loose = []
            messages.append(_content_message(item, f"{path}[{i}]", role))
        else:
            loose.append(item)
    if loose:
        messages.append(_loose_message(loose, path, role))
    return messages


def _function_declaration(raw: Any, path: str) -> ToolDefinition:
    decl = _mapping(raw, path)
    schema = decl.get("parameters")
    if schema is None:
        schema = _get(decl, "parametersJsonSchema", "parameters_json_schema")
    known = {"name", "description", "parameters", "parametersJsonSchema", "parameters_json_schema"}
    extra = {k: v for k, v in decl.items() if k not in known and v is not None}
    return ToolDefinition(
        name=_text(decl.get("name"), f"{path}.name"),
        description=_opt_text(decl.get("description"), f"{path}.description"),
        parameters=None if schema is None else _plain(_mapping(schema, f"{path}.parameters")),
        raw=_plain(decl) if extra else None,
    )


def _tools(raw_tools: Any, path: str) -> list[ToolDefinition]:
    tools: list[ToolDefinition] = []
    for i, raw in enumerate(_list(raw_tools, path)):
        tool = _mapping(raw, f"{path}[{i}]")
        for key, value in tool.items():
            if value is None:
                continue
            if key in ("functionDeclarations", "function_declarations"):
                for j, decl in enumerate(_list(value, f"{path}[{i}].{key}")):
                    tools.append(_function_declaration(decl, f"{path}[{i}].{key}[{j}]"))
            else:
                tools.append(ToolDefinition(name=key, type=key, raw=_plain({key: value})))
    return tools


_CONFIG_KEYS: Final = {
    "temperature": ("temperature", "temperature"),
    "top_p": ("topP", "top_p"),
    "top_k": ("topK", "top_k"),
    "max_tokens": ("maxOutputTokens", "max_output_tokens"),
    "stop": ("stopSequences", "stop_sequences"),
    "n": ("candidateCount", "candidate_count"),
    "seed": ("seed", "seed"),
    "presence_penalty": ("presencePenalty", "presence_penalty"),
    "frequency_penalty": ("frequencyPenalty", "frequency_penalty"),
    "response_mime_type": ("responseMimeType", "response_mime_type"),
    "response_schema": ("responseSchema", "response_schema"),
    "response_json_schema": ("responseJsonSchema", "response_json_schema"),
}
_MAPPED_CONFIG_KEYS: Final = frozenset(k for pair in _CONFIG_KEYS.values() for k in pair)
_SDK_CONFIG_SECTIONS: Final = frozenset(
    {"system_instruction", "systemInstruction", "tools", "tool_config", "toolConfig"}
)
_REQUEST_SECTIONS: Final = frozenset(
    {"model", "contents", "generationConfig", "generation_config", "config"} | _SDK_CONFIG_SECTIONS
)


def _number(config: Mapping[str, Any], name: str) -> float | None:
    value = _get(config, *_CONFIG_KEYS[name])
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PayloadProblem(f"generationConfig.{_CONFIG_KEYS[name][0]}", "expected a number", value)


def _whole(config: Mapping[str, Any], name: str, path: str | None = None) -> int | None:
    camel, snake = _CONFIG_KEYS.get(name, (name, name))
    value = _get(config, camel, snake)
    if value is None:
        return None
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise PayloadProblem(path or f"generationConfig.{camel}", "expected an integer", value)


def _params(config: Mapping[str, Any], extras: dict[str, Any], tool_config: Any) -> LLMRequestParams:
    stop = _get(config, *_CONFIG_KEYS["stop"])
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise PayloadProblem("generationConfig.stopSequences", "expected a list of strings", stop)
    thinking = _get(config, "thinkingConfig", "thinking_config")
    budget = None
    if thinking is not None:
        thinking = _mapping(thinking, "generationConfig.thinkingConfig")
        budget = _whole(
            {"b": _get(thinking, "thinkingBudget", "thinking_budget")},
            "b",
            "generationConfig.thinkingConfig.thinkingBudget",
        )
    mime = _opt_text(_get(config, *_CONFIG_KEYS["response_mime_type"]), "generationConfig.responseMimeType")
    schema = _get(config, *_CONFIG_KEYS["response_schema"])
    if schema is None:
        schema = _get(config, *_CONFIG_KEYS["response_json_schema"])
    response_format: dict[str, Any] | None = None
    if mime is not None or schema is not None:
        response_format = {"mime_type": mime, "schema": _plain(schema)}
    raw = {k: _plain(v) for k, v in config.items() if k not in _MAPPED_CONFIG_KEYS and v is not None}
    return LLMRequestParams(
        temperature=_number(config, "temperature"),
        top_p=_number(config, "top_p"),
        top_k=_whole(config, "top_k"),
        max_tokens=_whole(config, "max_tokens"),
        stop=None if stop is None else list(stop),
        n=_whole(config, "n"),
        seed=_whole(config, "seed"),
        presence_penalty=_number(config, "presence_penalty"),
        frequency_penalty=_number(config, "frequency_penalty"),
        response_format=response_format,
        json_mode=None if mime is None else mime == "application/json",
        thinking_budget_tokens=budget,
        tool_config=None if tool_config is None else _plain(_mapping(tool_config, "toolConfig")),
        raw_params={**raw, **extras},
    )


def parse_request(request: Mapping[str, Any]) -> RequestParts:
    """Normalise a generateContent request: REST body or google-genai `generate_content` kwargs.

    REST keeps sampling in `generationConfig`; the SDK puts it, the system instruction and the
    tools in `config`. Raises PayloadProblem naming the first malformed field.
    """
    sdk_config = request.get("config")
    sdk_config = {} if sdk_config is None else _mapping(sdk_config, "config")
    config: dict[str, Any] = {k: v for k, v in sdk_config.items() if k not in _SDK_CONFIG_SECTIONS}
    generation = _get(request, "generationConfig", "generation_config")
    if generation is not None:
        config.update(_mapping(generation, "generationConfig"))

    def section(camel: str, snake: str) -> Any:
        value = _get(request, camel, snake)
        return _get(sdk_config, camel, snake) if value is None else value

    messages: list[LLMMessage] = []
    system = section("systemInstruction", "system_instruction")
    if system is not None:
        messages.extend(_contents(system, "systemInstruction", "system"))
        for message in messages:
            message.role = "system"
    contents = request.get("contents")
    if contents is not None:
        messages.extend(_contents(contents, "contents", "user"))
    raw_tools = section("tools", "tools")
    tool_config = section("toolConfig", "tool_config")
    tool_choice = None
    if tool_config is not None:
        calling = _get(
            _mapping(tool_config, "toolConfig"), "functionCallingConfig", "function_calling_config"
        )
        tool_choice = (
            None if calling is None else _plain(_mapping(calling, "toolConfig.functionCallingConfig"))
        )
    extras = {k: _plain(v) for k, v in request.items() if k not in _REQUEST_SECTIONS and v is not None}
    model = request.get("model")
    return RequestParts(
        input_messages=messages,
        tools=[] if raw_tools is None else _tools(raw_tools, "tools"),
        tool_choice=tool_choice,
        request_params=_params(config, extras, tool_config),
        model_name=model if isinstance(model, str) else None,
    )


# ---------------------------------------------------------------------------------------------
# Responses


@dataclass(slots=True)
class _Candidate:
    """One candidate read from a response (or rebuilt from a stream)."""

    index: int
    message: LLMMessage
    finish_reason: str | None


def _candidate(raw: Any, position: int, path: str, problems: list[PayloadProblem]) -> _Candidate:
    candidate = _mapping(raw, path)
    index = candidate.get("index")
    if index is not None and type(index) is not int:
        raise PayloadProblem(f"{path}.index", "expected an integer", index)
    finish = _opt_text(_get(candidate, "finishReason", "finish_reason"), f"{path}.finishReason")
    content = candidate.get("content")
    role: Role = "assistant"
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    if content is not None:
        content = _mapping(content, f"{path}.content")
        role = _role(content.get("role"), f"{path}.content.role", "assistant")
        parts, calls = _read_parts(content.get("parts"), f"{path}.content.parts", problems)
    metadata: dict[str, Any] = {}
    if finish is not None:
        metadata["finish_reason"] = finish
    finish_message = _get(candidate, "finishMessage", "finish_message")
    if finish_message is not None:
        metadata["finish_message"] = _plain(finish_message)
    message = LLMMessage(role=role, parts=parts, tool_calls=calls, metadata=metadata)
    return _Candidate(index=position if index is None else index, message=message, finish_reason=finish)


def _blocked(feedback: Any, path: str) -> dict[str, Any] | None:
    """The error dict for a prompt Gemini refused to answer (promptFeedback.blockReason), else None."""
    if feedback is None:
        return None
    feedback = _mapping(feedback, path)
    reason = _opt_text(_get(feedback, "blockReason", "block_reason"), f"{path}.blockReason")
    if reason is None:
        return None
    message = _opt_text(_get(feedback, "blockReasonMessage", "block_reason_message"), path)
    return {
        "type": "prompt_blocked",
        "message": message or f"Gemini blocked the prompt: promptFeedback.blockReason is {reason}",
        "block_reason": reason,
    }


def _assemble(
    *,
    model_name: str | None,
    response_id: str | None,
    candidates: list[_Candidate],
    usage_raw: Any,
    feedback: Any,
    problems: list[PayloadProblem],
) -> ResponseParts:
    """ResponseParts from the candidates, usage and prompt feedback of a response or finished stream."""
    usage = None
    if usage_raw is not None:
        try:
            usage = from_gemini(_plain(_mapping(usage_raw, "usageMetadata")))
        except PayloadProblem as problem:
            problems.append(problem)
    blocked = None
    try:
        blocked = _blocked(feedback, "promptFeedback")
    except PayloadProblem as problem:
        problems.append(problem)
    candidates.sort(key=lambda c: c.index)
    first = candidates[0] if candidates else None
    first_parts = first.message.parts if first else []
    result = ResponseParts(
        model_name=model_name,
        response_id=response_id,
        output_messages=[first.message] if first else [],
        outputs=[c.message for c in candidates] if len(candidates) > 1 else [],
        output_text=_joined(first_parts, "text"),
        reasoning_text=_joined(first_parts, "thinking"),
        output_tool_calls=list(first.message.tool_calls) if first else [],
        usage=usage,
        finish_reason=first.finish_reason if first else None,
    )
    if problems:
        logger.warning("malformed Gemini payload: %s", problems[0])
        result.outcome = "error"
        result.error = _problem_dict(problems[0])
    elif blocked is not None:
        result.outcome = "error"
        result.error = blocked
    return result


def _string_field(
    payload: Mapping[str, Any], camel: str, snake: str, problems: list[PayloadProblem]
) -> str | None:
    try:
        return _opt_text(_get(payload, camel, snake), camel)
    except PayloadProblem as problem:
        problems.append(problem)
        return None


def _read_candidates(payload: Mapping[str, Any], problems: list[PayloadProblem]) -> list[_Candidate]:
    raw = payload.get("candidates")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(PayloadProblem("candidates", "expected a list", raw))
        return []
    candidates = []
    for i, item in enumerate(raw):
        try:
            candidates.append(_candidate(item, i, f"candidates[{i}]", problems))
        except PayloadProblem as problem:
            problems.append(problem)
    return candidates


def parse_response(payload: Mapping[str, Any]) -> ResponseParts:
    """Normalise a complete GenerateContentResponse; malformed sections are reported in `error`."""
    problems: list[PayloadProblem] = []
    candidates = _read_candidates(payload, problems)
    return _assemble(
        model_name=_string_field(payload, "modelVersion", "model_version", problems),
        response_id=_string_field(payload, "responseId", "response_id", problems),
        candidates=candidates,
        usage_raw=_get(payload, "usageMetadata", "usage_metadata"),
        feedback=_get(payload, "promptFeedback", "prompt_feedback"),
        problems=problems,
    )


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(slots=True)
class _StreamPart:
    """A part being streamed: consecutive text pieces of the same kind merge into one part."""

    kind: str
    """"text", "thought", or "whole" (a part that arrives complete: functionCall, inlineData, ...)."""
    pieces: list[str] = field(default_factory=list)
    signature: Any = None
    raw: Mapping[str, Any] | None = None


@dataclass(slots=True)
class _StreamCandidate:
    role: Any = None
    parts: list[_StreamPart] = field(default_factory=list)
    finish_reason: Any = None
    finish_message: Any = None


@dataclass(slots=True)
class GeminiStreamState:
    """Accumulator for one streamGenerateContent stream (mutated by `add_chunk`)."""

    model_name: str | None = None
    response_id: str | None = None
    candidates: dict[int, _StreamCandidate] = field(default_factory=dict)
    usage: Any = None
    """The latest usageMetadata snapshot (cumulative, so the last one is the total)."""
    feedback: Any = None
    finished: bool = False
    vendor_error: dict[str, Any] | None = None
    problems: list[PayloadProblem] = field(default_factory=list)


def new_stream_state() -> GeminiStreamState:
    """A fresh accumulator for one Gemini stream."""
    return GeminiStreamState()


def _add_stream_part(cand: _StreamCandidate, raw: Any, path: str) -> tuple[bool, str | None]:
    """Fold one streamed part in; returns (carried content, visible text delta)."""
    part = _mapping(raw, path)
    signature = _get(part, "thoughtSignature", "thought_signature")
    text = part.get("text")
    if text is None:
        cand.parts.append(_StreamPart(kind="whole", raw=part))
        return _get(part, "functionCall", "function_call") is not None, None
    text = _text(text, f"{path}.text")
    kind = "thought" if part.get("thought") is True else "text"
    last = cand.parts[-1] if cand.parts else None
    if last is None or last.kind != kind or (signature is not None and last.signature is not None):
        last = _StreamPart(kind=kind)
        cand.parts.append(last)
    last.pieces.append(text)
    if signature is not None:
        last.signature = signature
    return bool(text), text if kind == "text" and text else None


def add_chunk(state: GeminiStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    """Fold one partial response into `state` and say what it carried; malformed parts are noted."""
    error = chunk.get("error")
    if error is not None and isinstance(error, Mapping) and not _looks_like_response(chunk):
        if state.vendor_error is None:
            state.vendor_error = {
                "type": str(_plain(error.get("status")) or "error"),
                "message": str(error.get("message") or ""),
                "code": _plain(error.get("code")),
            }
        return ChunkInfo(kind="error")
    problems = state.problems
    model = _string_field(chunk, "modelVersion", "model_version", problems)
    state.model_name = model or state.model_name
    response_id = _string_field(chunk, "responseId", "response_id", problems)
    state.response_id = response_id or state.response_id
    usage = _get(chunk, "usageMetadata", "usage_metadata")
    if usage is not None:
        state.usage = usage
    feedback = _get(chunk, "promptFeedback", "prompt_feedback")
    if feedback is not None:
        state.feedback = feedback
    content = False
    delta_text: str | None = None
    choice: int | None = None
    finished = False
    raw_candidates = chunk.get("candidates")
    if raw_candidates is not None and not isinstance(raw_candidates, list):
        problems.append(PayloadProblem("candidates", "expected a list", raw_candidates))
        raw_candidates = None
    for position, raw in enumerate(raw_candidates or ()):
        path = f"candidates[{position}]"
        try:
            candidate = _mapping(raw, path)
            index = candidate.get("index", position)
            if type(index) is not int:
                raise PayloadProblem(f"{path}.index", "expected an integer", index)
            cand = state.candidates.get(index)
            if cand is None:
                cand = state.candidates[index] = _StreamCandidate()
            finish = _get(candidate, "finishReason", "finish_reason")
            if finish is not None:
                cand.finish_reason = finish
                finished = True
            finish_message = _get(candidate, "finishMessage", "finish_message")
            if finish_message is not None:
                cand.finish_message = finish_message
            body = candidate.get("content")
            if body is None:
                continue
            body = _mapping(body, f"{path}.content")
            if body.get("role") is not None:
                cand.role = body["role"]
            for i, part in enumerate(_list(body.get("parts") or [], f"{path}.content.parts")):
                carried, text = _add_stream_part(cand, part, f"{path}.content.parts[{i}]")
                if carried and choice is None:
                    choice = index
                if text is not None and choice == index:
                    delta_text = text if delta_text is None else delta_text + text
                content = content or carried
        except PayloadProblem as problem:
            problems.append(problem)
    if finished:
        state.finished = True
    if content:
        return ChunkInfo(kind="content", choice_index=choice, delta_text=delta_text)
    if (
        isinstance(feedback, Mapping)
        and not raw_candidates
        and _get(feedback, "blockReason", "block_reason") is not None
    ):
        return ChunkInfo(kind="error")
    if finished:
        return ChunkInfo(kind="done")
    if usage is not None:
        return ChunkInfo(kind="usage")
    return ChunkInfo(kind="meta")


def _rebuilt_parts(cand: _StreamCandidate) -> list[Any]:
    """The candidate's parts as a response would hold them (merged text, whole parts as sent)."""
    parts: list[Any] = []
    for part in cand.parts:
        if part.kind == "whole":
            parts.append(part.raw)
            continue
        rebuilt: dict[str, Any] = {"text": _join_text(part.pieces)}
        if part.kind == "thought":
            rebuilt["thought"] = True
        if part.signature is not None:
            rebuilt["thoughtSignature"] = part.signature
        parts.append(rebuilt)
    return parts


def finish_stream(state: GeminiStreamState) -> ResponseParts:
    """The response so far: `incomplete` when no chunk carried a finishReason."""
    problems = list(state.problems)
    candidates: list[_Candidate] = []
    for index, cand in state.candidates.items():
        raw = {
            "index": index,
            "finishReason": cand.finish_reason,
            "finishMessage": cand.finish_message,
            "content": {"role": cand.role, "parts": _rebuilt_parts(cand)},
        }
        try:
            candidates.append(_candidate(raw, index, f"candidates[{index}]", problems))
        except PayloadProblem as problem:
            problems.append(problem)
    result = _assemble(
        model_name=state.model_name,
        response_id=state.response_id,
        candidates=candidates,
        usage_raw=state.usage,
        feedback=state.feedback,
        problems=problems,
    )
    if state.vendor_error is not None:
        result.outcome = "error"
        result.error = dict(state.vendor_error)
    elif result.outcome == "success" and not state.finished and result.error is None:
        result.outcome = "incomplete"
    return result

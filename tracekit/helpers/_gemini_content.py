"""Gemini content: value readers (REST and SDK spellings), parts -> content parts, and requests.

Shared by `gemini.py` (responses and streams) and its `parse_request`. Every reader accepts the
REST camelCase key and the google-genai `model_dump()` snake_case key; SDK enums and bytes become
their JSON values.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from enum import Enum
from typing import Any, Final

from tracekit.helpers._common import as_mapping, join_text, problem_dict
from tracekit.helpers.base import PayloadProblem, RequestParts
from tracekit.model import LLMContentPart, LLMMessage, LLMRequestParams, Role, ToolCallSpec, ToolDefinition

__all__ = [
    "as_mapping",
    "compact_json",
    "join_text",
    "joined_texts",
    "list_of",
    "opt_text",
    "parse_request",
    "pick",
    "plain",
    "problem_dict",
    "read_part",
    "read_parts",
    "role_of",
    "text_of",
]

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


def pick(obj: Mapping[str, Any], camel: str, snake: str) -> Any:
    """The value under the REST (camelCase) or SDK (snake_case) key; None when neither is set."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def plain(value: Any) -> Any:
    """A JSON-ready copy: SDK enums become their values and bytes become base64 text."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict or isinstance(value, Mapping):
        # hot path (usage, safety ratings, grounding metadata of every response): scalars are
        # copied inline rather than through a call each
        out: dict[str, Any] = {}
        for key, item in value.items():
            kind = type(item)
            out[key if type(key) is str else str(key)] = (
                item
                if kind is str or kind is int or kind is float or kind is bool or item is None
                else plain(item)
            )
        return out
    if kind is list:
        items: list[Any] = []
        for item in value:
            kind = type(item)
            items.append(
                item
                if kind is str or kind is int or kind is float or kind is bool or item is None
                else plain(item)
            )
        return items
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return value


def list_of(value: Any, path: str) -> list[Any]:
    """`value` as a list, else PayloadProblem at `path`."""
    if isinstance(value, list):
        return value
    raise PayloadProblem(path, "expected a list", value)


def text_of(value: Any, path: str) -> str:
    """`value` as text (an SDK enum gives its value), else PayloadProblem at `path`."""
    if type(value) is str:
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return value
    raise PayloadProblem(path, "expected a string", value)


def opt_text(value: Any, path: str) -> str | None:
    """Like text_of, but None stays None."""
    return None if value is None else text_of(value, path)


def opt_b64(value: Any, path: str) -> str | None:
    """Text as is, SDK bytes as base64 text, None as None."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return opt_text(value, path)


def compact_json(value: Any, path: str) -> str:
    """Compact JSON text of `value` (SDK enums and bytes made plain), key order kept."""
    try:
        return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadProblem(path, f"not JSON-serialisable ({exc})", value) from None


def role_of(value: Any, path: str, default: Role) -> Role:
    """A Gemini role normalised (`model` -> assistant, `function` -> tool); `default` when absent."""
    if value is None:
        return default
    role = _ROLES.get(text_of(value, path))
    if role is None:
        raise PayloadProblem(path, "expected 'user' or 'model'", value)
    return role


def _media_type(mime_type: str | None) -> str:
    major = (mime_type or "").partition("/")[0]
    return major if major in ("image", "audio", "video") else "file"


# ---------------------------------------------------------------------------------------------
# Parts (shared by requests, responses and finished streams)


def read_part(raw: Any, path: str, parts: list[LLMContentPart], calls: list[ToolCallSpec]) -> None:
    """Append one Gemini part to `parts` (or `calls` for a functionCall)."""
    part = as_mapping(raw, path)
    signature = opt_b64(pick(part, "thoughtSignature", "thought_signature"), f"{path}.thoughtSignature")
    text = part.get("text")
    if text is not None:
        thought = part.get("thought") is True
        data = None if signature is None else {"thought_signature": signature}
        parts.append(
            LLMContentPart(type="thinking" if thought else "text", text=text_of(text, path), data=data)
        )
        return
    call = pick(part, "functionCall", "function_call")
    if call is not None:
        call = as_mapping(call, f"{path}.functionCall")
        args = call.get("args")
        arguments_json = compact_json({} if args is None else args, f"{path}.functionCall.args")
        calls.append(
            ToolCallSpec(
                name=text_of(call.get("name"), f"{path}.functionCall.name"),
                arguments_json=arguments_json,
                arguments=json.loads(arguments_json),
                call_id=opt_text(call.get("id"), f"{path}.functionCall.id"),
                index=len(calls),
                metadata={} if signature is None else {"thought_signature": signature},
            )
        )
        return
    response = pick(part, "functionResponse", "function_response")
    if response is not None:
        response = as_mapping(response, f"{path}.functionResponse")
        parts.append(
            LLMContentPart(
                type="tool_result", data=plain({k: v for k, v in response.items() if v is not None})
            )
        )
        return
    inline = pick(part, "inlineData", "inline_data")
    if inline is not None:
        inline = as_mapping(inline, f"{path}.inlineData")
        mime = opt_text(pick(inline, "mimeType", "mime_type"), f"{path}.inlineData.mimeType")
        parts.append(
            LLMContentPart(
                type=_media_type(mime),
                mime_type=mime,
                base64_data=opt_b64(inline.get("data"), f"{path}.inlineData.data"),
            )
        )
        return
    file_data = pick(part, "fileData", "file_data")
    if file_data is not None:
        file_data = as_mapping(file_data, f"{path}.fileData")
        mime = opt_text(pick(file_data, "mimeType", "mime_type"), f"{path}.fileData.mimeType")
        parts.append(
            LLMContentPart(
                type=_media_type(mime),
                mime_type=mime,
                uri=text_of(pick(file_data, "fileUri", "file_uri"), f"{path}.fileData.fileUri"),
            )
        )
        return
    others = {k: v for k, v in part.items() if v is not None and k not in _PART_META_KEYS}
    if len(others) != 1:
        raise PayloadProblem(path, "expected exactly one kind of part (text, functionCall, ...)", part)
    ((kind, value),) = others.items()
    parts.append(LLMContentPart(type=kind, data=plain({kind: value})))


def read_parts(
    raw_parts: Any, path: str, problems: list[PayloadProblem]
) -> tuple[list[LLMContentPart], list[ToolCallSpec]]:
    """Parts and tool calls of one Content; a bad part is noted in `problems` and skipped."""
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    if raw_parts is None:
        return parts, calls
    try:
        items = list_of(raw_parts, path)
    except PayloadProblem as problem:
        problems.append(problem)
        return parts, calls
    for i, raw in enumerate(items):
        try:
            read_part(raw, f"{path}[{i}]", parts, calls)
        except PayloadProblem as problem:
            problems.append(problem)
    return parts, calls


def joined_texts(parts: list[LLMContentPart], part_type: str) -> str | None:
    """The texts of `parts` of `part_type` joined, None when there are none."""
    texts = [p.text for p in parts if p.type == part_type and p.text is not None]
    return "".join(texts) if texts else None


# ---------------------------------------------------------------------------------------------
# Requests


def _content_message(raw: Mapping[str, Any], path: str, default_role: Role) -> LLMMessage:
    problems: list[PayloadProblem] = []
    parts, calls = read_parts(raw.get("parts"), f"{path}.parts", problems)
    if problems:
        raise problems[0]
    return LLMMessage(
        role=role_of(raw.get("role"), f"{path}.role", default_role), parts=parts, tool_calls=calls
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
            read_part(item, f"{path}[{i}]", parts, calls)
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
    for i, item in enumerate(list_of(contents, path)):
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
    decl = as_mapping(raw, path)
    schema = decl.get("parameters")
    if schema is None:
        schema = pick(decl, "parametersJsonSchema", "parameters_json_schema")
    known = {"name", "description", "parameters", "parametersJsonSchema", "parameters_json_schema"}
    extra = {k: v for k, v in decl.items() if k not in known and v is not None}
    return ToolDefinition(
        name=text_of(decl.get("name"), f"{path}.name"),
        description=opt_text(decl.get("description"), f"{path}.description"),
        parameters=None if schema is None else plain(as_mapping(schema, f"{path}.parameters")),
        raw=plain(decl) if extra else None,
    )


def _tools(raw_tools: Any, path: str) -> list[ToolDefinition]:
    tools: list[ToolDefinition] = []
    for i, raw in enumerate(list_of(raw_tools, path)):
        tool = as_mapping(raw, f"{path}[{i}]")
        for key, value in tool.items():
            if value is None:
                continue
            if key in ("functionDeclarations", "function_declarations"):
                for j, decl in enumerate(list_of(value, f"{path}[{i}].{key}")):
                    tools.append(_function_declaration(decl, f"{path}[{i}].{key}[{j}]"))
            else:
                tools.append(ToolDefinition(name=key, type=key, raw=plain({key: value})))
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
    value = pick(config, *_CONFIG_KEYS[name])
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise PayloadProblem(f"generationConfig.{_CONFIG_KEYS[name][0]}", "expected a number", value)


def _whole(config: Mapping[str, Any], name: str, path: str | None = None) -> int | None:
    camel, snake = _CONFIG_KEYS.get(name, (name, name))
    value = pick(config, camel, snake)
    if value is None:
        return None
    if type(value) is int and -(2**63) <= value < 2**63:
        return value
    if type(value) is float and value.is_integer() and -(2**63) <= value < 2**63:
        return int(value)
    raise PayloadProblem(path or f"generationConfig.{camel}", "expected a 64-bit integer", value)


def _params(config: Mapping[str, Any], extras: dict[str, Any], tool_config: Any) -> LLMRequestParams:
    stop = pick(config, *_CONFIG_KEYS["stop"])
    if stop is not None and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise PayloadProblem("generationConfig.stopSequences", "expected a list of strings", stop)
    thinking = pick(config, "thinkingConfig", "thinking_config")
    budget = None
    if thinking is not None:
        thinking = as_mapping(thinking, "generationConfig.thinkingConfig")
        budget = _whole(
            {"b": pick(thinking, "thinkingBudget", "thinking_budget")},
            "b",
            "generationConfig.thinkingConfig.thinkingBudget",
        )
    mime = opt_text(pick(config, *_CONFIG_KEYS["response_mime_type"]), "generationConfig.responseMimeType")
    schema = pick(config, *_CONFIG_KEYS["response_schema"])
    if schema is None:
        schema = pick(config, *_CONFIG_KEYS["response_json_schema"])
    response_format: dict[str, Any] | None = None
    if mime is not None or schema is not None:
        response_format = {"mime_type": mime, "schema": plain(schema)}
    raw = {k: plain(v) for k, v in config.items() if k not in _MAPPED_CONFIG_KEYS and v is not None}
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
        tool_config=None if tool_config is None else plain(as_mapping(tool_config, "toolConfig")),
        raw_params={**raw, **extras},
    )


def _undump(value: Any) -> Any:
    """`value` with every SDK object inside (types.Content, types.GenerateContentConfig, ...)
    replaced by its `model_dump(exclude_none=True)`."""
    if isinstance(value, Mapping):
        return {k: _undump(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_undump(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        return _undump(dump(exclude_none=True))
    return value


def parse_request(request: Mapping[str, Any]) -> RequestParts:
    """Normalise a generateContent request: REST body or google-genai `generate_content` kwargs.

    REST keeps sampling in `generationConfig`; the SDK puts it, the system instruction and the
    tools in `config` (SDK objects anywhere inside are read through `model_dump()`). Raises
    PayloadProblem naming the first malformed field.
    """
    request = _undump(request)
    sdk_config = request.get("config")
    sdk_config = {} if sdk_config is None else as_mapping(sdk_config, "config")
    config: dict[str, Any] = {k: v for k, v in sdk_config.items() if k not in _SDK_CONFIG_SECTIONS}
    generation = pick(request, "generationConfig", "generation_config")
    if generation is not None:
        config.update(as_mapping(generation, "generationConfig"))

    def section(camel: str, snake: str) -> Any:
        value = pick(request, camel, snake)
        return pick(sdk_config, camel, snake) if value is None else value

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
        calling = pick(
            as_mapping(tool_config, "toolConfig"), "functionCallingConfig", "function_calling_config"
        )
        tool_choice = (
            None if calling is None else plain(as_mapping(calling, "toolConfig.functionCallingConfig"))
        )
    extras = {k: plain(v) for k, v in request.items() if k not in _REQUEST_SECTIONS and v is not None}
    model = request.get("model")
    return RequestParts(
        input_messages=messages,
        tools=[] if raw_tools is None else _tools(raw_tools, "tools"),
        tool_choice=tool_choice,
        request_params=_params(config, extras, tool_config),
        model_name=model if isinstance(model, str) else None,
    )

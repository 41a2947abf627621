"""OpenAI Chat Completions: request, response and stream chunks -> normalised parts.

Covers n > 1 choices (choice 0 is top-level, all go to `outputs`), parallel tool calls, refusals,
audio, and streams with or without `stream_options.include_usage` (usage then arrives in a last
chunk whose `choices` is empty). Azure deployments may open a stream with an empty-choices chunk
carrying only `prompt_filter_results`, and send choices with no `delta`; both are metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers._common import as_mapping, join_text, parse_arguments, problem_dict
from tracekit.helpers._openai_common import (
    BOOL,
    DICT,
    FLOAT,
    INT,
    STOP,
    STR,
    as_list,
    as_str,
    data_url_part,
    request_params,
    tool_definition,
)
from tracekit.helpers._record_build import builder
from tracekit.helpers.base import ChunkInfo, ChunkKind, PayloadProblem, RequestParts, ResponseParts
from tracekit.helpers.usage import from_openai_chat
from tracekit.model import ApiType, LLMContentPart, LLMMessage, LLMUsage, Role, ToolCallSpec

__all__ = [
    "API_TYPE",
    "PROVIDER",
    "ChatStreamState",
    "add_chunk",
    "finish_stream",
    "is_chunk",
    "is_response",
    "new_stream_state",
    "parse_message",
    "parse_request",
    "parse_response",
]

PROVIDER: Final = "openai"
API_TYPE: Final[ApiType] = "chat_completions"

_ROLE_OF: Final[dict[str, Role]] = {
    "system": "system",
    "developer": "developer",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
    "function": "function",
}
_PARAMS: Final = {
    "temperature": ("temperature", FLOAT),
    "top_p": ("top_p", FLOAT),
    "max_completion_tokens": ("max_tokens", INT),
    "max_tokens": ("max_tokens", INT),
    "stop": ("stop", STOP),
    "presence_penalty": ("presence_penalty", FLOAT),
    "frequency_penalty": ("frequency_penalty", FLOAT),
    "seed": ("seed", INT),
    "n": ("n", INT),
    "response_format": ("response_format", DICT),
    "reasoning_effort": ("reasoning_effort", STR),
    "stream": ("stream", BOOL),
}
_CONSUMED: Final = frozenset(("model", "messages", "tools", "functions", "tool_choice", "function_call"))
_PART: Final = builder(LLMContentPart, ("type", "text"))
_MESSAGE: Final = builder(LLMMessage, ("role", "parts", "name", "tool_call_id", "tool_calls"))
_RESPONSE_PARTS: Final = builder(ResponseParts, ("outcome",))
"""`LLMContentPart(type=, text=)`, `LLMMessage(...)` and `ResponseParts(outcome=)` without matching
keywords (see `_record_build`)."""


# ---------------------------------------------------------------------------------------------
# Shape detection


def is_response(payload: Mapping[str, Any]) -> bool:
    """A complete response: `object == "chat.completion"`, or `choices` whose items hold a `message`."""
    obj = payload.get("object")
    if obj == "chat.completion":
        return True
    choices = payload.get("choices")
    if obj or not isinstance(choices, list) or not choices:
        return False
    first = choices[0]
    return isinstance(first, Mapping) and "message" in first


def is_chunk(chunk: Mapping[str, Any]) -> bool:
    """A stream chunk: `object == "chat.completion.chunk"`, or (Azure, object "") `choices` holding
    `delta`/`content_filter_results`, or empty choices with `usage` or `prompt_filter_results`."""
    obj = chunk.get("object")
    if obj == "chat.completion.chunk":
        return True
    choices = chunk.get("choices")
    if obj or not isinstance(choices, list):
        return False
    if not choices:
        return "prompt_filter_results" in chunk or "usage" in chunk
    first = choices[0]
    return (
        isinstance(first, Mapping)
        and "message" not in first
        and ("delta" in first or "content_filter_results" in first)
    )


# ---------------------------------------------------------------------------------------------
# Requests


def content_parts(content: Any, path: str) -> list[LLMContentPart]:
    """Message content (a string, null, or an array of typed parts) as content parts; image,
    audio and file parts are kept with their data, unknown part types verbatim in `data`."""
    if content is None:
        return []
    if isinstance(content, str):
        return [LLMContentPart(type="text", text=content)]
    parts: list[LLMContentPart] = []
    for i, item in enumerate(as_list(content, path)):
        part = as_mapping(item, f"{path}[{i}]")
        kind = part.get("type")
        if kind == "text":
            parts.append(LLMContentPart(type="text", text=as_str(part.get("text"), f"{path}[{i}].text")))
        elif kind == "image_url":
            image = part.get("image_url")
            image = {"url": image} if isinstance(image, str) else as_mapping(image, f"{path}[{i}].image_url")
            url = as_str(image.get("url"), f"{path}[{i}].image_url.url") or ""
            detail = image.get("detail")
            parts.append(data_url_part("image", url, {"detail": detail} if detail is not None else None))
        elif kind == "input_audio":
            audio = as_mapping(part.get("input_audio"), f"{path}[{i}].input_audio")
            fmt = as_str(audio.get("format"), f"{path}[{i}].input_audio.format")
            parts.append(
                LLMContentPart(
                    type="audio",
                    base64_data=as_str(audio.get("data"), f"{path}[{i}].input_audio.data"),
                    mime_type=f"audio/{fmt}" if fmt else None,
                    data={"format": fmt} if fmt else None,
                )
            )
        elif kind == "file":
            file = as_mapping(part.get("file"), f"{path}[{i}].file")
            file_data = as_str(file.get("file_data"), f"{path}[{i}].file.file_data")
            meta = {k: file[k] for k in ("file_id", "filename") if file.get(k) is not None}
            if file_data is not None and file_data.startswith("data:"):
                parts.append(data_url_part("file", file_data, meta or None))
            else:
                parts.append(LLMContentPart(type="file", base64_data=file_data, data=meta or None))
        elif kind == "refusal":
            parts.append(LLMContentPart(type="refusal", text=as_str(part.get("refusal"), f"{path}[{i}]")))
        else:
            parts.append(LLMContentPart(type=str(kind or "unknown"), data=dict(part)))
    return parts


def tool_call(value: Any, path: str, index: int) -> ToolCallSpec:
    """One entry of `tool_calls` ({"id", "type": "function"|"custom", "function"|"custom": {...}})."""
    call = as_mapping(value, path)
    kind = as_str(call.get("type"), f"{path}.type") or "function"
    body = as_mapping(call.get(kind if kind == "custom" else "function"), f"{path}.{kind}")
    name = as_str(body.get("name"), f"{path}.{kind}.name") or ""
    args_key = "input" if kind == "custom" else "arguments"
    args = as_str(body.get(args_key), f"{path}.{kind}.{args_key}") or ""
    return ToolCallSpec(
        name=name,
        arguments_json=args,
        arguments=parse_arguments(args),
        call_id=as_str(call.get("id"), f"{path}.id"),
        index=index,
        type=kind,
    )


def parse_message(value: Any, path: str, default_role: str | None = None) -> LLMMessage:
    """One chat message (any role) as an LLMMessage; assistant tool_calls and the legacy
    `function_call` become tool calls, a `tool` message keeps its `tool_call_id`. A message with
    no `role` key takes `default_role` (a response's message is the assistant's)."""
    msg = value if type(value) is dict else as_mapping(value, path)
    get = msg.get
    role = get("role", default_role)
    if type(role) is not str or role not in _ROLE_OF:
        raise PayloadProblem(f"{path}.role", f"unknown chat role; expected one of {sorted(_ROLE_OF)}", role)
    content = get("content")
    parts = [_PART("text", content)] if type(content) is str else content_parts(content, f"{path}.content")
    # optional text fields: the path is formatted only when one is not a string (hot path)
    reasoning = get("reasoning_content")
    if reasoning is not None:
        if type(reasoning) is not str:
            reasoning = as_str(reasoning, f"{path}.reasoning_content")
        if reasoning:
            parts.insert(
                0, LLMContentPart(type="reasoning", text=reasoning, data={"source": "reasoning_content"})
            )
    refusal = get("refusal")
    if refusal is not None:
        if type(refusal) is not str:
            refusal = as_str(refusal, f"{path}.refusal")
        parts.append(LLMContentPart(type="refusal", text=refusal))
    audio = get("audio")
    if audio is not None and isinstance(audio, Mapping):
        parts.append(_audio_part(audio, f"{path}.audio"))
    raw_calls = get("tool_calls")
    calls = (
        []
        if raw_calls is None or (type(raw_calls) is list and not raw_calls)
        else [
            tool_call(tc, f"{path}.tool_calls[{i}]", i)
            for i, tc in enumerate(as_list(raw_calls, f"{path}.tool_calls"))
        ]
    )
    legacy = get("function_call")
    if legacy is not None:
        calls.append(tool_call({"type": "function", "function": legacy}, f"{path}", len(calls)))
    name = get("name")
    if name is not None and type(name) is not str:
        name = as_str(name, f"{path}.name")
    call_id = get("tool_call_id")
    if call_id is not None and type(call_id) is not str:
        call_id = as_str(call_id, f"{path}.tool_call_id")
    return _MESSAGE(_ROLE_OF[role], parts, name, call_id, calls)


def _role(role: str) -> Role:
    """`role` narrowed to the Role vocabulary (anything unknown is the assistant replying)."""
    return _ROLE_OF.get(role, "assistant")


def _audio_part(audio: Mapping[str, Any], path: str) -> LLMContentPart:
    """An assistant audio reply: transcript as text, base64 audio as data, id/expiry in `data`."""
    meta = {k: audio[k] for k in ("id", "expires_at") if audio.get(k) is not None}
    return LLMContentPart(
        type="audio",
        text=as_str(audio.get("transcript"), f"{path}.transcript"),
        base64_data=as_str(audio.get("data"), f"{path}.data"),
        data=meta or None,
    )


def parse_request(request: Mapping[str, Any]) -> RequestParts:
    """The body sent to /chat/completions: messages, tools (or legacy functions), tool_choice, params."""
    messages = [
        parse_message(m, f"messages[{i}]") for i, m in enumerate(as_list(request.get("messages"), "messages"))
    ]
    tools = [tool_definition(t, f"tools[{i}]") for i, t in enumerate(as_list(request.get("tools"), "tools"))]
    for i, fn in enumerate(as_list(request.get("functions"), "functions")):
        tools.append(tool_definition({"type": "function", "function": fn}, f"functions[{i}]"))
    choice = request.get("tool_choice", request.get("function_call"))
    params = request_params(request, _PARAMS, _CONSUMED)
    fmt = params.response_format
    if fmt is not None:
        params.json_mode = fmt.get("type") in ("json_object", "json_schema")
    return RequestParts(
        input_messages=messages,
        tools=tools,
        tool_choice=dict(choice) if isinstance(choice, Mapping) else as_str(choice, "tool_choice"),
        request_params=params,
        model_name=as_str(request.get("model"), "model"),
    )


# ---------------------------------------------------------------------------------------------
# Complete responses


def _output_message(msg: LLMMessage, index: int, finish_reason: str | None) -> LLMMessage:
    msg.metadata["choice_index"] = index
    msg.metadata["finish_reason"] = finish_reason
    return msg


def _fill_top_level(parts: ResponseParts, messages: list[LLMMessage]) -> None:
    """Choice 0 becomes the top-level answer; every choice goes to `outputs` when there are several."""
    if not messages:
        return
    first = messages[0]
    parts.output_messages = [first]
    if len(messages) > 1:
        parts.outputs = list(messages)
    texts: list[str] = []
    refusals: list[str] = []
    reasoning: list[str] = []
    for part in first.parts:  # one pass, each kind in order (hot path: usually one text part)
        text = part.text
        if text is not None:
            kind = part.type
            if kind == "text":
                texts.append(text)
            elif kind == "refusal":
                refusals.append(text)
            elif kind == "reasoning":
                reasoning.append(text)
    parts.output_text = "".join(texts) if texts else None
    parts.refusal = "".join(refusals) if refusals else None
    parts.reasoning_text = "".join(reasoning) if reasoning else None
    parts.output_tool_calls = list(first.tool_calls)
    parts.finish_reason = first.metadata.get("finish_reason")


def parse_response(payload: Mapping[str, Any]) -> ResponseParts:
    """A `chat.completion` object; a malformed choice or usage sets `error` and the rest is kept."""
    parts = _RESPONSE_PARTS("success")
    errors: list[dict[str, Any]] = []
    get = payload.get
    try:
        # hot path: strings and a list are taken as they are, anything else checked by name
        model = get("model")
        parts.model_name = (model if type(model) is str else as_str(model, "model")) or None
        response_id = get("id")
        parts.response_id = (response_id if type(response_id) is str else as_str(response_id, "id")) or None
        choices = get("choices")
        if type(choices) is not list:
            choices = as_list(choices, "choices")
    except PayloadProblem as exc:
        errors.append(problem_dict(exc))
        choices = ()
    indexed: list[tuple[int, LLMMessage]] = []
    for i, raw in enumerate(choices):
        # hot path: field paths are formatted only for a field that turns out malformed
        try:
            choice = raw if type(raw) is dict else as_mapping(raw, f"choices[{i}]")
            index = choice.get("index", i)
            if type(index) is not int:
                raise PayloadProblem(f"choices[{i}].index", "expected an integer", index)
            body = choice.get("message")
            if type(body) is not dict:  # a mapping of another type is read as a plain dict
                body = {"role": "assistant", **as_mapping(body, f"choices[{i}].message")}
            message = parse_message(body, f"choices[{i}].message", "assistant")
            finish = choice.get("finish_reason")
            if finish is not None and not isinstance(finish, str):
                finish = as_str(finish, f"choices[{i}].finish_reason")
            indexed.append((index, _output_message(message, index, finish)))
        except PayloadProblem as exc:
            errors.append(problem_dict(exc))
    if len(indexed) > 1:
        indexed.sort(key=lambda pair: pair[0])
    _fill_top_level(parts, [msg for _, msg in indexed])
    usage = get("usage")
    if usage is not None:
        problems: list[PayloadProblem] = []
        try:
            parts.usage = from_openai_chat(
                usage if type(usage) is dict else as_mapping(usage, "usage"), problems=problems
            )
        except PayloadProblem as exc:
            problems.append(exc)
        if problems:
            errors.extend(problem_dict(p) for p in problems)
    if errors:
        parts.outcome = "error"
        parts.error = errors[0] if len(errors) == 1 else {**errors[0], "more": errors[1:]}
    return parts


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(slots=True)
class _ToolAcc:
    index: int
    call_id: str | None = None
    name: str | None = None
    type: str = "function"
    args: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _ChoiceAcc:
    index: int
    role: str = "assistant"
    text: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tools: dict[int, _ToolAcc] = field(default_factory=dict)
    function_call: _ToolAcc | None = None
    """The legacy `delta.function_call` (one call, no id), streamed like a tool call."""
    audio: dict[str, Any] | None = None
    """`delta.audio`: id / expires_at as sent, transcript pieces under "transcript"."""
    finish_reason: str | None = None


@dataclass(slots=True)
class ChatStreamState:
    """What a Chat Completions stream has delivered so far (text and tool arguments as delta lists)."""

    response_id: str | None = None
    model_name: str | None = None
    choices: dict[int, _ChoiceAcc] = field(default_factory=dict)
    usage: LLMUsage | None = None


def new_stream_state() -> ChatStreamState:
    """A fresh accumulator for one Chat Completions stream."""
    return ChatStreamState()


def _text(value: Any, path: str, problems: list[PayloadProblem]) -> str | None:
    """`value` when it is a string (or null); anything else is noted and read as None."""
    if value is None or type(value) is str:
        return value
    problems.append(PayloadProblem(path, "expected a string", value))
    return None


def _index(value: Any, default: int, path: str, problems: list[PayloadProblem]) -> int | None:
    if value is None:
        return default
    if type(value) is int and 0 <= value < 2**31:
        return value
    problems.append(PayloadProblem(path, "expected a non-negative integer", value))
    return None


def _add_function(tool: _ToolAcc, body: Any, path: str, problems: list[PayloadProblem]) -> None:
    if not isinstance(body, Mapping):
        problems.append(PayloadProblem(path, "expected an object", body))
        return
    name = _text(body.get("name"), f"{path}.name", problems)
    if name and tool.name is None:
        tool.name = name
    args = _text(body.get("input" if tool.type == "custom" else "arguments"), f"{path}.arguments", problems)
    if args:
        tool.args.append(args)


def _add_tool_deltas(acc: _ChoiceAcc, deltas: Any, path: str, problems: list[PayloadProblem]) -> None:
    for position, raw in enumerate(as_list(deltas, path)):
        here = f"{path}[{position}]"
        if not isinstance(raw, Mapping):
            problems.append(PayloadProblem(here, "expected an object", raw))
            continue
        index = _index(raw.get("index"), position, f"{here}.index", problems)
        if index is None:
            continue
        tool = acc.tools.get(index)
        if tool is None:
            tool = acc.tools[index] = _ToolAcc(index=index)
        call_id = _text(raw.get("id"), f"{here}.id", problems)
        if call_id:
            tool.call_id = call_id
        kind = _text(raw.get("type"), f"{here}.type", problems)
        if kind:
            tool.type = kind
        body = raw.get("custom" if tool.type == "custom" else "function")
        if body is not None:
            _add_function(tool, body, f"{here}.{tool.type}", problems)


def _add_audio(acc: _ChoiceAcc, audio: Any, path: str, problems: list[PayloadProblem]) -> None:
    if not isinstance(audio, Mapping):
        problems.append(PayloadProblem(path, "expected an object", audio))
        return
    held = acc.audio if acc.audio is not None else {}
    acc.audio = held
    for key in ("id", "expires_at"):
        if audio.get(key) is not None:
            held[key] = audio[key]
    transcript = _text(audio.get("transcript"), f"{path}.transcript", problems)
    if transcript:
        held.setdefault("transcript", []).append(transcript)


def _add_delta(acc: _ChoiceAcc, delta: Mapping[str, Any], path: str, problems: list[PayloadProblem]) -> bool:
    """Fold one choice's delta; whether it carried content (text, reasoning, refusal, a call).
    Driven by the keys present: a content delta holds one or two (the hot path)."""
    content = False
    for key, value in delta.items():
        if value is None:
            continue
        if key == "content" or key == "reasoning_content" or key == "refusal":
            if type(value) is not str:
                problems.append(PayloadProblem(f"{path}.{key}", "expected a string", value))
            elif value:
                (
                    acc.text
                    if key == "content"
                    else acc.reasoning
                    if key == "reasoning_content"
                    else acc.refusal
                ).append(value)
                content = True
        elif key == "role":
            if type(value) is str and value in _ROLE_OF:
                acc.role = value
            else:
                problems.append(PayloadProblem(f"{path}.role", f"expected one of {sorted(_ROLE_OF)}", value))
        elif key == "tool_calls":
            if value:
                _add_tool_deltas(acc, value, f"{path}.tool_calls", problems)
                content = True
        elif key == "function_call":
            if acc.function_call is None:
                acc.function_call = _ToolAcc(index=-1)
            _add_function(acc.function_call, value, f"{path}.function_call", problems)
            content = True
        elif key == "audio":
            _add_audio(acc, value, f"{path}.audio", problems)
            content = True
    return content


def add_chunk(state: ChatStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    """Fold one `chat.completion.chunk` into `state`. Everything readable is folded first; then the
    first malformed field (a wrong-typed id, index, delta or usage count) is raised as PayloadProblem,
    so a bad field loses nothing else the chunk carried."""
    problems: list[PayloadProblem] = []
    if state.response_id is None:
        state.response_id = _text(chunk.get("id"), "id", problems) or None
    if state.model_name is None:
        state.model_name = _text(chunk.get("model"), "model", problems) or None
    kind: ChunkKind = "meta"
    choice_index: int | None = None
    delta_text: str | None = None
    choices = chunk.get("choices")
    if choices:
        if type(choices) is not list:
            problems.append(PayloadProblem("choices", "expected an array", choices))
            choices = ()
        accs = state.choices
        for position, choice in enumerate(choices):
            path = f"choices[{position}]"
            if type(choice) is not dict and not isinstance(choice, Mapping):
                problems.append(PayloadProblem(path, "expected an object", choice))
                continue
            index = choice.get("index", 0)
            if type(index) is not int or not 0 <= index < 2**31:
                problems.append(PayloadProblem(f"{path}.index", "expected a non-negative integer", index))
                continue
            acc = accs.get(index)
            if acc is None:
                acc = accs[index] = _ChoiceAcc(index=index)
            delta = choice.get("delta")
            if delta:
                text = delta.get("content") if type(delta) is dict else None
                if type(text) is str and len(delta) == 1:
                    # the hot path: a delta holding only text
                    if text:
                        acc.text.append(text)
                        kind = "content"
                        if delta_text is None:
                            delta_text = text
                            choice_index = index
                elif type(delta) is not dict and not isinstance(delta, Mapping):
                    problems.append(PayloadProblem(f"{path}.delta", "expected an object", delta))
                elif _add_delta(acc, delta, f"{path}.delta", problems):
                    kind = "content"
                    if delta_text is None and type(text) is str and text:
                        delta_text = text
                        choice_index = index
            finish = choice.get("finish_reason")
            if finish is not None and type(finish) is not str:
                finish = _text(finish, f"{path}.finish_reason", problems)
            if finish:
                acc.finish_reason = finish
                if kind == "meta":
                    kind = "done"
            if choice_index is None:
                choice_index = index
    usage = chunk.get("usage")
    if usage is not None:
        if kind == "meta":
            kind = "usage"
        try:
            state.usage = from_openai_chat(as_mapping(usage, "usage"), problems=problems)
        except PayloadProblem as exc:
            problems.append(exc)
    if problems:
        raise problems[0]
    event_type = chunk.get("object")
    return ChunkInfo(
        kind=kind,
        event_type=event_type if type(event_type) is str and event_type else None,
        choice_index=choice_index,
        delta_text=delta_text,
    )


def _call(tool: _ToolAcc, position: int) -> ToolCallSpec:
    args = join_text(tool.args)
    return ToolCallSpec(
        name=tool.name or "",
        arguments_json=args,
        arguments=parse_arguments(args),
        call_id=tool.call_id,
        index=position,
        type=tool.type,
    )


def _stream_message(acc: _ChoiceAcc) -> LLMMessage:
    parts: list[LLMContentPart] = []
    if acc.reasoning:
        parts.append(
            LLMContentPart(
                type="reasoning", text=join_text(acc.reasoning), data={"source": "reasoning_content"}
            )
        )
    if acc.text:
        parts.append(LLMContentPart(type="text", text=join_text(acc.text)))
    if acc.refusal:
        parts.append(LLMContentPart(type="refusal", text=join_text(acc.refusal)))
    if acc.audio is not None:
        meta = {k: v for k, v in acc.audio.items() if k != "transcript"}
        transcript = acc.audio.get("transcript")
        parts.append(
            LLMContentPart(
                type="audio", text=join_text(transcript) if transcript else None, data=meta or None
            )
        )
    calls = [_call(acc.tools[index], position) for position, index in enumerate(sorted(acc.tools))]
    if acc.function_call is not None:
        calls.append(_call(acc.function_call, len(calls)))
    message = LLMMessage(role=_role(acc.role), parts=parts, tool_calls=calls)
    return _output_message(message, acc.index, acc.finish_reason)


def finish_stream(state: ChatStreamState) -> ResponseParts:
    """The response so far; `incomplete` unless every choice seen reported a finish_reason."""
    parts = ResponseParts(model_name=state.model_name, response_id=state.response_id, usage=state.usage)
    accs = [state.choices[i] for i in sorted(state.choices)]
    _fill_top_level(parts, [_stream_message(acc) for acc in accs])
    if not accs or any(acc.finish_reason is None for acc in accs):
        parts.outcome = "incomplete"
    return parts

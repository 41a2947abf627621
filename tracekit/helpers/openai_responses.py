"""OpenAI Responses API: request, response and typed stream events -> normalised parts.

Output items become one assistant message: `message` items give text (and refusal) parts,
`function_call` items give tool calls (matched by `call_id`, not the item id), `reasoning` items
give reasoning parts (summaries joined by a blank line into `reasoning_text`). `finish_reason` is
`status`, or `incomplete_details.reason` when incomplete; `failed` responses carry the vendor error.

Streams are rebuilt from the deltas, and the terminal event's response (response.completed /
.incomplete / .failed) is authoritative when it arrives; a stream cut short keeps its deltas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers._common import as_mapping, join_text, parse_arguments, problem_dict
from tracekit.helpers._openai_common import (
    BOOL,
    FLOAT,
    INT,
    as_list,
    as_str,
    data_url_part,
    request_params,
    tool_definition,
)
from tracekit.helpers.base import ChunkInfo, ChunkKind, PayloadProblem, RequestParts, ResponseParts
from tracekit.helpers.openai_chat import parse_message
from tracekit.helpers.usage import from_openai_responses
from tracekit.model import ApiType, LLMContentPart, LLMMessage, Outcome, ToolCallSpec

__all__ = [
    "API_TYPE",
    "PROVIDER",
    "ResponsesStreamState",
    "add_chunk",
    "finish_stream",
    "is_chunk",
    "is_response",
    "new_stream_state",
    "parse_request",
    "parse_response",
]

PROVIDER: Final = "openai"
API_TYPE: Final[ApiType] = "responses"

_PARAMS: Final = {
    "temperature": ("temperature", FLOAT),
    "top_p": ("top_p", FLOAT),
    "max_output_tokens": ("max_tokens", INT),
    "stream": ("stream", BOOL),
}
_CONSUMED: Final = frozenset(("model", "input", "instructions", "tools", "tool_choice", "reasoning", "text"))
_STATUS_OUTCOME: Final[dict[str, Outcome]] = {
    "completed": "success",
    "incomplete": "incomplete",
    "failed": "error",
    "cancelled": "cancelled",
    "in_progress": "incomplete",
    "queued": "incomplete",
}
_TERMINAL: Final = frozenset(("response.completed", "response.incomplete", "response.failed"))
_CONTENT_EVENTS: Final = frozenset(
    (
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_text.delta",
    )
)


# ---------------------------------------------------------------------------------------------
# Shape detection


def is_response(payload: Mapping[str, Any]) -> bool:
    """A complete response: `object == "response"`, or an `output` array next to a `status`."""
    if payload.get("object") == "response":
        return True
    return isinstance(payload.get("output"), list) and "status" in payload and "choices" not in payload


def is_chunk(chunk: Mapping[str, Any]) -> bool:
    """A stream event: `type` starting with "response.", or a top-level `error` event
    ({"type": "error", "code", "message"}, unlike Anthropic's nested `error` object)."""
    kind = chunk.get("type")
    if not isinstance(kind, str):
        return False
    return kind.startswith("response.") or (kind == "error" and "message" in chunk and "error" not in chunk)


# ---------------------------------------------------------------------------------------------
# Requests


def _input_parts(content: Any, path: str) -> list[LLMContentPart]:
    """Responses content parts (input_text, input_image, input_file, input_audio, output_text, refusal)."""
    if content is None:
        return []
    if isinstance(content, str):
        return [LLMContentPart(type="text", text=content)]
    parts: list[LLMContentPart] = []
    for i, item in enumerate(as_list(content, path)):
        here = f"{path}[{i}]"
        part = as_mapping(item, here)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            data = {"annotations": part["annotations"]} if part.get("annotations") else None
            parts.append(
                LLMContentPart(type="text", text=as_str(part.get("text"), f"{here}.text"), data=data)
            )
        elif kind == "refusal":
            parts.append(LLMContentPart(type="refusal", text=as_str(part.get("refusal"), f"{here}.refusal")))
        elif kind == "input_image":
            meta = {k: part[k] for k in ("detail", "file_id") if part.get(k) is not None}
            url = as_str(part.get("image_url"), f"{here}.image_url")
            if url is not None:
                parts.append(data_url_part("image", url, meta or None))
            else:
                parts.append(LLMContentPart(type="image", data=meta or None))
        elif kind == "input_file":
            meta = {k: part[k] for k in ("file_id", "filename") if part.get(k) is not None}
            file_data = as_str(part.get("file_data"), f"{here}.file_data")
            file_url = as_str(part.get("file_url"), f"{here}.file_url")
            if file_data is not None and file_data.startswith("data:"):
                parts.append(data_url_part("file", file_data, meta or None))
            else:
                parts.append(
                    LLMContentPart(type="file", base64_data=file_data, uri=file_url, data=meta or None)
                )
        elif kind == "input_audio":
            audio = as_mapping(part.get("input_audio"), f"{here}.input_audio")
            fmt = as_str(audio.get("format"), f"{here}.input_audio.format")
            parts.append(
                LLMContentPart(
                    type="audio",
                    base64_data=as_str(audio.get("data"), f"{here}.input_audio.data"),
                    mime_type=f"audio/{fmt}" if fmt else None,
                    data={"format": fmt} if fmt else None,
                )
            )
        else:
            parts.append(LLMContentPart(type=str(kind or "unknown"), data=dict(part)))
    return parts


def _function_call(item: Mapping[str, Any], path: str, index: int) -> ToolCallSpec:
    kind = item.get("type")
    args_key = "input" if kind == "custom_tool_call" else "arguments"
    args = as_str(item.get(args_key), f"{path}.{args_key}") or ""
    item_id = as_str(item.get("id"), f"{path}.id")
    return ToolCallSpec(
        name=as_str(item.get("name"), f"{path}.name") or "",
        arguments_json=args,
        arguments=parse_arguments(args),
        call_id=as_str(item.get("call_id"), f"{path}.call_id"),
        index=index,
        type="custom" if kind == "custom_tool_call" else "function",
        metadata={"item_id": item_id} if item_id else {},
    )


def _tool_output(output: Any, path: str) -> list[LLMContentPart]:
    if isinstance(output, str):
        return [LLMContentPart(type="tool_result", text=output)]
    return _input_parts(output, path)


def parse_request(request: Mapping[str, Any]) -> RequestParts:
    """The body sent to /responses: instructions (a leading system message), input (a string or
    items incl. function_call / function_call_output), tools, tool_choice and params."""
    messages: list[LLMMessage] = []
    instructions = as_str(request.get("instructions"), "instructions")
    if instructions is not None:
        messages.append(
            LLMMessage(
                role="system",
                parts=[LLMContentPart(type="text", text=instructions)],
                metadata={"source": "instructions"},
            )
        )
    raw_input = request.get("input")
    input_text = raw_input if isinstance(raw_input, str) else None
    unparsed: list[Any] = []
    if input_text is not None:
        messages.append(LLMMessage(role="user", parts=[LLMContentPart(type="text", text=input_text)]))
    else:
        for i, value in enumerate(as_list(raw_input, "input")):
            path = f"input[{i}]"
            item = as_mapping(value, path)
            kind = item.get("type", "message")
            if kind == "message":
                msg = parse_message({"role": item.get("role"), "content": None}, path)
                msg.parts = _input_parts(item.get("content"), f"{path}.content")
                messages.append(msg)
            elif kind in ("function_call", "custom_tool_call"):
                last = messages[-1] if messages else None
                if last is None or last.role != "assistant":
                    last = LLMMessage(role="assistant")
                    messages.append(last)
                last.tool_calls.append(_function_call(item, path, len(last.tool_calls)))
            elif kind in ("function_call_output", "custom_tool_call_output"):
                messages.append(
                    LLMMessage(
                        role="tool",
                        parts=_tool_output(item.get("output"), f"{path}.output"),
                        tool_call_id=as_str(item.get("call_id"), f"{path}.call_id"),
                    )
                )
            elif kind == "reasoning":
                messages.append(LLMMessage(role="assistant", parts=_reasoning_parts(item, path)))
            else:
                unparsed.append(value)
    tools = [tool_definition(t, f"tools[{i}]") for i, t in enumerate(as_list(request.get("tools"), "tools"))]
    choice = request.get("tool_choice")
    params = request_params(request, _PARAMS, _CONSUMED)
    reasoning = request.get("reasoning")
    if isinstance(reasoning, Mapping):
        params.reasoning_effort = as_str(reasoning.get("effort"), "reasoning.effort")
        params.raw_params["reasoning"] = dict(reasoning)
    text = request.get("text")
    if isinstance(text, Mapping):
        fmt = text.get("format")
        if isinstance(fmt, Mapping):
            params.response_format = dict(fmt)
            params.json_mode = fmt.get("type") in ("json_object", "json_schema")
        params.raw_params["text"] = dict(text)
    if unparsed:
        params.raw_params["input_items_not_messages"] = unparsed
    return RequestParts(
        input_messages=messages,
        input_text=input_text,
        tools=tools,
        tool_choice=dict(choice) if isinstance(choice, Mapping) else as_str(choice, "tool_choice"),
        request_params=params,
        model_name=as_str(request.get("model"), "model"),
    )


# ---------------------------------------------------------------------------------------------
# Complete responses


def _reasoning_parts(item: Mapping[str, Any], path: str) -> list[LLMContentPart]:
    parts: list[LLMContentPart] = []
    for key in ("summary", "content"):
        for i, raw in enumerate(as_list(item.get(key), f"{path}.{key}")):
            piece = as_mapping(raw, f"{path}.{key}[{i}]")
            text = as_str(piece.get("text"), f"{path}.{key}[{i}].text")
            parts.append(LLMContentPart(type="reasoning", text=text, data={"source": key}))
    encrypted = item.get("encrypted_content")
    if encrypted is not None:
        parts.append(LLMContentPart(type="reasoning", data={"encrypted_content": encrypted}))
    return parts


@dataclass(slots=True)
class _Output:
    parts: list[LLMContentPart] = field(default_factory=list)
    calls: list[ToolCallSpec] = field(default_factory=list)


def _add_item(out: _Output, value: Any, path: str) -> None:
    item = as_mapping(value, path)
    kind = item.get("type")
    if kind == "message":
        out.parts.extend(_input_parts(item.get("content"), f"{path}.content"))
    elif kind in ("function_call", "custom_tool_call"):
        out.calls.append(_function_call(item, path, len(out.calls)))
    elif kind == "reasoning":
        out.parts.extend(_reasoning_parts(item, path))
    else:
        out.parts.append(LLMContentPart(type=str(kind or "unknown"), data=dict(item)))


def _join(parts: list[LLMContentPart], kind: str, sep: str) -> str | None:
    texts = [p.text for p in parts if p.type == kind and p.text is not None]
    return sep.join(texts) if texts else None


def parse_response(payload: Mapping[str, Any]) -> ResponseParts:
    """A `response` object; a malformed output item or usage sets `error` and the rest is kept."""
    parts = ResponseParts()
    errors: list[dict[str, Any]] = []
    out = _Output()
    status: str | None = None
    try:
        parts.model_name = as_str(payload.get("model"), "model") or None
        parts.response_id = as_str(payload.get("id"), "id") or None
        status = as_str(payload.get("status"), "status")
        items = as_list(payload.get("output"), "output")
    except PayloadProblem as exc:
        errors.append(problem_dict(exc))
        items = ()
    for i, item in enumerate(items):
        try:
            _add_item(out, item, f"output[{i}]")
        except PayloadProblem as exc:
            errors.append(problem_dict(exc))
    if out.parts or out.calls:
        message = LLMMessage(role="assistant", parts=out.parts, tool_calls=out.calls)
        parts.output_messages = [message]
    parts.output_text = _join(out.parts, "text", "")
    parts.refusal = _join(out.parts, "refusal", "")
    parts.reasoning_text = _join(out.parts, "reasoning", "\n\n")
    parts.output_tool_calls = list(out.calls)
    parts.finish_reason = status
    parts.outcome = _STATUS_OUTCOME.get(status or "completed", "success")
    details = payload.get("incomplete_details")
    if status == "incomplete" and isinstance(details, Mapping) and details.get("reason"):
        parts.finish_reason = str(details["reason"])
    vendor_error = payload.get("error")
    if isinstance(vendor_error, Mapping):
        parts.error = {
            "type": "vendor_error",
            **{k: vendor_error[k] for k in ("code", "message") if k in vendor_error},
        }
    usage = payload.get("usage")
    if usage is not None:
        problems: list[PayloadProblem] = []
        try:
            parts.usage = from_openai_responses(as_mapping(usage, "usage"), problems=problems)
        except PayloadProblem as exc:
            problems.append(exc)
        errors.extend(problem_dict(p) for p in problems)
    if errors:
        parts.outcome = "error"
        first = errors[0] if len(errors) == 1 else {**errors[0], "more": errors[1:]}
        parts.error = first if parts.error is None else {**first, "vendor_error": parts.error}
    return parts


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(slots=True)
class _ItemAcc:
    """One output item as the stream builds it: `item` from output_item.added/.done, deltas by index."""

    item: dict[str, Any]
    done: bool = False
    content: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    summary: dict[int, list[str]] = field(default_factory=dict)
    reasoning: dict[int, list[str]] = field(default_factory=dict)

    def rebuilt(self) -> dict[str, Any]:
        """The item as far as it got: a completed item as sent, otherwise rebuilt from its deltas."""
        if self.done:
            return self.item
        item = dict(self.item)
        kind = item.get("type")
        if kind == "message" and self.content:
            content: list[dict[str, Any]] = []
            for index in sorted(self.content):
                part_kind, pieces = self.content[index]
                key = "refusal" if part_kind == "refusal" else "text"
                content.append({"type": part_kind, key: join_text(pieces)})
            item["content"] = content
        elif kind in ("function_call", "custom_tool_call") and self.args:
            item["input" if kind == "custom_tool_call" else "arguments"] = join_text(self.args)
        elif kind == "reasoning":
            if self.summary:
                item["summary"] = [
                    {"type": "summary_text", "text": join_text(self.summary[i])} for i in sorted(self.summary)
                ]
            if self.reasoning:
                item["content"] = [
                    {"type": "reasoning_text", "text": join_text(self.reasoning[i])}
                    for i in sorted(self.reasoning)
                ]
        return item


@dataclass(slots=True)
class ResponsesStreamState:
    """What a Responses stream has delivered: the latest response snapshot, items by output_index,
    the terminal response (if it came) and any `error` event."""

    snapshot: dict[str, Any] | None = None
    final: Mapping[str, Any] | None = None
    items: dict[int, _ItemAcc] = field(default_factory=dict)
    error: dict[str, Any] | None = None


def new_stream_state() -> ResponsesStreamState:
    """A fresh accumulator for one Responses stream."""
    return ResponsesStreamState()


def _position(event: Mapping[str, Any], key: str) -> int:
    """An output/content/summary index of an event (0 when absent); PayloadProblem if not an int."""
    value = event.get(key, 0)
    if type(value) is int and 0 <= value < 2**31:
        return value
    raise PayloadProblem(key, "expected a non-negative integer", value)


def _delta(event: Mapping[str, Any]) -> str:
    value = event.get("delta")
    if type(value) is str:
        return value
    raise PayloadProblem("delta", "expected a string", value)


def _item(state: ResponsesStreamState, event: Mapping[str, Any]) -> _ItemAcc:
    index = _position(event, "output_index")
    acc = state.items.get(index)
    if acc is None:
        acc = state.items[index] = _ItemAcc(item={"type": _DELTA_ITEM_TYPE.get(event["type"], "message")})
    return acc


_DELTA_ITEM_TYPE: Final = {
    "response.function_call_arguments.delta": "function_call",
    "response.function_call_arguments.done": "function_call",
    "response.custom_tool_call_input.delta": "custom_tool_call",
    "response.reasoning_summary_text.delta": "reasoning",
    "response.reasoning_text.delta": "reasoning",
}


def add_chunk(state: ResponsesStreamState, chunk: Mapping[str, Any]) -> ChunkInfo:
    """Fold one typed stream event into `state`; event types this version does not know (the API
    adds them over time) are metadata, never an error."""
    kind = chunk["type"]
    if type(kind) is not str:
        raise PayloadProblem("type", "expected a string", kind)
    if kind == "response.output_text.delta":
        delta = chunk.get("delta")
        if type(delta) is not str:
            delta = _delta(chunk)  # raises: names the field
        index = chunk.get("output_index", 0)
        acc = state.items.get(index) if type(index) is int and 0 <= index < 2**31 else None
        if acc is None:
            acc = _item(state, chunk)
        content_index = chunk.get("content_index", 0)
        if type(content_index) is not int or not 0 <= content_index < 2**31:
            content_index = _position(chunk, "content_index")
        slot = acc.content.get(content_index)
        if slot is None:
            slot = acc.content[content_index] = ("output_text", [])
        slot[1].append(delta)
        return ChunkInfo(kind="content", event_type=kind, delta_text=delta)
    info: ChunkKind = "content" if kind in _CONTENT_EVENTS else "meta"
    if kind == "response.function_call_arguments.delta" or kind == "response.custom_tool_call_input.delta":
        _item(state, chunk).args.append(_delta(chunk))
    elif kind == "response.reasoning_summary_text.delta":
        summary = _item(state, chunk).summary
        summary.setdefault(_position(chunk, "summary_index"), []).append(_delta(chunk))
    elif kind == "response.reasoning_text.delta":
        reasoning = _item(state, chunk).reasoning
        reasoning.setdefault(_position(chunk, "content_index"), []).append(_delta(chunk))
    elif kind == "response.refusal.delta":
        acc = _item(state, chunk)
        acc.content.setdefault(_position(chunk, "content_index"), ("refusal", []))[1].append(_delta(chunk))
    elif kind == "response.output_text.done" or kind == "response.refusal.done":
        key = "text" if kind == "response.output_text.done" else "refusal"
        part_kind = "output_text" if key == "text" else "refusal"
        _item(state, chunk).content[_position(chunk, "content_index")] = (
            part_kind,
            [as_str(chunk.get(key), key) or ""],
        )
    elif kind == "response.function_call_arguments.done":
        _item(state, chunk).args[:] = [as_str(chunk.get("arguments"), "arguments") or ""]
    elif kind == "response.output_item.added" or kind == "response.output_item.done":
        acc = _item(state, chunk)
        acc.item = dict(as_mapping(chunk.get("item"), "item"))
        acc.done = kind == "response.output_item.done"
    elif kind in _TERMINAL:
        state.final = as_mapping(chunk.get("response"), "response")
        info = "done"
    elif kind == "response.created" or kind == "response.in_progress":
        state.snapshot = dict(as_mapping(chunk.get("response"), "response"))
    elif kind == "error":
        state.error = {
            "type": "vendor_error",
            **{k: chunk[k] for k in ("code", "message", "param") if k in chunk},
        }
        info = "error"
    return ChunkInfo(kind=info, event_type=kind)


def finish_stream(state: ResponsesStreamState) -> ResponseParts:
    """The response so far: the terminal response when it came (its output filled from the deltas
    if it arrived empty), else the snapshot plus rebuilt items, marked incomplete."""
    items = [state.items[i].rebuilt() for i in sorted(state.items)]
    if state.final is not None:
        response = dict(state.final)
        if not response.get("output") and items:
            response["output"] = items
        parts = parse_response(response)
    else:
        response = dict(state.snapshot or {})
        response["output"] = items
        response.pop("status", None)
        response.pop("usage", None)
        parts = parse_response(response)
        parts.finish_reason = None
        if parts.outcome == "success":
            parts.outcome = "incomplete"
    if state.error is not None:
        parts.outcome = "error"
        parts.error = state.error if parts.error is None else {**parts.error, "stream_error": state.error}
    return parts

"""One LLM call record -> one OpenAI chat fine-tuning example, whichever vendor made the call.

The target shape is OpenAI's documented fine-tuning chat input (sources:
https://platform.openai.com/docs/api-reference/fine-tuning/chat-input and
https://platform.openai.com/docs/guides/supervised-fine-tuning; tool calling in training files:
https://learn.microsoft.com/en-us/azure/ai-services/openai/how-to/fine-tuning-functions):

    {"messages": [{"role": "system" | "user" | "assistant" | "tool", "content": ...,
                   "tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}],
                   "tool_call_id": ..., "weight": 0 | 1}, ...],
     "tools": [{"type": "function", "function": {"name", "description", "parameters"}}]}

Rules, the same for every vendor (records come normalised from tracekit.helpers):
- the call's input messages in order, then its answer (choice 0) as the final assistant message;
- one text part -> a string; several parts -> a list of typed parts (no separator is invented);
  images -> `image_url` parts (URL, or a `data:` URL for base64 bytes); developer -> system;
- Anthropic `tool_result` blocks and Gemini `functionResponse` parts become `tool` messages, placed
  before the rest of the message they came in; Gemini results without an id match the earliest
  unanswered call of the same name, and calls without an id get `call_<n>` (n counts calls in
  the example), so every tool message names its call;
- a Gemini function response becomes the compact JSON of its `response` object;
- reasoning/thinking text is dropped unless asked for (`reasoning="field"` adds a
  `reasoning_content` key, `"inline"` prefixes the content with `<think>...</think>`): OpenAI's
  format has no reasoning field, other trainers read those two forms;
- `weight` 0 on earlier assistant messages when training on the last turn only (the default:
  earlier turns are examples of their own calls).
Anything the format cannot hold exactly (audio, files, non-function tools, refusals) is not
approximated: the example is dropped with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from tracekit.model import LLMCallRecord, LLMContentPart, LLMMessage, ToolCallSpec, ToolDefinition

__all__ = ["ConvertedExample", "Reasoning", "convert_record"]

Reasoning = Literal["drop", "field", "inline"]
"""What to do with reasoning/thinking text: drop it, a `reasoning_content` key, or inline <think> tags."""

_TEXT_TYPES = frozenset({"text"})
_REASONING_TYPES = frozenset({"reasoning", "thinking"})
_SKIPPED_TYPES = frozenset({"redacted_thinking"})  # encrypted: no text to train on


class Unconvertible(Exception):
    """Internal: the record cannot be written exactly; `reason` is the report's drop reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class ConvertedExample:
    """An example (`None` when dropped, with `reason`) and the orphan tool results it contained."""

    example: dict[str, Any] | None
    reason: str | None = None
    orphan_tool_results: int = 0


@dataclass(slots=True)
class _Calls:
    """Tool call ids seen so far in one example, and the calls still waiting for a result."""

    seen: set[str] = field(default_factory=set)
    pending: list[tuple[str, str]] = field(default_factory=list)  # (name, id) in call order
    count: int = 0
    orphans: int = 0

    def add(self, spec: ToolCallSpec) -> str:
        self.count += 1
        call_id = spec.call_id or f"call_{self.count}"
        self.seen.add(call_id)
        self.pending.append((spec.name, call_id))
        return call_id

    def answer(self, call_id: str | None, name: str | None) -> str | None:
        """The id a tool result answers; None (an orphan) when no earlier call matches."""
        if call_id is None and name is not None:
            for i, (pending_name, pending_id) in enumerate(self.pending):
                if pending_name == name:
                    call_id = pending_id
                    del self.pending[i]
                    return call_id
        if call_id is None or call_id not in self.seen:
            self.orphans += 1
            return None
        self.pending = [p for p in self.pending if p[1] != call_id]
        return call_id


def _image(part: LLMContentPart) -> dict[str, Any]:
    if part.uri is not None:
        url = part.uri
    elif part.base64_data is not None and part.mime_type is not None:
        url = f"data:{part.mime_type};base64,{part.base64_data}"
    else:
        raise Unconvertible("unsupported_content")
    image: dict[str, Any] = {"url": url}
    detail = (part.data or {}).get("detail")
    if detail is not None:
        image["detail"] = detail
    return {"type": "image_url", "image_url": image}


def _content(parts: Sequence[LLMContentPart], *, images: bool) -> str | list[dict[str, Any]] | None:
    """A string for one text part, a list of typed parts otherwise, None when empty."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if part.type in _TEXT_TYPES and part.text is not None:
            out.append({"type": "text", "text": part.text})
        elif part.type == "image" and images:
            out.append(_image(part))
        elif part.type == "refusal":
            raise Unconvertible("refusal")
        elif part.type not in _REASONING_TYPES and part.type not in _SKIPPED_TYPES:
            raise Unconvertible("unsupported_content")
    if not out:
        return None
    if len(out) == 1 and out[0]["type"] == "text":
        text: str = out[0]["text"]
        return text
    return out


def _reasoning_of(parts: Sequence[LLMContentPart]) -> str | None:
    texts = [p.text for p in parts if p.type in _REASONING_TYPES and p.text]
    return "".join(texts) if texts else None


def _tool_result_content(part: LLMContentPart) -> str:
    data = part.data or {}
    if part.text is not None:
        return part.text
    if "response" in data:  # Gemini functionResponse: the response object, as compact JSON
        return json.dumps(data["response"], ensure_ascii=False, separators=(",", ":"))
    raise Unconvertible("unsupported_content")


def _assistant(
    message: LLMMessage, calls: _Calls, reasoning: Reasoning, reasoning_text: str | None
) -> dict[str, Any]:
    content = _content(message.parts, images=False)
    out: dict[str, Any] = {"role": "assistant", "content": content}
    thought = reasoning_text if reasoning_text is not None else _reasoning_of(message.parts)
    if thought is not None and reasoning == "field":
        out["reasoning_content"] = thought
    elif thought is not None and reasoning == "inline":
        tag = f"<think>{thought}</think>"
        out["content"] = (
            [{"type": "text", "text": tag}, *content] if isinstance(content, list) else tag + (content or "")
        )
    if message.tool_calls:
        tool_calls = []
        for spec in message.tool_calls:
            if spec.type != "function":
                raise Unconvertible("non_function_tool_call")
            tool_calls.append(
                {
                    "id": calls.add(spec),
                    "type": "function",
                    "function": {"name": spec.name, "arguments": spec.arguments_json},
                }
            )
        out["tool_calls"] = tool_calls
    return out


def _message(message: LLMMessage, calls: _Calls, reasoning: Reasoning) -> list[dict[str, Any]]:
    """One record message as one or more fine-tuning messages (tool results split out first)."""
    if message.role == "assistant":
        return [_assistant(message, calls, reasoning, None)]
    results = [p for p in message.parts if p.type == "tool_result"]
    rest = [p for p in message.parts if p.type != "tool_result"]
    out: list[dict[str, Any]] = []
    for part in results:
        data = part.data or {}
        call_id = data.get("tool_use_id") or data.get("id") or message.tool_call_id
        answered = calls.answer(call_id, data.get("name"))
        if answered is not None:
            out.append({"role": "tool", "content": _tool_result_content(part), "tool_call_id": answered})
    if message.role in ("tool", "function") and not results:
        answered = calls.answer(message.tool_call_id, message.name)
        if answered is not None:
            content = _content(rest, images=False)
            out.append({"role": "tool", "content": content or "", "tool_call_id": answered})
        return out
    if rest or not results:
        role = "system" if message.role == "developer" else message.role
        if role in ("tool", "function"):
            role = "user"
        out.append({"role": role, "content": _content(rest, images=role == "user") or ""})
    return out


def _tool(definition: ToolDefinition) -> dict[str, Any]:
    if definition.type != "function":
        raise Unconvertible("non_function_tool")
    function: dict[str, Any] = {"name": definition.name}
    if definition.description is not None:
        function["description"] = definition.description
    if definition.parameters is not None:
        function["parameters"] = definition.parameters
    raw = definition.raw or {}
    nested = raw.get("function")
    strict = (nested if isinstance(nested, dict) else raw).get("strict")
    if isinstance(strict, bool):  # OpenAI's structured-outputs flag on a function tool
        function["strict"] = strict
    return {"type": "function", "function": function}


def _answer(record: LLMCallRecord) -> LLMMessage:
    if record.output_messages:
        return record.output_messages[0]
    parts = [] if record.output_text is None else [LLMContentPart(type="text", text=record.output_text)]
    return LLMMessage(role="assistant", parts=parts, tool_calls=list(record.output_tool_calls))


def convert_record(
    record: LLMCallRecord, *, reasoning: Reasoning = "drop", train_on: Literal["last", "all"] = "last"
) -> ConvertedExample:
    """The fine-tuning example for one call (rules in the module doc), or why there is none."""
    calls = _Calls()
    try:
        messages: list[dict[str, Any]] = []
        for message in record.input_messages:
            messages.extend(_message(message, calls, reasoning))
        answer = _answer(record)
        if record.refusal is not None:
            raise Unconvertible("refusal")
        final = _assistant(answer, calls, reasoning, record.reasoning_text)
        if not final["content"] and "tool_calls" not in final:
            raise Unconvertible("empty_output")
        if final["content"] is None:
            del final["content"]
        tools = [_tool(t) for t in record.tools]
    except Unconvertible as problem:
        return ConvertedExample(None, problem.reason, calls.orphans)
    if calls.orphans:
        return ConvertedExample(None, "orphan_tool_result", calls.orphans)
    for item in messages:
        if item["role"] == "assistant":
            if item["content"] is None:
                del item["content"]
            if train_on == "last":
                item["weight"] = 0
    messages.append(final)
    example: dict[str, Any] = {"messages": messages}
    if tools:
        example["tools"] = tools
    return ConvertedExample(example)

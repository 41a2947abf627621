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

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tracekit.helpers._gemini_content import (
    as_mapping,
    join_text,
    joined_texts,
    list_of,
    opt_text,
    parse_request,
    pick,
    plain,
    problem_dict,
    read_parts,
    role_of,
    text_of,
)
from tracekit.helpers._gemini_partial import PartialCall, is_partial_call
from tracekit.helpers.base import ChunkInfo, PayloadProblem, ResponseParts
from tracekit.helpers.usage import from_gemini
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


# ---------------------------------------------------------------------------------------------
# Detection


def _looks_like_response(payload: Mapping[str, Any]) -> bool:
    if isinstance(payload.get("candidates"), list):
        return True
    return isinstance(pick(payload, "promptFeedback", "prompt_feedback"), Mapping) or (
        isinstance(pick(payload, "usageMetadata", "usage_metadata"), Mapping)
        and pick(payload, "modelVersion", "model_version") is not None
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
# Responses


@dataclass(slots=True)
class _Candidate:
    """One candidate read from a response (or rebuilt from a stream)."""

    index: int
    message: LLMMessage
    finish_reason: str | None


def _candidate(raw: Any, position: int, path: str, problems: list[PayloadProblem]) -> _Candidate:
    candidate = as_mapping(raw, path)
    index = candidate.get("index")
    if index is not None and type(index) is not int:
        raise PayloadProblem(f"{path}.index", "expected an integer", index)
    finish = None
    try:
        finish = opt_text(pick(candidate, "finishReason", "finish_reason"), f"{path}.finishReason")
    except PayloadProblem as problem:
        problems.append(problem)
    content = candidate.get("content")
    role: Role = "assistant"
    parts: list[LLMContentPart] = []
    calls: list[ToolCallSpec] = []
    if content is not None:
        content = as_mapping(content, f"{path}.content")
        try:
            role = role_of(content.get("role"), f"{path}.content.role", "assistant")
        except PayloadProblem as problem:
            problems.append(problem)
        parts, calls = read_parts(content.get("parts"), f"{path}.content.parts", problems)
    metadata: dict[str, Any] = {}
    if finish is not None:
        metadata["finish_reason"] = finish
    ratings = pick(candidate, "safetyRatings", "safety_ratings")
    if ratings is not None:
        metadata["safety_ratings"] = plain(ratings)
    finish_message = pick(candidate, "finishMessage", "finish_message")
    if finish_message is not None:
        metadata["finish_message"] = plain(finish_message)
    message = LLMMessage(role=role, parts=parts, tool_calls=calls, metadata=metadata)
    return _Candidate(index=position if index is None else index, message=message, finish_reason=finish)


def _blocked(feedback: Any, path: str) -> dict[str, Any] | None:
    """The error dict for a prompt Gemini refused to answer (promptFeedback.blockReason), else None."""
    if feedback is None:
        return None
    feedback = as_mapping(feedback, path)
    reason = opt_text(pick(feedback, "blockReason", "block_reason"), f"{path}.blockReason")
    if reason is None:
        return None
    message = opt_text(pick(feedback, "blockReasonMessage", "block_reason_message"), path)
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
            usage = from_gemini(plain(as_mapping(usage_raw, "usageMetadata")), problems=problems)
        except PayloadProblem as problem:
            problems.append(problem)
    blocked = None
    try:
        blocked = _blocked(feedback, "promptFeedback")
    except PayloadProblem as problem:
        problems.append(problem)
    candidates.sort(key=lambda c: c.index)
    first = candidates[0] if candidates else None
    safety: dict[str, Any] = {}
    if isinstance(feedback, Mapping):
        prompt_ratings = pick(feedback, "safetyRatings", "safety_ratings")
        if prompt_ratings is not None:
            safety["prompt_safety_ratings"] = plain(prompt_ratings)
    if first is not None and "safety_ratings" in first.message.metadata:
        safety["safety_ratings"] = first.message.metadata["safety_ratings"]
    first_parts = first.message.parts if first else []
    result = ResponseParts(
        model_name=model_name,
        response_id=response_id,
        output_messages=[first.message] if first else [],
        outputs=[c.message for c in candidates] if len(candidates) > 1 else [],
        output_text=joined_texts(first_parts, "text"),
        reasoning_text=joined_texts(first_parts, "thinking"),
        output_tool_calls=list(first.message.tool_calls) if first else [],
        usage=usage,
        finish_reason=first.finish_reason if first else None,
        safety=safety or None,
    )
    if problems:
        logger.warning("malformed Gemini payload: %s", problems[0])
        result.outcome = "error"
        result.error = problem_dict(problems[0])
    elif blocked is not None:
        result.outcome = "error"
        result.error = blocked
    return result


def _string_field(
    payload: Mapping[str, Any], camel: str, snake: str, problems: list[PayloadProblem]
) -> str | None:
    try:
        return opt_text(pick(payload, camel, snake), camel)
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
        usage_raw=pick(payload, "usageMetadata", "usage_metadata"),
        feedback=pick(payload, "promptFeedback", "prompt_feedback"),
        problems=problems,
    )


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(slots=True)
class _StreamPart:
    """A part being streamed: consecutive text pieces of the same kind merge into one part."""

    kind: str
    """"text", "thought", "whole" (a part that arrives complete: functionCall, inlineData, ...)
    or "partial" (a Vertex function call whose arguments stream as partialArgs)."""
    pieces: list[str] = field(default_factory=list)
    signature: Any = None
    raw: Mapping[str, Any] | None = None
    call: PartialCall | None = None


@dataclass(slots=True)
class _StreamCandidate:
    role: Any = None
    parts: list[_StreamPart] = field(default_factory=list)
    finish_reason: Any = None
    finish_message: Any = None
    safety_ratings: Any = None
    open_call: PartialCall | None = None
    """The streamed function call still receiving partialArgs."""


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


def _add_stream_part(cand: _StreamCandidate, raw: Any, position: int, i: int) -> tuple[bool, str | None]:
    """Fold part `i` of candidate `position` in; returns (carried content, visible text delta)."""
    part = raw if type(raw) is dict else as_mapping(raw, f"candidates[{position}].content.parts[{i}]")
    signature = pick(part, "thoughtSignature", "thought_signature")
    text = part.get("text")
    if text is None:
        call = pick(part, "functionCall", "function_call")
        if isinstance(call, Mapping) and is_partial_call(call, cand.open_call is not None):
            streamed = cand.open_call
            if streamed is None:
                streamed = PartialCall(call={})
                cand.parts.append(_StreamPart(kind="partial", call=streamed))
            if signature is not None:
                streamed.signature = signature
            streamed.add(call, f"candidates[{position}].content.parts[{i}].functionCall")
            cand.open_call = streamed if streamed.open else None
            return True, None
        cand.parts.append(_StreamPart(kind="whole", raw=part))
        return call is not None, None
    if type(text) is not str:
        text = text_of(text, f"candidates[{position}].content.parts[{i}].text")
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
                "type": str(plain(error.get("status")) or "error"),
                "message": str(error.get("message") or ""),
                "code": plain(error.get("code")),
            }
        return ChunkInfo(kind="error")
    problems = state.problems
    model = chunk.get("modelVersion")
    if type(model) is not str:
        model = _string_field(chunk, "modelVersion", "model_version", problems)
    state.model_name = model or state.model_name
    response_id = chunk.get("responseId")
    if type(response_id) is not str:
        response_id = _string_field(chunk, "responseId", "response_id", problems)
    state.response_id = response_id or state.response_id
    usage = pick(chunk, "usageMetadata", "usage_metadata")
    if usage is not None:
        state.usage = usage
    feedback = pick(chunk, "promptFeedback", "prompt_feedback")
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
        try:
            candidate = raw if type(raw) is dict else as_mapping(raw, f"candidates[{position}]")
            index = candidate.get("index", position)
            if type(index) is not int:
                raise PayloadProblem(f"candidates[{position}].index", "expected an integer", index)
            cand = state.candidates.get(index)
            if cand is None:
                cand = state.candidates[index] = _StreamCandidate()
            finish = pick(candidate, "finishReason", "finish_reason")
            if finish is not None:
                cand.finish_reason = finish
                finished = True
            finish_message = pick(candidate, "finishMessage", "finish_message")
            if finish_message is not None:
                cand.finish_message = finish_message
            ratings = pick(candidate, "safetyRatings", "safety_ratings")
            if ratings is not None:
                cand.safety_ratings = ratings
            body = candidate.get("content")
            if body is None:
                continue
            if type(body) is not dict:
                body = as_mapping(body, f"candidates[{position}].content")
            if body.get("role") is not None:
                cand.role = body["role"]
            sent = body.get("parts") or ()
            if type(sent) is not list:
                sent = list_of(sent, f"candidates[{position}].content.parts")
            for i, part in enumerate(sent):
                carried, text = _add_stream_part(cand, part, position, i)
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
        and pick(feedback, "blockReason", "block_reason") is not None
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
        if part.call is not None:
            parts.append(part.call.part())
            continue
        rebuilt: dict[str, Any] = {"text": join_text(part.pieces)}
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
            "safetyRatings": cand.safety_ratings,
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

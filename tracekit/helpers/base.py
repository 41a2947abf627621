"""The contract every vendor normaliser module implements, and the parts they return.

One module per vendor API (openai_chat, openai_responses, anthropic, gemini), each exposing the
same module-level names (see `VendorAdapter`). Parsing is pure: no I/O, no clocks. The shared
recorder turns RequestParts + ResponseParts (+ timing) into an LLMCallRecord.

Streams: `new_stream_state()` makes the vendor's accumulator; `add_chunk(state, chunk)` folds one
chunk into it (mutating it, as the Anthropic SDK's `accumulate_event` does) and says what the
chunk carried; `finish_stream(state)` reads the final parts, also for a stream cut short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tracekit.helpers._clean import short_repr
from tracekit.model import (
    ApiType,
    LLMMessage,
    LLMRequestParams,
    LLMUsage,
    Outcome,
    ToolCallSpec,
    ToolDefinition,
)

__all__ = [
    "ChunkInfo",
    "ChunkKind",
    "PayloadProblem",
    "RequestParts",
    "ResponseParts",
    "VendorAdapter",
]

ChunkKind = Literal["content", "usage", "meta", "done", "error", "ping"]
"""What a chunk carried: `content` is visible text, reasoning/thinking or a tool-call delta (the
first such chunk marks time-to-first-token); `meta` is ids, roles, block starts and the like."""


class PayloadProblem(ValueError):
    """A vendor field present but malformed; `path` says where. Recorders turn it into `record.error`."""

    def __init__(self, path: str, message: str, value: Any) -> None:
        self.path = path
        self.value = value
        super().__init__(f"{path}: {message} (got {short_repr(value)})")

    def __repr__(self) -> str:
        return f"PayloadProblem({self.path!r}, {self.args[0]!r})"


@dataclass(slots=True)
class ChunkInfo:
    """What `add_chunk` learned from one chunk, kept on its LLMChunk."""

    kind: ChunkKind
    event_type: str | None = None
    choice_index: int | None = None
    delta_text: str | None = None


@dataclass(slots=True)
class RequestParts:
    """The normalised request: what was sent to the model."""

    input_messages: list[LLMMessage] = field(default_factory=list)
    input_text: str | None = None
    tools: list[ToolDefinition] = field(default_factory=list)
    tool_choice: str | dict[str, Any] | None = None
    request_params: LLMRequestParams = field(default_factory=LLMRequestParams)
    model_name: str | None = None


@dataclass(slots=True)
class ResponseParts:
    """The normalised response (or the state of a stream when it ended)."""

    model_name: str | None = None
    response_id: str | None = None
    output_messages: list[LLMMessage] = field(default_factory=list)
    outputs: list[LLMMessage] = field(default_factory=list)
    output_text: str | None = None
    reasoning_text: str | None = None
    refusal: str | None = None
    output_tool_calls: list[ToolCallSpec] = field(default_factory=list)
    usage: LLMUsage | None = None
    finish_reason: str | None = None
    outcome: Outcome = "success"
    error: dict[str, Any] | None = None
    safety: dict[str, Any] | None = None
    """Vendor safety verdicts (Gemini safety ratings of the prompt and of the first candidate)."""


class VendorAdapter(Protocol):
    """The module-level names each vendor module defines (modules satisfy this Protocol)."""

    PROVIDER: str
    API_TYPE: ApiType

    def is_response(self, payload: Mapping[str, Any]) -> bool:
        """Whether a complete (non-streamed) response has this API's shape."""

    def is_chunk(self, chunk: Mapping[str, Any]) -> bool:
        """Whether a stream chunk/event has this API's shape."""

    def parse_request(self, request: Mapping[str, Any]) -> RequestParts:
        """Normalise the request body that was sent (messages/input, system, tools, params)."""

    def parse_response(self, payload: Mapping[str, Any]) -> ResponseParts:
        """Normalise a complete response."""

    def new_stream_state(self) -> Any:
        """A fresh accumulator for one stream."""

    def add_chunk(self, state: Any, chunk: Mapping[str, Any]) -> ChunkInfo:
        """Fold one chunk into `state`; pure (no I/O, no clock)."""

    def finish_stream(self, state: Any) -> ResponseParts:
        """The parts accumulated so far; `outcome="incomplete"` if the stream never finished."""

"""The trace data model: sessions, timesteps, events, messages, and LLM call records.

Names follow synth-ai's tracing_v3 so its users can move over. Conventions:
- every time is a timezone-aware UTC `datetime` (naive datetimes are rejected, not guessed at);
- durations are `*_ms` floats measured on a monotonic clock;
- `None` means "not reported", `0` means "reported zero";
- `to_dict`/`from_dict` and `to_json`/`from_json` round-trip every type exactly (see codec/):
  whatever `to_json` accepts reads back equal, anything else is refused with the field path.

Two synth-ai forms are converted on construction, because their meaning is unambiguous:
`TimeRecord(event_time=<epoch seconds, int or float>)` becomes an aware UTC datetime, and
`SessionEventMarkovBlanketMessage(content="text")` becomes `SessionMessageContent(text=...)`
(a dict or list becomes `SessionMessageContent(json_payload=<its compact JSON>)`).

This module does not import the codec: `tracekit.codec` installs itself (`install_codec`) and the
record methods (`to_json`, `from_json`, ...) call it.

Events are polymorphic: each class has a stable `event_type`, and user subclasses are registered
with `register_event_type` so that they survive storage and `from_dict`.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol, TypeVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict

from tracekit.errors import InvalidArgumentError, TracekitError

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "ApiType",
    "BaseEvent",
    "EnvironmentEvent",
    "KeyText",
    "LLMCallRecord",
    "LLMChunk",
    "LLMContentPart",
    "LLMMessage",
    "LLMRequestParams",
    "LLMTiming",
    "LLMUsage",
    "LMCAISEvent",
    "Outcome",
    "Role",
    "RuntimeEvent",
    "SessionEventMarkovBlanketMessage",
    "SessionMessageContent",
    "SessionTimeStep",
    "SessionTrace",
    "TimeRecord",
    "ToolCallResult",
    "ToolCallSpec",
    "ToolDefinition",
    "epoch_to_utc",
    "event_types",
    "install_codec",
    "is_valid_unicode",
    "new_id",
    "register_event_type",
    "registered_event_class",
    "utc_now",
]

ApiType = Literal["chat_completions", "responses", "messages", "generate_content", "completions"]
"""Which vendor API produced a call: OpenAI Chat Completions / Responses, Anthropic Messages,
Gemini generateContent, or legacy text completions."""

Outcome = Literal["success", "error", "timeout", "cancelled", "incomplete"]
"""How a call ended; `incomplete` is a stream cut short or a response the vendor marked incomplete."""

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]
"""Chat roles after normalisation (Gemini's `model` becomes `assistant`)."""


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (the default clock everywhere)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A fresh random id (uuid4 hex)."""
    return uuid.uuid4().hex


def epoch_to_utc(seconds: float) -> datetime | None:
    """Epoch seconds (synth-ai's float times) as an aware UTC datetime, rounded to the
    microsecond; None when `seconds` is not finite or falls outside years 1-9999."""
    if not math.isfinite(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_utc(value: Any) -> Any:
    """Pydantic pre-validator: ISO strings via dateutil; aware datetimes to UTC; naive rejected."""
    if isinstance(value, str):
        from dateutil.parser import isoparse

        try:
            value = isoparse(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"not an ISO-8601 datetime: {exc}") from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: give a timezone (e.g. '...Z' or tzinfo=UTC)")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError("datetime is outside years 1-9999 once converted to UTC") from None
    return value


UTCDateTime = Annotated[datetime, BeforeValidator(_parse_utc)]
"""A datetime that validates from ISO-8601 text and always ends up aware UTC."""


def is_valid_unicode(text: str) -> bool:
    """Whether `text` encodes to UTF-8 (holds no lone UTF-16 surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _valid_unicode(text: str) -> str:
    """Pydantic after-validator of KeyText."""
    if not is_valid_unicode(text):
        raise ValueError("holds a lone UTF-16 surrogate; ids and names must be valid Unicode text")
    return text


KeyText = Annotated[str, AfterValidator(_valid_unicode)]
"""Text the store keeps in a query column (ids, names, types): it must be valid Unicode, so a
lone UTF-16 surrogate is refused here. Free text (messages, metadata values, raw payloads) may
hold one: the codec writes it as a JSON \\u escape that reads back to the same string."""


T = TypeVar("T")


class RecordCodec(Protocol):
    """What the record methods need from the codec (tracekit.codec provides it)."""

    def to_dict(self, obj: Any) -> dict[str, Any]: ...

    def to_json(self, obj: Any) -> str: ...

    def from_dict(self, cls: type[T], data: Mapping[str, Any]) -> T: ...

    def from_json(self, cls: type[T], text: str | bytes) -> T: ...


_codec: list[RecordCodec] = []


def install_codec(codec: RecordCodec) -> None:
    """Called by tracekit.codec on import: the record methods delegate to it (the codec sits on
    the model, so the model never imports the codec)."""
    _codec[:] = [codec]


def _the_codec() -> RecordCodec:
    if not _codec:
        raise TracekitError("tracekit.codec is not loaded; `import tracekit` loads it")
    return _codec[0]


class _Record:
    """Mixin: the codec methods every model type shares, plus strict float validation."""

    __slots__ = ()
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(allow_inf_nan=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO-8601 UTC text); from_dict turns it back into an equal
        copy. Raises SerializationError naming the field path of a value that would not."""
        return _the_codec().to_dict(self)

    def to_json(self) -> str:
        """Compact JSON text that `from_json` turns back into an equal object; raises
        SerializationError naming the field path, value and fix of anything that would not."""
        return _the_codec().to_json(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Validate `data` and build the object; raises InvalidDataError naming each bad field."""
        return _the_codec().from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Self:
        """Parse and validate JSON text; raises InvalidDataError naming each bad field."""
        return _the_codec().from_json(cls, text)


# ---------------------------------------------------------------------------------------------
# Time


@dataclass(slots=True)
class TimeRecord(_Record):
    """When something happened: `event_time` (aware UTC) and an optional message sequence number.

    synth-ai's epoch seconds (`time.time()`, an int or float) are converted on construction to
    the aware UTC datetime, rounded to the microsecond; a naive datetime stays refused at write.
    """

    event_time: UTCDateTime = field(default_factory=utc_now)
    message_time: int | None = None

    def __post_init__(self) -> None:
        given: Any = self.event_time
        kind = type(given)
        if kind is float or kind is int:
            converted = epoch_to_utc(given)
            if converted is not None:
                self.event_time = converted


# ---------------------------------------------------------------------------------------------
# LLM call records: the request, the response and how it streamed


@dataclass(slots=True)
class LLMUsage(_Record):
    """Token usage, normalised (OpenTelemetry GenAI conventions).

    `input_tokens` counts all input, cached included; `output_tokens` includes reasoning.
    `cache_read_tokens`, `cache_write_tokens` and `reasoning_tokens` are breakdowns of those,
    never to be added again. `raw` is the vendor's usage object, untouched.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    reasoning_tokens: int | None = None
    reasoning_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    """Part of `cache_write_tokens` written with a 1-hour TTL (Anthropic prices it differently)."""
    cache_read_tokens: int | None = None
    tool_use_input_tokens: int | None = None
    """Part of `input_tokens` that came from tool results (Gemini toolUsePromptTokenCount)."""
    input_audio_tokens: int | None = None
    output_audio_tokens: int | None = None
    billable_input_tokens: int | None = None
    billable_output_tokens: int | None = None
    cost_usd: float | None = None
    price_table_version: str | None = None
    """Version of the price table `cost_usd` was computed from."""
    raw: dict[str, Any] | None = None


@dataclass(slots=True)
class LLMRequestParams(_Record):
    """Sampling and control parameters sent with the request; anything else stays in `raw_params`."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    repetition_penalty: float | None = None
    seed: int | None = None
    n: int | None = None
    best_of: int | None = None
    response_format: dict[str, Any] | None = None
    json_mode: bool | None = None
    tool_config: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking_budget_tokens: int | None = None
    stream: bool | None = None
    raw_params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LLMContentPart(_Record):
    """One piece of a message: text, image, audio, file, reasoning/thinking, refusal, or JSON.

    `type` is one of: "text", "image", "audio", "video", "file", "reasoning" (OpenAI reasoning
    summaries), "thinking" / "redacted_thinking" (Anthropic, Gemini thought parts), "refusal",
    "json", "tool_result", or a vendor's own type kept verbatim. Vendor-only details go in `data`.
    """

    type: str
    text: str | None = None
    data: dict[str, Any] | None = None
    mime_type: str | None = None
    uri: str | None = None
    base64_data: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    language: str | None = None


@dataclass(slots=True)
class ToolCallSpec(_Record):
    """A tool call the model asked for (not yet executed), in the vendor's order.

    `call_id` is the id the vendor matches the result by (Responses API: `call_id`, not the item
    id). `arguments_json` is the raw string; `arguments` the parsed value, or None if not valid JSON.
    """

    name: KeyText
    arguments_json: KeyText
    arguments: Any = None
    call_id: KeyText | None = None
    index: int | None = None
    parent_call_id: str | None = None
    type: str = "function"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolCallResult(_Record):
    """The result of running a tool call outside the model, matched to it by `call_id`."""

    call_id: str | None = None
    output_text: str | None = None
    exit_code: int | None = None
    status: Literal["ok", "error"] | None = None
    error_message: str | None = None
    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None
    duration_ms: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolDefinition(_Record):
    """A tool offered to the model: its name, description and JSON Schema of parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    type: str = "function"
    raw: dict[str, Any] | None = None


@dataclass(slots=True)
class LLMMessage(_Record):
    """A chat message inside an LLM call (not a message between systems: see Markov-blanket messages)."""

    role: Role
    parts: list[LLMContentPart] = field(default_factory=list)
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[ToolCallSpec] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LLMChunk(_Record):
    """One streamed chunk as received: its position, arrival time and the vendor's raw payload.

    `offset_ms` is monotonic milliseconds since the call started, so timing can be recomputed;
    `raw` lets a record be rebuilt from its chunks later.
    """

    sequence_index: int
    received_at: UTCDateTime | None = None
    offset_ms: float | None = None
    event_type: str | None = None
    choice_index: int | None = None
    delta_text: str | None = None
    delta: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LLMTiming(_Record):
    """Streaming latency figures, all from a monotonic clock.

    ttft_ms: call start -> first chunk carrying visible text, reasoning or a tool-call delta;
    decode_ms: first such chunk -> last chunk; tpot_ms: decode_ms / (output_tokens - 1).
    """

    ttft_ms: float | None = None
    decode_ms: float | None = None
    tpot_ms: float | None = None
    output_tokens_per_second: float | None = None
    chunk_count: int | None = None


@dataclass(slots=True)
class LLMCallRecord(_Record):
    """One LLM API call in full: request, response, usage, timing, stream chunks and outcome."""

    call_id: KeyText
    api_type: ApiType
    provider: KeyText | None = None
    model_name: KeyText = ""
    schema_version: str = "1.0"

    started_at: UTCDateTime | None = None
    completed_at: UTCDateTime | None = None
    latency_ms: float | None = None

    request_params: LLMRequestParams = field(default_factory=LLMRequestParams)
    input_messages: list[LLMMessage] = field(default_factory=list)
    input_text: str | None = None
    tool_choice: str | dict[str, Any] | None = None
    tools: list[ToolDefinition] = field(default_factory=list)

    response_id: str | None = None
    output_messages: list[LLMMessage] = field(default_factory=list)
    outputs: list[LLMMessage] = field(default_factory=list)
    """Every choice's message when the vendor returned several (n > 1); choice 0 is also top-level."""
    output_text: str | None = None
    """Visible answer text only: refusals, thinking and reasoning summaries have their own fields."""
    reasoning_text: str | None = None
    refusal: str | None = None
    output_tool_calls: list[ToolCallSpec] = field(default_factory=list)
    usage: LLMUsage | None = None
    finish_reason: KeyText | None = None
    choice_index: int | None = None

    tool_results: list[ToolCallResult] = field(default_factory=list)

    chunks: list[LLMChunk] | None = None
    timing: LLMTiming | None = None

    request_raw_json: str | None = None
    response_raw_json: str | None = None

    span_id: str | None = None
    trace_id: str | None = None
    provider_request_id: str | None = None
    request_server_timing: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    outcome: Outcome | None = None
    error: dict[str, Any] | None = None
    """What went wrong: {"type", "message", ...}; set on failures and on partially readable payloads."""
    token_traces: list[dict[str, Any]] | None = None
    safety: dict[str, Any] | None = None
    redactions: list[dict[str, Any]] | None = None


# ---------------------------------------------------------------------------------------------
# Events and messages between systems


_EVENT_TYPES: dict[str, type[BaseEvent]] = {}
_registry_listeners: list[Callable[[], None]] = []


def _notify() -> None:
    """Tell caches built from the registry (codec's validators) that it changed."""
    for listener in _registry_listeners:
        listener()


E = TypeVar("E", bound="type[BaseEvent]")


@dataclass(slots=True)
class BaseEvent(_Record):
    """Something that happened inside one system (`system_instance_id`) at `time_record`."""

    event_type: ClassVar[str] = "base"

    system_instance_id: KeyText
    time_record: TimeRecord = field(default_factory=TimeRecord)
    metadata: dict[str, Any] = field(default_factory=dict)
    event_metadata: list[Any] | None = None


@dataclass(slots=True)
class RuntimeEvent(BaseEvent):
    """A decision or action taken by the agent's runtime (e.g. choosing a tool)."""

    event_type: ClassVar[str] = "runtime"

    actions: list[int] = field(default_factory=list)


@dataclass(slots=True)
class EnvironmentEvent(BaseEvent):
    """Feedback from an environment (Gymnasium-style); `reward=None` means no reward was given."""

    event_type: ClassVar[str] = "environment"

    reward: float | None = None
    terminated: bool = False
    truncated: bool = False
    system_state_before: dict[str, Any] | None = None
    system_state_after: dict[str, Any] | None = None


@dataclass(slots=True)
class LMCAISEvent(BaseEvent):
    """A language-model step; its `call_records` hold every LLM call in full."""

    event_type: ClassVar[str] = "cais"

    model_name: KeyText = ""
    provider: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    span_id: str | None = None
    trace_id: str | None = None
    system_state_before: dict[str, Any] | None = None
    system_state_after: dict[str, Any] | None = None
    call_records: list[LLMCallRecord] = field(default_factory=list)


def register_event_type(cls: E) -> E:
    """Register a BaseEvent subclass by its `event_type` so it survives storage and from_dict.

    Use as a class decorator on a dataclass subclass with its own `event_type` ClassVar::

        @tk.register_event_type
        @dataclass(slots=True)
        class ToolTimingEvent(tk.BaseEvent):
            event_type: ClassVar[str] = "tool_timing"
            wait_ms: float | None = None

    Registering the same class again is a no-op; a different class under a taken name is an error.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseEvent)):
        raise InvalidArgumentError(f"register_event_type needs a BaseEvent subclass, got {cls!r:.80}")
    name = cls.__dict__.get("event_type")
    if not isinstance(name, str) or not name or not is_valid_unicode(name):
        raise InvalidArgumentError(
            f"{cls.__qualname__} must define its own `event_type: ClassVar[str] = '...'` "
            "(inheriting the parent's would make the two indistinguishable when read back)"
        )
    existing = _EVENT_TYPES.get(name)
    if existing is cls:
        return cls
    if existing is not None:
        raise InvalidArgumentError(
            f"event_type {name!r} is already registered to {existing.__module__}.{existing.__qualname__}; "
            "pick another name"
        )
    if not hasattr(cls, "__dataclass_fields__") or "__dataclass_fields__" not in cls.__dict__:
        raise InvalidArgumentError(f"{cls.__qualname__} must be decorated with @dataclass before registering")
    _EVENT_TYPES[name] = cls
    _notify()
    return cls


def event_types() -> dict[str, type[BaseEvent]]:
    """A copy of the event_type -> class registry."""
    return dict(_EVENT_TYPES)


def registered_event_class(event_type: str) -> type[BaseEvent] | None:
    """The class registered under `event_type`, or None (no copy: the codec asks once per event)."""
    return _EVENT_TYPES.get(event_type)


BUILTIN_EVENT_TYPES: tuple[type[BaseEvent], ...] = (BaseEvent, RuntimeEvent, EnvironmentEvent, LMCAISEvent)
for _cls in BUILTIN_EVENT_TYPES:
    register_event_type(_cls)


@contextmanager
def builtin_event_types_only() -> Iterator[None]:
    """Within the block, only the built-in event types are registered (for generating schemas
    that do not depend on which user types happen to be imported)."""
    saved = dict(_EVENT_TYPES)
    _EVENT_TYPES.clear()
    _EVENT_TYPES.update({cls.event_type: cls for cls in BUILTIN_EVENT_TYPES})
    _notify()
    try:
        yield
    finally:
        _EVENT_TYPES.clear()
        _EVENT_TYPES.update(saved)
        _notify()


class _EventField:
    """Pydantic hook: validate an event dict as the class its `event_type` names (a tagged union
    rebuilt from the registry whenever a type is registered)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        choices = {name: handler.generate_schema(cls) for name, cls in _EVENT_TYPES.items()}

        def tag_of(value: Any) -> str | None:
            if isinstance(value, Mapping):
                tag = value.get("event_type", "base")
                return tag if isinstance(tag, str) else None
            return getattr(value, "event_type", None)

        return core_schema.tagged_union_schema(
            choices,
            discriminator=tag_of,
            custom_error_type="unknown_event_type",
            custom_error_message=(
                "unknown event_type; registered: "
                + ", ".join(sorted(_EVENT_TYPES))
                + " (register custom events with tracekit.register_event_type)"
            ),
        )

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        """Name each choice's `event_type` in the JSON Schema, with a discriminator mapping."""
        json_schema = handler(schema)
        mapping = {}
        for name, choice in zip(_EVENT_TYPES, json_schema.get("oneOf", []), strict=True):
            target = handler.resolve_ref_schema(choice)
            target["properties"] = {"event_type": {"const": name, "default": name}, **target["properties"]}
            if "$ref" in choice:
                mapping[name] = choice["$ref"]
        json_schema["discriminator"] = {"propertyName": "event_type", "mapping": mapping}
        return json_schema


AnyEvent = Annotated[BaseEvent, _EventField()]
"""A field type holding any registered event subclass."""


@dataclass(slots=True, frozen=True)
class SessionMessageContent(_Record):
    """The payload of a message between systems: plain text and/or a JSON document as text."""

    text: str | None = None
    json_payload: str | None = None

    def as_text(self) -> str:
        """The text, else the JSON payload, else an empty string."""
        return self.text or (self.json_payload or "")

    def has_json(self) -> bool:
        """Whether a JSON payload is present."""
        return self.json_payload is not None


@dataclass(slots=True)
class SessionEventMarkovBlanketMessage(_Record):
    """A message crossing a boundary between systems (user -> agent, agent -> tool runtime, ...).

    Chat messages inside an LLM call belong in the LLMCallRecord, not here. Recommended metadata
    keys: step_id, from_system_instance_id, to_system_instance_id, from_system_role,
    to_system_role, call_id.

    synth-ai's forms of `content` are converted on construction: a str becomes
    `SessionMessageContent(text=content)`, a dict or list `SessionMessageContent(json_payload=...)`
    holding its compact JSON (non-ASCII kept). Content JSON cannot hold is left as given and
    refused at write with the field path.
    """

    content: SessionMessageContent
    message_type: KeyText
    time_record: TimeRecord = field(default_factory=TimeRecord)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        content: Any = self.content
        kind = type(content)
        if kind is str:
            self.content = SessionMessageContent(text=content)
        elif kind is dict or kind is list:
            try:
                payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                return  # not JSON: to_json refuses it with the path and the fix
            self.content = SessionMessageContent(json_payload=payload)


# ---------------------------------------------------------------------------------------------
# Containers


@dataclass(slots=True)
class SessionTimeStep(_Record):
    """A logical step in a session (a conversation turn, an environment step)."""

    step_id: KeyText = ""
    step_index: int = 0
    timestamp: UTCDateTime = field(default_factory=utc_now)
    turn_number: int | None = None
    events: list[AnyEvent] = field(default_factory=list)
    markov_blanket_messages: list[SessionEventMarkovBlanketMessage] = field(default_factory=list)
    step_metadata: dict[str, Any] = field(default_factory=dict)
    completed_at: UTCDateTime | None = None


@dataclass(slots=True)
class SessionTrace(_Record):
    """Everything recorded in one session: timesteps, and every event and message in order.

    `event_history` and `markov_blanket_message_history` hold the whole session in order;
    each timestep also lists the events and messages that happened during it.
    """

    session_id: KeyText = field(default_factory=new_id)
    created_at: UTCDateTime = field(default_factory=utc_now)
    session_time_steps: list[SessionTimeStep] = field(default_factory=list)
    event_history: list[AnyEvent] = field(default_factory=list)
    markov_blanket_message_history: list[SessionEventMarkovBlanketMessage] = field(default_factory=list)
    metadata: dict[KeyText, Any] = field(default_factory=dict)
    """Free-form JSON; its top-level keys are stored as query columns, so they must be valid Unicode."""
    session_metadata: list[dict[str, Any]] | None = None

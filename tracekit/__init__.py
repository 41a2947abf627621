"""tracekit: exact, loss-free tracing for LLM agents.

Records sessions, timesteps, events, messages between systems and every LLM call in full;
normalises vendor responses and streams; stores traces in Turso/libSQL; rolls them up into
tokens, cost, latency and tool-call totals. See README.md for a tour.
"""

from tracekit.errors import (
    InvalidDataError,
    NotFoundError,
    PricingError,
    RecordingError,
    SchemaVersionError,
    SerializationError,
    ServerStartError,
    StoreAuthError,
    StoreConnectionError,
    StoreError,
    TracekitError,
    UnsupportedPayloadError,
)
from tracekit.model import (
    BaseEvent,
    EnvironmentEvent,
    LLMCallRecord,
    LLMChunk,
    LLMContentPart,
    LLMMessage,
    LLMRequestParams,
    LLMTiming,
    LLMUsage,
    LMCAISEvent,
    RuntimeEvent,
    SessionEventMarkovBlanketMessage,
    SessionMessageContent,
    SessionTimeStep,
    SessionTrace,
    TimeRecord,
    ToolCallResult,
    ToolCallSpec,
    ToolDefinition,
    event_types,
    register_event_type,
)

__version__ = "0.1.0"

__all__ = [
    "BaseEvent",
    "EnvironmentEvent",
    "InvalidDataError",
    "LLMCallRecord",
    "LLMChunk",
    "LLMContentPart",
    "LLMMessage",
    "LLMRequestParams",
    "LLMTiming",
    "LLMUsage",
    "LMCAISEvent",
    "NotFoundError",
    "PricingError",
    "RecordingError",
    "RuntimeEvent",
    "SchemaVersionError",
    "SerializationError",
    "ServerStartError",
    "SessionEventMarkovBlanketMessage",
    "SessionMessageContent",
    "SessionTimeStep",
    "SessionTrace",
    "StoreAuthError",
    "StoreConnectionError",
    "StoreError",
    "TimeRecord",
    "ToolCallResult",
    "ToolCallSpec",
    "ToolDefinition",
    "TracekitError",
    "UnsupportedPayloadError",
    "__version__",
    "event_types",
    "register_event_type",
]

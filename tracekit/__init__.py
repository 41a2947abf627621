"""tracekit: exact, loss-free tracing for LLM agents.

Records sessions, timesteps, events, messages between systems and every LLM call in full;
normalises vendor responses and streams; stores traces in Turso/libSQL; rolls them up into
tokens, cost, latency and tool-call totals. See README.md for a tour.
"""

from tracekit import codec as _codec  # noqa: F401 - importing it installs the record methods (to_json, ...)
from tracekit.analysis.aggregates import (
    AggregateResult,
    Distribution,
    GroupAggregate,
    SessionRollup,
    aggregate,
    compute_aggregates_from_call_records,
)
from tracekit.analysis.pricing import (
    CallCost,
    ModelPrice,
    PriceTable,
    PriceTier,
    estimate_cost,
    get_prices,
    load_prices,
    reset_prices,
    set_price,
)
from tracekit.decorators import trace_llm_call, trace_tool
from tracekit.errors import (
    InvalidArgumentError,
    InvalidDataError,
    NoActiveSessionError,
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
from tracekit.helpers.recorder import StreamRecorder, record_from_response, record_from_stream
from tracekit.helpers.synth_compat import (
    create_llm_call_record_from_response,
    create_llm_call_record_from_streaming,
)
from tracekit.instrument import instrument, uninstrument
from tracekit.live import NDJSONSink, read_ndjson
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
from tracekit.tracer import (
    FlushResult,
    SessionTracer,
    current_session,
    current_timestep,
    current_tracer,
)
from tracekit.tracing.hooks import Hooks
from tracekit.wire import llm_metrics, step_metrics, turn_metrics

__version__ = "0.1.0"

__all__ = [
    "AggregateResult",
    "BaseEvent",
    "CallCost",
    "Distribution",
    "EnvironmentEvent",
    "FlushResult",
    "GroupAggregate",
    "Hooks",
    "InvalidArgumentError",
    "InvalidDataError",
    "LLMCallRecord",
    "LLMChunk",
    "LLMContentPart",
    "LLMMessage",
    "LLMRequestParams",
    "LLMTiming",
    "LLMUsage",
    "LMCAISEvent",
    "ModelPrice",
    "NDJSONSink",
    "NoActiveSessionError",
    "NotFoundError",
    "PriceTable",
    "PriceTier",
    "PricingError",
    "RecordingError",
    "RuntimeEvent",
    "SchemaVersionError",
    "SerializationError",
    "ServerStartError",
    "SessionEventMarkovBlanketMessage",
    "SessionMessageContent",
    "SessionRollup",
    "SessionTimeStep",
    "SessionTrace",
    "SessionTracer",
    "StoreAuthError",
    "StoreConnectionError",
    "StoreError",
    "StreamRecorder",
    "TimeRecord",
    "ToolCallResult",
    "ToolCallSpec",
    "ToolDefinition",
    "TracekitError",
    "UnsupportedPayloadError",
    "__version__",
    "aggregate",
    "compute_aggregates_from_call_records",
    "create_llm_call_record_from_response",
    "create_llm_call_record_from_streaming",
    "current_session",
    "current_timestep",
    "current_tracer",
    "estimate_cost",
    "event_types",
    "get_prices",
    "instrument",
    "llm_metrics",
    "load_prices",
    "read_ndjson",
    "record_from_response",
    "record_from_stream",
    "register_event_type",
    "reset_prices",
    "set_price",
    "step_metrics",
    "trace_llm_call",
    "trace_tool",
    "turn_metrics",
    "uninstrument",
]

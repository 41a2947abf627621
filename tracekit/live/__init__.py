"""Live events while a run is going: the event bus and its subscriptions (bus.py), the NDJSON sink
(sink.py), what the tracer publishes (publish.py) and `tracer.live_metrics()` (metrics.py).

The names below are the ones `tracekit.live` has always offered; import from here.
"""

from tracekit.live.bus import EVENT_KINDS, Event, EventBus, LiveEvents, Subscription
from tracekit.live.publish import (
    event_recorded,
    llm_call_started,
    message_recorded,
    session_ended,
    session_started,
    stream_usage,
    timestep_ended,
    timestep_started,
)
from tracekit.live.sink import NDJSONSink, read_ndjson

__all__ = [
    "EVENT_KINDS",
    "Event",
    "EventBus",
    "LiveEvents",
    "NDJSONSink",
    "Subscription",
    "event_recorded",
    "llm_call_started",
    "message_recorded",
    "read_ndjson",
    "session_ended",
    "session_started",
    "stream_usage",
    "timestep_ended",
    "timestep_started",
]

"""Checks on what the tracer is given: JSON that reads back exactly, argument types, event indexes.

Whatever record_message / record_reward / session() accept is stored and read back equal;
everything else is refused here, at once, with a TracekitError naming the value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tracekit.errors import InvalidArgumentError, SerializationError
from tracekit.model import (
    BaseEvent,
    LLMCallRecord,
    LMCAISEvent,
    SessionMessageContent,
    SessionTrace,
    TimeRecord,
)

__all__ = [
    "call_event",
    "check_json",
    "check_mapping",
    "check_optional_str",
    "event_index",
    "message_content",
]


def message_content(content: Any) -> SessionMessageContent:
    if isinstance(content, SessionMessageContent):
        return content
    if isinstance(content, str):
        return SessionMessageContent(text=content)
    return SessionMessageContent(json_payload=check_json("content", content))


def check_json(name: str, value: Any) -> str:
    """Compact JSON text that json.loads turns back into `value` exactly; SerializationError if none."""
    problem = _json_problem(value, name)
    if problem is not None:
        raise SerializationError(
            f"{problem} cannot be stored as JSON exactly; pass str, finite numbers, bools, None, "
            "lists and dicts with str keys"
        )
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_problem(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str | bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} {value!r} (non-finite float)"
    if isinstance(value, list):
        return next((p for i, v in enumerate(value) if (p := _json_problem(v, f"{path}[{i}]"))), None)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} key {key!r} (not a str)"
            problem = _json_problem(item, f"{path}[{key!r}]")
            if problem is not None:
                return problem
        return None
    return f"{path} {value!r:.80} (a {type(value).__name__})"


def check_optional_str(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a str or None, got {value!r}")


def check_mapping(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{name} must be a mapping (dict) or None, got {value!r:.80}")


def event_index(trace: SessionTrace, event: BaseEvent | int) -> int:
    history = trace.event_history
    if isinstance(event, bool) or not isinstance(event, int | BaseEvent):
        raise InvalidArgumentError(f"event must be a recorded event or its index, got {event!r:.80}")
    if isinstance(event, int):
        if not 0 <= event < len(history):
            raise InvalidArgumentError(
                f"event index {event} is outside this session's event_history (0..{len(history) - 1})"
            )
        return event
    for index in range(len(history) - 1, -1, -1):
        if history[index] is event:
            return index
    raise InvalidArgumentError(
        f"{type(event).__name__} {event.system_instance_id!r} was not recorded in session "
        f"{trace.session_id!r}; record_event() it first"
    )


def call_event(record: LLMCallRecord, agent: str, event_time: datetime) -> LMCAISEvent:
    """The LMCAISEvent holding one call record, its model, tokens and latency copied from it (the
    decorators' and the wire receiver's events are built the same way)."""
    usage = record.usage
    return LMCAISEvent(
        system_instance_id=agent,
        time_record=TimeRecord(event_time=event_time),
        model_name=record.model_name,
        provider=record.provider,
        input_tokens=None if usage is None else usage.input_tokens,
        output_tokens=None if usage is None else usage.output_tokens,
        total_tokens=None if usage is None else usage.total_tokens,
        latency_ms=record.latency_ms,
        call_records=[record],
    )

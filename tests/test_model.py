"""Model conventions: defaults, event registration, and what each type promises."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import ClassVar

import pytest

import tracekit as tk
from tracekit import model


def test_defaults_mean_not_reported() -> None:
    """A fresh usage reports nothing: every count is None, never a made-up zero."""
    usage = tk.LLMUsage()
    assert all(getattr(usage, name) is None for name in usage.__dataclass_fields__)


def test_default_times_are_aware_utc() -> None:
    """Default timestamps are timezone-aware UTC."""
    trace = tk.SessionTrace()
    assert trace.created_at.tzinfo is UTC
    assert tk.TimeRecord().event_time.tzinfo is UTC


def test_default_session_ids_are_unique() -> None:
    """Each new session gets its own id."""
    assert tk.SessionTrace().session_id != tk.SessionTrace().session_id


def test_model_types_use_slots() -> None:
    """Records are slotted dataclasses (small, fast, no stray attributes)."""
    record = tk.LLMCallRecord(call_id="c", api_type="responses")
    with pytest.raises(AttributeError):
        record.not_a_field = 1  # type: ignore[attr-defined]


def test_built_in_event_types_are_registered() -> None:
    """The four built-in event classes are registered under their stable names."""
    registry = tk.event_types()
    assert registry["base"] is tk.BaseEvent
    assert registry["runtime"] is tk.RuntimeEvent
    assert registry["environment"] is tk.EnvironmentEvent
    assert registry["cais"] is tk.LMCAISEvent


def test_registering_a_taken_name_is_an_error() -> None:
    """A second class cannot take an event_type another class already owns."""

    @dataclass(slots=True)
    class Impostor(tk.BaseEvent):
        event_type: ClassVar[str] = "environment"

    with pytest.raises(
        tk.InvalidArgumentError, match=r"already registered to tracekit\.model\.EnvironmentEvent"
    ):
        tk.register_event_type(Impostor)


def test_subclass_must_name_its_own_event_type() -> None:
    """A subclass inheriting its parent's event_type cannot be registered (it would be indistinguishable)."""

    @dataclass(slots=True)
    class NoName(tk.EnvironmentEvent):
        extra: int = 0

    with pytest.raises(tk.InvalidArgumentError, match="must define its own `event_type"):
        tk.register_event_type(NoName)


def test_registration_requires_a_dataclass() -> None:
    """A plain subclass without @dataclass is refused with a hint."""

    class Plain(tk.BaseEvent):
        __slots__ = ()
        event_type: ClassVar[str] = "plain_not_dataclass"

    with pytest.raises(tk.InvalidArgumentError, match="must be decorated with @dataclass"):
        tk.register_event_type(Plain)


def test_registration_is_idempotent_and_invalidates_cached_validators() -> None:
    """Registering a type later makes traces containing it readable, and re-registering is a no-op."""

    @dataclass(slots=True)
    class LateEvent(tk.BaseEvent):
        event_type: ClassVar[str] = "test_late"
        n: int = 0

    data = {"events": [{"event_type": "test_late", "system_instance_id": "x", "n": 5}]}
    with pytest.raises(tk.InvalidDataError, match="unknown event_type"):
        tk.SessionTimeStep.from_dict(data)
    try:
        assert tk.register_event_type(LateEvent) is LateEvent
        assert tk.register_event_type(LateEvent) is LateEvent
        step = tk.SessionTimeStep.from_dict(data)
        assert step.events == [LateEvent(system_instance_id="x", time_record=step.events[0].time_record, n=5)]
    finally:
        model._EVENT_TYPES.pop("test_late", None)
        model._notify()


def test_message_content_helpers() -> None:
    """SessionMessageContent prefers text, falls back to the JSON payload."""
    assert tk.SessionMessageContent(text="hi").as_text() == "hi"
    assert tk.SessionMessageContent(json_payload='{"a":1}').as_text() == '{"a":1}'
    assert tk.SessionMessageContent().as_text() == ""
    assert tk.SessionMessageContent(json_payload="{}").has_json()
    assert not tk.SessionMessageContent(text="x").has_json()

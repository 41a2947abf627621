"""Hooks fire at each stage with the live objects; failing ones are logged, async ones awaited."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

import tracekit as tk
from tracekit.store import TursoManager

MakeTracer = Callable[..., tk.SessionTracer]


def recorder(log: list[tuple[Any, ...]], name: str) -> Callable[..., None]:
    """A hook appending (name, *args) to `log`."""
    return lambda *args: log.append((name, *args))


def test_every_hook_fires_in_order_with_its_objects(
    make_tracer: MakeTracer, file_store: TursoManager
) -> None:
    """session/timestep/event/message/save hooks run in recording order and get the live objects."""
    calls: list[tuple[Any, ...]] = []
    hook_names = [
        "session_start",
        "session_end",
        "timestep_start",
        "timestep_end",
        "event_recorded",
        "message_recorded",
        "before_save",
        "after_save",
    ]
    tracer = make_tracer(file_store, hooks={name: recorder(calls, name) for name in hook_names})
    with tracer.session(session_id="h") as trace, tracer.timestep("t1") as step:
        event = tracer.record_event(tk.RuntimeEvent(system_instance_id="agent"))
        message = tracer.record_message("hi", "agent_to_user")
    assert tracer.flush(timeout=30).written == 1
    assert calls == [
        ("session_start", trace),
        ("timestep_start", step, trace),
        ("event_recorded", event, trace),
        ("message_recorded", message, trace),
        ("timestep_end", step, trace),
        ("session_end", trace),
        ("before_save", trace),
        ("after_save", trace, "saved"),
    ]


def test_event_hooks_filter_by_event_type(make_tracer: MakeTracer) -> None:
    """event_types keeps the hook to events of those types."""
    seen: list[str] = []
    tracer = make_tracer()
    tracer.add_hook(
        "event_recorded", lambda e, t: seen.append(e.system_instance_id), event_types={"environment"}
    )
    with tracer.session():
        tracer.record_event(tk.RuntimeEvent(system_instance_id="runtime"))
        tracer.record_event(tk.EnvironmentEvent(system_instance_id="env"))
        tracer.record_event(tk.LMCAISEvent(system_instance_id="llm"))
    assert seen == ["env"]


def test_failing_hook_is_logged_and_recording_goes_on(
    make_tracer: MakeTracer, file_store: TursoManager, caplog: pytest.LogCaptureFixture
) -> None:
    """A hook that raises is logged with its traceback; the event is recorded and the session saved."""
    after: list[str] = []

    def broken(event: tk.BaseEvent, trace: tk.SessionTrace) -> None:
        raise RuntimeError("hook bug")

    hooks = tk.Hooks()
    hooks.add("event_recorded", broken)
    hooks.add("event_recorded", lambda e, t: after.append(e.system_instance_id))
    hooks.add("before_save", lambda trace: 1 / 0)
    tracer = make_tracer(file_store, hooks=hooks)
    with caplog.at_level(logging.ERROR, logger="tracekit.tracing.hooks"), tracer.session() as trace:
        tracer.record_event(tk.RuntimeEvent(system_instance_id="a"))
    result = tracer.flush(timeout=30)
    assert result.written == 1
    assert [e.system_instance_id for e in trace.event_history] == ["a"]
    assert after == ["a"]  # the hook after the broken one still ran
    failures = [r for r in caplog.records if "failed; recording continues" in r.getMessage()]
    assert [r.getMessage().split(" (")[0] for r in failures] == [
        "tracekit hook event_recorded",
        "tracekit hook before_save",
    ]
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


async def test_async_hooks_run_on_the_callers_loop_and_aflush_awaits_them(make_tracer: MakeTracer) -> None:
    """An async hook fired inside `async with` runs as a task on the caller's loop; aflush waits for it."""
    seen: list[tuple[str, bool]] = []
    loop = asyncio.get_running_loop()

    async def on_end(trace: tk.SessionTrace) -> None:
        await asyncio.sleep(0.01)
        seen.append((trace.session_id, asyncio.get_running_loop() is loop))

    tracer = make_tracer(hooks={"session_end": on_end})
    async with tracer.session(session_id="a1"):
        pass
    assert seen == []  # scheduled, not run inline
    await tracer.aflush()
    assert seen == [("a1", True)]


def test_async_hooks_from_sync_code_run_in_the_background(make_tracer: MakeTracer) -> None:
    """With no running loop an async hook runs on the background loop thread; flush waits for it."""
    seen: list[str] = []

    async def on_event(event: tk.BaseEvent, trace: tk.SessionTrace) -> None:
        await asyncio.sleep(0.01)
        seen.append(threading.current_thread().name)

    async def broken(event: tk.BaseEvent, trace: tk.SessionTrace) -> None:
        raise ValueError("async hook bug")

    tracer = make_tracer(hooks={"event_recorded": [on_event, broken]})
    with tracer.session():
        tracer.record_event(tk.RuntimeEvent(system_instance_id="a"))
    tracer.flush(timeout=10)
    assert seen == ["tracekit-hooks"]


async def test_async_save_hooks_run_and_flush_waits_for_them(
    make_tracer: MakeTracer, file_store: TursoManager
) -> None:
    """An async after_save hook runs on the background loop (not the writer's); aflush waits for it."""
    outcomes: list[tuple[str, str, str]] = []

    async def after_save(trace: tk.SessionTrace, outcome: str) -> None:
        await asyncio.sleep(0.01)
        outcomes.append((trace.session_id, outcome, threading.current_thread().name))

    tracer = make_tracer(file_store, hooks={"after_save": after_save})
    async with tracer.session(session_id="saved"):
        pass
    assert (await tracer.aflush(timeout=30)).written == 1
    assert outcomes == [("saved", "saved", "tracekit-hooks")]


def test_hook_registration_is_checked() -> None:
    """Unknown hook names, non-callables and misplaced filters are refused with what to do."""
    hooks = tk.Hooks()
    with pytest.raises(tk.InvalidArgumentError, match="unknown hook 'on_event'; use one of session_start"):
        hooks.add("on_event", print)
    with pytest.raises(tk.InvalidArgumentError, match="hook 'session_end' got 3, which is not callable"):
        hooks.add("session_end", 3)  # type: ignore[arg-type]
    with pytest.raises(tk.InvalidArgumentError, match="event_types filters the event_recorded hook only"):
        hooks.add("session_end", print, event_types={"cais"})
    with pytest.raises(tk.InvalidArgumentError, match="is one string; pass a collection"):
        hooks.add("event_recorded", print, event_types="cais")
    hooks.add("session_end", print)
    hooks.remove("session_end", print)
    assert not hooks.has("session_end")

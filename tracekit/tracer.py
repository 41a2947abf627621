"""SessionTracer: record sessions, timesteps, events, messages and rewards from live agent code.

    tracer = tk.SessionTracer(store="file:traces.db")      # or a TursoManager, or None = in memory
    with tracer.session(metadata={"task": "t1"}) as trace:   # also `async with`
        with tracer.timestep("turn-1", turn_number=1):
            tracer.record_event(tk.RuntimeEvent(system_instance_id="agent"))
        tracer.record_reward(1.0)
    tracer.flush()                                           # FlushResult(written=1, ...)

The active session and timestep live in one ContextVar, set and reset with tokens, so one
tracer runs many sessions at once across asyncio tasks and threads without mixing them, and a
nested context restores the outer one on exit. Calls outside a timestep go to an implicit step.
The parts live in tracekit/tracing/: context.py (the ContextVar and the with-scopes), writer.py
(the background writer), hooks.py, values.py (argument checks). A trace handed to the writer at
session end must not be changed afterwards.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any

from tracekit import codec, wire
from tracekit import live as live_events
from tracekit.errors import InvalidArgumentError, NoActiveSessionError
from tracekit.live import EventBus, LiveEvents, Subscription
from tracekit.live.metrics import LiveMetrics
from tracekit.model import (
    BaseEvent,
    LLMCallRecord,
    SessionEventMarkovBlanketMessage,
    SessionTimeStep,
    SessionTrace,
    is_valid_unicode,
    new_id,
)
from tracekit.store.carried import REWARD_KEY, is_finite_number, reward_problems
from tracekit.store.manager import TursoManager
from tracekit.tracing.context import ACTIVE, Active, SessionScope, StepScope, live
from tracekit.tracing.hooks import Hook, Hooks, HookSpec
from tracekit.tracing.values import check_mapping, check_optional_str, event_index, message_content
from tracekit.tracing.writer import FlushResult, TraceWriter

__all__ = ["FlushResult", "SessionTracer", "current_session", "current_timestep", "current_tracer"]


def current_tracer() -> SessionTracer | None:
    """The tracer whose session is active in this context, or None."""
    active = live()
    return None if active is None else active.tracer


def current_session() -> SessionTrace | None:
    """The trace of the session active in this context, or None."""
    active = live()
    return None if active is None else active.session.trace


def current_timestep() -> SessionTimeStep | None:
    """The step a call recorded now would go to (the implicit step is opened if needed), or None."""
    active = live()
    if active is None:
        return None
    return active.step if active.step is not None else active.session.implicit_step()


class SessionTracer:
    """Records live sessions and hands each finished one to its store (or keeps it in memory).

    `store`: None (traces kept in `sessions`), a database URL (a TursoManager is opened for it)
    or an unopened TursoManager (the writer thread uses and closes it). `hooks`: a Hooks or a
    mapping of hook name -> callable(s). `strict`: recording problems raise instead of being
    logged (read by the decorators). `queue_size`, `block_s`, `exit_timeout_s`: the writer's
    bounded queue, how long a producer blocks when it is full before spooling, and how long
    pending saves may take at interpreter exit before they are spooled.
    """

    def __init__(
        self,
        store: TursoManager | str | None = None,
        *,
        hooks: Hooks | Mapping[str, HookSpec] | None = None,
        strict: bool = False,
        queue_size: int = 10_000,
        block_s: float = 0.25,
        exit_timeout_s: float = 10.0,
    ) -> None:
        self.strict = strict
        if hooks is not None and not isinstance(hooks, Hooks | Mapping):
            raise InvalidArgumentError(
                f"hooks must be a tk.Hooks or a mapping of hook name -> callable(s), got {hooks!r:.80}"
            )
        self.hooks = hooks if isinstance(hooks, Hooks) else Hooks(hooks)
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise InvalidArgumentError(f"queue_size must be an int of at least 1, got {queue_size!r}")
        for name, seconds in (("block_s", block_s), ("exit_timeout_s", exit_timeout_s)):
            if (
                isinstance(seconds, bool)
                or not isinstance(seconds, int | float)
                or not 0 <= seconds < math.inf
            ):
                raise InvalidArgumentError(f"{name} must be a finite number of seconds >= 0, got {seconds!r}")
        if isinstance(store, str):
            store = TursoManager(store)
        elif store is not None and not isinstance(store, TursoManager):
            raise InvalidArgumentError(
                f"store must be None, a database URL or a TursoManager, got {type(store).__name__}; "
                "for a SyncTursoManager pass its URL instead"
            )
        self.store = store
        self._writer = (
            None
            if store is None
            else TraceWriter(
                store, self.hooks, queue_size=queue_size, block_s=block_s, exit_timeout_s=exit_timeout_s
            )
        )
        self._lock = threading.Lock()
        self._open: dict[str, SessionTrace] = {}
        self._finished: dict[str, SessionTrace] = {}
        self.bus = EventBus()
        """The live event bus (tracekit/live/bus.py); see subscribe() and events()."""
        self._live = LiveMetrics()

    def __repr__(self) -> str:
        where = "memory" if self.store is None else self.store.url
        return f"SessionTracer(store={where!r}, open_sessions={len(self._open)})"

    def __enter__(self) -> SessionTracer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- contexts -------------------------------------------------------------------------------

    def session(
        self,
        session_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        experiment_id: str | None = None,
    ) -> SessionScope:
        """A session for `with` / `async with`, yielding its live SessionTrace.

        `session_id` defaults to a new random id; `experiment_id` is kept in metadata and the
        save links the session to that experiment (created under that name if missing).
        """
        check_optional_str("session_id", session_id)
        check_optional_str("experiment_id", experiment_id)
        if experiment_id is not None and not is_valid_unicode(experiment_id):
            raise InvalidArgumentError(
                f"experiment_id {experiment_id!r:.60} holds a lone UTF-16 surrogate; the store keeps it in a "
                "text column: join the surrogate pair or drop it"
            )
        check_mapping("metadata", metadata)
        return SessionScope(self, session_id, metadata or {}, experiment_id)

    def timestep(
        self,
        step_id: str | None = None,
        turn_number: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StepScope:
        """A timestep of the active session for `with` / `async with`, yielding its SessionTimeStep."""
        check_optional_str("step_id", step_id)
        if turn_number is not None and (isinstance(turn_number, bool) or not isinstance(turn_number, int)):
            raise InvalidArgumentError(f"turn_number must be an int or None, got {turn_number!r}")
        check_mapping("metadata", metadata)
        return StepScope(self, step_id, turn_number, metadata or {})

    # -- recording ------------------------------------------------------------------------------

    def _active(self, what: str) -> Active:
        active = ACTIVE.get()
        if active is not None and active.tracer is self and active.session.ended:
            raise NoActiveSessionError(
                f"{what}: session {active.session.trace.session_id!r} has already ended (this context "
                "was copied into a task or thread that outlived it); record inside the session's block"
            )
        if active is None or active.tracer is not self:
            other = "" if active is None else " (another tracer's session is active here)"
            raise NoActiveSessionError(
                f"{what} needs an active session of this tracer{other}; call it inside "
                "`with tracer.session():` or `async with tracer.session():`"
            )
        return active

    def record_event(self, event: BaseEvent) -> BaseEvent:
        """Add `event` to the current step (the implicit one outside a timestep) and to the
        session's event_history, once each; returns it."""
        active = ACTIVE.get()
        if active is None or active.tracer is not self or active.session.ended:
            active = self._active("record_event()")
        if not isinstance(event, BaseEvent):
            raise InvalidArgumentError(
                f"record_event() takes a tracekit event (BaseEvent subclass), got {type(event).__name__}"
            )
        session = active.session
        step = active.step if active.step is not None else session.implicit_step()
        step.events.append(event)
        session.trace.event_history.append(event)
        if self.hooks.has("event_recorded"):
            self.hooks.emit("event_recorded", event, session.trace, event_type=event.event_type)
        if self.bus.active:
            live_events.event_recorded(self.bus, event, session.trace, step)
        return event

    def record_message(
        self,
        content: Any,
        message_type: str,
        *,
        from_role: str | None = None,
        to_role: str | None = None,
        call_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionEventMarkovBlanketMessage:
        """Record a message between systems in the current step and the session's history.

        A str is stored as text, a SessionMessageContent as given, anything else as JSON text;
        roles and call_id go into the message metadata (from_system_role, to_system_role, call_id).
        """
        active = self._active("record_message()")
        if not isinstance(message_type, str) or not message_type:
            raise InvalidArgumentError(f"message_type must be a non-empty str, got {message_type!r}")
        for name, value in (("from_role", from_role), ("to_role", to_role), ("call_id", call_id)):
            check_optional_str(name, value)
        check_mapping("metadata", metadata)
        session = active.session
        step = active.step if active.step is not None else session.implicit_step()
        meta = dict(metadata or {})
        meta["step_id"] = step.step_id
        for key, value in (
            ("from_system_role", from_role),
            ("to_system_role", to_role),
            ("call_id", call_id),
        ):
            if value is not None:
                meta[key] = value
        message = SessionEventMarkovBlanketMessage(
            content=message_content(content), message_type=message_type, metadata=meta
        )
        codec.to_dict(message)  # refuse what could not be stored, now rather than at save time
        step.markov_blanket_messages.append(message)
        session.trace.markov_blanket_message_history.append(message)
        if self.hooks.has("message_recorded"):
            self.hooks.emit("message_recorded", message, session.trace)
        if self.bus.active:
            live_events.message_recorded(self.bus, message, session.trace)
        return message

    def record_reward(
        self,
        value: float,
        *,
        event: BaseEvent | int | None = None,
        reward_type: str | None = None,
        key: str | None = None,
        achievements_count: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the session's outcome reward (`event=None`) or a reward for one of its events
        (the event object or its index in event_history). Kept in `trace.session_metadata` as
        {"tracekit_reward": {...}} and stored in the store's reward tables in the trace's own
        atomic save, so `list_sessions(min_reward=...)` sees outcome rewards."""
        active = self._active("record_reward()")
        if not is_finite_number(value):
            raise InvalidArgumentError(f"reward value must be a finite number, got {value!r:.60}")
        for name, text in (("reward_type", reward_type), ("key", key)):
            check_optional_str(name, text)
        codec.to_dict(SessionTrace(session_metadata=[dict(metadata or {})]))  # storable, or refused now
        trace = active.session.trace
        reward: dict[str, Any] = {
            "reward_key": new_id(),
            "value": float(value),
            "metadata": dict(metadata or {}),
        }
        if event is None:
            if reward_type is not None or key is not None:
                raise InvalidArgumentError("reward_type and key describe event rewards; pass event= as well")
            reward.update(kind="outcome", achievements_count=achievements_count)
        else:
            if achievements_count is not None:
                raise InvalidArgumentError("achievements_count belongs to outcome rewards; drop event=")
            reward.update(
                kind="event", event_index=event_index(trace, event), reward_type=reward_type, key=key
            )
        problems = reward_problems(reward, "record_reward")  # what the save would refuse, refused now
        if problems:
            first = problems[0]
            raise InvalidArgumentError(f"{first.path}: {first.message}, got {first.value!r:.60}")
        if trace.session_metadata is None:
            trace.session_metadata = []
        trace.session_metadata.append({REWARD_KEY: reward})

    # -- reading and saving ---------------------------------------------------------------------

    @property
    def sessions(self) -> dict[str, SessionTrace]:
        """Open sessions, and finished ones when traces are kept in memory (store=None)."""
        with self._lock:
            return {**self._finished, **self._open}

    def get(self, session_id: str) -> SessionTrace | None:
        """An open session's trace, or a finished one kept in memory; None when there is none."""
        with self._lock:
            return self._open.get(session_id) or self._finished.get(session_id)

    def add_hook(self, name: str, callback: Hook, *, event_types: set[str] | None = None) -> Hook:
        """Register a hook (see tracekit/tracing/hooks.py); returns the callback."""
        return self.hooks.add(name, callback, event_types=event_types)

    def flush(self, timeout: float | None = None) -> FlushResult:
        """Wait (at most `timeout` s) until finished sessions are saved or spooled; report the counts."""
        if self._writer is None:
            self.hooks.wait(timeout)
            return FlushResult()
        return self._writer.flush(timeout)

    async def aflush(self, timeout: float | None = None) -> FlushResult:
        """flush() for async code: waits without blocking the event loop."""
        await self.hooks.await_tasks()
        return await asyncio.to_thread(self.flush, timeout)

    def close(self, timeout: float | None = None) -> FlushResult:
        """Flush, then stop the writer and close the store; later sessions are spooled. Live event
        subscriptions get what they have buffered (a stuck one is left after 10 s), then end."""
        self.bus.close(10.0 if timeout is None else timeout)
        if self._writer is None:
            return self.flush(timeout)
        return self._writer.close(timeout)

    # -- live events, live metrics, metric packets (tracekit/live/, wire.py) --

    def subscribe(
        self,
        callback: Callable[[dict[str, Any]], Any],
        kinds: Iterable[str] | None = None,
        *,
        buffer: int = 10_000,
    ) -> Subscription:
        """Call `callback(event)` for each live event (of `kinds`, default all; see
        tracekit.live.EVENT_KINDS), in order, on a delivery thread with a bounded buffer of
        `buffer` events: a slow callback never blocks the agent, its drops are counted and reported
        to it as an `events_dropped` event. Returns the Subscription (close() or `with` to end)."""
        return self.bus.subscribe(callback, kinds, buffer=buffer)

    def events(self, kinds: Iterable[str] | None = None, *, buffer: int = 10_000) -> LiveEvents:
        """`async for ev in tracer.events():` live events from now on (bounded like subscribe);
        the loop ends when the tracer closes."""
        return self.bus.events(kinds, buffer=buffer)

    def live_metrics(self, session_id: str | None = None) -> dict[str, Any]:
        """Running totals so far, of one session or of every session this tracer has seen: LLM
        calls, tokens, cost, per agent; tool runs by name with success rate and p50 duration;
        warnings (a session with tool/runtime activity but no LLM call, unpriced calls, dropped
        events). Cheap to poll: each call folds only what was recorded since the previous one."""
        return self._live.snapshot(session_id, self.bus.dropped)

    def record_llm_metrics(self, packet: Mapping[str, Any]) -> LLMCallRecord:
        """Record an LLM call made elsewhere from its `tk.llm_metrics` packet, in the current
        session/timestep, as an LMCAISEvent of its agent_type; it counts in every aggregate, its
        tool calls link to @trace_tool runs by call_id, and `metadata["tracekit_received"]` says
        it was received, not observed. A malformed packet raises InvalidDataError naming each field.
        Idempotent per call_id in a session: a packet delivered twice is recorded once, and the
        repeat returns the record already added (at-least-once transports need no dedup of their own)."""
        active = self._active("record_llm_metrics()")
        return wire.record_llm_metrics(self, packet, active.session)

    def turn_metrics(self) -> dict[str, Any]:
        """tk.turn_metrics() of the turn in flight (the current timestep in this context)."""
        active = self._active("turn_metrics()")
        step = active.step if active.step is not None else active.session.implicit_step()
        return wire.turn_metrics(step)

    def _begin(self, trace: SessionTrace) -> None:
        with self._lock:
            if trace.session_id in self._open:
                raise InvalidArgumentError(
                    f"session {trace.session_id!r} is already open on this tracer; use another session_id"
                )
            self._open[trace.session_id] = trace
            self._finished.pop(trace.session_id, None)
        self._live.started(trace)
        if self.bus.active:
            live_events.session_started(self.bus, trace)

    def _end(self, trace: SessionTrace) -> None:
        with self._lock:
            self._open.pop(trace.session_id, None)
            if self._writer is None:
                self._finished[trace.session_id] = trace
        self._live.ended(trace)
        if self.bus.active:
            live_events.session_ended(self.bus, trace)
        if self._writer is not None:
            self._writer.submit(trace)

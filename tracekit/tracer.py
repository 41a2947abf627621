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
At session end the trace goes to the background writer (tracer_writer.py); hooks are in
tracer_hooks.py. A trace handed to the writer must not be changed afterwards.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from tracekit import codec
from tracekit.errors import InvalidArgumentError, NoActiveSessionError, SerializationError
from tracekit.model import (
    BaseEvent,
    SessionEventMarkovBlanketMessage,
    SessionMessageContent,
    SessionTimeStep,
    SessionTrace,
    new_id,
    utc_now,
)
from tracekit.store.manager import TursoManager
from tracekit.tracer_hooks import Hook, Hooks, HookSpec
from tracekit.tracer_writer import EXPERIMENT_KEY, REWARD_KEY, FlushResult, TraceWriter

__all__ = ["FlushResult", "SessionTracer", "current_session", "current_timestep", "current_tracer"]


class _Session:
    """A live session: its trace, the implicit step (if one is open), and a lock for new steps."""

    __slots__ = ("ended", "implicit", "lock", "trace")

    def __init__(self, trace: SessionTrace) -> None:
        self.trace = trace
        self.implicit: SessionTimeStep | None = None
        self.lock = threading.Lock()
        self.ended = False  # set at exit: a context copied into a task that outlived it records nothing

    def add_step(
        self, step_id: str | None, turn_number: int | None, metadata: Mapping[str, Any]
    ) -> SessionTimeStep:
        with self.lock:
            steps = self.trace.session_time_steps
            index = len(steps)
            step = SessionTimeStep(
                step_id=f"step-{index}" if step_id is None else step_id,
                step_index=index,
                turn_number=turn_number,
                step_metadata=dict(metadata),
            )
            steps.append(step)
            self.implicit = None  # a call after this step starts a new implicit step, keeping order
            return step

    def implicit_step(self) -> SessionTimeStep:
        step = self.implicit
        if step is None:
            with self.lock:
                if self.implicit is None:
                    steps = self.trace.session_time_steps
                    index = len(steps)
                    self.implicit = SessionTimeStep(
                        step_id=f"implicit-{index}", step_index=index, step_metadata={"implicit": True}
                    )
                    steps.append(self.implicit)
                step = self.implicit
        return step


class _Active:
    """What the current context records into (immutable; a new one is set per nested context)."""

    __slots__ = ("session", "step", "tracer")

    def __init__(self, tracer: SessionTracer, session: _Session, step: SessionTimeStep | None) -> None:
        self.tracer = tracer
        self.session = session
        self.step = step


_ACTIVE: contextvars.ContextVar[_Active | None] = contextvars.ContextVar("tracekit_active", default=None)


def _live() -> _Active | None:
    active = _ACTIVE.get()
    return None if active is None or active.session.ended else active


def current_tracer() -> SessionTracer | None:
    """The tracer whose session is active in this context, or None."""
    active = _live()
    return None if active is None else active.tracer


def current_session() -> SessionTrace | None:
    """The trace of the session active in this context, or None."""
    active = _live()
    return None if active is None else active.session.trace


def current_timestep() -> SessionTimeStep | None:
    """The step a call recorded now would go to (the implicit step is opened if needed), or None."""
    active = _live()
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
        self.hooks = hooks if isinstance(hooks, Hooks) else Hooks(hooks)
        if queue_size < 1:
            raise InvalidArgumentError(f"queue_size must be at least 1, got {queue_size!r}")
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
    ) -> _SessionScope:
        """A session for `with` / `async with`, yielding its live SessionTrace."""
        _check_optional_str("session_id", session_id)
        _check_optional_str("experiment_id", experiment_id)
        _check_mapping("metadata", metadata)
        return _SessionScope(self, session_id, metadata or {}, experiment_id)

    def timestep(
        self,
        step_id: str | None = None,
        turn_number: int | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> _StepScope:
        """A timestep of the active session for `with` / `async with`, yielding its SessionTimeStep."""
        _check_optional_str("step_id", step_id)
        if turn_number is not None and (isinstance(turn_number, bool) or not isinstance(turn_number, int)):
            raise InvalidArgumentError(f"turn_number must be an int or None, got {turn_number!r}")
        _check_mapping("metadata", metadata)
        return _StepScope(self, step_id, turn_number, metadata or {})

    # -- recording ------------------------------------------------------------------------------

    def _active(self, what: str) -> _Active:
        active = _ACTIVE.get()
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
        active = _ACTIVE.get()
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
            _check_optional_str(name, value)
        _check_mapping("metadata", metadata)
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
            content=_message_content(content), message_type=message_type, metadata=meta
        )
        codec.to_dict(message)  # refuse what could not be stored, now rather than at save time
        step.markov_blanket_messages.append(message)
        session.trace.markov_blanket_message_history.append(message)
        if self.hooks.has("message_recorded"):
            self.hooks.emit("message_recorded", message, session.trace)
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
        (the event object or its index in event_history). Stored in the store's reward tables
        after the trace is saved, so `list_sessions(min_reward=...)` sees outcome rewards; kept
        meanwhile in `trace.session_metadata` as {"tracekit_reward": {...}}."""
        active = self._active("record_reward()")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidArgumentError(f"reward value must be a finite number, got {value!r}")
        for name, text in (("reward_type", reward_type), ("key", key)):
            _check_optional_str(name, text)
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
            if achievements_count is not None and (
                isinstance(achievements_count, bool) or not isinstance(achievements_count, int)
            ):
                raise InvalidArgumentError(f"achievements_count must be an int, got {achievements_count!r}")
            reward.update(kind="outcome", achievements_count=achievements_count)
        else:
            if achievements_count is not None:
                raise InvalidArgumentError("achievements_count belongs to outcome rewards; drop event=")
            reward.update(
                kind="event", event_index=_event_index(trace, event), reward_type=reward_type, key=key
            )
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
        """Register a hook (see tracer_hooks.py); returns the callback."""
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
        """Flush, then stop the writer and close the store; later sessions are spooled."""
        if self._writer is None:
            return self.flush(timeout)
        return self._writer.close(timeout)

    def _begin(self, trace: SessionTrace) -> None:
        with self._lock:
            if trace.session_id in self._open:
                raise InvalidArgumentError(
                    f"session {trace.session_id!r} is already open on this tracer; use another session_id"
                )
            self._open[trace.session_id] = trace
            self._finished.pop(trace.session_id, None)

    def _end(self, trace: SessionTrace) -> None:
        with self._lock:
            self._open.pop(trace.session_id, None)
            if self._writer is None:
                self._finished[trace.session_id] = trace
        if self._writer is not None:
            self._writer.submit(trace)


class _SessionScope:
    """`with tracer.session(...)` / `async with`: opens the session, and on exit hands it over."""

    __slots__ = ("_experiment_id", "_metadata", "_session", "_session_id", "_token", "_tracer", "trace")

    def __init__(
        self,
        tracer: SessionTracer,
        session_id: str | None,
        metadata: Mapping[str, Any],
        experiment_id: str | None,
    ) -> None:
        self._tracer = tracer
        self._session_id = session_id
        self._metadata = metadata
        self._experiment_id = experiment_id
        self._token: contextvars.Token[_Active | None] | None = None
        self._session: _Session | None = None
        self.trace: SessionTrace | None = None

    def __enter__(self) -> SessionTrace:
        if self._token is not None:
            raise InvalidArgumentError(
                "this session() context is already entered; call tracer.session() again"
            )
        trace = SessionTrace(session_id=self._session_id or new_id(), metadata=dict(self._metadata))
        codec.to_dict(trace)  # metadata JSON cannot hold exactly is refused here, not at save time
        if self._experiment_id is not None:
            if trace.metadata.setdefault("experiment_id", self._experiment_id) != self._experiment_id:
                raise InvalidArgumentError(
                    f"experiment_id={self._experiment_id!r} differs from metadata['experiment_id']="
                    f"{trace.metadata['experiment_id']!r}; pass one of them"
                )
            trace.session_metadata = [{EXPERIMENT_KEY: self._experiment_id}]
        self._tracer._begin(trace)
        self.trace = trace
        self._session = _Session(trace)
        self._token = _ACTIVE.set(_Active(self._tracer, self._session, None))
        self._tracer.hooks.emit("session_start", trace)
        return trace

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        trace, token, session = self.trace, self._token, self._session
        if trace is None or token is None or session is None:
            raise InvalidArgumentError("session() context exited without being entered")
        session.ended = True
        if exc is not None:
            trace.metadata["error"] = _error_info(exc)
        now = utc_now()
        for step in trace.session_time_steps:
            if step.completed_at is None:
                step.completed_at = now
        _reset(token)
        self._token = None
        self._tracer.hooks.emit("session_end", trace)
        self._tracer._end(trace)

    async def __aenter__(self) -> SessionTrace:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class _StepScope:
    """`with tracer.timestep(...)` / `async with`: a step of the active session."""

    __slots__ = ("_metadata", "_step_id", "_token", "_tracer", "_turn_number", "step")

    def __init__(
        self, tracer: SessionTracer, step_id: str | None, turn_number: int | None, metadata: Mapping[str, Any]
    ) -> None:
        self._tracer = tracer
        self._step_id = step_id
        self._turn_number = turn_number
        self._metadata = metadata
        self._token: contextvars.Token[_Active | None] | None = None
        self.step: SessionTimeStep | None = None

    def __enter__(self) -> SessionTimeStep:
        if self._token is not None:
            raise InvalidArgumentError(
                "this timestep() context is already entered; call tracer.timestep() again"
            )
        active = self._tracer._active("timestep()")
        codec.to_dict(SessionTimeStep(step_metadata=dict(self._metadata)))  # storable, or refused now
        step = active.session.add_step(self._step_id, self._turn_number, self._metadata)
        self.step = step
        self._token = _ACTIVE.set(_Active(self._tracer, active.session, step))
        self._tracer.hooks.emit("timestep_start", step, active.session.trace)
        return step

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        step, token = self.step, self._token
        if step is None or token is None:
            raise InvalidArgumentError("timestep() context exited without being entered")
        active = _ACTIVE.get()
        step.completed_at = utc_now()
        if exc is not None:
            step.step_metadata["error"] = _error_info(exc)
        _reset(token)
        self._token = None
        if active is not None:
            self._tracer.hooks.emit("timestep_end", step, active.session.trace)

    async def __aenter__(self) -> SessionTimeStep:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _reset(token: contextvars.Token[_Active | None]) -> None:
    """Restore the outer context; a context left in another task/thread restores the old value."""
    try:
        _ACTIVE.reset(token)
    except ValueError:
        _ACTIVE.set(token.old_value if token.old_value is not contextvars.Token.MISSING else None)


def _error_info(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}


def _message_content(content: Any) -> SessionMessageContent:
    if isinstance(content, SessionMessageContent):
        return content
    if isinstance(content, str):
        return SessionMessageContent(text=content)
    return SessionMessageContent(json_payload=_check_json("content", content))


def _check_json(name: str, value: Any) -> str:
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


def _check_optional_str(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a str or None, got {value!r}")


def _check_mapping(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{name} must be a mapping (dict) or None, got {value!r:.80}")


def _event_index(trace: SessionTrace, event: BaseEvent | int) -> int:
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

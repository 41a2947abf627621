"""Where recording goes: the ContextVar holding the active session and step, and the
`with` / `async with` scopes of SessionTracer.session() and .timestep().

One ContextVar holds an immutable Active(tracer, session, step); each scope sets a new one and
resets it by token on exit (OpenTelemetry's attach/detach), so asyncio tasks and threads each
see their own, and a nested scope restores the outer one.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracekit import codec
from tracekit import live as live_events
from tracekit.errors import InvalidArgumentError
from tracekit.model import LLMCallRecord, SessionTimeStep, SessionTrace, new_id, utc_now
from tracekit.store.carried import EXPERIMENT_KEY

if TYPE_CHECKING:
    from tracekit.tracer import SessionTracer

__all__ = ["ACTIVE", "Active", "LiveSession", "SessionScope", "StepScope", "live"]


class LiveSession:
    """A live session: its trace, the implicit step (if one is open), a lock for new steps, and the
    calls received in llm_metrics packets by call_id (so a packet delivered twice counts once)."""

    __slots__ = ("ended", "implicit", "lock", "received", "trace")

    def __init__(self, trace: SessionTrace) -> None:
        self.trace = trace
        self.implicit: SessionTimeStep | None = None
        self.lock = threading.Lock()
        self.received: dict[str, LLMCallRecord] = {}
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


class Active:
    """What the current context records into (immutable; a new one is set per nested context)."""

    __slots__ = ("session", "step", "tracer")

    def __init__(self, tracer: SessionTracer, session: LiveSession, step: SessionTimeStep | None) -> None:
        self.tracer = tracer
        self.session = session
        self.step = step


ACTIVE: contextvars.ContextVar[Active | None] = contextvars.ContextVar("tracekit_active", default=None)


def live() -> Active | None:
    active = ACTIVE.get()
    return None if active is None or active.session.ended else active


class SessionScope:
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
        self._token: contextvars.Token[Active | None] | None = None
        self._session: LiveSession | None = None
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
        self._session = LiveSession(trace)
        self._token = ACTIVE.set(Active(self._tracer, self._session, None))
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


class StepScope:
    """`with tracer.timestep(...)` / `async with`: a step of the active session."""

    __slots__ = ("_metadata", "_step_id", "_token", "_tracer", "_turn_number", "step")

    def __init__(
        self, tracer: SessionTracer, step_id: str | None, turn_number: int | None, metadata: Mapping[str, Any]
    ) -> None:
        self._tracer = tracer
        self._step_id = step_id
        self._turn_number = turn_number
        self._metadata = metadata
        self._token: contextvars.Token[Active | None] | None = None
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
        self._token = ACTIVE.set(Active(self._tracer, active.session, step))
        self._tracer.hooks.emit("timestep_start", step, active.session.trace)
        if self._tracer.bus.active:
            live_events.timestep_started(self._tracer.bus, step, active.session.trace)
        return step

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        step, token = self.step, self._token
        if step is None or token is None:
            raise InvalidArgumentError("timestep() context exited without being entered")
        active = ACTIVE.get()
        step.completed_at = utc_now()
        if exc is not None:
            step.step_metadata["error"] = _error_info(exc)
        _reset(token)
        self._token = None
        if active is not None:
            self._tracer.hooks.emit("timestep_end", step, active.session.trace)
            if self._tracer.bus.active:
                live_events.timestep_ended(self._tracer.bus, step, active.session.trace)

    async def __aenter__(self) -> SessionTimeStep:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _reset(token: contextvars.Token[Active | None]) -> None:
    """Restore the outer context; a context left in another task/thread restores the old value."""
    try:
        ACTIVE.reset(token)
    except ValueError:
        ACTIVE.set(token.old_value if token.old_value is not contextvars.Token.MISSING else None)


def _error_info(exc: BaseException) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": str(exc)}

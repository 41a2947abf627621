"""`@trace_llm_call` and `@trace_tool`: trace the LLM calls and tool executions in agent code.

Each decorator decides its wrapper once, at decoration time (async or sync), keeps the function's
name, docstring and signature (`functools.wraps`), and does nothing but call through when no
tracer session is active in the calling context. Recording never raises into the caller's code
(problems are logged) unless the tracer is strict.
"""

from __future__ import annotations

import functools
import inspect
import json
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Literal, TypeVar, overload

from tracekit.errors import InvalidArgumentError
from tracekit.helpers.registry import adapters_for
from tracekit.helpers.sdk import JsonRequest
from tracekit.model import EnvironmentEvent, LMCAISEvent, SessionTrace, TimeRecord, ToolCallResult, utc_now
from tracekit.tracer import SessionTracer, current_session, current_tracer
from tracekit.tracing.capture import REQUEST_KEYS, SKIP, plain, snapshot
from tracekit.tracing.context import ACTIVE
from tracekit.tracing.enclosed import enclosed_agen, enclosed_gen
from tracekit.tracing.llm_call import (
    ENCLOSING,
    IN_SDK_CALL,
    CallSpec,
    Enclosing,
    LLMCall,
    outcome_of,
    report_problem,
)
from tracekit.tracing.stream_proxy import AsyncStreamProxy, StreamProxy, wrap_result
from tracekit.tracing.values import check_optional_str

__all__ = ["trace_llm_call", "trace_tool"]

F = TypeVar("F", bound=Callable[..., Any])

_SKIP_PARAMS = frozenset({"self", "cls"})


def _argument_reader(
    func: Callable[..., Any], keep: frozenset[str] | None, *, request: bool = False
) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """A function (args, kwargs) -> {name: JSON-ready copy} over `func`'s parameters (only the
    names in `keep` when given; `**kwargs` are flattened). The signature is read once, here.
    `request`: the copy is an LLM request, handed over as a JsonRequest when it is pure JSON."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [
        p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]  # fmt: skip

    def wanted(name: str) -> bool:
        return name not in _SKIP_PARAMS and (keep is None or name in keep)

    defaults = [(p.name, p.default) for p in params if p.default is not p.empty and wanted(p.name)]
    if keep is not None:
        # a default the copy leaves out (the SDKs' NOT_GIVEN / omit markers, classes) is left out
        # of every call's request: dropped once here rather than looked at on every call
        defaults = [(n, v) for n, v in defaults if plain(v) is not SKIP]

    if request and keep is not None:
        return _request_reader(positional, frozenset(n for n in keep if n not in _SKIP_PARAMS), defaults)

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        pairs: Iterable[tuple[str, Any]] = zip(positional, args, strict=False)
        given = (*pairs, *kwargs.items())
        if defaults:  # a default the call left alone was sent all the same
            passed = {name for name, _ in given}
            given = (*given, *((n, v) for n, v in defaults if n not in passed))
        out: dict[str, Any] = {}
        pure = True
        for name, value in given:
            if wanted(name):
                if request:
                    copied, exact = snapshot(value)
                    pure = pure and exact
                else:
                    copied = plain(value)
                if copied is not SKIP:
                    out[name] = copied
                elif keep is None:
                    out[name] = repr(value)
        return JsonRequest(out) if pure and request else out

    return read


def _request_reader(
    positional: list[str], names: frozenset[str], defaults: list[tuple[str, Any]]
) -> Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]]:
    """`_argument_reader`'s reader for an LLM request (the hot path of every decorated call): the
    arguments named in `names`, positional ones first, then keywords, then the `defaults` the call
    left alone, each a `snapshot` copy; a JsonRequest when every copy is pure JSON."""
    slots = tuple(n if n in names else None for n in positional)
    position = {n: i for i, n in enumerate(positional)}
    unpassed = 1 << 62  # a keyword-only parameter is never passed by position

    def read(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = JsonRequest()  # made a plain dict at the end if a copy is not pure
        pure = True
        if args:
            for name, value in zip(slots, args, strict=False):
                if name is not None:
                    copied, exact = snapshot(value)
                    if not exact:
                        pure = False
                    if copied is not SKIP:
                        out[name] = copied
        for name, value in kwargs.items():
            if name in names:
                copied, exact = snapshot(value)
                if not exact:
                    pure = False
                if copied is not SKIP:
                    out[name] = copied
        if defaults:  # a default the call left alone was sent all the same
            count = len(args)
            for name, value in defaults:
                if name not in kwargs and position.get(name, unpassed) >= count:
                    copied, exact = snapshot(value)
                    if not exact:
                        pure = False
                    if copied is not SKIP:
                        out[name] = copied
        return out if pure else dict(out)

    return read


def _call_kind(func: Callable[..., Any]) -> str:
    if inspect.iscoroutinefunction(func):
        return "async"
    if inspect.isasyncgenfunction(func):
        return "asyncgen"
    if inspect.isgeneratorfunction(func):
        return "gen"
    return "sync"


def traced_llm(func: F, spec: CallSpec) -> F:
    """`func` wrapped so each call in an active session is recorded by `spec` (the shared core of
    `@trace_llm_call` and `instrument`). The wrapper's path is kept short: the active session is
    read straight from its ContextVar (as `current_tracer()` reads it) and what it needs is bound
    here, once."""
    kind = _call_kind(func)
    sdk_method = spec.sdk_method
    nests = spec.nests
    active_now = ACTIVE.get
    in_sdk_call = IN_SDK_CALL.get
    begin = LLMCall.begin
    if kind == "async":

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            active = active_now()
            if active is None or active.session.ended or (sdk_method and in_sdk_call()):
                return await func(*args, **kwargs)
            call = begin(active.tracer, spec, args, kwargs)
            if call is None:
                return await func(*args, **kwargs)
            token = IN_SDK_CALL.set(True) if nests else None
            enclosing = None if sdk_method else Enclosing(spec.agent, call.announced)
            outer = None if enclosing is None else ENCLOSING.set(enclosing)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                if enclosing is None or not enclosing.calls:
                    call.failed(exc)
                raise
            finally:
                if token is not None:
                    IN_SDK_CALL.reset(token)
                if outer is not None:
                    ENCLOSING.reset(outer)
            if enclosing is not None and enclosing.calls:
                return result  # the calls made inside were recorded by their own tracers
            return wrap_result(call, result)

        return async_wrapper  # type: ignore[return-value]

    generator = kind == "gen"
    async_generator = kind == "asyncgen"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        active = active_now()
        if active is None or active.session.ended or (sdk_method and in_sdk_call()):
            return func(*args, **kwargs)
        call = begin(active.tracer, spec, args, kwargs)
        if call is None:
            return func(*args, **kwargs)
        token = IN_SDK_CALL.set(True) if nests else None
        enclosing = (
            None if sdk_method or generator or async_generator else Enclosing(spec.agent, call.announced)
        )
        outer = None if enclosing is None else ENCLOSING.set(enclosing)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            if enclosing is None or not enclosing.calls:
                call.failed(exc)
            raise
        finally:
            if token is not None:
                IN_SDK_CALL.reset(token)
            if outer is not None:
                ENCLOSING.reset(outer)
        if enclosing is not None and enclosing.calls:
            return result  # the calls made inside were recorded by their own tracers
        if generator:  # run as the enclosing call of the calls traced inside it
            result = enclosed_gen(result, call)
            return StreamProxy(result, call.stream(result))
        if async_generator:
            result = enclosed_agen(result, call)
            return AsyncStreamProxy(result, call.stream(result))
        return wrap_result(call, result)

    return wrapper  # type: ignore[return-value]


@overload
def trace_llm_call(func: F, /) -> F: ...
@overload
def trace_llm_call(
    *, agent: str | None = None, provider: str | None = None, capture_content: bool = True
) -> Callable[[F], F]: ...
def trace_llm_call(
    func: F | None = None,
    /,
    *,
    agent: str | None = None,
    provider: str | None = None,
    capture_content: bool = True,
) -> F | Callable[[F], F]:
    """Record each call of the decorated function as an LMCAISEvent in the current timestep.

    Works on sync and async functions and on functions returning a stream (sync or async iterator,
    SDK stream, or a context-manager stream such as Anthropic's `messages.stream()`); the request
    is read from the arguments named like the vendor's (model, messages, input, system, contents,
    tools, sampling parameters). `agent` names the event's system (default: the function's
    qualified name); `provider` ("openai", "anthropic", "google") lets a call that fails before
    any response still be recorded; `capture_content=False` keeps numbers and drops the text.
    Outside a tracer session the function runs untouched.
    """

    check_optional_str("trace_llm_call(agent=...)", agent)
    check_optional_str("trace_llm_call(provider=...)", provider)
    if provider is not None:
        adapters_for(provider)  # an unknown provider is refused now, not at the first call
    if not isinstance(capture_content, bool):
        raise InvalidArgumentError(
            f"trace_llm_call(capture_content=...) must be a bool, got {capture_content!r}"
        )

    def decorate(f: F) -> F:
        spec = CallSpec(
            agent=agent or getattr(f, "__qualname__", None) or repr(f),
            provider=provider,
            capture_content=capture_content,
            request_of=_argument_reader(f, REQUEST_KEYS, request=True),
        )
        return traced_llm(f, spec)

    return decorate(func) if func is not None else decorate


# ---------------------------------------------------------------------------------------------
# Tools


def _text(value: Any) -> str:
    """A tool result as text: strings as they are, anything else as JSON (repr if JSON cannot)."""
    if isinstance(value, str):
        return value
    copied = plain(value)
    if copied is SKIP:
        return repr(value)
    return json.dumps(copied, ensure_ascii=False, separators=(",", ":"))


def _find_call_record(trace: SessionTrace | None, call_id: str) -> Any:
    """The latest LLMCallRecord in `trace` that asked for tool call `call_id`, or None."""
    if trace is None:
        return None
    for event in reversed(trace.event_history):
        if isinstance(event, LMCAISEvent):
            for record in event.call_records:
                if any(c.call_id == call_id for c in record.output_tool_calls):
                    return record
    return None


class _ToolRun:
    """One tool execution in flight: the call message on start, then the event, the result
    message and the ToolCallResult on the requesting call record when it ends."""

    __slots__ = ("arguments", "call_id", "name", "start", "started_at", "trace", "tracer")

    def __init__(
        self, tracer: SessionTracer, name: str, arguments: dict[str, Any], call_id: str | None
    ) -> None:
        self.tracer = tracer
        self.name = name
        self.arguments = arguments
        self.call_id = call_id
        self.trace = current_session()
        tracer.record_message(
            arguments, "tool_call", from_role="agent", to_role="tool_runtime", call_id=call_id,
            metadata={"tool_name": name},
        )  # fmt: skip
        self.started_at = utc_now()
        self.start = time.perf_counter()

    def end(self, result: Any = None, error: BaseException | None = None) -> None:
        duration_ms = round((time.perf_counter() - self.start) * 1000.0, 6)
        completed_at = self.started_at + timedelta(milliseconds=duration_ms)
        status: Literal["ok", "error"] = "ok" if error is None else "error"
        text = _text(result) if error is None else None
        error_info = None if error is None else {"type": type(error).__name__, "message": str(error)}
        metadata: dict[str, Any] = {"tool_name": self.name, "status": status, "duration_ms": duration_ms}
        if error is not None:
            metadata["outcome"] = outcome_of(error)
        if self.call_id is not None:
            metadata["call_id"] = self.call_id
        self.tracer.record_event(
            EnvironmentEvent(
                system_instance_id=self.name,
                time_record=TimeRecord(event_time=self.started_at),
                metadata=metadata,
                system_state_before={"arguments": self.arguments},
                system_state_after={"result": text} if error is None else {"error": error_info},
            )
        )
        self.tracer.record_message(
            text if error is None else {"error": error_info}, "tool_result", from_role="tool_runtime",
            to_role="agent", call_id=self.call_id, metadata={"tool_name": self.name},
        )  # fmt: skip
        if self.call_id is not None:
            record = _find_call_record(self.trace, self.call_id)
            if record is not None:
                record.tool_results.append(
                    ToolCallResult(
                        call_id=self.call_id,
                        output_text=text,
                        status=status,
                        error_message=None if error is None else f"{type(error).__name__}: {error}",
                        started_at=self.started_at,
                        completed_at=completed_at,
                        duration_ms=duration_ms,
                        metadata={"tool_name": self.name},
                    )
                )


def _begin_tool(
    name: str, reader: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]],
    args: tuple[Any, ...], kwargs: dict[str, Any], call_id: Any,
) -> _ToolRun | None:  # fmt: skip
    tracer = current_tracer()
    if tracer is None:
        return None
    try:
        arguments = reader(args, kwargs)
        if call_id is None:
            call_id = arguments.get("call_id", arguments.get("tool_call_id"))
        return _ToolRun(tracer, name, arguments, call_id if isinstance(call_id, str) else None)
    except Exception as exc:
        report_problem(tracer, "could not record the tool call", exc)
        return None


def _end_tool(run: _ToolRun, result: Any = None, error: BaseException | None = None) -> None:
    try:
        run.end(result, error)
    except Exception as exc:
        report_problem(run.tracer, "could not record the tool result", exc)


@overload
def trace_tool(func: F, /) -> F: ...
@overload
def trace_tool(*, name: str | None = None) -> Callable[[F], F]: ...
def trace_tool(func: F | None = None, /, *, name: str | None = None) -> F | Callable[[F], F]:
    """Record each run of the decorated tool function (sync or async): its arguments, result or
    error and duration, as an EnvironmentEvent plus the messages agent -> tool runtime -> agent.

    The run is linked to the model's tool call id when the function has a `call_id` (or
    `tool_call_id`) parameter, or when the caller passes `call_id=` (taken by the wrapper when the
    function has no such parameter); the result is then added to the `tool_results` of the call
    record in this session that asked for it. `name` defaults to the function's name.
    """

    check_optional_str("trace_tool(name=...)", name)

    def decorate(f: F) -> F:
        tool_name = name or getattr(f, "__name__", None) or repr(f)
        reader = _argument_reader(f, None)
        try:
            params = inspect.signature(f).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        takes_call_id = "call_id" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())

        if inspect.iscoroutinefunction(f):

            @functools.wraps(f)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                call_id = None if takes_call_id else kwargs.pop("call_id", None)
                run = _begin_tool(tool_name, reader, args, kwargs, call_id)
                if run is None:
                    return await f(*args, **kwargs)
                try:
                    result = await f(*args, **kwargs)
                except BaseException as exc:
                    _end_tool(run, error=exc)
                    raise
                _end_tool(run, result)
                return result

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            call_id = None if takes_call_id else kwargs.pop("call_id", None)
            run = _begin_tool(tool_name, reader, args, kwargs, call_id)
            if run is None:
                return f(*args, **kwargs)
            try:
                result = f(*args, **kwargs)
            except BaseException as exc:
                _end_tool(run, error=exc)
                raise
            _end_tool(run, result)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate

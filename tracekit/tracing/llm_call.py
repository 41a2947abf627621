"""One traced LLM call: the request snapshotted from the call's arguments, the clock started, and
the record finished exactly once — from a response, a stream, or an exception — and handed to the
tracer as an LMCAISEvent. A complete response is normalised off the caller's path when that can be
exact: an immutable snapshot is taken at the call and the event completes itself at its first use
(tracing/pending.py).

Used by `@trace_llm_call` and `instrument(client)`; never raises into the caller's code: a
recording problem is logged (and noted on the record when it has one) unless the tracer is strict.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracekit import live as live_events
from tracekit.errors import RecordingError, UnsupportedPayloadError
from tracekit.helpers import registry
from tracekit.helpers.recorder import StreamRecorder, record_from_response
from tracekit.helpers.sdk import sdk_json, sdk_json_from_text, sdk_json_text
from tracekit.model import LLMCallRecord, LMCAISEvent, Outcome, TimeRecord
from tracekit.tracing.capture import drop_content, snapshot
from tracekit.tracing.context import ACTIVE
from tracekit.tracing.pending import Deferred, deferred_event
from tracekit.tracing.response_shapes import TAKERS as SHAPE_TAKERS
from tracekit.tracing.response_shapes import learn as learn_shape
from tracekit.tracing.response_shapes import rebuild as rebuild_shape
from tracekit.tracing.sse_tap import RawChunks, tap_stream
from tracekit.tracing.values import call_event

if TYPE_CHECKING:
    from tracekit.model import SessionTrace
    from tracekit.tracer import SessionTracer

__all__ = ["ENCLOSING", "IN_SDK_CALL", "CallSpec", "Enclosing", "LLMCall", "outcome_of", "report_problem"]

logger = logging.getLogger(__name__)

_perf_counter = time.perf_counter
_time_ns = time.time_ns
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def outcome_of(exc: BaseException) -> Outcome:
    """How a call that raised `exc` ended: cancelled, timeout (any *Timeout* class), or error."""
    if isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt, GeneratorExit)):
        return "cancelled"
    if isinstance(exc, TimeoutError) or any("Timeout" in c.__name__ for c in type(exc).__mro__):
        return "timeout"
    return "error"


_MODULE_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "google"}
_MODEL_PREFIXES = (
    ("claude", "anthropic"),
    ("gemini", "google"),
    ("gpt", "openai"),
    ("chatgpt", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
)


def _infer_api(spec: CallSpec, request: Mapping[str, Any], obj: Any) -> tuple[str | None, str | None]:
    """Provider and API of a call whose response cannot tell (a stream cut before its first chunk,
    an exception): from the decorator's arguments, else the SDK object's package, else the model."""
    provider = spec.provider
    if provider is None and obj is not None:
        provider = _MODULE_PROVIDERS.get(type(obj).__module__.partition(".")[0])
    if provider is None:
        model = request.get("model")
        if isinstance(model, str):
            provider = next((p for prefix, p in _MODEL_PREFIXES if model.startswith(prefix)), None)
    if provider is None:
        return None, None
    api_type = spec.api_type
    if api_type is None:
        key = provider.lower()
        if key in ("anthropic",):
            api_type = "messages"
        elif key in ("google", "gemini"):
            api_type = "generate_content"
        elif "input" in request and "messages" not in request:
            api_type = "responses"
        else:
            api_type = "chat_completions"
    return provider, api_type


@dataclass(frozen=True, slots=True)
class CallSpec:
    """How calls of one decorated function or instrumented method are recorded."""

    agent: str
    provider: str | None = None
    api_type: str | None = None
    capture_content: bool = True
    request_of: Callable[[tuple[Any, ...], dict[str, Any]], dict[str, Any]] | None = None
    sdk_method: bool = False
    """An instrumented SDK method: SDK calls it makes itself (`.stream()` calls `.create()`) are
    part of it, not calls of their own."""
    nests: bool = False
    """An instrumented SDK method that may run other traced methods inside it (`.stream()` calls
    `.create()`; google-genai's automatic function calling runs the user's tools): it marks its
    context (IN_SDK_CALL) while it runs. openai's and anthropic's `create` call none (each sends
    its request itself), so they skip the two ContextVar writes."""
    default_agent: bool = False
    """`agent` is the provider's name, not one the user gave: a call inside a decorated function
    takes that function's agent instead."""


IN_SDK_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("tracekit_in_sdk_call", default=False)
"""True while an instrumented SDK method runs in this context."""


class Enclosing:
    """A decorated function's call in progress (`@trace_llm_call` on a plain or async function):
    the traced calls started inside it count here, and when there are any the function's own
    record is dropped, so each LLM call is recorded once, by its innermost tracer (an instrumented
    client's call sees the exact request). An instrumented call without an agent of its own takes
    the function's."""

    __slots__ = ("_specs", "agent", "announced", "calls")

    def __init__(self, agent: str, announced: bool = False) -> None:
        self.agent = agent
        self.calls = 0
        self.announced = announced
        """The function's own llm_call_start went out on the live bus and is not yet paired: its
        first traced call inside takes it as its own start, so starts and ends pair up."""
        self._specs: dict[int, CallSpec] = {}

    def spec_for(self, spec: CallSpec) -> CallSpec:
        """`spec` as a call inside this function records it: the function's agent when `spec`
        has none of its own."""
        if not spec.default_agent or spec.agent == self.agent:
            return spec
        mine = self._specs.get(id(spec))
        if mine is None:
            mine = self._specs[id(spec)] = replace(spec, agent=self.agent, default_agent=False)
        return mine


ENCLOSING: contextvars.ContextVar[Enclosing | None] = contextvars.ContextVar(
    "tracekit_enclosing", default=None
)
"""The innermost decorated call running in this context, if any."""


class _StartClock:
    """A clock whose first reading is the call's start (StreamRecorder reads its start from the
    clock when made) and every later one `perf_counter()`, or `end` when given (a deferred record
    is finished after the call ended): the stream's timing starts when the request was sent, not
    when the first chunk was asked for."""

    __slots__ = ("_end", "_start")

    def __init__(self, start: float, end: float | None = None) -> None:
        self._start: float | None = start
        self._end = end

    def __call__(self) -> float:
        start = self._start
        if start is None:
            return time.perf_counter() if self._end is None else self._end
        self._start = None
        return start


_SNAPSHOT_WRITERS: dict[type, Callable[..., bytes]] = {}
"""Per SDK response class found deferrable: its pydantic serializer's `to_json`, called straight on
the hot path (what `model_dump_json` calls, minus its Python frame and the text decode)."""

_DEFERRABLE: dict[type, bool] = {}
"""Per SDK response class: whether its records may be finished off the caller's path. Decided by
the class's first response recorded eagerly without a problem: True when its JSON-text snapshot
reads back as the very dump the eager path normalised. A class whose objects never record (not a
vendor response) stays undecided and eager, so it is still recorded nothing, as before."""


class LLMCall(Deferred):
    """One call in flight. `response()`, `failed()` or `stream()` + `end()` finish it, once; a
    call finished off the caller's path is the work its pending event parks (`build()`)."""

    __slots__ = (
        "_context", "_end", "_payload", "_raw", "_recorder", "_wall_ns", "announced", "done", "request",
        "spec", "start", "tracer",
    )  # fmt: skip
    _payload: bytes | dict[str, Any] | tuple[Any, ...]
    """A deferred response's snapshot: its shape's values, its JSON text, or a private dict copy."""

    def __init__(
        self, tracer: SessionTracer, spec: CallSpec, request: dict[str, Any], announce: bool = True
    ) -> None:
        self.tracer = tracer
        self.spec = spec
        self.request = request
        self.done = False
        self._recorder: StreamRecorder | None = None
        self._raw: RawChunks | None = None
        self._context: contextvars.Context | None = None
        self._wall_ns = _time_ns()
        self.start = _perf_counter()
        self.announced = announce and tracer.bus.active
        """Whether this call published its llm_call_start (see Enclosing.announced)."""
        if self.announced:
            live_events.llm_call_started(tracer.bus, _trace(), spec.agent, request)

    @property
    def started_at(self) -> datetime:
        """When the call started, as an aware UTC datetime (what `utc_now()` read then: the wall
        clock's nanoseconds are kept on the call's path and made a datetime only when needed)."""
        return _EPOCH + timedelta(microseconds=self._wall_ns // 1000)

    @classmethod
    def begin(
        cls, tracer: SessionTracer, spec: CallSpec, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> LLMCall | None:
        """A started call, or None (logged) when even the request could not be captured."""
        enclosing = ENCLOSING.get()
        taken = False
        if enclosing is not None:
            spec = enclosing.spec_for(spec)
            taken = enclosing.announced
        try:
            request_of = spec.request_of
            request = request_of(args, kwargs) if request_of is not None else {}
            call = cls(tracer, spec, request, announce=not taken)
        except Exception as exc:
            report_problem(tracer, "could not capture the request", exc)
            return None
        if enclosing is not None:
            enclosing.calls += 1  # counted once it will be recorded: else the function records it
            if taken:
                enclosing.announced = False
                call.announced = True
        return call

    def restart(self) -> None:
        """Start the clock again (a context-manager stream sends its request on `__enter__`)."""
        self._wall_ns = _time_ns()
        self.start = _perf_counter()

    # --- complete responses -----------------------------------------------------------------

    def response(self, result: Any) -> None:
        """Record a complete response just returned by the call."""
        end = _perf_counter()
        if self.done:
            return
        self.done = True
        try:
            # off the caller's path when it can be exact: an immutable snapshot now, normalised at
            # the event's first use (see tracing/pending.py); strict tracers (which must raise at
            # the call) and capture_content=False (the content must not be kept) record eagerly
            deferrable = self.spec.capture_content and not self.tracer.strict
            kind = type(result)
            if kind is dict:
                # a plain payload is the caller's: read from a copy, so that mutating it later
                # cannot reach the record (usage.raw and tool parameters keep nested dicts)
                copied, pure = snapshot(result)
                if pure:
                    result = copied
                    if deferrable and self._recognised(copied):
                        self._defer(copied, end)
                        return
            elif deferrable:
                to_json = _SNAPSHOT_WRITERS.get(kind)
                if to_json is not None:
                    # a shape seen before: its values in a tuple (response_shapes.py), else the text;
                    # `take` and `_defer` written out here, the two frames fewer show inside the SDK call
                    try:
                        snap = None
                        for taker in SHAPE_TAKERS.get(kind, ()):
                            snap = taker(result)
                            if snap is not None:
                                break
                    except Exception:  # a value no check foresaw: the text snapshot is taken instead
                        snap = None
                    if snap is not None:
                        self._payload = snap
                        self._end = end
                        self.tracer.record_event(deferred_event(self))
                        return
                    try:
                        text = to_json(result, by_alias=True, exclude_unset=True, warnings=False)
                    except Exception:  # what the writer refuses is recorded eagerly, as sdk_json reads it
                        text = None
                    if text is not None:
                        learn_shape(result)
                        self._defer(text, end)
                        return
            record = self._record_of(result, end)
            if deferrable and kind is not dict and kind not in _DEFERRABLE:
                _DEFERRABLE[kind] = deferred = _text_matches(result)
                if deferred:
                    _SNAPSHOT_WRITERS[kind] = kind.__pydantic_serializer__.to_json
                    learn_shape(result)
            self._emit(record)
        except Exception as exc:
            report_problem(self.tracer, "could not record the LLM response", exc)

    def _record_of(self, payload: Any, end: float) -> LLMCallRecord:
        """The normalised record of a complete response that arrived at `end` (perf_counter s)."""
        spec = self.spec
        started_at = self.started_at
        record = record_from_response(
            payload,
            request=self.request,
            started_at=started_at,
            completed_at=started_at + timedelta(seconds=end - self.start),
            provider=spec.provider,
            api_type=spec.api_type,
        )
        record.latency_ms = round((end - self.start) * 1000.0, 6)
        return record

    def _recognised(self, data: dict[str, Any]) -> bool:
        """Whether the eager path would find an API for `data` (it records nothing for a payload of
        no known shape, so neither may the deferred one)."""
        candidates = registry.adapters_for(self.spec.provider, self.spec.api_type)
        if len(candidates) == 1:
            return True
        try:
            registry.detect_response(data, candidates)
        except UnsupportedPayloadError:
            return False
        return True

    def _defer(self, payload: bytes | dict[str, Any] | tuple[Any, ...], end: float) -> None:
        """Put a pending event in the trace now; it is normalised from `payload` at first use."""
        self._payload = payload
        self._end = end
        self.tracer.record_event(deferred_event(self))

    def build(self) -> LMCAISEvent:
        """The event a pending event completes into (pending.py): the stream's fold for a stream
        ended by `end_later`, else the record of the response `_defer` kept."""
        return self._deferred_event() if self._recorder is None else self._stream_event()

    def _deferred_event(self) -> LMCAISEvent:
        """The event the eager path would have recorded, from the snapshot taken at the call. Never
        raises: a response that cannot be normalised is recorded as a failed call with the reason
        in its `error` (logged), or at worst as an event carrying it in its metadata."""
        payload, end = self._payload, self._end
        try:
            data: dict[str, Any] | None
            if isinstance(payload, tuple):
                data = rebuild_shape(payload)
            elif isinstance(payload, bytes):
                data = sdk_json_from_text(payload.decode())
            else:
                data = payload
            record = self._record_of(data, end)
        except Exception as exc:
            # logged, never raised: this runs inside whatever first reads the event
            logger.warning("tracekit: could not record the LLM response: %s: %s", type(exc).__name__, exc)
            try:
                record = self._failed_record(exc, end)
            except Exception as problem:
                return self._note_event(problem, end)
        try:
            return self._event_of(record)
        except Exception as exc:
            logger.warning("tracekit: could not record the LLM call event: %s: %s", type(exc).__name__, exc)
            return self._note_event(exc, end)

    def _failed_record(self, exc: BaseException, end: float) -> LLMCallRecord:
        """A record of the call with outcome "error" and `exc` as its error, timed start to `end`."""
        provider, api_type = _infer_api(self.spec, self.request, None)
        started_at = self.started_at
        recorder = StreamRecorder(
            self.request,
            provider=provider,
            api_type=api_type,
            clock=_StartClock(self.start, end),
            now=lambda: started_at,
        )
        record = recorder.finish("error", exc)
        record.chunks = None
        record.timing = None
        record.completed_at = started_at + timedelta(seconds=end - self.start)
        record.latency_ms = round((end - self.start) * 1000.0, 6)
        return record

    def _note_event(self, exc: BaseException, end: float) -> LMCAISEvent:
        """The last resort: an event with no call record, the problem in its metadata."""
        return LMCAISEvent(
            system_instance_id=self.spec.agent,
            time_record=TimeRecord(event_time=self.started_at),
            latency_ms=round((end - self.start) * 1000.0, 6),
            metadata={"tracekit_error": {"type": type(exc).__name__, "message": str(exc)}},
        )

    def failed(self, exc: BaseException, obj: Any = None) -> None:
        """Record a call that raised `exc` before any response or chunk arrived."""
        if self.done:
            return
        self.done = True
        try:
            recorder = self._new_recorder(obj)
            if recorder is None:
                return
            record = recorder.finish(outcome_of(exc), exc)
            record.chunks = None
            record.timing = None
            self._emit(record)
        except Exception as problem:
            report_problem(self.tracer, "could not record the failed LLM call", problem)

    # --- streams ------------------------------------------------------------------------------

    def stream(self, obj: Any) -> LLMCall:
        """Prepare to record `obj`'s chunks as they arrive; returns self for the stream proxy."""
        self._context = contextvars.copy_context()
        try:
            self._recorder = self._new_recorder(obj, strict_api=False)
        except Exception as exc:
            report_problem(self.tracer, "could not start recording the stream", exc)
            self.done = True
        return self

    def taker(self, stream: Any = None, is_async: bool = False) -> Callable[[Any, float], None]:
        """What a stream proxy calls per chunk with its arrival (perf_counter s), bound once at the
        stream's start: for an openai/anthropic SDK stream not started yet, the step keeping its
        event's text (sse_tap.py: the chunk is folded where the record is finished); else the
        recorder's `add`; a no-op when the stream could not be recorded. Strict tracers fold each
        chunk as it arrives (a problem raises there), so they take the recorder's `add`."""
        recorder = self._recorder
        if recorder is None:
            return _ignore_chunk
        if stream is not None and not self.tracer.strict and self._raw is None:
            raw = tap_stream(stream, recorder.add, is_async)
            if raw is not None:
                self._raw = raw
                return raw.take
        return recorder.add

    def _fold(self, recorder: StreamRecorder) -> StreamRecorder:
        """`recorder` with every chunk kept as its event's text folded in (sse_tap.py)."""
        raw = self._raw
        if raw is not None:
            try:
                raw.fold()
            except Exception as exc:  # the chunks folded so far stay; the record says what arrived
                report_problem(self.tracer, "could not record a stream chunk", exc)
        return recorder

    def publish(self, chunk: Any) -> None:
        """Publish a chunk's usage on the live bus (called only while the bus has subscribers)."""
        live_events.stream_usage(self.tracer.bus, _trace(), self.spec.agent, chunk)

    def chunk_failed(self, exc: Exception) -> None:
        """A chunk that could not be recorded: logged (raised when the tracer is strict)."""
        report_problem(self.tracer, "could not record a stream chunk", exc)

    def drop(self) -> None:
        """Record nothing for this call: the LLM calls traced inside it (a decorated generator's,
        see enclosed.py) were recorded by their own tracers."""
        self.done = True

    def end(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        """Finish the stream's record (first call only): consumed, closed, cut or collected."""
        if self.done:
            return
        self.done = True
        recorder = self._recorder
        if recorder is None:
            return
        try:
            record = self._fold(recorder).finish(outcome, error)
        except Exception as exc:
            report_problem(self.tracer, "could not finish the stream's record", exc)
            return
        context = self._context
        if context is None:
            self._emit(record)
        else:
            context.run(self._emit, record)

    def end_later(self) -> None:
        """`end()` for a stream that reached its end, finished off the caller's path: a pending
        event goes into the trace now (where `end()` puts its event) and the chunks are folded at
        its first use, exactly as `end()` folds them (tracing/pending.py). Strict tracers (which must
        raise at the call), capture_content=False (the content must not be kept) and a stream whose
        API is not known yet finish at once, through `end()`."""
        recorder = self._recorder
        if (
            self.done
            or recorder is None
            or self.tracer.strict
            or not self.spec.capture_content
            or not recorder.identified
        ):
            self.end()
            return
        self.done = True
        end = time.perf_counter()
        recorder.stop_clock()
        self._end = end
        event = deferred_event(self)
        try:
            context = self._context
            if context is None:
                self.tracer.record_event(event)
            else:
                context.run(self.tracer.record_event, event)
        except Exception as exc:
            report_problem(self.tracer, "could not record the LLM call event", exc)

    def _stream_event(self) -> LMCAISEvent:
        """The event `end()` would have recorded for the stream (see `end_later`). Never raises: a
        record that cannot be finished leaves the problem in the event's metadata (logged)."""
        recorder, end = self._recorder, self._end
        try:
            assert recorder is not None  # end_later defers only a call with a recorder
            return self._event_of(self._fold(recorder).finish())
        except Exception as exc:
            # logged, never raised: this runs inside whatever first reads the event
            logger.warning("tracekit: could not finish the stream's record: %s: %s", type(exc).__name__, exc)
            return self._note_event(exc, end)

    def _new_recorder(self, obj: Any, strict_api: bool = True) -> StreamRecorder | None:
        provider, api_type = _infer_api(self.spec, self.request, obj)
        if provider is None and strict_api:
            report_problem(
                self.tracer,
                "cannot tell which API the failed call used",
                ValueError("pass provider= to trace_llm_call (e.g. provider='openai')"),
            )
            return None
        started_at = self.started_at
        return StreamRecorder(
            self.request,
            provider=provider,
            api_type=api_type,
            clock=_StartClock(self.start),
            now=lambda: started_at,
            strict=self.tracer.strict,
        )

    # --- into the trace -----------------------------------------------------------------------

    def _emit(self, record: LLMCallRecord) -> None:
        try:
            self.tracer.record_event(self._event_of(record))
        except Exception as exc:
            report_problem(self.tracer, "could not record the LLM call event", exc)

    def _event_of(self, record: LLMCallRecord) -> LMCAISEvent:
        """The LMCAISEvent holding `record` (content dropped when the spec says so)."""
        spec = self.spec
        record.metadata["agent_id"] = spec.agent
        if not spec.capture_content:
            drop_content(record)
        return call_event(record, spec.agent, record.started_at or self.started_at)


def _ignore_chunk(chunk: Any, at: float) -> None:
    """The per-chunk step of a stream whose recording could not start: nothing to fold into."""


def _text_matches(result: Any) -> bool:
    """Whether `result`'s JSON-text snapshot, as the hot path writes it (the class's own pydantic
    serializer, called straight), is `sdk_json_text`'s and reads back as the dump the eager path
    normalised."""
    try:
        text = sdk_json_text(result)
        if text is None:
            return False
        written = type(result).__pydantic_serializer__.to_json(
            result, by_alias=True, exclude_unset=True, warnings=False
        )
        if type(written) is not bytes or written.decode() != text:
            return False
        # compared as JSON text: dict equality would take 1 for 1.0 or True
        return json.dumps(sdk_json_from_text(text)) == json.dumps(sdk_json(result))
    except Exception:  # unsure: keep the eager path for this class
        return False


def report_problem(tracer: SessionTracer, what: str, exc: BaseException) -> None:
    """Log a recording problem; raise it as RecordingError when the tracer is strict."""
    if tracer.strict:
        if isinstance(exc, RecordingError):
            raise exc
        raise RecordingError(f"tracekit: {what}: {type(exc).__name__}: {exc}") from exc
    logger.warning("tracekit: %s: %s: %s", what, type(exc).__name__, exc)


def _trace() -> SessionTrace | None:
    """The session recorded into in this context (for live events), or None."""
    active = ACTIVE.get()
    return None if active is None else active.session.trace

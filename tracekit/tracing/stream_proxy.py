"""Stream proxies: hand every chunk to the caller unchanged and at once, fold it into the call's
record on the way, and finish the record exactly once — consumed, broken out of, closed, cancelled
or garbage-collected.

The proxies subclass nothing of the SDKs': attributes they do not define are forwarded
(`__getattr__`, so `.response`, `.close()` and friends keep working) and `__class__` reports the
wrapped object's class, so `isinstance(stream, openai.Stream)` still holds. Context-manager streams
(`messages.stream()`, `chat.completions.stream()`, `responses.stream()`) give the caller the SDK's
own helper object; the proxy sits under it, on the raw event stream the helper reads, so every way
of consuming it (iteration, `text_stream`, `until_done()`, `get_final_message()`) is recorded.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from tracekit.tracing.llm_call import IN_SDK_CALL, LLMCall, outcome_of
from tracekit.tracing.sse_tap import RawChunks

if TYPE_CHECKING:
    from tracekit.live.bus import EventBus

__all__ = ["AsyncStreamManagerProxy", "AsyncStreamProxy", "StreamManagerProxy", "StreamProxy", "wrap_result"]

_perf_counter = time.perf_counter


class _Forwarding:
    """Attribute access, class and repr forwarded to the wrapped SDK object."""

    __slots__ = ("__weakref__", "_tk_call", "_tk_wrapped")

    _tk_wrapped: Any
    _tk_call: LLMCall

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_tk_"):
            raise AttributeError(name)
        return getattr(self._tk_wrapped, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance() sees the SDK's class, as wrapt's proxies make it
        return type(self._tk_wrapped)

    def __repr__(self) -> str:
        return f"<traced {self._tk_wrapped!r}>"

    def __del__(self) -> None:
        call = getattr(self, "_tk_call", None)
        if call is not None and not call.done:
            call.end()


def _next_of(wrapped: Any) -> Callable[[], Any]:
    """The `__next__` a `for` loop over `wrapped` would call: its iterator's, from `iter()` (an
    SDK stream's `__iter__` generator, resumed in C, where its own `__next__` is a Python frame
    per chunk); the object's own `__next__` when `iter()` refuses it."""
    try:
        return iter(wrapped).__next__  # type: ignore[no-any-return]
    except Exception:  # an iterator whose __iter__ is missing or broken: its own __next__
        return wrapped.__next__  # type: ignore[no-any-return]


def _chunks(
    proxy: StreamProxy,  # held by the frame: the proxy lives as long as this generator
    nxt: Callable[[], Any],
    take: Callable[[Any, float], None],
    bus: EventBus,
    call: LLMCall,
) -> Iterator[Any]:
    """`StreamProxy.__next__` as a generator, what a `for` loop over the proxy reads: each chunk
    handed on at once, its arrival read first. It holds the proxy, so a loop broken out of leaves the
    proxy (and its `__del__`, which records what arrived) to the caller's references, as before; a
    GeneratorExit thrown in at `yield` (the loop dropped) records nothing itself."""
    perf_counter = _perf_counter
    while True:
        try:
            chunk = nxt()
        except StopIteration:
            call.end_later()
            return
        except BaseException as exc:
            call.end(outcome_of(exc), exc)
            raise
        at = perf_counter()
        if not call.done:  # closed or ended: later chunks are the caller's alone
            try:
                take(chunk, at)
                if bus.active:
                    call.publish(chunk)
            except Exception as exc:
                call.chunk_failed(exc)
        yield chunk


def _raw_chunks(
    proxy: StreamProxy,  # held by the frame, as in `_chunks`
    nxt: Callable[[], Any],
    take: Callable[[Any, float], None],
    bus: EventBus,
    call: LLMCall,
) -> Iterator[Any]:
    """`_chunks` for a tapped SDK stream (sse_tap.py), the tap's step written out: per chunk the
    text of the event it was built from and its arrival, two appends; a chunk the tap has no text
    for goes through the step itself (`RawChunks.take`: folded at once, after those before it)."""
    raw: RawChunks = take.__self__  # type: ignore[attr-defined]
    tap, keep_text, keep_at = raw.tap, raw.texts.append, raw.ats.append
    perf_counter = _perf_counter
    while True:
        try:
            chunk = nxt()
        except StopIteration:
            call.end_later()
            return
        except BaseException as exc:
            call.end(outcome_of(exc), exc)
            raise
        at = perf_counter()
        if not call.done:  # closed or ended: later chunks are the caller's alone
            text = tap.data
            if text is not None:
                tap.data = None
                keep_text(text)
                keep_at(at)
                if bus.active:
                    try:
                        call.publish(chunk)
                    except Exception as exc:
                        call.chunk_failed(exc)
            else:
                try:
                    take(chunk, at)
                    if bus.active:
                        call.publish(chunk)
                except Exception as exc:
                    call.chunk_failed(exc)
        yield chunk


class StreamProxy(_Forwarding):
    """A sync stream (SDK Stream, generator, any iterator) whose chunks are recorded as they arrive.

    A `for` loop reads it through the generator `__iter__` returns (`_chunks`): one generator resumed
    per chunk, its locals bound once, not a Python `__next__` frame built per chunk (the openai SDK's
    own `Stream.__iter__` is a generator too). `next(proxy)` reads through `__next__`, the same step
    written out; both share the stream's iterator, so they can be mixed. What the per-chunk step
    needs (the stream's `__next__`, the recorder's `add`, the live bus, the call) is bound at the
    stream's start in one tuple, `_tk_tap`: on a class with a `__getattr__` every `self.` read takes
    CPython's slow attribute hook (no specialised slot read), so `__next__` makes exactly one."""

    __slots__ = ("_tk_tap",)

    _tk_tap: tuple[Callable[[], Any], Callable[[Any, float], None], EventBus, LLMCall]

    def __init__(self, wrapped: Any, call: LLMCall) -> None:
        self._tk_wrapped = wrapped
        self._tk_call = call
        take = call.taker(wrapped)  # before iter(): the SDK stream's tap goes in before it starts
        nxt = _next_of(wrapped) if hasattr(type(wrapped), "__next__") else iter(wrapped).__next__
        self._tk_tap = (nxt, take, call.tracer.bus, call)

    def __iter__(self) -> Iterator[Any]:
        nxt, take, bus, call = self._tk_tap
        if type(getattr(take, "__self__", None)) is RawChunks:
            return _raw_chunks(self, nxt, take, bus, call)
        return _chunks(self, nxt, take, bus, call)

    def __next__(self) -> Any:
        nxt, take, bus, call = self._tk_tap
        try:
            chunk = nxt()
        except StopIteration:
            call.end_later()
            raise
        except BaseException as exc:
            call.end(outcome_of(exc), exc)
            raise
        at = _perf_counter()
        if call.done:  # closed or ended: later chunks are the caller's alone
            return chunk
        try:
            take(chunk, at)
            if bus.active:
                call.publish(chunk)
        except Exception as exc:
            call.chunk_failed(exc)
        return chunk

    def close(self) -> Any:
        """Record what arrived (incomplete if cut short), then close the SDK stream."""
        self._tk_call.end()
        close = getattr(self._tk_wrapped, "close", None)
        return close() if close is not None else None

    def __enter__(self) -> StreamProxy:
        enter = getattr(self._tk_wrapped, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        if exc is not None:
            self._tk_call.end(outcome_of(exc), exc)
        leave = getattr(self._tk_wrapped, "__exit__", None)
        result = leave(exc_type, exc, tb) if leave is not None else None
        self._tk_call.end()
        return result


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class AsyncStreamProxy(_Forwarding):
    """An async stream (SDK AsyncStream, async generator, any async iterator), recorded as it arrives
    (the per-chunk path bound at the start in one tuple, as StreamProxy's)."""

    __slots__ = ("_tk_tap",)

    _tk_tap: tuple[Callable[[], Awaitable[Any]], Callable[[Any, float], None], EventBus, LLMCall]

    def __init__(self, wrapped: Any, call: LLMCall) -> None:
        self._tk_wrapped = wrapped
        self._tk_call = call
        take = call.taker(wrapped, is_async=True)  # before __aiter__(): the tap goes in first
        anext = wrapped.__anext__ if hasattr(type(wrapped), "__anext__") else wrapped.__aiter__().__anext__
        self._tk_tap = (anext, take, call.tracer.bus, call)

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        anext, take, bus, call = self._tk_tap
        try:
            chunk = await anext()
        except StopAsyncIteration:
            call.end_later()
            raise
        except BaseException as exc:
            call.end(outcome_of(exc), exc)
            raise
        at = _perf_counter()
        if call.done:  # closed or ended: later chunks are the caller's alone
            return chunk
        try:
            take(chunk, at)
            if bus.active:
                call.publish(chunk)
        except Exception as exc:
            call.chunk_failed(exc)
        return chunk

    async def close(self) -> Any:
        """Record what arrived (incomplete if cut short), then close the SDK stream."""
        self._tk_call.end()
        close = getattr(self._tk_wrapped, "close", None) or getattr(self._tk_wrapped, "aclose", None)
        return await _maybe_await(close()) if close is not None else None

    async def aclose(self) -> Any:
        """Record what arrived (incomplete if cut short), then close the SDK stream."""
        self._tk_call.end()
        close = getattr(self._tk_wrapped, "aclose", None) or getattr(self._tk_wrapped, "close", None)
        return await _maybe_await(close()) if close is not None else None

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self._tk_wrapped, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        if exc is not None:
            self._tk_call.end(outcome_of(exc), exc)
        leave = getattr(self._tk_wrapped, "__aexit__", None)
        result = await leave(exc_type, exc, tb) if leave is not None else None
        self._tk_call.end()
        return result


def _tap(stream: Any, call: LLMCall, proxy: type[StreamProxy] | type[AsyncStreamProxy]) -> Any:
    """The SDK helper stream with its raw event stream recorded underneath (so derived events and
    internal consumption need no special case), or the stream itself proxied when it has none."""
    raw = getattr(stream, "_raw_stream", None)
    method = "__next__" if proxy is StreamProxy else "__anext__"
    if raw is not None and hasattr(type(raw), method):
        try:
            stream._raw_stream = proxy(raw, call)
            return stream
        except AttributeError:  # a helper that does not let the attribute be replaced
            pass
    return proxy(stream, call)


class StreamManagerProxy(_Forwarding):
    """A context manager that opens a stream on `__enter__` (Anthropic `messages.stream()`, OpenAI
    `chat.completions.stream()` / `responses.stream()`): the call is timed from `__enter__`."""

    __slots__ = ()

    def __init__(self, wrapped: Any, call: LLMCall) -> None:
        self._tk_wrapped = wrapped
        self._tk_call = call

    def __del__(self) -> None:  # the record belongs to the stream, opened (or not) by __enter__
        return

    def __enter__(self) -> Any:
        call = self._tk_call
        call.restart()
        token = IN_SDK_CALL.set(True) if call.spec.sdk_method else None
        try:
            stream = self._tk_wrapped.__enter__()
        except BaseException as exc:
            call.failed(exc, self._tk_wrapped)
            raise
        finally:
            if token is not None:
                IN_SDK_CALL.reset(token)
        return _tap(stream, call.stream(stream), StreamProxy)

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        if exc is not None:
            self._tk_call.end(outcome_of(exc), exc)
        result = self._tk_wrapped.__exit__(exc_type, exc, tb)
        self._tk_call.end()
        return result


class AsyncStreamManagerProxy(_Forwarding):
    """The `async with` form of StreamManagerProxy (AsyncAnthropic / AsyncOpenAI `.stream()`)."""

    __slots__ = ()

    def __init__(self, wrapped: Any, call: LLMCall) -> None:
        self._tk_wrapped = wrapped
        self._tk_call = call

    def __del__(self) -> None:  # the record belongs to the stream, opened (or not) by __aenter__
        return

    async def __aenter__(self) -> Any:
        call = self._tk_call
        call.restart()
        token = IN_SDK_CALL.set(True) if call.spec.sdk_method else None
        try:
            stream = await self._tk_wrapped.__aenter__()
        except BaseException as exc:
            call.failed(exc, self._tk_wrapped)
            raise
        finally:
            if token is not None:
                IN_SDK_CALL.reset(token)
        return _tap(stream, call.stream(stream), AsyncStreamProxy)

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        if exc is not None:
            self._tk_call.end(outcome_of(exc), exc)
        result = await self._tk_wrapped.__aexit__(exc_type, exc, tb)
        self._tk_call.end()
        return result


async def _awaited(call: LLMCall, awaitable: Awaitable[Any]) -> Any:
    try:
        result = await awaitable
    except BaseException as exc:
        call.failed(exc)
        raise
    return wrap_result(call, result)


_RESPONSE, _ASYNC_STREAM, _STREAM, _ASYNC_MANAGER, _MANAGER, _AWAITABLE = range(6)
_KINDS: dict[type, int] = {}
"""What each result type is, decided once per type (hasattr on an SDK model class goes through
pydantic's metaclass and costs microseconds)."""


def _kind_of(kind: type) -> int:
    code = _KINDS.get(kind)
    if code is None:
        if hasattr(kind, "__aiter__"):
            code = _ASYNC_STREAM
        elif hasattr(kind, "__next__"):
            code = _STREAM
        elif hasattr(kind, "__aenter__"):
            code = _ASYNC_MANAGER
        elif hasattr(kind, "__enter__") and hasattr(kind, "__exit__"):
            code = _MANAGER
        elif hasattr(kind, "__await__"):
            code = _AWAITABLE
        else:
            code = _RESPONSE
        _KINDS[kind] = code
    return code


def wrap_result(call: LLMCall, result: Any) -> Any:
    """What the traced call returns: a proxy for a stream, the response itself once recorded."""
    code = _kind_of(type(result))
    if code == _RESPONSE:
        call.response(result)
        return result
    if code == _ASYNC_STREAM:
        return AsyncStreamProxy(result, call.stream(result))
    if code == _STREAM:
        return StreamProxy(result, call.stream(result))
    if code == _ASYNC_MANAGER:
        return AsyncStreamManagerProxy(result, call)
    if code == _MANAGER:
        return StreamManagerProxy(result, call)
    return _awaited(call, result)

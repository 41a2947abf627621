"""Hooks: callbacks a SessionTracer calls as it records and saves (sync or async callables).

    hooks = tk.Hooks()
    hooks.add("event_recorded", on_llm_call, event_types={"cais"})
    tracer = tk.SessionTracer(hooks=hooks)          # or hooks={"session_end": on_end}

| hook             | called with              | where                                        |
| ---------------- | ------------------------ | -------------------------------------------- |
| session_start    | (trace)                  | the recording context, on entering session() |
| session_end      | (trace)                  | the recording context, on leaving session()  |
| timestep_start   | (step, trace)            | on entering timestep()                       |
| timestep_end     | (step, trace)            | on leaving timestep()                        |
| event_recorded   | (event, trace)           | after record_event (filter: event_types)     |
| message_recorded | (message, trace)         | after record_message                         |
| before_save      | (trace)                  | the writer thread, before the save           |
| after_save       | (trace, outcome)         | the writer thread; "saved"/"spooled"/"failed" |

A hook that raises is logged through `logging` and recording goes on. An async hook (one that
returns an awaitable) runs as a task on the caller's running loop, or, with no loop running in
that thread (and always for before_save / after_save), on one shared background loop;
`flush()` waits for those, `aflush()` for both.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal, get_args

from tracekit.errors import InvalidArgumentError

__all__ = ["HOOK_NAMES", "HookName", "Hooks"]

log = logging.getLogger(__name__)

HookName = Literal[
    "session_start",
    "session_end",
    "timestep_start",
    "timestep_end",
    "event_recorded",
    "message_recorded",
    "before_save",
    "after_save",
]
HOOK_NAMES: tuple[str, ...] = get_args(HookName)
_SAVE_HOOKS = frozenset({"before_save", "after_save"})

Hook = Callable[..., Any]
HookSpec = Hook | Iterable[Hook]


class _Background:
    """One daemon thread running an event loop for async hooks fired outside any running loop."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def loop(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="tracekit-hooks", daemon=True).start()
                cls._loop = loop
            return cls._loop


class Hooks:
    """The callbacks registered per hook name, with an optional event-type filter each."""

    __slots__ = ("_callbacks", "_futures", "_lock", "_tasks")

    def __init__(self, hooks: Mapping[str, HookSpec] | None = None) -> None:
        self._callbacks: dict[str, list[tuple[Hook, frozenset[str] | None]]] = {}
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = threading.Lock()
        for name, spec in (hooks or {}).items():
            if callable(spec):
                callbacks = [spec]
            elif isinstance(spec, Iterable) and not isinstance(spec, str | bytes | Mapping):
                callbacks = list(spec)
            else:
                raise InvalidArgumentError(
                    f"hook {name!r} got {spec!r:.60}; pass a function or a list of functions"
                )
            for callback in callbacks:
                self.add(name, callback)

    def __repr__(self) -> str:
        counts = {name: len(cbs) for name, cbs in self._callbacks.items() if cbs}
        return f"Hooks({counts})"

    def add(self, name: str, callback: Hook, *, event_types: Iterable[str] | None = None) -> Hook:
        """Call `callback` on `name`; `event_types` (event_recorded only) keeps events of those types."""
        if name not in HOOK_NAMES:
            raise InvalidArgumentError(f"unknown hook {name!r}; use one of {', '.join(HOOK_NAMES)}")
        if not callable(callback):
            raise InvalidArgumentError(
                f"hook {name!r} got {callback!r}, which is not callable; pass a function"
            )
        if event_types is not None and name != "event_recorded":
            raise InvalidArgumentError(
                f"event_types filters the event_recorded hook only, not {name!r}; drop event_types"
            )
        if isinstance(event_types, str):
            raise InvalidArgumentError(
                f"event_types={event_types!r} is one string; pass a collection such as {{{event_types!r}}}"
            )
        types = None if event_types is None else frozenset(event_types)
        with self._lock:
            self._callbacks[name] = [*self._callbacks.get(name, []), (callback, types)]
        return callback

    def remove(self, name: str, callback: Hook) -> None:
        """Stop calling `callback` on `name` (no error when it was not registered)."""
        with self._lock:
            self._callbacks[name] = [
                pair for pair in self._callbacks.get(name, []) if pair[0] is not callback
            ]

    def has(self, name: str) -> bool:
        """Whether any callback is registered for `name` (cheap; checked on the hot path)."""
        return bool(self._callbacks.get(name))

    def emit(self, name: str, *args: Any, event_type: str | None = None) -> None:
        """Call every callback of `name`; failures are logged, never raised."""
        for callback, types in self._callbacks.get(name, ()):
            if types is not None and event_type not in types:
                continue
            try:
                result = callback(*args)
                if result is not None and inspect.isawaitable(result):
                    self._schedule(name, callback, result)
            except Exception:
                log.exception("tracekit hook %s (%r) failed; recording continues", name, callback)

    def _schedule(self, name: str, callback: Hook, awaitable: Awaitable[Any]) -> None:
        coro = _as_coroutine(awaitable)
        try:
            if name in _SAVE_HOOKS:  # the writer's loop only runs during a save: use the background one
                raise RuntimeError("save hooks run on the background loop")
            loop = asyncio.get_running_loop()
        except RuntimeError:
            future = asyncio.run_coroutine_threadsafe(coro, _Background.loop())
            with self._lock:
                self._futures.add(future)
            future.add_done_callback(lambda f: self._settled(f, name, callback))
            return
        task = loop.create_task(coro)
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(lambda t: self._settled(t, name, callback))

    def _settled(self, done: asyncio.Task[Any] | concurrent.futures.Future[Any], name: str, cb: Hook) -> None:
        with self._lock:
            self._futures.discard(done)
            self._tasks.discard(done)
        if done.cancelled():
            return
        exc = done.exception()
        if exc is not None:
            log.error("tracekit async hook %s (%r) failed; recording continues", name, cb, exc_info=exc)

    def wait(self, timeout: float | None) -> bool:
        """Wait for async hooks running on the background loop; False if some outlived `timeout`."""
        with self._lock:
            pending = list(self._futures)
        if not pending:
            return True
        _done, not_done = concurrent.futures.wait(pending, timeout=timeout)
        return not not_done

    async def await_tasks(self) -> None:
        """Await the async hooks scheduled as tasks on the running loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            mine = [task for task in self._tasks if task.get_loop() is loop]
        if mine:
            await asyncio.wait(mine)


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable

"""An LMCAISEvent whose normalisation is deferred to its first use, off the caller's path.

`LLMCall.response` takes an immutable snapshot of the response (JSON text or a private copy) and
appends a `PendingLMCAISEvent` to the trace in its place. The first access of any kind (a field,
`__class__`, `==`, `repr`, `dataclasses`, copy, pickle, the encoder's walk), from any thread,
completes it under one lock: the event is built exactly as the eager path builds it, copied into
the pending instance slot by slot, and the instance becomes an ordinary `LMCAISEvent`
(`__class__` assignment: the subclass adds no slots, so the layouts match). From then on it is
indistinguishable from an eagerly recorded event. Until then the only state it holds is the
`Deferred` parked in its `call_records` slot, which no caller can see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from tracekit.model import LMCAISEvent

__all__ = ["Deferred", "PendingLMCAISEvent", "complete", "deferred_event", "pending_event"]

_LOCK = threading.RLock()
"""One lock for every completion: a completion runs once, whichever thread reads first (reentrant,
so that a log handler reading the event during its own completion cannot deadlock)."""
_BUILDING = object()
"""Parked in the slot while `build()` runs: a reentrant read does not start a second build."""

_SLOTS = tuple(
    cls.__dict__[name] for cls in LMCAISEvent.__mro__ for name in cls.__dict__.get("__slots__", ())
)
"""The member descriptors of every LMCAISEvent slot (its own and its bases')."""
_CALL_RECORDS = LMCAISEvent.__dict__["call_records"]
_SET_RECORDS = _CALL_RECORDS.__set__
_NEW = object.__new__
_SET_CLASS = object.__setattr__
_GET = object.__getattribute__


class Deferred:
    """The work parked in a pending event: `build()` returns the complete event and never raises
    (a traced call is its own: `LLMCall` subclasses this, so deferring it allocates nothing more)."""

    __slots__ = ()

    def build(self) -> LMCAISEvent:
        """The complete event (each kind of work says how)."""
        raise NotImplementedError


class _Deferred(Deferred):
    """A `build` function parked as the work of a pending event."""

    __slots__ = ("_build",)

    def __init__(self, build: Callable[[], LMCAISEvent]) -> None:
        self._build = build

    def build(self) -> LMCAISEvent:
        """What the parked function builds."""
        return self._build()


def complete(event: LMCAISEvent) -> None:
    """Complete `event` if it is still pending (no-op otherwise); safe from any thread."""
    if type(event) is not PendingLMCAISEvent:
        return
    with _LOCK:
        if type(event) is not PendingLMCAISEvent:
            return  # another thread completed it while this one waited
        deferred = _CALL_RECORDS.__get__(event, LMCAISEvent)
        if deferred is _BUILDING:
            return
        if isinstance(deferred, Deferred):
            _CALL_RECORDS.__set__(event, _BUILDING)
            try:
                done = deferred.build()
            except BaseException:  # build() never raises; an interrupt leaves the event pending
                _CALL_RECORDS.__set__(event, deferred)
                raise
            for slot in _SLOTS:
                slot.__set__(event, slot.__get__(done, LMCAISEvent))
        _SET_CLASS(event, "__class__", LMCAISEvent)


class PendingLMCAISEvent(LMCAISEvent):
    """An LMCAISEvent not normalised yet; any access completes it first (see the module doc)."""

    __slots__ = ()

    def __getattribute__(self, name: str) -> Any:
        complete(self)
        return _GET(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        complete(self)
        _SET_CLASS(self, name, value)

    def __delattr__(self, name: str) -> None:
        complete(self)
        object.__delattr__(self, name)

    def __reduce_ex__(self, protocol: Any) -> Any:
        complete(self)
        return LMCAISEvent.__reduce_ex__(self, protocol)

    # `type(event)` read before any access is this class: reading through it gives LMCAISEvents

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LMCAISEvent:  # type: ignore[override]
        """`LMCAISEvent.from_dict`: an ordinary event (nothing is pending in data read back)."""
        return LMCAISEvent.from_dict(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> LMCAISEvent:  # type: ignore[override]
        """`LMCAISEvent.from_json`: an ordinary event (nothing is pending in data read back)."""
        return LMCAISEvent.from_json(text)


def pending_event(build: Callable[[], LMCAISEvent]) -> LMCAISEvent:
    """A pending event completed by `build()` (which must never raise) at its first access."""
    return deferred_event(_Deferred(build))


def deferred_event(work: Deferred) -> LMCAISEvent:
    """A pending event completed by `work.build()` (which must never raise) at its first access."""
    event = _NEW(PendingLMCAISEvent)
    _SET_RECORDS(event, work)
    return event

"""A complete SDK response of a shape seen before, kept on the caller's path as a tuple of its values.

The deferred record of a complete response needs an immutable snapshot of it taken at the call.
The general one is the JSON text pydantic's serializer writes (`llm_call._SNAPSHOT_WRITERS`); right
after the SDK's own work that writer costs about three times what it costs on a hot object. Most
responses of one client repeat a few shapes (a text answer, a tool call), so the first response of
a shape teaches it: `helpers._shapes` generates, for that shape, a `take(obj)` that checks an object
has exactly that shape (its classes, the fields set at every level, no extras, the list lengths,
the type of every value) and returns its values in a tuple headed by `build`, which rebuilds the
dict `sdk_json` reads from it. Every value kept is immutable, so the tuple is a snapshot: changing
the response later cannot reach the record. A shape is installed only when its rebuild of the
response it was learnt from is, key order and types included, `sdk_json`'s read of that response;
the shapes are those `record_from_response` learns (`helpers/_response_read.py`).
"""

from __future__ import annotations

from typing import Any

from tracekit.helpers import _response_read
from tracekit.helpers._response_read import TAKERS

__all__ = ["TAKERS", "learn", "rebuild", "take"]

_TRIES = _response_read._TRIES
"""The shapes and tries are `record_from_response`'s (`helpers/_response_read.py`): one table per
class, so a shape learnt on either path serves both."""


def take(obj: Any) -> tuple[Any, ...] | None:
    """`obj`'s values as a tuple `rebuild` turns into `sdk_json(obj)`, or None when its shape was
    not learnt (the caller keeps the JSON-text snapshot instead)."""
    for taker in TAKERS.get(type(obj), ()):
        snap = taker(obj)
        if snap is not None:
            return snap
    return None


def rebuild(snap: tuple[Any, ...]) -> dict[str, Any]:
    """The dict `sdk_json` read from the response `snap` was taken from (a fresh one)."""
    data: dict[str, Any] = snap[0](snap)
    return data


def learn(obj: Any) -> None:
    """Learn the shape of `obj`, a response of a class whose snapshots may be deferred, unless its
    class has enough shapes or tries; never raises (a shape not learnt keeps the text snapshot)."""
    _response_read.learn(obj)

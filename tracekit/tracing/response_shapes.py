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
response it was learnt from is, key order and types included, `sdk_json`'s read of that response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tracekit.helpers import _shapes
from tracekit.helpers.sdk import sdk_json

__all__ = ["TAKERS", "learn", "rebuild", "take"]

Taker = Callable[[Any], "tuple[Any, ...] | None"]

TAKERS: dict[type, tuple[Taker, ...]] = {}
"""Per SDK response class: the shapes learnt so far, newest first (read on the hot path)."""
_TRIES: dict[type, int] = {}
"""Per class: how many shapes were tried, so that a class of ever-new shapes stops costing."""
_MAX_SHAPES: Final = 16
_MAX_TRIES: Final = 64


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
    kind = type(obj)
    tries = _TRIES.get(kind, 0)
    if tries >= _MAX_TRIES or len(TAKERS.get(kind, ())) >= _MAX_SHAPES:
        return
    _TRIES[kind] = tries + 1
    try:
        taker = _shapes._compile(obj)
        if taker is None:
            return
        snap = taker(obj)
        # repr tells 1 from 1.0 and True, and shows key order: the rebuild must be the read itself
        if snap is None or repr(rebuild(snap)) != repr(sdk_json(obj)):
            return
    except Exception:  # a shape that cannot be written: its responses keep the text snapshot
        return
    TAKERS[kind] = (taker, *TAKERS.get(kind, ()))

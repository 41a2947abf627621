"""A complete SDK response read through its learnt shape instead of its pydantic dump: the fast path
of `record_from_response` on SDK objects.

`sdk_json` dumps a response through pydantic (`model_dump` in JSON mode, then the helper fields
dropped), which costs more than normalising the dict it gives. Most responses of one client repeat a
few shapes, so the first response of a shape teaches it: `helpers._shapes` generates, for that
shape, a `take(obj)` that checks an object has exactly that shape (its classes, the fields set at
every level, no extras, the list lengths, the type of every value) and returns its values, and a
`build` that rebuilds from them the dict `sdk_json` gives. A shape is installed only when its
rebuild of the response it was learnt from is, key order and types included, `sdk_json`'s read of
that response; any other object (a new shape, dict values, extra fields) takes `sdk_json` itself
(`recorder.to_mapping`), which then teaches its shape. The call path's snapshots of responses
(`tracing/response_shapes.py`) use the same learnt shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from tracekit.helpers import _shapes
from tracekit.helpers.sdk import sdk_json

__all__ = ["TAKERS", "learn", "read"]

Taker = Callable[[Any], "tuple[Any, ...] | None"]

TAKERS: dict[type, tuple[Taker, ...]] = {}
"""Per SDK response class: the shapes learnt so far, newest first (read on the hot path)."""
_TRIES: dict[type, int] = {}
"""Per class: how many shapes were tried, so that a class of ever-new shapes stops costing."""
_MAX_SHAPES: Final = 16
_MAX_TRIES: Final = 64


def read(obj: Any) -> dict[str, Any] | None:
    """`sdk_json(obj)` (a fresh dict, equal key order and value types) when `obj` has a shape learnt
    before, else None (the caller takes the exact path)."""
    for taker in TAKERS.get(type(obj), ()):
        try:
            snap = taker(obj)
        except Exception:  # an attribute read that raised (a hostile object): the exact path decides
            return None
        if snap is not None:
            data: dict[str, Any] = snap[0](snap)
            return data
    return None


def learn(obj: Any, exact: dict[str, Any] | None = None) -> None:
    """Learn the shape of `obj`, an SDK response `sdk_json` reads as `exact` (read here when not
    given), unless its class has enough shapes or tries; never raises (a shape not learnt keeps the
    exact path)."""
    kind = type(obj)
    tries = _TRIES.get(kind, 0)
    if tries >= _MAX_TRIES or len(TAKERS.get(kind, ())) >= _MAX_SHAPES:
        return
    _TRIES[kind] = tries + 1
    try:
        if exact is None:
            exact = sdk_json(obj)
        taker = _shapes._compile(obj)
        if taker is None:
            return
        snap = taker(obj)
        # repr tells 1 from 1.0 and True, and shows key order: the rebuild must be the read itself
        if snap is None or repr(snap[0](snap)) != repr(exact):
            return
    except Exception:  # a shape that cannot be written: its responses keep the exact path
        return
    TAKERS[kind] = (taker, *TAKERS.get(kind, ()))

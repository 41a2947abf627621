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

`read_json` also writes the read's raw JSON text with one orjson call and none of the checks
`recorder._storable` makes on a dict of unknown content: the shape's take already checked every
value (exact str/bool/None, 64-bit ints, finite floats, models nested at most `_shapes._MAX_DEPTH`
deep under wire-name keys), so orjson's text is the standard library's unless a float is spelled
differently (checked only for shapes holding floats) or a string holds a lone surrogate (orjson
refuses it: the caller then takes the checked path).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson

from tracekit.helpers import _shapes
from tracekit.helpers._exact_json import spelled_alike
from tracekit.helpers.sdk import sdk_json

__all__ = ["TAKERS", "learn", "read", "read_json"]

Taker = Callable[[Any], "tuple[Any, ...] | None"]

TAKERS: dict[type, tuple[Taker, ...]] = {}
"""Per SDK response class: the shapes learnt so far, newest first (read on the hot path)."""
_TRIES: dict[type, int] = {}
"""Per class: how many shapes were tried, so that a class of ever-new shapes stops costing."""
_FLOATY: set[Any] = set()
"""The takers whose shape holds a float: only a float can make orjson's text differ from the
standard library's on a read (see `read_json`)."""
_ORJSON: Final = orjson.dumps
_MAX_SHAPES: Final = 16
_MAX_TRIES: Final = 64


def read(obj: Any) -> dict[str, Any] | None:
    """`sdk_json(obj)` (a fresh dict, equal key order and value types) when `obj` has a shape learnt
    before, else None (the caller takes the exact path)."""
    fast = read_json(obj)
    return None if fast is None else fast[0]


def read_json(obj: Any) -> tuple[dict[str, Any], str | None] | None:
    """`read(obj)` and its raw JSON text (`json_text`'s, see the module docstring), or None when
    `obj` has no shape learnt before; the text is None when only the checked path can write it."""
    for taker in TAKERS.get(type(obj), ()):
        try:
            snap = taker(obj)
        except Exception:  # an attribute read that raised (a hostile object): the exact path decides
            return None
        if snap is not None:
            data: dict[str, Any] = snap[0](snap)
            try:
                raw = _ORJSON(data)
            except TypeError:  # orjson.JSONEncodeError: a lone surrogate in a string
                return data, None
            if taker in _FLOATY and not spelled_alike(raw):
                return data, None
            return data, raw.decode("utf-8")
    return None


def _has_float(value: Any) -> bool:
    """Whether a float is anywhere in `value`, a read (dicts, lists and scalars)."""
    if type(value) is float:
        return True
    if type(value) is dict:
        return any(_has_float(item) for item in value.values())
    if type(value) is list:
        return any(_has_float(item) for item in value)
    return False


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
    # a take checks each value's exact type, so a shape's floats are where its first read had them
    if _has_float(exact):
        _FLOATY.add(taker)
    TAKERS[kind] = (taker, *TAKERS.get(kind, ()))

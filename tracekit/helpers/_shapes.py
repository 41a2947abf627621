"""SDK stream chunks of a shape seen before, snapshotted as a tuple of their values: the fast path
of `StreamRecorder.add`.

Nearly every chunk of a stream has the shape of the one before (a text delta: the same fields set,
the same nested models, one choice; only the text and a few ids differ). The first chunk of a
shape is read by `_snapshot.sdk_chunk`; from it two functions are generated for that shape, once
per process (as dataclasses generate their methods): `take(obj)` checks that an object has exactly
that shape (its class, the fields set and, where its dump writes extras, no extras at every level,
the list lengths, the type of every value (an int: the one-digit range first, the 64-bit bounds
past it), the constant parts: `None`s and the event `type`) and returns its values in a tuple,
headed by `build`; `build(values)` rebuilds the very dict `sdk_chunk` gives for it. The values
kept are immutable (str, bool, 64-bit int, finite float, enum values; google-genai bytes and
datetimes), so the tuple is a snapshot: changing the chunk later cannot reach the record. A chunk
of any other shape gets None and takes the exact path. A shape is installed only when its rebuild
of the chunk it was learnt from equals `sdk_chunk`'s read of that chunk, key order and types too.

Each chunk shape also gets a timed taker, `TIMED[take]`: `take_at(obj, at)` makes the same checks
plus the class check the lookup by class made, and returns `(build_at, at, *values)`, one tuple for
the recorder's pending list. A recorder tries the timed taker of its previous chunk's shape first.
"""

from __future__ import annotations

import base64
import inspect
import re
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any, Final

from tracekit.helpers._clean import INT64_MAX, INT64_MIN
from tracekit.helpers._snapshot import Field, int64_test, plan_of, tidy_top
from tracekit.helpers.sdk import DERIVED_EVENT_TYPES

__all__ = ["TAKERS", "TIMED", "learn", "promote"]

Taker = Callable[[Any], "tuple[Any, ...] | None"]
TimedTaker = Callable[[Any, Any], "tuple[Any, ...] | None"]

TAKERS: dict[type, tuple[Taker, ...]] = {}
"""Per SDK chunk class: the shapes learnt so far, most common first (read on the hot path)."""
TIMED: dict[Taker, TimedTaker] = {}
"""Per learnt chunk shape's `take`: its timed taker (see the module docstring)."""
_TRIES: dict[type, int] = {}
"""Per class: how many shapes were tried, so that a class of ever-new shapes stops costing."""
_MAX_SHAPES: Final = 16
_MAX_TRIES: Final = 64
_MAX_DEPTH: Final = 8
"""Deepest nesting taken (vendor chunks nest about six levels); deeper chunks take the exact path."""
_MAX_LIST: Final = 8
"""Longest list taken element by element (a chunk's choices, parts or content blocks)."""


_ENUM_VALUE: Final = inspect.getattr_static(Enum, "value")


class _GiveUp(Exception):
    """The chunk holds a value this module does not take; its shape is not learnt."""


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


class _Writer:
    """The source of one shape's `take` and `build`, written while walking the chunk it is learnt from."""

    def __init__(self, genai: bool) -> None:
        self.genai = genai
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"MIN": INT64_MIN, "MAX": INT64_MAX, "b64": _b64, "iso": _iso}
        self.leaves: list[str] = []
        self.count = 0

    def name(self, value: Any) -> str:
        self.count += 1
        key = f"K{self.count}"
        self.names[key] = value
        return key

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def leaf(self, var: str, wrap: str = "") -> str:
        """`var` kept in the tuple; the build reads it back (through `wrap`, when given)."""
        self.leaves.append(var)
        index = len(self.leaves)
        return f"{wrap}(\x00{index}\x00)" if wrap else f"\x00{index}\x00"

    def model(
        self, var: str, obj: Any, fields: tuple[Field, ...], depth: int, top: bool, extras: bool
    ) -> str:
        """Check the model in local `var`: its class, fields set and (for a class whose dump writes
        them, `extras`) extras, in one test; returns the build expression of its dump."""
        if depth > _MAX_DEPTH or (extras and obj.__pydantic_extra__):
            raise _GiveUp("deep or with extras")
        lines = self.lines
        is_set = obj.__pydantic_fields_set__
        kind = "" if top else f"type({var}) is not {self.name(type(obj))} or "
        # a class whose dump leaves extras out (google-genai's forbid them) is read without them,
        # as `_snapshot` reads it: one attribute read through pydantic's __getattr__ hook less a level
        extra = f" or {var}.__pydantic_extra__" if extras else ""
        is_set_name = self.name(frozenset(is_set))
        # the learnt set on the left: set equality walks the left operand's table and probes the
        # right's, so the chunk's own set (pydantic grows it to 32 slots at 5 fields) is probed once
        # per field rather than walked slot by slot, which read every cache line of it
        lines.append(f"    if {kind}{is_set_name} != {var}.__pydantic_fields_set__{extra}: return None")
        values_var = self.var()
        lines.append(f"    {values_var} = {var}.__dict__")
        values = obj.__dict__
        parts = []
        for name, wire, allowed in fields:
            if name in is_set:
                expr = self.value(
                    f"{values_var}[{name!r}]", values[name], allowed, depth, top and wire == "type"
                )
                parts.append(f"{wire!r}: {expr}")
        return "{" + ", ".join(parts) + "}"

    def value(self, src: str, x: Any, allowed: frozenset[type] | None, depth: int, constant: bool) -> str:
        """Check one field's value as `_snapshot`'s reader reads it; returns its build expression."""
        kind = type(x)
        lines = self.lines
        if x is None:
            lines.append(f"    if {src} is not None: return None")
            return "None"
        if src.isidentifier():  # a local already (a list item unpacked)
            var = src
        else:
            var = self.var()
            lines.append(f"    {var} = {src}")
        if kind is str:
            if constant:  # the event type: the derived-event check was made when the shape was learnt
                lines.append(f"    if type({var}) is not str or {var} != {self.name(x)}: return None")
                return repr(x)
            lines.append(f"    if type({var}) is not str: return None")
            return self.leaf(var)
        if kind is bool:
            lines.append(f"    if type({var}) is not bool: return None")
            return self.leaf(var)
        if kind is int and INT64_MIN <= x <= INT64_MAX:
            lines.append(f"    if type({var}) is not int or not {int64_test(var, x)}: return None")
            return self.leaf(var)
        if kind is float and x - x == 0.0:
            lines.append(f"    if type({var}) is not float or {var} - {var} != 0.0: return None")
            return self.leaf(var)
        if kind is list:
            if len(x) > _MAX_LIST:
                raise _GiveUp("long list")
            if not x:
                lines.append(f"    if type({var}) is not list or {var}: return None")
                return "[]"
            # unpacking checks the length (a ValueError, caught: None)
            names = [self.var() for _ in x]
            lines.append(f"    if type({var}) is not list: return None")
            lines.append(f"    {', '.join(names)}, = {var}")
            items = []
            for name, item in zip(names, x, strict=True):
                if type(item) is list:
                    raise _GiveUp("nested list")
                items.append(self.value(name, item, allowed, depth + 1, False))
            return "[" + ", ".join(items) + "]"
        if isinstance(x, Enum) and kind.__module__ != "builtins":
            inner = x.value
            if not (type(inner) is str or (type(inner) is int and INT64_MIN <= inner <= INT64_MAX)):
                raise _GiveUp("enum value")
            check = "str" if type(inner) is str else "int"
            # the member's own `_value_` is what Enum's `value` property returns, without the
            # property's call (a tenth of the cost); a class that redefines `value` is read through it
            read = "_value_" if inspect.getattr_static(kind, "value", None) is _ENUM_VALUE else "value"
            lines.append(f"    if type({var}) is not {self.name(kind)}: return None")
            lines.append(f"    {var} = {var}.{read}")
            lines.append(f"    if type({var}) is not {check}: return None")
            if check == "int":
                lines.append(f"    if not MIN <= {var} <= MAX: return None")
            return self.leaf(var)
        if self.genai and kind is bytes:
            lines.append(f"    if type({var}) is not bytes: return None")
            return self.leaf(var, "b64")
        if self.genai and kind is datetime:
            lines.append(f"    if type({var}) is not {self.name(datetime)}: return None")
            return self.leaf(var, "iso")
        plan = plan_of(kind) if hasattr(kind, "__pydantic_fields__") else None
        if plan is None or plan.genai != self.genai or (allowed is not None and kind not in allowed):
            raise _GiveUp(f"a {kind.__name__} value")
        return self.model(var, x, plan.fields, depth + 1, False, plan.extras)


def learn(obj: Any, read: dict[str, Any]) -> None:
    """Learn the shape of `obj`, an SDK chunk `sdk_chunk` just read as `read` (and that is no derived
    helper event), unless its class has enough shapes; never raises."""
    kind = type(obj)
    tries = _TRIES.get(kind, 0)
    if tries >= _MAX_TRIES or len(TAKERS.get(kind, ())) >= _MAX_SHAPES:
        return
    _TRIES[kind] = tries + 1
    try:
        compiled = _compile_both(obj)
        if compiled is None:
            return
        take, take_at = compiled
        snap = take(obj)
        timed = take_at(obj, 0.0)
        if snap is None or timed is None or repr(snap[0](snap)) != repr(read):
            return
        if repr(timed[0](timed)) != repr(read):
            return
    except Exception:  # a shape that cannot be written: its chunks keep the exact path
        return
    TIMED[take] = take_at
    TAKERS[kind] = (*TAKERS.get(kind, ()), take)


def promote(kind: type, take: Taker) -> None:
    """Put `take` first among its class's shapes: the shape of the chunk just taken is the likeliest
    for the next one (a stream's role chunk is followed by many text deltas)."""
    takers = TAKERS.get(kind, ())
    if take in takers:
        TAKERS[kind] = (take, *(other for other in takers if other is not take))


def _at_source(expr: str, offset: int) -> str:
    """A build expression with its leaf placeholders read from the tuple, `offset` slots in."""
    return re.sub("\x00([0-9]+)\x00", lambda m: f"t[{int(m[1]) + offset}]", expr)


def _compile(obj: Any) -> Taker | None:
    """The `take` of `obj`'s shape (see the module docstring), or None when it holds what is not taken."""
    compiled = _compile_both(obj)
    return None if compiled is None else compiled[0]


def _compile_both(obj: Any) -> tuple[Taker, TimedTaker] | None:
    plan = plan_of(type(obj))
    if plan is None:
        return None
    kind = obj.__dict__.get("type")
    if type(kind) is str and (kind in DERIVED_EVENT_TYPES or kind == "chunk"):
        return None
    writer = _Writer(plan.genai)
    try:
        expr = writer.model("obj", obj, plan.top_fields, 0, True, plan.extras)
    except _GiveUp:
        return None
    names = writer.names
    names["tidy"] = tidy_top
    names["K0"] = type(obj)
    leaves = "".join(var + ", " for var in writer.leaves)
    # every name a taker reads but `build` is a default argument: a local, the cheapest load
    read = [key for key in names if key.startswith("K") or key in ("MIN", "MAX")]
    given = ", ".join(f"{key}={key}" for key in ("type", "len", "list", "str", "int", "bool", "float", *read))
    body = ["    try:", *("    " + line for line in writer.lines)]
    caught = ["    except (KeyError, AttributeError, TypeError, ValueError):", "        return None"]
    source = "\n".join(
        [
            f"def build(t):\n    return tidy({_at_source(expr, 0)}, {plan.genai!r})",
            f"def build_raw(t):\n    return {_at_source(expr, 0)}",
            f"def build_at(t):\n    return tidy({_at_source(expr, 1)}, {plan.genai!r})",
            f"def build_at_raw(t):\n    return {_at_source(expr, 1)}",
            f"def take(obj, {given}):",
            *body,
            *caught,
            f"    return (build, {leaves})",
            f"def take_at(obj, at, {given}):",
            "    if type(obj) is not K0: return None",
            *body,
            *caught,
            f"    return (build_at, at, {leaves})",
        ]
    )
    # the source holds only field names and wire keys, each written with repr(), and names it defines
    exec(source, names)
    take: Taker = names["take"]
    snap = take(obj)
    if snap is not None:
        raw = names["build_raw"](snap)
        if repr(tidy_top(names["build_raw"](snap), plan.genai)) == repr(raw):
            # what tidy_top drops is fixed by the shape (its keys and event type): none here, so
            # the rebuilds skip it (the takers look their builds up when they run)
            names["build"] = names["build_raw"]
            names["build_at"] = names["build_at_raw"]
    take_at: TimedTaker = names["take_at"]
    return take, take_at

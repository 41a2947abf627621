"""Plain-dict stream chunks of a shape seen before, kept as a tuple of their leaf values: the fast
path of `StreamRecorder.add` for dicts (raw HTTP / SSE JSON, the recorded fixtures).

Most chunks of a stream have the shape of the one before (a text delta: the same keys in the same
order at every level, the same value types, one choice; only the text differs). The first chunk of
a shape is copied by `_snapshot.copy_json`; from it two functions are generated for that shape
(as `_shapes` does for SDK objects): `take(chunk)` checks that a dict has exactly that shape (the
keys and their order at every level, list lengths, the exact type of every value: str, bool, None,
64-bit int, finite float) and returns its leaf values in a tuple, headed by `build`;
`build(values)` rebuilds, in fresh containers, the very dict `copy_json` gives for it. The leaves
are immutable, so the tuple is a snapshot: changing the caller's dict later cannot reach the
record. A dict of any other shape gets None and takes the exact path. A shape is installed only when
its rebuild of the chunk it was learnt from equals `copy_json`'s copy of it (compared by repr: key
order, and 1 / 1.0 / True, all count).

Shapes are found by the chunk's top-level keys (a tuple, in order); the number of shapes per key,
of keys, and of shapes one stream may teach are capped, so ever-new shapes stop costing.

Each shape also gets a timed taker, `TIMED[take]`: `take_at(chunk, at)` makes the same checks plus
the ones the lookup made (a plain dict, its top-level keys in order, and no derived helper event in
its `type`) and returns `(build_at, at, *values)`, one tuple for the recorder's pending list. A
recorder tries the timed taker of its previous chunk's shape first, with no lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from tracekit.helpers._clean import INT64_MAX, INT64_MIN
from tracekit.helpers._snapshot import int64_test
from tracekit.helpers.sdk import DERIVED_EVENT_TYPES

__all__ = ["DICT_TAKERS", "TIMED", "forget", "learn_dict", "promote_dict"]

DictTaker = Callable[[dict[str, Any]], "tuple[Any, ...] | None"]
TimedTaker = Callable[[Any, Any], "tuple[Any, ...] | None"]

DICT_TAKERS: dict[tuple[str, ...], tuple[DictTaker, ...]] = {}
"""Per top-level key tuple: the shapes learnt so far, most recently used first (read on the hot path)."""
TIMED: dict[DictTaker, TimedTaker] = {}
"""Per learnt shape's `take`: its timed taker (see the module docstring)."""
_NOT_CHUNKS: Final = frozenset({*DERIVED_EVENT_TYPES, "chunk"})
"""`type` values of the SDK stream helpers' own events, which the recorder unwraps or skips."""
_TRIES: dict[tuple[str, ...], int] = {}
"""Per top-level key tuple: how many shapes were tried."""
_MAX_SHAPES: Final = 8
_MAX_TRIES: Final = 32
_MAX_KEYS: Final = 256
"""Most top-level key tuples kept: a process seeing ever-new chunk keys stops learning."""
PER_STREAM: Final = 8
"""Most shapes one stream tries to learn (`StreamRecorder` counts them)."""
_MAX_DEPTH: Final = 8
"""Deepest nesting taken (vendor chunks nest about six levels); deeper chunks take the exact path."""
_MAX_LIST: Final = 8
"""Longest list taken element by element (a chunk's choices, candidates or parts)."""
_MAX_LEAVES: Final = 64


class _GiveUp(Exception):
    """The chunk holds something this module does not take; its shape is not learnt."""


class _Writer:
    """The source of one shape's `take` and `build`, written while walking the dict it is learnt from."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.leaves: list[str] = []
        self.count = 0
        self.names: dict[str, Any] = {}
        self.top: dict[str, str] = {}
        """The top level's keys and the variables holding their values."""

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def name(self, value: Any) -> str:
        self.count += 1
        key = f"K{self.count}"
        self.names[key] = value
        return key

    def leaf(self, var: str) -> str:
        """`var` kept in the tuple; the build reads it back (a placeholder `_at_source` numbers)."""
        self.leaves.append(var)
        if len(self.leaves) > _MAX_LEAVES:
            raise _GiveUp("too many values")
        return f"\x00{len(self.leaves)}\x00"

    def mapping(self, var: str, value: dict[Any, Any], depth: int, top: bool, check: str = "") -> str:
        """Check a dict's keys in order (`check`: the test of its type that goes first, when the caller
        did not make it); returns its build expression."""
        if depth > _MAX_DEPTH:
            raise _GiveUp("nested too deep")
        keys = tuple(value)
        if any(type(key) is not str for key in keys):
            raise _GiveUp("a key that is not text")
        if not keys:
            if not top:
                self.lines.append(f"    if {check}{var}: return None")
            return "{}"
        names = [self.var() for _ in keys]
        if top:
            self.top = dict(zip(keys, names, strict=True))
        if check:
            self.lines.append(f"    if {check.removesuffix(' or ')}: return None")
        # the keys unpacked (one iterator; a dict of another length raises ValueError, caught) and
        # compared in order, then each value read by its own key: no tuple of keys, no values view
        # (the top level's keys were matched by the lookup too; `take_at` makes its only check here)
        found = [self.var() for _ in keys]
        self.lines.append(f"    {', '.join(found)}, = {var}")
        tests = " and ".join(f"{k} == {key!r}" for k, key in zip(found, keys, strict=True))
        self.lines.append(f"    if not ({tests}): return None")
        self.lines += [f"    {v} = {var}[{k}]" for v, k in zip(names, found, strict=True)]
        parts = [f"{key!r}: {self.value(v, value[key], depth)}" for key, v in zip(keys, names, strict=True)]
        return "{" + ", ".join(parts) + "}"

    def value(self, var: str, x: Any, depth: int) -> str:
        """Check one value's exact type as `copy_json` takes it; returns its build expression."""
        kind = type(x)
        lines = self.lines
        if x is None:
            lines.append(f"    if {var} is not None: return None")
            return "None"
        if kind is str or kind is bool:
            lines.append(f"    if type({var}) is not {kind.__name__}: return None")
            return self.leaf(var)
        if kind is int and INT64_MIN <= x <= INT64_MAX:
            lines.append(f"    if type({var}) is not int or not {int64_test(var, x)}: return None")
            return self.leaf(var)
        if kind is float and x - x == 0.0:
            lines.append(f"    if type({var}) is not float or {var} - {var} != 0.0: return None")
            return self.leaf(var)
        if kind is dict:
            return self.mapping(var, x, depth + 1, False, f"type({var}) is not dict or ")
        if kind is list:
            if len(x) > _MAX_LIST or depth >= _MAX_DEPTH:
                raise _GiveUp("long or deep list")
            if not x:
                lines.append(f"    if type({var}) is not list or {var}: return None")
                return "[]"
            # unpacking checks the length (a ValueError, caught: None)
            names = [self.var() for _ in x]
            lines.append(f"    if type({var}) is not list: return None")
            lines.append(f"    {', '.join(names)}, = {var}")
            return (
                "["
                + ", ".join(self.value(v, item, depth + 1) for v, item in zip(names, x, strict=True))
                + "]"
            )
        raise _GiveUp(f"a {kind.__name__} value")


def _at_source(expr: str, offset: int) -> str:
    """A build expression with its leaf placeholders read from the tuple, `offset` slots in."""
    return re.sub("\x00([0-9]+)\x00", lambda m: f"t[{int(m[1]) + offset}]", expr)


def _compile(chunk: dict[str, Any]) -> tuple[DictTaker, TimedTaker] | None:
    """The shape of `chunk`'s `take` and timed taker, or None when it holds what is not taken."""
    writer = _Writer()
    try:
        expr = writer.mapping("d", chunk, 0, True)
    except _GiveUp:
        return None
    names = writer.names
    derived: list[str] = []
    if type(chunk.get("type")) is str:  # the recorder's lookup path checked this before any shape
        names["NOT_CHUNKS"] = _NOT_CHUNKS
        derived.append(f"    if {writer.top['type']} in NOT_CHUNKS: return None")
    leaves = "".join(var + ", " for var in writer.leaves)
    body = ["    try:", *("    " + line for line in writer.lines)]
    # a list or dict of another length; a key whose hash changed since it was put in its dict
    body += ["    except (ValueError, KeyError):", "        return None"]
    # every name a taker reads is a default argument: a local, the cheapest load
    defaults = "type=type, tuple=tuple, len=len, str=str, int=int, float=float, bool=bool, list=list, "
    defaults += "dict=dict"
    given = "".join(f", {key}={key}" for key in names)
    source = "\n".join(
        [
            f"def build(t):\n    return {_at_source(expr, 0)}",
            f"def build_at(t):\n    return {_at_source(expr, 1)}",
            f"def take(d, {defaults}, build=build{given}):",
            *body,
            f"    return (build, {leaves})",
            f"def take_at(d, at, {defaults}, build=build_at{given}):",
            "    if type(d) is not dict: return None",
            *body,
            *derived,
            f"    return (build, at, {leaves})",
        ]
    )
    # the source holds only keys written with repr(), and names it defines
    exec(source, names)
    return names["take"], names["take_at"]


def learn_dict(keys: tuple[str, ...], chunk: dict[str, Any], copied: dict[str, Any]) -> bool:
    """Learn the shape of `chunk`, a dict whose top-level keys are `keys` and that `copy_json` just
    copied as `copied`, unless enough shapes are known; True when a shape was tried. Never raises."""
    tries = _TRIES.get(keys)
    if tries is None:
        if len(_TRIES) >= _MAX_KEYS:
            return False
        tries = 0
    if tries >= _MAX_TRIES or len(DICT_TAKERS.get(keys, ())) >= _MAX_SHAPES:
        return False
    _TRIES[keys] = tries + 1
    try:
        compiled = _compile(chunk)
        if compiled is None:
            return True
        take, take_at = compiled
        snap = take(chunk)
        timed = take_at(chunk, 0.0)
        if snap is None or timed is None or repr(snap[0](snap)) != repr(copied):
            return True
        if repr(timed[0](timed)) != repr(copied):
            return True
    except Exception:  # a shape that cannot be written: its chunks keep the exact path
        return True
    TIMED[take] = take_at
    DICT_TAKERS[keys] = (take, *DICT_TAKERS.get(keys, ()))
    return True


def promote_dict(keys: tuple[str, ...], take: DictTaker) -> None:
    """Put `take` first among the shapes of its keys: the next chunk likely has the shape just taken."""
    takers = DICT_TAKERS.get(keys, ())
    if take in takers:
        DICT_TAKERS[keys] = (take, *(other for other in takers if other is not take))


def forget() -> None:
    """Drop every shape learnt (tests start from a known state with it)."""
    DICT_TAKERS.clear()
    TIMED.clear()
    _TRIES.clear()

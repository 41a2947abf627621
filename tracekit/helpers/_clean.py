"""Vendor values made storable before they reach a record: what JSON cannot hold exactly is
replaced, and each replacement is named so the recorder can report it in `record.error`.

Replaced: non-finite floats (NaN, Infinity) by their JSON-ish text; integers outside SQLite's
64-bit range by their decimal text; values nested deeper than `MAX_DEPTH` by None; anything that
is not a JSON value (a set, an arbitrary object, a key with no text of its own) by its short repr;
a key of a str subclass or an enum member with a text value is kept as that text. SDK values
with an exact JSON form (enum members, bytes, datetimes, pydantic models) are converted silently,
as the SDK's own JSON mode would. `clean` copies only what it changes, so a clean payload costs one
walk and no allocation.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from typing import Any, Final

from tracekit.helpers.sdk import json_ready

__all__ = ["INT64_MAX", "INT64_MIN", "MAX_DEPTH", "clean", "is_clean", "short_repr"]

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1
MAX_DEPTH: Final = 64
"""Deepest nesting kept inside a free-form value (vendor payloads nest about ten levels)."""

_NESTED: Final = MAX_DEPTH - 1
"""is_clean(value, depth) looks into a child container only while depth < _NESTED, so it accepts
exactly the nesting `clean` keeps (containers at depth 0 .. MAX_DEPTH - 1)."""

_repr = reprlib.Repr()
_repr.maxlevel = 3
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 60


def short_repr(value: Any) -> str:
    """A bounded repr (depth and length limited): safe for any value, however deep or large."""
    try:
        return _repr.repr(value)[:120]
    except Exception:  # a user object whose __repr__ fails must not break recording
        return f"<{type(value).__name__}>"


def is_clean(value: Any, depth: int = 0) -> bool:
    """Whether every value inside a dict/list is a JSON value JSON holds exactly (the fast check:
    no copy, one pass). Anything but a dict or list is not clean. Hot path: one dict of a stream
    per chunk, so dicts recurse but the lists inside them are walked in the same frame."""
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                return False
            kind = type(item)
            if kind is str or item is None or kind is bool:
                continue
            if kind is int:
                if INT64_MIN <= item <= INT64_MAX:
                    continue
                return False
            if kind is float:
                if item - item == 0.0:
                    continue
                return False
            if kind is dict:
                if depth < _NESTED and is_clean(item, depth + 1):
                    continue
                return False
            if kind is list and depth < _NESTED:
                for element in item:
                    kind = type(element)
                    if kind is dict:
                        if depth + 1 < _NESTED and is_clean(element, depth + 2):
                            continue
                        return False
                    if kind is str or element is None or kind is bool:
                        continue
                    if kind is int:
                        if INT64_MIN <= element <= INT64_MAX:
                            continue
                        return False
                    if kind is float:
                        if element - element == 0.0:
                            continue
                        return False
                    if kind is list and depth + 1 < _NESTED and is_clean(element, depth + 2):
                        continue
                    return False
                continue
            return False
        return True
    if type(value) is not list:
        return False
    for item in value:
        kind = type(item)
        if kind is str or item is None or kind is bool:
            continue
        if kind is int:
            if INT64_MIN <= item <= INT64_MAX:
                continue
            return False
        if kind is float:
            if item - item == 0.0:
                continue
            return False
        if (kind is dict or kind is list) and depth < _NESTED and is_clean(item, depth + 1):
            continue
        return False
    return True


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python converts by default
        return f"<integer of {value.bit_length()} bits>"


def clean(value: Any, path: str, notes: list[dict[str, Any]], depth: int = 0) -> Any:
    """`value` with every value JSON cannot hold exactly replaced; each replacement is appended to
    `notes` as {"path", "value", "replaced_by"}. Returns `value` itself when nothing changed."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        text = _int_text(value)
        notes.append({"path": path, "value": text[:80], "replaced_by": "text (outside 64-bit integers)"})
        return text
    if kind is float:
        if value - value == 0.0:
            return value
        text = _float_text(value)
        notes.append({"path": path, "value": text, "replaced_by": "text (not a finite number)"})
        return text
    if kind is dict or kind is list or isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            notes.append(
                {"path": path, "value": short_repr(value), "replaced_by": f"null (nested over {MAX_DEPTH})"}
            )
            return None
        if isinstance(value, Mapping):
            return _clean_mapping(value, path, notes, depth)
        return _clean_list(value, path, notes, depth)
    converted = json_ready(value)
    if converted is not value:
        return clean(converted, path, notes, depth)
    text = short_repr(value)
    notes.append({"path": path, "value": text, "replaced_by": "text (not a JSON value)"})
    return text


def _key_text(key: Any, mapping: Mapping[Any, Any], out: dict[str, Any] | None) -> str | None:
    """A non-str key's exact JSON text (a str subclass's own text, an enum member's text value),
    or None when it has none or another key of `mapping` already stands for that text."""
    if isinstance(key, str):
        text: Any = str.__str__(key)  # no other key of the mapping equals it: it would be this key
    else:
        text = json_ready(key)
        if type(text) is not str or text in mapping:
            return None
    if out is not None and text in out:
        return None
    return str(text)


def _clean_mapping(value: Mapping[Any, Any], path: str, notes: list[dict[str, Any]], depth: int) -> Any:
    out: dict[str, Any] | None = None if type(value) is dict else {}
    for position, (key, item) in enumerate(value.items()):
        if type(key) is str:
            name = key
        elif (text := _key_text(key, value, out)) is not None:
            name = text  # a str subclass or an enum member: its text, silently, as SDK JSON writes it
        else:
            name = short_repr(key)
            notes.append({"path": f"{path}.{name}", "value": name, "replaced_by": "text key"})
        new = clean(item, f"{path}.{name}", notes, depth + 1)
        if out is None and (new is not item or name is not key):
            out = dict(list(value.items())[:position])
        if out is not None:
            out[name] = new
    return value if out is None else out


def _clean_list(value: Any, path: str, notes: list[dict[str, Any]], depth: int) -> Any:
    out: list[Any] | None = None if type(value) is list else []
    for i, item in enumerate(value):
        new = clean(item, f"{path}[{i}]", notes, depth + 1)
        if out is None and new is not item:
            out = list(value[:i])
        if out is not None:
            out.append(new)
    return value if out is None else out

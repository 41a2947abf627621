"""Paths into parsed JSON documents, shared by the two fuzzers (tests/helpers/fuzzing.py for vendor
payloads, tests/codec_fuzzing.py for records): where a mutation can land, and the slot it lands in."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path in `value` (dict keys and list indexes), the root's empty path first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


def slot(doc: Any, path: tuple[Any, ...]) -> tuple[Any, Any] | None:
    """(container, key) of the non-empty `path` in `doc`, or None when it no longer exists there
    (an earlier mutation removed or replaced part of it)."""
    parent = doc
    for step in path[:-1]:
        try:
            parent = parent[step]
        except (KeyError, IndexError, TypeError):
            return None
    last = path[-1]
    if isinstance(parent, dict):
        return (parent, last) if last in parent else None
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        return parent, last
    return None

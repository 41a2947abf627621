"""What the recorder's shape fast paths keep for a chunk, shared by the SDK and dict shape tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Snap = tuple[Any, ...]


def first_taken(takes: Iterable[Callable[[Any], Snap | None]], chunk: Any) -> Snap | None:
    """The snapshot of the first learnt shape in `takes` that takes `chunk` (None: none does)."""
    for take in takes:
        snap = take(chunk)
        if snap is not None:
            return snap
    return None


def rebuilt(snap: Snap) -> Any:
    """The value a snapshot stands for, rebuilt by the function heading it."""
    build: Callable[[Snap], Any] = snap[0]
    return build(snap)

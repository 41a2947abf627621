"""Checks for the store's query arguments (filters, ids to look up).

A wrong-typed or unstorable argument is refused at once with an InvalidArgumentError naming the
argument, its value and the fix, instead of failing inside the database with an error that blames
the URL, leaking a ValueError, or silently matching nothing (`model=5`, `session_ids="abc"`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from tracekit.errors import InvalidArgumentError
from tracekit.model import is_valid_unicode

__all__ = ["aware_time", "duration", "file_path", "flag", "real", "scalar_map", "text", "texts", "whole"]


def text(value: Any, name: str, *, optional: bool = True) -> str | None:
    """`value` as plain text (None where it may be absent): a str holding no lone surrogate."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        expected = "a str or None" if optional else "a str"
        raise InvalidArgumentError(f"{name} must be {expected}, got {type(value).__name__} {value!r:.60}")
    if not is_valid_unicode(value):
        raise InvalidArgumentError(
            f"{name} {value!r:.60} holds a lone UTF-16 surrogate, which no stored text holds; "
            "join the surrogate pair or drop it"
        )
    return str.__str__(value)  # a str subclass (an enum member) compares as its text


def texts(value: Any, name: str) -> tuple[str, ...] | None:
    """An iterable of ids as a tuple of texts (None stays None); a lone str is refused, not split
    into characters, and a dict, not read as its keys."""
    if value is None:
        return None
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise InvalidArgumentError(
            f"{name} must be a list or tuple of str, got {type(value).__name__} {value!r:.60}; "
            f"pass [{value!r:.40}] for a single id"
        )
    return tuple(text(item, f"{name}[{index}]", optional=False) or "" for index, item in enumerate(value))


def aware_time(value: Any, name: str) -> datetime | None:
    """An aware datetime (stored times are UTC, so a naive one would be ambiguous)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise InvalidArgumentError(
            f"{name} must be a datetime or None, got {type(value).__name__} {value!r:.60}; "
            "pass datetime.fromisoformat(...) with a time zone"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgumentError(f"{name} {value!r} is naive; stored times are UTC: pass tzinfo=UTC")
    return value


def real(value: Any, name: str) -> float | None:
    """A finite number (int or float, not bool) as a float."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            f"{name} must be a number or None, got {type(value).__name__} {value!r:.60}"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidArgumentError(
            f"{name} must be a finite number, got {value!r:.60}; pass a float within range"
        )
    return number


def flag(value: Any, name: str) -> bool | None:
    """True, False or None: a truthy string such as "no" would otherwise mean yes."""
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgumentError(
        f"{name} must be True, False or None, got {type(value).__name__} {value!r:.60}"
    )


def scalar_map(value: Any, name: str) -> Mapping[str, Any] | None:
    """A mapping of text keys to JSON scalars (str, int, finite float, bool, None)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(
            f"{name} must be a dict of str to JSON scalars, got {type(value).__name__} {value!r:.60}"
        )
    for key, item in value.items():
        text(key, f"{name} key", optional=False)
        path = f"{name}[{key!r}]"
        if isinstance(item, str):
            text(item, path)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidArgumentError(
                f"{path} must be finite, got {item!r}; stored metadata holds no NaN or inf"
            )
        elif item is not None and not isinstance(item, int | float | bool):
            raise InvalidArgumentError(
                f"{path} must be a str, int, float, bool or None, got {type(item).__name__} {item!r:.60}; "
                "query nested values with execute()"
            )
    return value


def whole(value: Any, name: str, *, minimum: int, maximum: int = 2**63 - 1) -> int:
    """An int (not bool) from `minimum` to `maximum` (by default what SQLite binds)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidArgumentError(f"{name} must be an int from {minimum} to {maximum}, got {value!r:.60}")
    return value


def duration(value: Any, name: str) -> float:
    """A finite number of seconds, at least 0."""
    seconds = real(value, name)
    if seconds is None or seconds < 0:
        raise InvalidArgumentError(f"{name} must be a finite number of seconds >= 0, got {value!r:.60}")
    return seconds


def file_path(value: Any, name: str = "file path") -> Path:
    """A file path argument as a Path; anything but a str / os.PathLike the file system can name
    (no lone surrogate, no NUL) is an InvalidArgumentError naming `name`."""
    if not isinstance(value, str | os.PathLike):
        raise InvalidArgumentError(f"{name} must be a str or os.PathLike, got {value!r:.80}")
    path = Path(value)
    try:
        encoded = os.fsencode(path)
    except UnicodeEncodeError:
        encoded = b"\x00"
    if b"\x00" in encoded:
        raise InvalidArgumentError(
            f"{name} {str(path)!r:.80} holds a character no file name can hold (a lone surrogate or NUL); "
            "pass a valid path"
        )
    return path

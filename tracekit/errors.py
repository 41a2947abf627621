"""Every error tracekit raises, under one root.

    TracekitError
    ├── InvalidDataError (ValueError)          from_dict/from_json got a malformed value
    ├── SerializationError (ValueError)        to_dict/to_json/save met a value that would not read back equal
    ├── UnsupportedPayloadError (ValueError)   a vendor payload or chunk of no known shape
    ├── PricingError (ValueError)              a malformed price table or price override
    ├── InvalidArgumentError (ValueError)      an argument outside what a function accepts
    ├── RecordingError                         strict mode: the live-recording path hit a problem
    ├── NoActiveSessionError (RuntimeError)    a tracer's record_* / timestep() with no session open
    └── StoreError                             anything the store could not do (keeps libsql's code)
        ├── StoreConnectionError (ConnectionError)   server unreachable or timed out
        ├── StoreAuthError (PermissionError)         the server refused the credentials
        ├── SchemaVersionError                       database schema newer than this tracekit
        ├── NotFoundError (LookupError)              no such session / experiment
        └── ServerStartError (RuntimeError)          a local sqld could not be found or started

Leaves also subclass the builtin they resemble, so `except ValueError` keeps working.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any


class TracekitError(Exception):
    """Root of every error tracekit raises."""


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad value: where it is (a dotted path), what is wrong, and the value itself."""

    path: str
    message: str
    value: Any


class InvalidDataError(TracekitError, ValueError):
    """A dict or JSON document does not describe a valid record; `problems` lists each bad field."""

    def __init__(self, type_name: str, problems: list[FieldProblem]) -> None:
        self.type_name = type_name
        self.problems = problems
        lines = [f"  {p.path or '<root>'}: {p.message} (got {_short(p.value)})" for p in problems[:10]]
        if len(problems) > 10:
            lines.append(f"  ... and {len(problems) - 10} more")
        super().__init__(
            f"invalid {type_name}: {len(problems)} problem(s)\n" + "\n".join(lines) + "\n"
            "Fix the listed fields; to_dict() of a valid record shows the expected shape."
        )


class SerializationError(TracekitError, ValueError):
    """A value cannot be written so that it reads back equal (NaN, a naive datetime, a str in an
    int field, ...); `path` is the dotted field path from the record written, `value` the value."""

    def __init__(self, message: str, *, path: str | None = None, value: Any = None) -> None:
        self.path = path
        self.value = value
        super().__init__(message)


class UnsupportedPayloadError(TracekitError, ValueError):
    """A vendor response or stream chunk whose shape tracekit does not recognise."""


class PricingError(TracekitError, ValueError):
    """A price table, price file or price override that is malformed."""


class InvalidArgumentError(TracekitError, ValueError):
    """A function got an argument value it does not accept (e.g. an unknown `by` for aggregate)."""


class RecordingError(TracekitError):
    """Raised instead of logged when recording a live call fails and strict mode is on."""


class NoActiveSessionError(TracekitError, RuntimeError):
    """SessionTracer.record_* or timestep() was called where none of that tracer's sessions is active."""


class StoreError(TracekitError):
    """The store could not do what was asked; `code` is libsql's error code when it gave one."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(message if code is None else f"{message} [libsql code {code}]")


class StoreConnectionError(StoreError, ConnectionError):
    """The database server could not be reached, or did not answer in time."""


class StoreAuthError(StoreError, PermissionError):
    """The database server refused the credentials (the token itself is never shown)."""


class SchemaVersionError(StoreError):
    """The database was written by a newer tracekit whose schema this one does not know."""


class NotFoundError(StoreError, LookupError):
    """The requested session, experiment or record does not exist."""


class ServerStartError(StoreError, RuntimeError):
    """A local sqld binary could not be found, started, or did not become healthy."""


_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel = 6


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except RecursionError:  # nested thousands deep: show the first levels only
        text = _SHALLOW.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

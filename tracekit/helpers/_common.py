"""Readers every vendor normaliser shares: type checks that name the bad field, streamed-text
joining, tool-argument parsing, the `error` dict of a malformed field, and the request scrub
that keeps SDK transport options (credentials) out of every record."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tracekit.helpers._clean import is_clean
from tracekit.helpers.base import PayloadProblem

__all__ = [
    "TRANSPORT_KEYS",
    "as_mapping",
    "compact_json",
    "join_text",
    "parse_arguments",
    "problem_dict",
    "scrub_transport",
]


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    """`value` if it is an object, else PayloadProblem naming `path`."""
    if type(value) is dict or isinstance(value, Mapping):
        return value
    raise PayloadProblem(path, "expected an object", value)


def problem_dict(problem: PayloadProblem, prefix: str = "") -> dict[str, Any]:
    """The record's `error` for a field that was present but unreadable."""
    return {"type": "malformed_payload", "path": prefix + problem.path, "message": str(problem)}


def join_text(pieces: list[str]) -> str:
    """Deltas joined into one text. A character outside the BMP split between two JSON deltas
    arrives as two lone surrogates; they are paired up again (any left unpaired become U+FFFD),
    so the text can be encoded and stored."""
    text = "".join(pieces)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"non-finite number {token}")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"number {token} overflows a float")
    return value


def _int64(token: str) -> int:
    value = int(token)
    if not -(2**63) <= value <= 2**63 - 1:
        raise ValueError(f"integer {token[:30]} is outside 64-bit integers")
    return value


def parse_arguments(text: str) -> Any:
    """Tool-call arguments parsed from JSON, or None when empty or not valid JSON (never raises).
    Non-finite numbers (NaN, Infinity, 1e999), integers outside 64 bits and nesting deeper than
    Python parses count as invalid: a record holding them could not be stored (the text stays in
    `arguments_json`)."""
    if not text:
        return None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float, parse_int=_int64)
    except (ValueError, RecursionError):
        return None
    if type(value) in (dict, list) and not is_clean(value):
        return None  # nested deeper than a record keeps
    return value


def compact_json(value: Any, path: str) -> str:
    """Compact JSON text of `value`, key order kept; PayloadProblem if JSON cannot hold it."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadProblem(path, f"not JSON-serialisable ({exc})", value) from None


#: SDK call options that are not part of the request body; headers may carry credentials, so
#: none of them is ever parsed or stored (top level, or inside a google-genai `config`).
TRANSPORT_KEYS = frozenset(
    {"extra_headers", "extra_query", "timeout", "headers", "api_key", "http_options", "httpOptions"}
)


def scrub_transport(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request without SDK transport options (a copy only when something is removed).
    Every path from a user's request to a record goes through this."""
    cleaned: dict[str, Any] | None = None
    for key, value in request.items():
        if key in TRANSPORT_KEYS or (key == "config" and isinstance(value, Mapping)):
            if cleaned is None:
                cleaned = dict(request)
            if key in TRANSPORT_KEYS:
                del cleaned[key]
            else:
                cleaned[key] = {k: v for k, v in value.items() if k not in TRANSPORT_KEYS}
    return request if cleaned is None else cleaned

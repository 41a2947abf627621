"""Readers every vendor normaliser shares: type checks that name the bad field, streamed-text
joining, tool-argument parsing, and the `error` dict of a malformed field."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from tracekit.helpers.base import PayloadProblem

__all__ = ["as_mapping", "compact_json", "join_text", "parse_arguments", "problem_dict"]


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


def parse_arguments(text: str) -> Any:
    """Tool-call arguments parsed from JSON, or None when empty or not valid JSON (never raises).
    Non-finite numbers (NaN, Infinity, 1e999) count as invalid: a record holding them could not
    be stored."""
    if not text:
        return None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError:
        return None


def compact_json(value: Any, path: str) -> str:
    """Compact JSON text of `value`, key order kept; PayloadProblem if JSON cannot hold it."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PayloadProblem(path, f"not JSON-serialisable ({exc})", value) from None

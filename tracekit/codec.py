"""Exact dict/JSON round trip for every model type.

Writing (`to_dict`, `to_json`) is a plain walk over the dataclasses: datetimes become ISO-8601 UTC
text with fixed microsecond width (so stored text sorts), events carry their `event_type`, and
anything JSON cannot hold exactly (NaN/inf, naive datetimes, tuples, sets, non-string keys,
datetimes inside free-form metadata) is refused with a SerializationError naming where it is.

Reading (`from_dict`, `from_json`) validates through pydantic TypeAdapters over the dataclasses;
every problem is reported in one InvalidDataError with its field path and bad value.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from tracekit import model
from tracekit.errors import FieldProblem, InvalidDataError, SerializationError

__all__ = ["format_datetime", "from_dict", "from_json", "to_dict", "to_json"]

T = TypeVar("T")


def format_datetime(value: datetime) -> str:
    """ISO-8601 UTC text with microseconds, e.g. '2026-01-02T03:04:05.000006+00:00'."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise SerializationError(
            f"naive datetime {value!r}: tracekit stores aware UTC times; pass tzinfo=UTC"
        )
    return value.astimezone(UTC).isoformat(timespec="microseconds")


# ---------------------------------------------------------------------------------------------
# Writing


class _PathError(Exception):
    """Internal: carries the failing path up the walk so the final message names it."""

    def __init__(self, message: str, path: list[str]) -> None:
        self.message = message
        self.path = path


_NO_DEFAULT: Any = object()
_EMPTY_FACTORIES: dict[Any, Any] = {list: [], dict: {}}

#: per class: (field name, holds free-form JSON, default value or _NO_DEFAULT)
_FIELD_PLANS: dict[type, tuple[tuple[str, bool, Any], ...]] = {}


def _field_plan(cls: type) -> tuple[tuple[str, bool, Any], ...]:
    """How to write each field of a model dataclass (cached per class)."""
    plan = _FIELD_PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        plan = tuple(
            (f.name, _mentions_any(hints[f.name]), _plain_default(f)) for f in dataclasses.fields(cls)
        )
        _FIELD_PLANS[cls] = plan
    return plan


def _plain_default(f: dataclasses.Field[Any]) -> Any:
    """The field's default when it is a constant or an empty list/dict (what compact JSON may omit)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return _EMPTY_FACTORIES.get(f.default_factory, _NO_DEFAULT)


def _mentions_any(hint: Any) -> bool:
    if hint is Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(hint) if not isinstance(arg, str))


def _encode(value: Any, free_json: bool, compact: bool) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is float:
        if math.isfinite(value):
            return value
        raise _PathError(f"non-finite float {value!r} cannot be stored; use None for 'unknown'", [])
    if isinstance(value, list):
        if not value:
            return []
        out = []
        for i, item in enumerate(value):
            try:
                out.append(_encode(item, free_json, compact))
            except _PathError as exc:
                exc.path.append(str(i))
                raise
        return out
    if isinstance(value, dict):
        if not value:
            return {}
        encoded = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _PathError(f"dict key {key!r} is not a string; JSON keys must be strings", [])
            try:
                encoded[key] = _encode(item, free_json, compact)
            except _PathError as exc:
                exc.path.append(key)
                raise
        return encoded
    if isinstance(value, model._Record) and not free_json:
        return _encode_record(value, compact)
    if isinstance(value, datetime) and not free_json:
        try:
            return format_datetime(value)
        except SerializationError as exc:
            raise _PathError(str(exc), []) from None
    raise _PathError(
        f"{kind.__name__} value {value!r} cannot round-trip through JSON; "
        "free-form fields (metadata, raw payloads) take str, int, float, bool, None, list and dict",
        [],
    )


def _encode_record(obj: model._Record, compact: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, model.BaseEvent):
        out["event_type"] = obj.event_type
    for name, free_json, default in _field_plan(type(obj)):
        value = getattr(obj, name)
        if compact and default is not _NO_DEFAULT and type(value) is type(default) and value == default:
            continue
        kind = type(value)
        if value is None or kind is str or kind is int or kind is bool:
            out[name] = value  # the common case, inlined: most fields are unset or scalar
            continue
        try:
            out[name] = _encode(value, free_json, compact)
        except _PathError as exc:
            exc.path.append(name)
            raise
    return out


def _encode_top(obj: model._Record, compact: bool) -> dict[str, Any]:
    try:
        return _encode_record(obj, compact)
    except _PathError as exc:
        path = ".".join(reversed(exc.path))
        raise SerializationError(f"{type(obj).__name__}.{path}: {exc.message}") from None


def to_dict(obj: model._Record) -> dict[str, Any]:
    """A JSON-ready dict of any model object with every field present (None = not reported);
    raises SerializationError naming the field that JSON cannot hold exactly."""
    return _encode_top(obj, compact=False)


def to_json(obj: model._Record) -> str:
    """Compact JSON text: fields still at their defaults (None, empty lists, ...) are left out and
    `from_json` restores them, so the round trip stays exact at a fraction of the size.

    The text always encodes to UTF-8: a lone UTF-16 surrogate (half an emoji split across stream
    chunks) is written as a \\u escape, which reads back to the same string.
    """
    text = json.dumps(
        _encode_top(obj, compact=True), ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Surrogates only occur inside JSON strings, where "\\udXXX" is the escape JSON itself uses.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# ---------------------------------------------------------------------------------------------
# Reading


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type[T]) -> TypeAdapter[T]:
    """The TypeAdapter for `cls`, cached until an event type is registered (which changes unions)."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


model._registry_listeners.append(_ADAPTERS.clear)


def _target_class(cls: type[T], data: Mapping[str, Any]) -> type[T]:
    """For events, the registered class named by `event_type` (checked against `cls`)."""
    if not (isinstance(cls, type) and issubclass(cls, model.BaseEvent)):
        return cls
    tag = data.get("event_type", cls.event_type)
    registry = model.event_types()
    target = registry.get(tag) if isinstance(tag, str) else None
    if target is None:
        known = ", ".join(sorted(registry))
        raise InvalidDataError(
            cls.__name__,
            [FieldProblem("event_type", f"unknown event_type; registered: {known}", tag)],
        )
    if not issubclass(target, cls):
        raise InvalidDataError(
            cls.__name__,
            [FieldProblem("event_type", f"names {target.__name__}, not a {cls.__name__}", tag)],
        )
    return typing.cast(type[T], target)


def _problems(exc: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(".".join(str(part) for part in err["loc"]), err["msg"], err.get("input"))
        for err in exc.errors(include_url=False)
    ]


def _validate(cls: type[T], data: Any) -> T:
    if not isinstance(data, Mapping):
        raise InvalidDataError(
            getattr(cls, "__name__", str(cls)),
            [FieldProblem("", "expected a JSON object (dict)", data)],
        )
    target = _target_class(cls, data)
    try:
        return _adapter(target).validate_python(data)
    except ValidationError as exc:
        raise InvalidDataError(target.__name__, _problems(exc)) from None


def _find_non_finite(value: Any, path: list[str]) -> FieldProblem | None:
    if type(value) is float and not math.isfinite(value):
        return FieldProblem(".".join(path), "non-finite float is not allowed", value)
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        problem = _find_non_finite(item, [*path, str(key)])
        if problem is not None:
            return problem
    return None


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Validate a dict (as `to_dict` makes, or hand-written) into `cls`; raises InvalidDataError."""
    problem = _find_non_finite(data, [])
    if problem is not None:
        raise InvalidDataError(getattr(cls, "__name__", str(cls)), [problem])
    return _validate(cls, data)


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite number {token} is not allowed in tracekit JSON")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"number {token} overflows a float")
    return value


def from_json(cls: type[T], text: str | bytes) -> T:
    """Parse JSON text (NaN/Infinity refused) and validate it into `cls`; raises InvalidDataError."""
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except ValueError as exc:
        name = getattr(cls, "__name__", str(cls))
        raise InvalidDataError(name, [FieldProblem("", f"not valid JSON: {exc}", _head(text))]) from None
    return _validate(cls, data)


def _head(text: str | bytes, limit: int = 60) -> str | bytes:
    return text if len(text) <= limit else text[:limit]

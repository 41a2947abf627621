"""The write half of the codec: check and encode a record in one walk.

Each record class gets a plan compiled once from its type hints (the hints pydantic builds the
read side from): per field, exactly which Python values it takes. Writing walks the object with
the plan and refuses, naming the field path, the value and the fix, anything the read side would
not give back equal: a str, bool or float in an int field; an int beyond 64 bits in an int field
(the store's integer columns) or one without an exact float value in a float field; a bool or
numeric string in a float field; NaN/inf; a naive or out-of-range datetime; an unknown literal;
None inside a list; a record of another class; an event class that is not the one registered
for its event_type; free-form values JSON cannot hold exactly (tuples, sets, non-string keys,
datetimes); nesting deeper than MAX_DEPTH; lone surrogates in KeyText.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Union

from pydantic.functional_validators import AfterValidator

from tracekit import model
from tracekit.codec import encoder_gen
from tracekit.errors import SerializationError

__all__ = ["INT64_MAX", "INT64_MIN", "MAX_DEPTH", "encode", "format_datetime", "text_data"]

MAX_DEPTH = 100
"""How many lists/dicts a free-form value (metadata, raw payloads, tool arguments) may nest."""

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_FREE_FORM = (
    "free-form fields (metadata, raw payloads, arguments) take str, int, float, bool, None, list and dict"
)


def format_datetime(value: datetime) -> str:
    """ISO-8601 UTC text with microseconds, e.g. '2026-01-02T03:04:05.000006+00:00'."""
    text = _utc_text(value)
    if isinstance(text, str):
        return text
    problem, fix = text
    raise SerializationError(f"{problem}; {fix}", value=value)


def _utc_text(value: datetime) -> str | tuple[str, str]:
    """The stored text of an aware datetime, or (problem, fix) when it has none."""
    if value.tzinfo is None or value.utcoffset() is None:
        return f"naive datetime {value!r}", "tracekit stores aware UTC times: pass tzinfo=UTC"
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        return (
            f"datetime {value!r} falls outside years 1-9999 once converted to UTC",
            "pass a time within range",
        )
    return utc.isoformat(timespec="microseconds")


class _PathError(Exception):
    """A refusal travelling up the walk, collecting the field path on the way."""

    def __init__(self, problem: str, value: Any, fix: str) -> None:
        self.problem = problem
        self.value = value
        self.fix = fix
        self.path: list[str] = []


class _Walk:
    """One write: leave defaults out (compact) or not, optionally remember each encoded record,
    whether compact records go through their generated writers (encoder_gen.py), and whether
    those are the writers for orjson's text (`text`: see `encode`). `unsure`: a text writer left a
    field to the walk, so orjson's text must be screened for floats it spells otherwise."""

    __slots__ = ("compact", "fast", "memo", "text", "unsure")

    def __init__(
        self, compact: bool, memo: dict[int, dict[str, Any]] | None, fast: bool = True, text: bool = False
    ) -> None:
        self.compact = compact
        self.memo = memo
        self.fast = fast and compact
        self.text = text and self.fast
        self.unsure = False


_Check = Callable[[Any, _Walk], Any]


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _segment(key: str) -> str:
    """A dict key as a path segment (repr when it holds a lone surrogate, so messages stay printable)."""
    return key if model.is_valid_unicode(key) else repr(key)


def _wrong(expected: str, value: Any, fix: str) -> _PathError:
    return _PathError(f"expected {expected}, got {type(value).__name__} {_short(value)}", value, fix)


# ---------------------------------------------------------------------------------------------
# Leaf checks: each returns the JSON value or raises _PathError


def _check_str(value: Any, walk: _Walk) -> Any:
    if type(value) is str:
        return value
    raise _wrong("str", value, "pass a str (other values are not converted for you)")


def _lone_surrogate(value: str) -> _PathError:
    return _PathError(
        f"{_short(value)} holds a lone UTF-16 surrogate",
        value,
        "ids, names and top-level metadata keys are stored in query columns and must be valid "
        "Unicode: join the surrogate pair or drop it",
    )


def _check_key_text(value: Any, walk: _Walk) -> Any:
    if type(value) is str:
        if model.is_valid_unicode(value):
            return value
        raise _lone_surrogate(value)
    raise _wrong("str", value, "pass a str (other values are not converted for you)")


def _check_bool(value: Any, walk: _Walk) -> Any:
    if type(value) is bool:
        return value
    raise _wrong("bool", value, "pass True or False")


def _check_int(value: Any, walk: _Walk) -> Any:
    if type(value) is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        raise _PathError(
            f"int {value} does not fit 64 bits",
            value,
            "keep integers within ±2**63, or store the number as a str",
        )
    raise _wrong("int", value, "pass an int (a bool, float or numeric str is not converted for you)")


def _check_float(value: Any, walk: _Walk) -> Any:
    kind = type(value)
    if kind is float:
        if math.isfinite(value):
            return value
        raise _PathError(
            f"non-finite float {value!r} cannot be stored",
            value,
            "use None for 'not reported', or a finite float",
        )
    if kind is int:
        if not INT64_MIN <= value <= INT64_MAX:
            raise _PathError(f"int {value} does not fit 64 bits", value, "pass a float")
        if float(value) != value:
            raise _PathError(f"int {value} has no exact float value", value, "pass a float")
        return value  # reads back as the equal float
    raise _wrong("float", value, "pass a float or an int (a bool or numeric str is not converted for you)")


def _check_datetime(value: Any, walk: _Walk) -> Any:
    if type(value) is datetime:
        text = _utc_text(value)
        if isinstance(text, str):
            return text
        raise _PathError(text[0], value, text[1])
    raise _wrong(
        "an aware datetime",
        value,
        "pass an aware datetime, e.g. datetime.now(UTC) (epoch seconds are converted only in TimeRecord)",
    )


def _encode_json(value: Any, depth: int) -> Any:
    """A free-form value, checked: only what JSON gives back exactly."""
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value  # any int: JSON text holds it exactly (typed int fields are the 64-bit ones)
    if kind is float:
        if math.isfinite(value):
            return value
        raise _PathError(f"non-finite float {value!r} cannot be stored", value, "use None, or a finite float")
    if kind is list or kind is dict:
        if depth >= MAX_DEPTH:
            raise _PathError(
                f"lists/dicts nested deeper than {MAX_DEPTH} levels",
                value,
                "flatten the value, or store it as a JSON string",
            )
        if kind is list:
            out_list = []
            for index, item in enumerate(value):
                try:
                    out_list.append(_encode_json(item, depth + 1))
                except _PathError as exc:
                    exc.path.append(str(index))
                    raise
            return out_list
        return _encode_json_dict(value, depth, _encode_json)
    raise _PathError(
        f"{kind.__name__} value {_short(value)} cannot round-trip through JSON", value, _FREE_FORM
    )


def _encode_json_dict(value: dict[Any, Any], depth: int, encode_value: Callable[[Any, int], Any]) -> Any:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            raise _PathError(
                f"dict key {_short(key)} is not a string",
                key,
                "JSON keys must be strings: convert it with str()",
            )
        try:
            out[key] = encode_value(item, depth + 1)
        except _PathError as exc:
            exc.path.append(_segment(key))
            raise
    return out


def _check_any(value: Any, walk: _Walk) -> Any:
    return _encode_json(value, 0)


# ---------------------------------------------------------------------------------------------
# Composite checks, built per field


def _literal_check(allowed: tuple[Any, ...]) -> _Check:
    pairs = {(type(v), v) for v in allowed}
    listing = ", ".join(repr(v) for v in allowed)

    def check(value: Any, walk: _Walk) -> Any:
        try:
            if (type(value), value) in pairs:
                return value
        except TypeError:  # unhashable value: certainly not one of them
            pass
        raise _PathError(f"{_short(value)} is not one of {listing}", value, f"use one of {listing}")

    return check


def _optional_check(inner: _Check) -> _Check:
    def check(value: Any, walk: _Walk) -> Any:
        return None if value is None else inner(value, walk)

    return check


def _union_check(choices: list[_Check], names: str) -> _Check:
    def check(value: Any, walk: _Walk) -> Any:
        for choice in choices:
            try:
                return choice(value, walk)
            except _PathError:
                continue
        raise _wrong(names, value, f"pass a {names}")

    return check


def _list_check(item_check: _Check, item_record: type | None) -> _Check:
    if item_record is not None:
        return _record_list_check(item_record, item_check)

    def check(value: Any, walk: _Walk) -> Any:
        if type(value) is not list:
            raise _wrong("list", value, "pass a list (a tuple, set or generator would come back as a list)")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(item_check(item, walk))
            except _PathError as exc:
                exc.path.append(str(index))
                raise
        return out

    return check


def _record_list_check(cls: type, item_check: _Check) -> _Check:
    """A list of records of exactly `cls` (the common case inlined; anything else goes to `item_check`)."""

    def check(value: Any, walk: _Walk) -> Any:
        if type(value) is not list:
            raise _wrong("list", value, "pass a list (a tuple, set or generator would come back as a list)")
        out = []
        for index, item in enumerate(value):
            try:
                out.append(_encode_record(item, walk) if type(item) is cls else item_check(item, walk))
            except _PathError as exc:
                exc.path.append(str(index))
                raise
        return out

    return check


def _dict_check(key_text: bool, value_check: _Check | None) -> _Check:
    """dict[str, X]; `value_check` None means free-form JSON values."""

    def check(value: Any, walk: _Walk) -> Any:
        if type(value) is not dict:
            raise _wrong("dict", value, "pass a dict with str keys")
        if key_text:
            for key in value:
                if type(key) is str and not model.is_valid_unicode(key):
                    exc = _lone_surrogate(key)
                    exc.path.append(_segment(key))
                    raise exc
        if value_check is None:
            return _encode_json_dict(value, 0, _encode_json)
        typed = value_check
        return _encode_json_dict(value, 0, lambda item, _depth: typed(item, walk))

    return check


def _record_check(cls: type[model._Record]) -> _Check:
    def check(value: Any, walk: _Walk) -> Any:
        if type(value) is cls:
            return _encode_record(value, walk)
        raise _wrong(
            cls.__name__,
            value,
            f"pass a {cls.__name__} (a record of another class or a subclass would not read back equal)",
        )

    return check


_EVENT_WRITERS: dict[type, Callable[[Any, _Walk], dict[str, Any]]] = {}
_TEXT_EVENT_WRITERS: dict[type, Callable[[Any, _Walk], dict[str, Any]]] = {}
_REGISTRY_CHANGES = [0]


def _registry_changed() -> None:
    """Forget which event classes were found registered: an event_type may now name another class."""
    _REGISTRY_CHANGES[0] += 1
    _EVENT_WRITERS.clear()
    _TEXT_EVENT_WRITERS.clear()


model._registry_listeners.append(_registry_changed)


def _check_event(value: Any, walk: _Walk) -> Any:
    """An event, checked to be of the class registered for its event_type, and encoded. The
    generated writers call the writer of an event class this has found registered directly
    (`_EVENT_WRITERS`, emptied whenever a class is registered)."""
    changes = _REGISTRY_CHANGES[0]
    if not isinstance(value, model.BaseEvent):
        raise _wrong("an event", value, "pass an instance of a registered BaseEvent subclass")
    cls = value.__class__  # not type(): reading it completes an event recorded lazily (tracing/pending)
    registered = model.registered_event_class(cls.event_type)
    if registered is not cls:
        fix = (
            f"give {cls.__qualname__} its own `event_type: ClassVar[str] = '...'` and decorate it with "
            "@tracekit.register_event_type"
        )
        if registered is None:
            raise _PathError(
                f"event_type {cls.event_type!r} of {cls.__qualname__} is not registered", value, fix
            )
        raise _PathError(
            f"{cls.__qualname__} is not the class registered for event_type {cls.event_type!r} "
            f"({registered.__qualname__}): it would read back as {registered.__qualname__} "
            "without its own fields",
            value,
            fix,
        )
    if walk.fast and type(value) is cls:
        writers = _TEXT_EVENT_WRITERS if walk.text else _EVENT_WRITERS
        writers[cls] = writer = _writer(cls, walk.text)
        if _REGISTRY_CHANGES[0] != changes:  # registered meanwhile: the check above may be stale
            writers.pop(cls, None)
        return writer(value, walk)
    return _encode_record(value, walk)


# ---------------------------------------------------------------------------------------------
# Plans


class _Unsupported(Exception):
    """A field type the codec cannot promise to give back equal."""


class _Field(typing.NamedTuple):
    """A compiled field type: the check of a present value, whether None is allowed, the type
    accepted as is (fast path), and the record class encoded directly (if any)."""

    check: _Check
    nullable: bool = False
    fast: type = type(None)
    record: type = type(None)

    def item_check(self) -> _Check:
        """The check for this type inside a container, None included when allowed."""
        return _optional_check(self.check) if self.nullable else self.check


def _compile(hint: Any) -> _Field:
    """How to check one field type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        base, *extras = args
        if any(isinstance(extra, model._EventField) for extra in extras):
            return _Field(_check_event)
        if base is str and any(
            isinstance(extra, AfterValidator) and extra.func is model._valid_unicode for extra in extras
        ):
            return _Field(_check_key_text)
        return _compile(base)
    if origin is Union or origin is types.UnionType:
        rest = [arg for arg in args if arg is not type(None)]
        nullable = len(rest) < len(args)
        if len(rest) == 1:
            return _compile(rest[0])._replace(nullable=nullable)
        checks = [_compile(arg).item_check() for arg in rest]
        return _Field(_union_check(checks, " or ".join(_describe(arg) for arg in rest)), nullable)
    simple = _SIMPLE.get(hint)
    if simple is not None:
        return simple
    if origin is Literal:
        return _Field(_literal_check(args))
    if origin is list and len(args) == 1:
        item = _compile(args[0])
        record = None if item.nullable or item.record is type(None) else item.record
        return _Field(_list_check(item.item_check(), record))
    if origin is dict and len(args) == 2:
        key_check = _compile(args[0]).check
        if key_check not in (_check_str, _check_key_text) or _compile(args[0]).nullable:
            raise _Unsupported(hint)
        value_check = None if args[1] is Any else _compile(args[1]).item_check()
        return _Field(_dict_check(key_check is _check_key_text, value_check))
    if isinstance(hint, type) and issubclass(hint, model._Record) and dataclasses.is_dataclass(hint):
        return _Field(_record_check(hint), record=hint)
    raise _Unsupported(hint)


_SIMPLE: dict[Any, _Field] = {
    Any: _Field(_check_any, nullable=True),
    str: _Field(_check_str, fast=str),
    bool: _Field(_check_bool, fast=bool),
    int: _Field(_check_int),
    float: _Field(_check_float),
    datetime: _Field(_check_datetime),
}


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


_NO_DEFAULT: Any = object()
_EMPTY_FACTORIES: dict[Any, Any] = {list: [], dict: {}}


class _Never:
    """A type no value has (the default type of a field compact JSON never leaves out)."""


@dataclasses.dataclass(slots=True, frozen=True)
class _Plan:
    """How to write one record class: its event_type (events only) and per field (name, fast type,
    record class, nullable, check, default that compact JSON may leave out, and that default's type)."""

    event_type: str | None
    row: bool
    """Whether a memo remembers this class's encoded objects (the records the store keeps as rows)."""
    fields: tuple[tuple[str, type, type, bool, _Check, Any, type], ...]


_PLANS: dict[type, _Plan] = {}
_ROW_TYPES = (
    model.SessionTrace,
    model.SessionTimeStep,
    model.BaseEvent,
    model.SessionEventMarkovBlanketMessage,
    model.LLMCallRecord,
)


def _plan(cls: type) -> _Plan:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _build_plan(cls)
    return plan


def _build_plan(cls: type) -> _Plan:
    try:
        hints = encoder_gen.type_hints(cls)
    except Exception as exc:  # any failure to resolve annotations (NameError, TypeError, ...)
        raise SerializationError(
            f"cannot resolve the field types of {cls.__qualname__} ({exc}); define the class at module "
            "level with importable annotations"
        ) from None
    fields = []
    for f in dataclasses.fields(cls):
        try:
            compiled = _compile(hints[f.name])
        except _Unsupported as exc:
            raise SerializationError(
                f"{cls.__qualname__}.{f.name}: field type {exc} cannot be written so that it reads back "
                "equal; use str, int, float, bool, datetime, Literal, list, dict[str, ...], Any or a "
                "tracekit record"
            ) from None
        default = _plain_default(f)
        default_type = _Never if default is _NO_DEFAULT or default is None else type(default)
        fields.append(
            (f.name, compiled.fast, compiled.record, compiled.nullable, compiled.check, default, default_type)
        )
    event_type = cls.event_type if issubclass(cls, model.BaseEvent) else None
    return _Plan(event_type, issubclass(cls, _ROW_TYPES), tuple(fields))


def _plain_default(f: dataclasses.Field[Any]) -> Any:
    """The field's default when it is a constant or an empty list/dict (what compact JSON may omit)."""
    if f.default is not dataclasses.MISSING:
        return f.default
    return _EMPTY_FACTORIES.get(f.default_factory, _NO_DEFAULT)


def _encode_record(obj: Any, walk: _Walk) -> dict[str, Any]:
    if walk.fast:
        writer = (_TEXT_WRITERS if walk.text else _WRITERS).get(type(obj))
        if writer is None:
            writer = _writer(type(obj), walk.text)
        return writer(obj, walk)
    return _walk_record(obj, walk)


_Writer = Callable[[Any, _Walk], dict[str, Any]]
_WRITERS: dict[type, _Writer] = {}
_TEXT_WRITERS: dict[type, _Writer] = {}
_PENDING: dict[tuple[type, bool], _Writer] = {}
_BUILD_LOCK = threading.RLock()


def _writer(cls: type, text: bool = False) -> _Writer:
    """The generated compact writer of `cls` (built on first use under a lock, then cached);
    `text`: the one for orjson's text (see `encode`)."""
    writers = _TEXT_WRITERS if text else _WRITERS
    writer = writers.get(cls)
    if writer is not None:
        return writer
    with _BUILD_LOCK:
        writer = writers.get(cls) or _PENDING.get((cls, text))
        if writer is not None:  # built meanwhile, or a class nested in itself being built here
            return writer
        holder: list[_Writer] = []

        def late(obj: Any, walk: _Walk) -> dict[str, Any]:  # called only once `holder` is filled
            return holder[0](obj, walk)

        _PENDING[cls, text] = late
        try:
            source, names = encoder_gen.compact_source(
                cls,
                _plan_parts,
                {
                    "_slow": _slow_text if text else _slow_field,
                    "_event": _check_event,
                    "_events": _TEXT_EVENT_WRITERS if text else _EVENT_WRITERS,
                    "_PathError": _PathError,
                    "_MAX": MAX_DEPTH,
                },
                lambda record: _writer(record, text),
                _NO_DEFAULT,
                text,
            )
            exec(compile(source, f"<tracekit writer of {cls.__qualname__}>", "exec"), names)
            built: _Writer = names["write"]
        finally:
            del _PENDING[cls, text]
        holder.append(built)
        writers[cls] = built
        return built


def _plan_parts(cls: type) -> tuple[tuple[tuple[Any, ...], ...], str | None, bool]:
    """What a generated writer needs of `cls`'s plan: its fields, event_type and whether it is a row."""
    plan = _plan(cls)
    return plan.fields, plan.event_type, plan.row


def _slow_field(out: dict[str, Any], field: tuple[Any, ...], value: Any, walk: _Walk) -> None:
    """The walk's code for one field of a compact write (what a generated writer falls back to)."""
    name, _fast, record, nullable, check, default, default_type = field
    if value is None:
        if not nullable:
            exc = _PathError(
                "None is not allowed here", None, "this field has no 'not reported' value: give one"
            )
            exc.path.append(name)
            raise exc
        if default is not None:
            out[name] = None
        return
    kind = type(value)
    if kind is default_type and value == default and (kind is not float or repr(value) == repr(default)):
        return
    try:
        out[name] = _encode_record(value, walk) if kind is record else check(value, walk)
    except _PathError as exc:
        exc.path.append(name)
        raise


def _slow_text(out: dict[str, Any], field: tuple[Any, ...], value: Any, walk: _Walk) -> None:
    """`_slow_field` for the writers of orjson's text: the value may hold a float below 1e-4
    (which orjson spells otherwise), so the text is marked for the screen."""
    walk.unsure = True
    _slow_field(out, field, value, walk)


def _walk_record(obj: Any, walk: _Walk) -> dict[str, Any]:
    """The walk over one record, field by field (to_dict, and the reference for the writers)."""
    plan = _plan(type(obj))
    memo = walk.memo if plan.row else None
    if memo is not None:
        seen = memo.get(id(obj))
        if seen is not None:
            return seen
    out: dict[str, Any] = {}
    if plan.event_type is not None:
        out["event_type"] = plan.event_type
    compact = walk.compact
    for name, fast, record, nullable, check, default, default_type in plan.fields:
        value = getattr(obj, name)
        if value is None:
            if not nullable:
                exc = _PathError(
                    "None is not allowed here", None, "this field has no 'not reported' value: give one"
                )
                exc.path.append(name)
                raise exc
            if not compact or default is not None:
                out[name] = None
            continue
        kind = type(value)
        if (
            compact
            and kind is default_type
            and value == default
            and (kind is not float or repr(value) == repr(default))  # -0.0 is not 0.0 here
        ):
            continue
        # The common cases inlined (a call per field is most of the cost): plain str and bool
        # fields, ids and names in ASCII, ints within 64 bits, finite floats.
        if kind is fast:
            out[name] = value
            continue
        if kind is str:
            if check is _check_key_text and value.isascii():
                out[name] = value
                continue
        elif kind is int:
            if check is _check_int and INT64_MIN <= value <= INT64_MAX:
                out[name] = value
                continue
        elif kind is float and check is _check_float and value - value == 0.0:  # finite
            out[name] = value
            continue
        try:  # free unless something is refused (zero-cost exceptions)
            out[name] = _encode_record(value, walk) if kind is record else check(value, walk)
        except _PathError as exc:
            exc.path.append(name)
            raise
    if memo is not None:
        memo[id(obj)] = out
    return out


def text_data(obj: Any) -> tuple[dict[str, Any], bool] | None:
    """`encode(obj, compact=True, memo={}, text=True)` with no checks around it, and whether its
    text must be screened for floats orjson spells otherwise (a field was left to the walk); None
    when it refuses something or `obj` is not a record: the caller then encodes again without
    `text`, which reports the problem with its path."""
    if not isinstance(obj, model._Record):
        return None
    walk = _Walk(True, {}, True, True)
    try:
        if isinstance(obj, model.BaseEvent):
            data: dict[str, Any] = _check_event(obj, walk)
        else:
            writer = _TEXT_WRITERS.get(type(obj)) or _writer(type(obj), True)
            data = writer(obj, walk)
    except (_PathError, SerializationError):  # SerializationError: a class no writer can be built for
        return None
    return data, walk.unsure


def encode(
    obj: Any,
    *,
    compact: bool,
    memo: dict[int, dict[str, Any]] | None = None,
    root: str | None = None,
    fast: bool = True,
    text: bool = False,
) -> dict[str, Any]:
    """`obj` as a JSON-ready dict, checked all the way down; SerializationError names the field
    path (from `root`, default the class name), the value and the fix. `compact` leaves out fields
    at their defaults; `memo` (id -> dict) collects every encoded trace, timestep, event, message
    and call record (the records the store keeps as rows) and encodes a shared one once.
    Compact writes go through generated writers (encoder_gen.py) and share free-form lists and
    dicts with `obj` instead of copying them; `fast=False` takes the field-by-field walk for every
    record (the reference the writers are tested and benchmarked against).

    `text=True` (compact only) is for orjson's text alone: aware UTC datetimes with a non-zero
    microsecond stay datetime objects (orjson writes the text `format_datetime` gives) and KeyText
    is not checked for lone surrogates (orjson refuses them): a caller whose orjson write fails
    must encode again without `text`."""
    if not isinstance(obj, model._Record):
        raise SerializationError(
            f"expected a tracekit record, got {type(obj).__name__} {_short(obj)}; "
            "pass a record such as a SessionTrace",
            value=obj,
        )
    walk = _Walk(compact, memo, fast, text)
    try:
        if isinstance(obj, model.BaseEvent):
            data: dict[str, Any] = _check_event(obj, walk)
        else:
            data = _encode_record(obj, walk)
    except _PathError as exc:
        path = ".".join(reversed(exc.path))
        name = root or type(obj).__name__
        where = f"{name}.{path}" if path else name
        raise SerializationError(f"{where}: {exc.problem}; {exc.fix}", path=path, value=exc.value) from None
    return data

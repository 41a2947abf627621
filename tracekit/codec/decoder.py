"""The fast read half of the codec: parsed JSON data -> records, one function per class.

Each record class gets two decoders, generated once from its type hints (the hints pydantic
builds the full validation from) as straight-line Python:
- checked, for foreign text (`from_json`, on orjson's parse: its strings hold no lone
  surrogate): accepts only values whose reading is certain (exact JSON types, datetimes in the
  fixed-width UTC form tracekit writes, known literals, no unknown keys) and builds exactly what
  the full validation builds; anything else raises `Decline`, and the caller re-runs the full
  validation, which reports the problem with its field path;
- trusted, for rows tracekit wrote itself (the store's reads): no check at all, only what turns
  JSON back into the record (nested records, events by `event_type`, datetimes, ints written
  for float fields back to floats). Any failure there also falls back to the full validation.

tracekit's own mutable classes are built slot by slot (object.__new__, one store per field, no
__init__ or __post_init__ call: the values are already what they would keep); frozen and
user-defined classes through their constructor.

Reads of tracekit's own mutable classes (trusted, and checked ones: `from_json` mostly reads
what tracekit wrote) also learn the dicts' shapes: the tuple of a dict's keys, in the order
tracekit wrote them. Once a shape has been seen `SHAPE_AFTER` times it gets a decoder of its
own: it unpacks the dict's values straight into the slots (checked ones: into locals, each
tested as the per-field decoder tests it), stores the absent fields' defaults as constants, and
converts only the fields that need it (nested records, datetimes, ints of float fields). Rows
tracekit wrote come in a few shapes, so a bulk read (the store's `iter_call_records`) runs these
almost always; a key no field has or a missing required field gives a shape that declines,
exactly as the per-field decoder does. Checked decoders parse each canonical datetime text once
(`_DATES`, bounded).

A class whose field types the generator does not know (a user event with an exotic field) gets
no decoder: reading it always takes the full validation.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Union

from pydantic.functional_validators import AfterValidator

from tracekit import model

__all__ = ["SHAPE_AFTER", "SHAPE_LIMIT", "Decline", "decode_event", "decoder", "shape_table"]

Decoder = Callable[[Any], Any]


class Decline(Exception):
    """The fast path cannot vouch for this input: use the full validation."""


class _Unknown(Exception):
    """A field type the generator does not handle (the class gets no decoder)."""


_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00").fullmatch
"""The datetime text tracekit writes (`encoder.format_datetime`); any other form is fully validated."""

_DATES: dict[str, datetime] = {}
"""Datetimes already read by checked decoders during one read, by their canonical text (a call's
times recur in its trace: its event's time is its start; datetimes are immutable, so one object
serves every place). Emptied at each read's start (`forget_dates`): a text read again by a later read
is parsed again, so the speed of reading one document is measured, not a cache's."""

_DATES_LIMIT = 4096
"""Texts kept in _DATES before it starts over (bounded memory however many distinct times)."""


def forget_dates() -> None:
    """Start a read: no datetime parsed by an earlier read is reused (see _DATES)."""
    _DATES.clear()


def _checked_datetime(text: Any) -> datetime:
    """The datetime of canonical UTC `text` (as `encoder.format_datetime` writes it), parsed once
    per text; any other value or form raises Decline (the full validation then reads it)."""
    if type(text) is not str or _CANONICAL(text) is None:
        raise Decline
    value = datetime.fromisoformat(text)
    if len(_DATES) >= _DATES_LIMIT:
        _DATES.clear()
    _DATES[text] = value
    return value


_DECODERS: dict[tuple[type, bool], Decoder | None] = {}
_BUILDING: set[tuple[type, bool]] = set()
_BUILD_LOCK = threading.RLock()


def decoder(cls: type, trusted: bool) -> Decoder | None:
    """The decoder of `cls` (checked or trusted), or None when its field types are not all known."""
    key = (cls, trusted)
    try:
        return _DECODERS[key]
    except KeyError:
        pass
    with _BUILD_LOCK:  # one thread builds (others wait), so _BUILDING is this thread's
        if key in _DECODERS:
            return _DECODERS[key]
        built = _build(cls, trusted)
        if built is not None and _built_directly(cls):
            table = _Shapes(cls, built, trusted)
            (_TABLES if trusted else _CHECKED_TABLES)[cls] = table
            built = table.dispatch
        _DECODERS[key] = built
        return built


SHAPE_AFTER = 16
"""Sightings of a dict shape before it gets a decoder of its own: a shape decoder takes a few
hundred microseconds to generate and saves a few microseconds a dict, so only repeated shapes
earn one (a one-off read of a few records keeps the per-field decoder)."""

SHAPE_LIMIT = 256
"""Shape decoders kept per class; shapes past it keep the per-field decoder (memory stays bounded
however varied the rows)."""

_TABLES: dict[type, _Shapes] = {}
"""Each class's shape table for trusted reads (tracekit's own mutable classes)."""

_CHECKED_TABLES: dict[type, _Shapes] = {}
"""Each class's shape table for checked reads (`from_json`): foreign text, but mostly tracekit's
own writing, so it comes in a few shapes too."""

_SEEN_LIMIT = 4096
"""Shapes counted per class before the counts start over (bounds the memory foreign rows can take)."""


class _Shapes(dict[Any, Decoder]):
    """One class's shape decoders, by the tuple of a dict's keys; a shape not in the table is
    counted and read by the per-field decoder until it has been seen SHAPE_AFTER times."""

    def __init__(self, cls: type, generic: Decoder, trusted: bool) -> None:
        super().__init__()
        self.cls = cls
        self.generic = generic
        self.trusted = trusted
        self.seen: dict[Any, int] = {}
        table = self

        if trusted:

            def dispatch(d: Any) -> Any:
                return table[tuple(d)](d)

        else:  # foreign data: only a dict has a shape

            def dispatch(d: Any) -> Any:
                if type(d) is not dict:
                    raise Decline
                return table[tuple(d)](d)

        self.dispatch: Decoder = dispatch

    def __missing__(self, keys: Any) -> Decoder:
        seen = self.seen
        count = seen.get(keys, 0) + 1
        if count < SHAPE_AFTER or len(self) >= SHAPE_LIMIT:
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[keys] = count
            return self.generic
        with _BUILD_LOCK:
            built = self.get(keys)
            if built is None:
                built = self[keys] = _shape_decoder(self.cls, keys, self.trusted) or _declined
                seen.pop(keys, None)
        return built


def shape_table(cls: type) -> Mapping[Any, Decoder] | None:
    """`cls`'s trusted shape decoders by key tuple (`table[tuple(d)](d)` is `decoder(cls, True)(d)`),
    or None for a class read another way (frozen, user-defined, or without a decoder)."""
    decoder(cls, True)
    return _TABLES.get(cls)


def _declined(d: Any) -> Any:
    """The decoder of a shape no dict tracekit writes has (an unknown key, a required field missing)."""
    raise Decline


def decode_event(data: Any, trusted: bool) -> Any:
    """An event dict as the registered class its `event_type` names ("base" when absent)."""
    if not trusted and type(data) is not dict:
        raise Decline
    tag = data.get("event_type", "base")
    target = model.registered_event_class(tag) if type(tag) is str else None
    if target is None:
        raise Decline
    decode = decoder(target, trusted)
    if decode is None:
        raise Decline
    return decode(data)


class _Gen:
    """The names one class's decoder refers to."""

    def __init__(self, trusted: bool, shaped: bool = False) -> None:
        self.trusted = trusted
        self.shaped = shaped
        """A shape decoder: nested records go straight to their class's shape table."""
        self.names: dict[str, Any] = {
            "_D": Decline,
            "_canon": _CANONICAL,
            "_iso": datetime.fromisoformat,
            "_event": decode_event,
            "_new": object.__new__,
            "_no": _declined,
            "_dates": _DATES.get,
            "_date": _checked_datetime,
        }

    def name(self, value: Any) -> str:
        """A global name in the generated function's namespace bound to `value`."""
        key = f"_n{len(self.names)}"
        self.names[key] = value
        return key

    def call(self, cls: type, var: str) -> str:
        """An expression decoding the dict in variable `var` as a `cls`."""
        key = (cls, self.trusted)
        if self.shaped and key not in _BUILDING:
            decoder(cls, self.trusted)  # builds its table when it is not built yet
            table = (_TABLES if self.trusted else _CHECKED_TABLES).get(cls)
            if table is not None:
                name = self.name(table)
                if self.trusted:
                    return f"{name}[tuple({var})]({var})"
                return f"({name}[tuple({var})] if type({var}) is dict else _no)({var})"
        return f"{self.record(cls)}({var})"

    def record(self, cls: type) -> str:
        """A name bound to `cls`'s decoder (built now; resolved on first call inside a cycle)."""
        key = (cls, self.trusted)
        if key not in _BUILDING:
            found = decoder(cls, self.trusted)
            if found is None:
                raise _Unknown(cls)
            return self.name(found)
        trusted = self.trusted
        cell: list[Decoder] = []

        def call(data: Any) -> Any:
            if not cell:
                late = decoder(cls, trusted)
                if late is None:
                    raise Decline
                cell.append(late)
            return cell[0](data)

        return self.name(call)


def _item_test(hint: Any) -> str | None:
    """A test of one value `x` for simple types (None when the type is not simple)."""
    if hint is Any:
        return "True"
    if hint in (str, int, bool):
        return f"type(x) is {hint.__name__}"
    if typing.get_origin(hint) is dict and typing.get_args(hint) == (str, Any):
        return "type(x) is dict"
    return None


def _is_event(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Annotated and any(
        isinstance(extra, model._EventField) for extra in typing.get_args(hint)[1:]
    )


def _lines(gen: _Gen, hint: Any) -> list[str]:
    """Statements turning the JSON value `v` (not None) into the field's value `v`, or raising _D
    (checked); an empty list when the JSON value is the field's value as it is (trusted)."""
    checked = not gen.trusted
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if _is_event(hint):
        return [f"v = _event(v, {gen.trusted})"]
    if origin is typing.Annotated:
        base, *extras = args
        if base is str and any(
            isinstance(extra, AfterValidator) and extra.func is model._valid_unicode for extra in extras
        ):
            # no lone surrogate to look for: checked decoders read orjson's output, and orjson
            # refuses lone surrogate escapes (from_json then takes the full validation)
            return ["if type(v) is not str: raise _D"] if checked else []
        if base is datetime:
            if checked:  # a text already read comes from the cache; any other value: _date decides
                return ["x = _dates(v) if type(v) is str else None", "v = _date(v) if x is None else x"]
            return ["v = _iso(v)"]
        raise _Unknown(hint)
    if origin is Union or origin is types.UnionType:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return _lines(gen, rest[0])
        tests = [_item_test(arg) for arg in rest]
        if any(test is None or test == "True" for test in tests):
            raise _Unknown(hint)
        joined = " or ".join(f"({test})" for test in tests)
        return ["x = v", f"if not ({joined}): raise _D"] if checked else []
    if hint is Any:
        return []
    if hint in (str, bool, int):
        return [f"if type(v) is not {hint.__name__}: raise _D"] if checked else []
    if hint is float:
        if checked:
            return [
                "if type(v) is not float:",
                "    if type(v) is int and -9007199254740992 <= v <= 9007199254740992: v = float(v)",
                "    else: raise _D",
            ]
        return ["if type(v) is int: v = float(v)"]
    if origin is Literal:
        if not all(type(arg) is str for arg in args):
            raise _Unknown(hint)
        allowed = gen.name(frozenset(args))
        return [f"if type(v) is not str or v not in {allowed}: raise _D"] if checked else []
    if origin is dict and len(args) == 2 and args[1] is Any:
        key = args[0]
        if key is str:
            return ["if type(v) is not dict: raise _D"] if checked else []
        key_args = typing.get_args(key)
        if typing.get_origin(key) is typing.Annotated and key_args and key_args[0] is str:
            return ["if type(v) is not dict: raise _D"] if checked else []  # keys: as KeyText above
        raise _Unknown(hint)
    if origin is list and len(args) == 1:
        item = args[0]
        head = ["if type(v) is not list: raise _D"] if checked else []
        if _is_event(item):
            return [*head, f"v = [_event(x, {gen.trusted}) for x in v]"]
        if _is_record(item):
            if gen.shaped:  # a list of one (the common case) without the comprehension's frame
                one = gen.call(item, "x")
                return [
                    *head,
                    "if len(v) == 1:",
                    "    x, = v",
                    f"    v = [{one}]",
                    "else:",
                    f"    v = [{one} for x in v]",
                ]
            return [*head, f"v = [{gen.call(item, 'x')} for x in v]"]
        test = _item_test(item)
        if test is None:
            raise _Unknown(hint)
        if not checked or test == "True":
            return head
        return [*head, "for x in v:", f"    if not ({test}): raise _D"]
    if _is_record(hint):
        return [f"v = {gen.call(hint, 'v')}"]
    raise _Unknown(hint)


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, model._Record) and dataclasses.is_dataclass(hint)


def _build(cls: type, trusted: bool) -> Decoder | None:
    if not _is_record(cls):
        return None
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception:  # unresolvable annotations: the full validation reports them
        return None
    key = (cls, trusted)
    _BUILDING.add(key)
    try:
        source, names = _source(cls, hints, trusted)
    except _Unknown:
        return None
    finally:
        _BUILDING.discard(key)
    exec(compile(source, f"<tracekit decoder of {cls.__qualname__}>", "exec"), names)
    decode: Decoder = names["decode"]
    return decode


def _source(cls: type, hints: dict[str, Any], trusted: bool) -> tuple[str, dict[str, Any]]:
    """The decoder's source and namespace. Checked decoders first check (and convert in place)
    every key of the dict, fresh from the parser: each must be a field (or an event's
    `event_type`) and its value pass its test. Both then build the object without its
    constructor (object.__new__ and one slot store per field: the values are already what the
    constructor would keep, so __post_init__'s conversions have nothing to do); trusted decoders
    convert while building and leave the caller's dict alone (the store puts one event's dict both
    in its timestep and in the history). Frozen and user-defined classes go through their
    constructor (see `_built_directly`)."""
    gen = _Gen(trusted)
    event = issubclass(cls, model.BaseEvent)
    fields = dataclasses.fields(cls)
    body: list[str] = [] if trusted else ["if type(d) is not dict: raise _D"]
    if _built_directly(cls):
        known = frozenset(f.name for f in fields) | ({"event_type"} if event else set())
        body.append(f"if not d.keys() <= {gen.name(known)}: raise _D")
        body.append(f"o = _new({gen.name(cls)})")
        for f in fields:
            hint = hints[f.name]
            nullable = trusted or _nullable(hint) or hint is Any
            body.extend(_store(gen, f, _lines(gen, hint), nullable))
        body.append("return o")
    else:
        if trusted:
            body.append("d = d.copy()")
            if event:
                body.append("d.pop('event_type', None)")
            for f in fields:
                convert = _lines(gen, hints[f.name])
                if convert:
                    body.append(f"v = d.get({f.name!r})")
                    body.append("if v is not None:")
                    body.extend("    " + line for line in convert)
                    body.append(f"    d[{f.name!r}] = v")
        else:
            if event:
                body.append("if 'event_type' in d: del d['event_type']")
            _check_loop(gen, cls, hints, body)
        body.append(f"return {gen.name(cls)}(**d)")
    source = "def decode(d):\n" + "\n".join("    " + line for line in body) + "\n"
    return source, dict(gen.names)


def _shape_decoder(cls: type, keys: tuple[Any, ...], trusted: bool) -> Decoder | None:
    """The decoder of `cls` (checked or trusted) for dicts whose keys are exactly `keys`, in that
    order; None when no dict tracekit writes has that shape (a key no field has, a required field
    missing), where the per-field decoder declines too. Checked ones test each value as the
    per-field decoder does (an event's `event_type` was read by whoever picked the class)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    tag = "event_type" if issubclass(cls, model.BaseEvent) else None  # an event's class, not a field
    if not all(type(key) is str and (key in fields or key == tag) for key in keys):
        return None
    if any(_default(_Gen(True), f) is None and name not in keys for name, f in fields.items()):
        return None
    hints = typing.get_type_hints(cls, include_extras=True)
    gen = _Gen(trusted, shaped=True)
    targets: list[str] = []
    body: list[str] = []
    for index, key in enumerate(keys):
        convert = [] if key == tag else _lines(gen, hints[key])
        if key == tag:
            targets.append("_")
        elif not trusted:
            hint = hints[key]
            nullable = _nullable(hint) or hint is Any
            if not convert and nullable:
                targets.append(f"o.{key}")
                continue
            targets.append(f"v{index}")
            test = ["    " + line for line in convert or ["pass"]]
            body.extend([f"v = v{index}", "if v is not None:", *test])
            if not nullable:
                body.append("else: raise _D")
            body.append(f"o.{key} = v")
        elif not convert:
            targets.append(f"o.{key}")
        else:
            targets.append(f"v{index}")
            body.extend([f"v = v{index}", "if v is not None:", *("    " + line for line in convert)])
            body.append(f"o.{key} = v")
    for name, f in fields.items():
        if name not in keys:
            body.append(f"o.{name} = {_default(gen, f)}")
    head = [f"o = _new({gen.name(cls)})"]
    if not targets:
        head.append("d.keys()")  # as the per-field decoder: an empty list or str is not an empty dict
    elif len(targets) == 1:
        head.append(f"{targets[0]}, = d.values()")
    elif targets:
        head.append(f"{', '.join(targets)} = d.values()")
    source = "def decode(d):\n" + "\n".join("    " + line for line in [*head, *body, "return o"]) + "\n"
    names = dict(gen.names)
    exec(compile(source, f"<tracekit shape decoder of {cls.__qualname__}>", "exec"), names)
    decode: Decoder = names["decode"]
    return decode


def _default(gen: _Gen, f: dataclasses.Field[Any]) -> str | None:
    """An expression giving field `f`'s default (a fresh list or dict each time), None when required."""
    if f.default is None:
        return "None"
    if f.default is not dataclasses.MISSING:
        return gen.name(f.default)  # dataclasses allow only immutable constants here
    if f.default_factory is list:
        return "[]"
    if f.default_factory is dict:
        return "{}"
    if f.default_factory is not dataclasses.MISSING:
        return f"{gen.name(f.default_factory)}()"
    return None


def _built_directly(cls: type) -> bool:
    """Whether decoders build `cls` slot by slot: tracekit's own mutable classes, whose
    __post_init__ only converts values a decoder never produces (epoch seconds, str content).
    Frozen classes and user-defined classes (an __init__ or __post_init__ of their own) go
    through the constructor."""
    return cls.__module__ == model.__name__ and not cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


def _store(gen: _Gen, f: dataclasses.Field[Any], convert: list[str], nullable: bool) -> list[str]:
    """Statements setting slot `f` of `o` from `d`: the value checked and converted by `convert`
    when present and not None; None when None (or raise _D when not `nullable`); the field's
    default when absent (a required field absent: KeyError)."""
    name = f.name
    default = _default(gen, f)
    key = repr(name)
    if not convert and nullable:
        if default is None:
            return [f"o.{name} = d[{key}]"]
        return [f"o.{name} = d[{key}] if {key} in d else {default}"]  # `in`: no call when absent
    lines = [f"v = d[{key}]", "if v is not None:"]
    lines.extend("    " + line for line in convert or ["pass"])
    if not nullable:
        lines.append("else: raise _D")
    lines.append(f"o.{name} = v")
    if default is None:
        return lines
    return [f"if {key} in d:", *("    " + line for line in lines), "else:", f"    o.{name} = {default}"]


def _check_loop(gen: _Gen, cls: type, hints: dict[str, Any], body: list[str]) -> None:
    """The checked decoder's loop over the dict's keys. One code per distinct (statements,
    nullable) among the fields: the loop looks the key's code up and runs that code's statements,
    so a key costs a lookup and a few compares (an unknown key: KeyError)."""
    codes: dict[tuple[tuple[str, ...], bool], int] = {}
    per_field: dict[str, int] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        nullable = _nullable(hint) or hint is Any
        statements = tuple(_lines(gen, hint))
        code = codes.setdefault((statements, nullable), 2 * len(codes) + 2 + int(nullable))
        per_field[f.name] = code
    body.append("for k, v in d.items():")
    body.append(f"    c = {gen.name(per_field)}[k]")
    body.append("    if v is None:")
    body.append("        if c & 1: continue")
    body.append("        raise _D")
    uses = list(per_field.values())
    ordered = sorted(codes.items(), key=lambda item: -uses.count(item[1]))  # most used first
    for index, ((statements, _allows_none), code) in enumerate(ordered):
        keyword = "if" if index == 0 else "elif"
        body.append(f"    {keyword} c == {code}:")
        lines = list(statements) or ["pass"]
        if any("v = " in line for line in statements):
            lines.append("d[k] = v")
        body.extend("        " + line for line in lines)


def _nullable(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return (origin is Union or origin is types.UnionType) and type(None) in typing.get_args(hint)

"""Straight-line compact writers, one per record class, generated from its type hints.

A generated writer does per field what encoder.py's walk does, for the values that are plainly
right (a str in a str field, a finite float, an aware UTC datetime, a record of exactly the
field's class, free-form JSON made of str/int/float/bool/None/list/dict within MAX_DEPTH): it
copies them into the output without a call per field. Any other value, and any refusal, goes to
the walk's own code for that field (`slow`), which gives the same answer with the field path:
the generated code only ever takes a shortcut to the result the walk would give.

Free-form values are checked, not copied: the output holds the record's own lists and dicts
(to_json and the store turn it into text at once).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Union

from pydantic.functional_validators import AfterValidator

from tracekit import model

__all__ = ["Redo", "clean", "clean_dict", "compact_source", "text_clean", "values_clean"]


class Redo(Exception):
    """A shortcut did not apply: the field goes through the walk."""


def redo() -> Any:
    """Raise Redo from inside an expression."""
    raise Redo


def clean(value: Any, depth: int, max_depth: int) -> bool:
    """Whether the free-form `value` at `depth` is JSON the walk would write unchanged."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return bool(value - value == 0.0)
    if kind is dict:
        return depth < max_depth and clean_dict(value, depth, max_depth)
    if kind is list:
        return depth < max_depth and _items_clean(value, depth + 1, max_depth, clean)
    return False


def _items_clean(
    items: Iterable[Any], inner: int, max_depth: int, nested: Callable[[Any, int, int], bool]
) -> bool:
    """Whether every item (at depth `inner`) is a plain scalar or a container `nested` finds clean."""
    for item in items:
        item_kind = type(item)
        if item_kind is str or item_kind is int or item_kind is bool or item is None:
            continue
        if item_kind is float:
            if item - item != 0.0:
                return False
            continue
        if not nested(item, inner, max_depth):
            return False
    return True


def clean_dict(value: dict[Any, Any], depth: int, max_depth: int) -> bool:
    """Whether the dict `value` at `depth` has str keys and clean values (at depth + 1)."""
    for key in value:
        if type(key) is not str:
            return False
    return _items_clean(value.values(), depth + 1, max_depth, clean)


def values_clean(value: dict[Any, Any], depth: int, max_depth: int) -> bool:
    """`clean_dict` without the key check, for orjson's text: orjson refuses any key but a str
    (a str subclass too), and the caller then writes again the checked way."""
    return _items_clean(value.values(), depth + 1, max_depth, text_clean)


def text_clean(value: Any, depth: int, max_depth: int) -> bool:
    """`clean` for orjson's text: dicts checked by `values_clean` (keys left to orjson)."""
    kind = type(value)
    if kind is dict:
        return depth < max_depth and values_clean(value, depth, max_depth)
    if kind is list:
        return depth < max_depth and _items_clean(value, depth + 1, max_depth, text_clean)
    return clean(value, depth, max_depth)


class _Unknown(Exception):
    """No shortcut for this field type: the field always goes through the walk."""


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, model._Record) and dataclasses.is_dataclass(hint)


def _is_event(hint: Any) -> bool:
    return typing.get_origin(hint) is typing.Annotated and any(
        isinstance(extra, model._EventField) for extra in typing.get_args(hint)[1:]
    )


def _is_key_text(hint: Any) -> bool:
    args = typing.get_args(hint)
    return (
        typing.get_origin(hint) is typing.Annotated
        and args[0] is str
        and any(
            isinstance(extra, AfterValidator) and extra.func is model._valid_unicode for extra in args[1:]
        )
    )


class _Names:
    """The generated module's globals."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.values = dict(base)

    def add(self, value: Any) -> str:
        key = f"_n{len(self.values)}"
        self.values[key] = value
        return key


def _shortcut(
    hint: Any, names: _Names, record_writer: Callable[[type], Any], text: bool = False
) -> tuple[str, str]:
    """(test, expression): when `test` holds for the present value `v`, the walk writes `expression`
    (`text`: for orjson's text, see encoder.encode)."""
    if _is_event(hint):
        return "True", "_event(v, w)"
    if _is_key_text(hint):
        return ("type(v) is str", "v") if text else ("type(v) is str and (v.isascii() or _valid(v))", "v")
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _shortcut(args[0], names, record_writer, text)
    if origin is Union or origin is types.UnionType:
        rest = [arg for arg in args if arg is not type(None)]
        if len(rest) == 1:
            return _shortcut(rest[0], names, record_writer, text)
        if set(rest) == {str, dict[str, Any]}:
            return "type(v) is str or (type(v) is dict and _clean_dict(v, 0, _MAX))", "v"
        raise _Unknown(hint)
    if hint is str:
        return "type(v) is str", "v"
    if hint is bool:
        return "type(v) is bool", "v"
    if hint is int:
        return "type(v) is int and -9223372036854775808 <= v <= 9223372036854775807", "v"
    if hint is float:
        return "type(v) is float and v - v == 0.0", "v"
    if hint is datetime:
        # isoformat() without timespec is much faster and gives the same text when microsecond != 0,
        # and so does orjson (the datetime itself is left for it when writing text)
        return "type(v) is _datetime and v.tzinfo is _UTC and v.microsecond", "v" if text else "v.isoformat()"
    if hint is Any:
        return "_clean(v, 0, _MAX)", "v"
    if origin is Literal:
        if not all(type(arg) is str for arg in args):
            raise _Unknown(hint)
        return f"type(v) is str and v in {names.add(frozenset(args))}", "v"
    if origin is dict and len(args) == 2 and args[1] is Any:
        if args[0] is str:
            return "type(v) is dict and _clean_dict(v, 0, _MAX)", "v"
        if _is_key_text(args[0]):
            if text:
                return "type(v) is dict and _clean_dict(v, 0, _MAX)", "v"
            return "type(v) is dict and _clean_dict(v, 0, _MAX) and all(map(_valid, v))", "v"
        raise _Unknown(hint)
    if origin is list and len(args) == 1:
        item = args[0]
        if _is_event(item):
            return "type(v) is list", "[_event(x, w) for x in v]"
        if _is_record(item):
            writer = names.add(record_writer(item))
            cls = names.add(item)
            return "type(v) is list", f"[{writer}(x, w) if type(x) is {cls} else _redo() for x in v]"
        if item is str:
            return "type(v) is list and all(type(x) is str for x in v)", "v"
        if item is int:
            return (
                "type(v) is list and all(type(x) is int and "
                "-9223372036854775808 <= x <= 9223372036854775807 for x in v)",
                "v",
            )
        if item is Any:
            return "type(v) is list and all(_clean(x, 0, _MAX) for x in v)", "v"
        if item == dict[str, Any]:
            return "type(v) is list and all(type(x) is dict and _clean_dict(x, 0, _MAX) for x in v)", "v"
        raise _Unknown(hint)
    if _is_record(hint):
        writer = names.add(record_writer(hint))
        return f"type(v) is {names.add(hint)}", f"{writer}(v, w)"
    raise _Unknown(hint)


def compact_source(
    cls: type,
    fields: tuple[tuple[Any, ...], ...],
    event_type: str | None,
    row: bool,
    base_names: dict[str, Any],
    record_writer: Callable[[type], Any],
    no_default: Any,
    text: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The source of `write(o, w)` for `cls` and its globals. `fields` are the walk's plan fields
    (name, fast type, record class, nullable, check, plain default or `no_default`, default
    type); `base_names` binds _slow (the walk's code for one field), _event, _PathError and _MAX;
    `text`: the writer for orjson's text (encoder.encode's `text`)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = _Names(
        {
            **base_names,
            "_Redo": Redo,
            "_redo": redo,
            "_clean": text_clean if text else clean,
            "_clean_dict": values_clean if text else clean_dict,
            "_datetime": datetime,
            "_UTC": UTC,
            "_valid": model.is_valid_unicode,
        }
    )
    body: list[str] = []
    if row:
        body += ["memo = w.memo", "if memo is not None:", "    seen = memo.get(id(o))"]
        body += ["    if seen is not None: return seen"]
    body.append("out = {}" if event_type is None else f"out = {{'event_type': {event_type!r}}}")
    for field in fields:
        name, _fast, _record, nullable, _check, default, _default_type = field
        spec = names.add(field)
        body.append(f"v = o.{name}")
        try:
            test, expression = _shortcut(hints[name], names, record_writer, text)
        except _Unknown:
            body.append(f"_slow(out, {spec}, v, w)")
            continue
        if default is no_default or default is None:
            skip = None
        elif type(default) in (list, dict) and not default:
            skip = "empty"
        elif type(default) in (str, bool, int):
            skip = f"type(v) is {names.add(type(default))} and v == {names.add(default)}"
        else:  # a default the shortcut does not compare (a float, a non-empty list): the walk decides
            body.append(f"_slow(out, {spec}, v, w)")
            continue
        lines = []
        indent = ""
        if default is None and nullable:
            lines.append("if v is not None:")
            indent = "    "
        if skip == "empty":
            lines.append(f"{indent}if type(v) is {type(default).__name__} and not v: pass")
            lines.append(f"{indent}else:")
            indent += "    "
            skip = None
        lines.append(f"{indent}try:")
        lines.append(f"{indent}    if {test}:")
        if skip is not None:
            lines.append(f"{indent}        if not ({skip}): out[{name!r}] = {expression}")
        else:
            lines.append(f"{indent}        out[{name!r}] = {expression}")
        lines.append(f"{indent}    else: _slow(out, {spec}, v, w)")
        lines.append(f"{indent}except (_PathError, _Redo):")
        lines.append(f"{indent}    _slow(out, {spec}, v, w)")
        body.extend(lines)
    if row:
        body.append("if memo is not None: memo[id(o)] = out")
    body.append("return out")
    source = "def write(o, w):\n" + "\n".join("    " + line for line in body) + "\n"
    return source, names.values

"""Straight-line compact writers, one per record class, generated from its type hints.

A generated writer does per field what encoder.py's walk does, for the values that are plainly
right (a str in a str field, a finite float, an aware UTC datetime, a record of exactly the
field's class, free-form JSON made of str/int/float/bool/None/list/dict within MAX_DEPTH): it
copies them into the output without a call per field. Any other value, and any refusal, goes to
the walk's own code for that field (`slow`), which gives the same answer with the field path:
the generated code only ever takes a shortcut to the result the walk would give. Records a field
holds (alone or in a list) are written inline in the same function, not by a call per record,
unless the memo keeps them (rows) or they nest in themselves.

The writers for orjson's text also leave floats below 1e-4 to the walk (orjson writes "0.00001"
where Python writes "1e-05"); the walk then marks the text, and only marked text is screened.

Free-form values are checked, not copied: the output holds the record's own lists and dicts
(to_json and the store turn it into text at once).
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, Union

import orjson
from pydantic.functional_validators import AfterValidator

from tracekit import model

__all__ = [
    "Redo",
    "all_int64",
    "all_str",
    "clean",
    "clean_dict",
    "compact_source",
    "dicts_clean",
    "text_clean",
    "text_dicts_clean",
    "type_hints",
    "values_clean",
]


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
        return depth < max_depth and _list_clean(value, depth + 1, max_depth)
    return False


def clean_dict(value: dict[Any, Any], depth: int, max_depth: int) -> bool:
    """Whether the dict `value` at `depth` has str keys and clean values (at depth + 1)."""
    for key in value:
        if type(key) is not str:
            return False
    inner = depth + 1
    for item in value.values():
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool:
            continue
        if kind is float:
            if item - item != 0.0:
                return False
        elif kind is dict:
            if inner >= max_depth or not clean_dict(item, inner, max_depth):
                return False
        elif kind is not list or inner >= max_depth or not _list_clean(item, inner + 1, max_depth):
            return False
    return True


def _list_clean(value: list[Any], inner: int, max_depth: int) -> bool:
    """Whether every item of a list (items at depth `inner`) is clean."""
    for item in value:
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool:
            continue
        if kind is float:
            if item - item != 0.0:
                return False
        elif kind is dict:
            if inner >= max_depth or not clean_dict(item, inner, max_depth):
                return False
        elif kind is not list or inner >= max_depth or not _list_clean(item, inner + 1, max_depth):
            return False
    return True


_TINY = 1e-4
"""orjson spells a float otherwise than Python's repr only below this magnitude ("0.00001" for
1e-05): the text writers leave such floats to the walk, which marks the text for the scan."""


def values_clean(value: dict[Any, Any], depth: int, max_depth: int) -> bool:
    """`clean_dict` without the key check, for orjson's text: orjson refuses any key but a str
    (a str subclass too), and the caller then writes again the checked way. Floats orjson spells
    otherwise (below 1e-4) are not clean here, so the walk writes them and marks the text."""
    inner = depth + 1
    for item in value.values():
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool:
            continue
        if kind is float:
            if item - item != 0.0 or (-_TINY < item < _TINY and item != 0.0):
                return False
        elif kind is dict:
            if inner >= max_depth or not values_clean(item, inner, max_depth):
                return False
        elif kind is not list or inner >= max_depth or not _text_list_clean(item, inner + 1, max_depth):
            return False
    return True


def _text_list_clean(value: list[Any], inner: int, max_depth: int) -> bool:
    """`_list_clean` for orjson's text (see `values_clean`)."""
    for item in value:
        kind = type(item)
        if kind is str or kind is int or item is None or kind is bool:
            continue
        if kind is float:
            if item - item != 0.0 or (-_TINY < item < _TINY and item != 0.0):
                return False
        elif kind is dict:
            if inner >= max_depth or not values_clean(item, inner, max_depth):
                return False
        elif kind is not list or inner >= max_depth or not _text_list_clean(item, inner + 1, max_depth):
            return False
    return True


def text_clean(value: Any, depth: int, max_depth: int) -> bool:
    """`clean` for orjson's text: dicts checked by `values_clean` (keys left to orjson), floats
    below 1e-4 left to the walk."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return bool(value - value == 0.0) and not (-_TINY < value < _TINY and value != 0.0)
    if kind is dict:
        return depth < max_depth and values_clean(value, depth, max_depth)
    if kind is list:
        return depth < max_depth and _text_list_clean(value, depth + 1, max_depth)
    return False


def all_str(value: list[Any]) -> bool:
    """Whether every item is a str."""
    for item in value:  # noqa: SIM110 - a loop: all() over a generator costs more on short lists
        if type(item) is not str:
            return False
    return True


def all_int64(value: list[Any]) -> bool:
    """Whether every item is an int within 64 bits."""
    for item in value:
        if type(item) is not int or not -9223372036854775808 <= item <= 9223372036854775807:
            return False
    return True


def dicts_clean(value: list[Any], max_depth: int) -> bool:
    """Whether every item of a list[dict[str, Any]] field is a clean dict."""
    for item in value:  # noqa: SIM110 - a loop: all() over a generator costs more on short lists
        if type(item) is not dict or not clean_dict(item, 0, max_depth):
            return False
    return True


def text_dicts_clean(value: list[Any], max_depth: int) -> bool:
    """`dicts_clean` for orjson's text (see `values_clean`)."""
    for item in value:  # noqa: SIM110 - a loop: all() over a generator costs more on short lists
        if type(item) is not dict or not values_clean(item, 0, max_depth):
            return False
    return True


_WORD_V = re.compile(r"\bv\b")


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


_HINTS: dict[type, dict[str, Any]] = {}


def type_hints(cls: type) -> dict[str, Any]:
    """`typing.get_type_hints(cls, include_extras=True)`, resolved once per class (resolving the
    string annotations compiles each one, and a writer looks at every class it writes inline)."""
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return hints


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
    if _is_event(hint):  # the writer of a class found registered, else the full check
        return "True", "(_events.get(type(v)) or _event)(v, w)"
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
        if text:  # floats orjson spells otherwise (below 1e-4) go to the walk, which marks the text
            return "type(v) is float and v - v == 0.0 and (v >= 1e-4 or v <= -1e-4 or v == 0.0)", "v"
        return "type(v) is float and v - v == 0.0", "v"
    if hint is datetime:
        # orjson writes an aware UTC datetime with a non-zero microsecond as isoformat() does, at a
        # third of its cost (the datetime itself is left to it when writing text); a whole second
        # gets the ".000000" neither writes by default (orjson's text is then '"YYYY-MM-DDTHH:MM:SS+00:00"')
        if text:
            return "type(v) is _datetime and v.tzinfo is _UTC", (
                "v if v.microsecond else _dumps(v)[1:20].decode() + '.000000+00:00'"
            )
        return "type(v) is _datetime and v.tzinfo is _UTC", (
            "_dumps(v)[1:-1].decode() if v.microsecond else _dumps(v)[1:20].decode() + '.000000+00:00'"
        )
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
            return "type(v) is list", "[(_events.get(type(x)) or _event)(x, w) for x in v]"
        if _is_record(item):
            writer = names.add(record_writer(item))
            cls = names.add(item)
            return "type(v) is list", f"[{writer}(x, w) if type(x) is {cls} else _redo() for x in v]"
        if item is str:
            return "type(v) is list and _all_str(v)", "v"
        if item is int:
            return "type(v) is list and _all_int64(v)", "v"
        if item is Any:
            return "type(v) is list and _clean_items(v, 0, _MAX)", "v"
        if item == dict[str, Any]:
            return "type(v) is list and _dicts_clean(v, _MAX)", "v"
        raise _Unknown(hint)
    if _is_record(hint):
        writer = names.add(record_writer(hint))
        return f"type(v) is {names.add(hint)}", f"{writer}(v, w)"
    raise _Unknown(hint)


_HOT = (
    *("type", "str", "int", "float", "bool", "list", "dict", "id", "_datetime", "_UTC", "_dumps"),
    *("_clean", "_clean_dict", "_clean_items", "_dicts_clean", "_all_str", "_all_int64", "_events", "_event"),
)
"""The builtins and helpers a writer reads on every call, bound as its defaults: a local is read
faster than a global (binding every name costs more than it saves: defaults are copied per call)."""

_INLINE_DEPTH = 4
"""How deep a writer writes nested records in its own body before calling their writers."""


class _Emitter:
    """Writes the body of one generated writer: per field the walk's shortcut, with the records a
    field holds (alone or in a list) written inline in the same body, with no call per record,
    when they are not rows (the memo keeps those) and not already being written further up."""

    def __init__(
        self,
        names: _Names,
        record_writer: Callable[[type], Any],
        plan_of: Callable[[type], tuple[tuple[tuple[Any, ...], ...], str | None, bool]],
        no_default: Any,
        text: bool,
    ) -> None:
        self.names = names
        self.record_writer = record_writer
        self.plan_of = plan_of
        self.no_default = no_default
        self.text = text
        self.open: list[type] = []

    def inlined(self, hint: Any, depth: int) -> type | None:
        """The record class `hint` names when its body can be written inline at `depth`."""
        if not _is_record(hint) or depth >= _INLINE_DEPTH or hint in self.open:
            return None
        _fields, event_type, row = self.plan_of(hint)
        return None if row or event_type is not None else typing.cast(type, hint)

    def record(self, cls: type, depth: int) -> list[str]:
        """Lines writing `o{depth}` (a `cls`) into a new dict `out{depth}`."""
        fields, event_type, row = self.plan_of(cls)
        hints = type_hints(cls)
        o, out = f"o{depth}", f"out{depth}"
        body: list[str] = []
        if row:
            body += ["memo = w.memo", "if memo is not None:", f"    seen = memo.get(id({o}))"]
            body += ["    if seen is not None: return seen"]
        body.append(f"{out} = {{}}" if event_type is None else f"{out} = {{'event_type': {event_type!r}}}")
        self.open.append(cls)
        try:
            for field in fields:
                body.extend(self.field(field, hints[field[0]], depth))
        finally:
            self.open.pop()
        if row:
            body.append(f"if memo is not None: memo[id({o})] = {out}")
        return body

    def field(self, field: tuple[Any, ...], hint: Any, depth: int) -> list[str]:
        """Lines writing one field of `o{depth}` into `out{depth}`."""
        name, _fast, _record, nullable, _check, default, _default_type = field
        o, out, v = f"o{depth}", f"out{depth}", f"v{depth}"
        spec = self.names.add(field)
        slow = f"_slow({out}, {spec}, {v}, w)"
        lines = [f"{v} = {o}.{name}"]
        skip: str | None = None  # how a value at the default that compact JSON leaves out is told
        if default is self.no_default or default is None:
            pass
        elif type(default) in (list, dict) and not default:
            skip = "empty"
        elif type(default) in (str, bool, int):
            skip = type(default).__name__
        else:  # a default the shortcut does not compare (a float, a non-empty list): the walk decides
            return [*lines, slow]
        try:
            test, body, may_raise = self.value(hint, depth, f"{out}[{name!r}]", skip, default)
        except _Unknown:
            return [*lines, slow]
        indent = ""
        if default is None and nullable:
            lines.append(f"if {v} is not None:")
            indent = "    "
        if may_raise:  # a writer, or an inline record refusing a value: the walk redoes the field
            if skip == "empty":
                lines.append(f"{indent}if type({v}) is {type(default).__name__} and not {v}: pass")
                lines.append(f"{indent}else:")
                indent += "    "
            lines.append(f"{indent}try:")
            lines.append(f"{indent}    if {test}:")
            lines.extend(f"{indent}        {line}" for line in body)
            lines.append(f"{indent}    else: {slow}")
            lines.append(f"{indent}except (_PathError, _Redo):")
            lines.append(f"{indent}    {slow}")
            return lines
        # a pure test: no try block, and the value that passes it falls through (no jump over the else)
        if skip == "empty":
            lines.append(f"{indent}if type({v}) is {type(default).__name__} and not {v}: pass")
            lines.append(f"{indent}elif not ({test}): {slow}")
        else:
            lines.append(f"{indent}if not ({test}): {slow}")
        lines.append(f"{indent}else:")
        lines.extend(f"{indent}    {line}" for line in body)
        return lines

    def value(
        self, hint: Any, depth: int, target: str, skip: str | None, default: Any = None
    ) -> tuple[str, list[str], bool]:
        """(test, lines, may_raise): when `test` holds for `v{depth}`, `lines` store it into `target`;
        `may_raise`: they call a writer or refuse an inline record's value (_PathError, _Redo), so the
        caller wraps them to hand the field to the walk. Raises _Unknown when the field type has no
        shortcut."""
        v = f"v{depth}"
        inner = depth + 1
        item = _list_item(hint)
        record = self.inlined(_single(hint) if item is None else item, depth)
        if record is not None:
            cls = self.names.add(record)
            body = self.record(record, inner)
            if item is None:
                return f"type({v}) is {cls}", [f"o{inner} = {v}", *body, f"{target} = out{inner}"], True
            items = f"l{depth}"
            return (
                f"type({v}) is list",
                [
                    f"{items} = []",
                    f"for o{inner} in {v}:",
                    f"    if type(o{inner}) is not {cls}: raise _Redo",
                    *(f"    {b}" for b in body),
                    f"    {items}.append(out{inner})",
                    f"{target} = {items}",
                ],
                True,
            )
        test, expression = _shortcut(hint, self.names, self.record_writer, self.text)
        may_raise = ", w)" in expression  # a writer or the event check (the calls given the walk `w`)
        test = _rename(test, v)
        expression = _rename(expression, v)
        if skip is None or skip == "empty":
            return test, [f"{target} = {expression}"], may_raise
        exact = f"type({v}) is {skip}"
        if test == exact or test.startswith(f"{exact} and "):  # the default's exact type is checked:
            compare = f"{v} != {self.names.add(default)}"  # a plain comparison tells it
        else:
            kind, constant = self.names.add(type(default)), self.names.add(default)
            compare = f"not (type({v}) is {kind} and {v} == {constant})"
        return test, [f"if {compare}: {target} = {expression}"], may_raise


def _single(hint: Any) -> Any:
    """`hint` without Annotated and Optional around it (`X | None` -> X); unions of more stay."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return _single(args[0])
    if origin is Union or origin is types.UnionType:
        rest = [arg for arg in args if arg is not type(None)]
        return _single(rest[0]) if len(rest) == 1 else hint
    return hint


def _list_item(hint: Any) -> Any:
    """The item type of `list[X]` (through Optional and Annotated), else None."""
    single = _single(hint)
    args = typing.get_args(single)
    return args[0] if typing.get_origin(single) is list and len(args) == 1 else None


def _rename(code: str, v: str) -> str:
    """`code` written for the value `v` and walk `w` with `v` renamed (a whole-word rename)."""
    return _WORD_V.sub(v, code)


def compact_source(
    cls: type,
    plan_of: Callable[[type], tuple[tuple[tuple[Any, ...], ...], str | None, bool]],
    base_names: dict[str, Any],
    record_writer: Callable[[type], Any],
    no_default: Any,
    text: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The source of `write(o0, w)` for `cls` and its globals. `plan_of(cls)` gives the walk's plan
    of a class: its fields (name, fast type, record class, nullable, check, plain default or
    `no_default`, default type), event_type and whether it is a row; `base_names` binds _slow (the
    walk's code for one field), _event, _events (event class -> writer), _PathError and _MAX;
    `record_writer(cls)` is the writer of a record not written inline; `text`: the writer for
    orjson's text (encoder.encode's `text`)."""
    names = _Names(
        {
            **base_names,
            "_Redo": Redo,
            "_redo": redo,
            "_clean": text_clean if text else clean,
            "_clean_dict": values_clean if text else clean_dict,
            "_clean_items": _text_list_clean if text else _list_clean,
            "_dicts_clean": text_dicts_clean if text else dicts_clean,
            "_all_str": all_str,
            "_all_int64": all_int64,
            "_datetime": datetime,
            "_UTC": UTC,
            "_dumps": orjson.dumps,
            "_valid": model.is_valid_unicode,
        }
    )
    body = _Emitter(names, record_writer, plan_of, no_default, text).record(cls, 0)
    body.append("return out0")
    used = sorted(name for name in _HOT if re.search(rf"\b{name}\b", "\n".join(body)))
    head = ", ".join(f"{name}={name}" for name in used)
    source = f"def write(o0, w, {head}):\n" + "\n".join("    " + line for line in body) + "\n"
    return source, names.values

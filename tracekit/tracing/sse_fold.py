"""A streamed chunk rebuilt from the vendor's own JSON text, exactly as the SDK object built from it
reads (`sdk_json`), without building the object: the fold of a tapped stream (see sse_tap.py).

The Stainless SDKs (openai, anthropic) build each chunk with `construct_type(json.loads(data))`
and the object dumps its declared fields in the model's order, then its extra ones, with integers
in `float` fields made floats. Both are functions of the data's structure, not of its values, as
long as the chunk's model holds no field whose parse depends on the value (a datetime, a union of
several scalar types): such models are found once per model (`_plain`) and their chunks are built
by the SDK itself, off the caller's path. For the others a plan (the key order and the float
coercions) is learnt once per structure (`_signature`: keys, value types, discriminator values)
by comparing the parsed text with the SDK object's dump, and replayed on every later chunk of that
structure; a structure whose dump differs in any other way is built by the SDK too.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from tracekit.codec import loads
from tracekit.helpers.sdk import sdk_json

__all__ = ["ChunkKind", "chunk_kind", "rebuild"]

_DISCRIMINATORS = frozenset(("type", "object", "role", "event", "action"))
"""Keys whose string value selects a model (the SDKs' discriminated unions): part of a structure."""
_MAX_PLANS = 512
"""Plans kept per chunk model: beyond it a new structure is built by the SDK (no unbounded cache)."""
_SCALARS = (str, int, float, bool)
_IDENT: Any = None
"""The plan of a value that reads back as parsed (same keys in the same order, same leaf types)."""
_FLOAT = 1
_DICT = 2
_LIST = 3
_SDK: Any = object()
"""The plan of a structure only the SDK can build exactly."""
_WHOLE_FLOAT, _INT_0, _INT_1, _INT_BEYOND_FLOAT = object(), object(), object(), object()
"""Leaf marks of a structure for what a value-dependent parse could tell apart: objects, not
numbers, since 1 == 1.0 == True would make two structures one."""


class _Unsafe(Exception):
    """The parsed text and the SDK object's dump differ beyond order and int-to-float."""


class ChunkKind:
    """One SDK stream's chunk type (its `cast_to`): which chunks may be rebuilt from text, and the
    plans learnt for them. Made once per `cast_to` and kept (`chunk_kind`)."""

    __slots__ = ("_all_plain", "_plain_types", "cast_to", "compiled", "plans", "recent")

    def __init__(self, cast_to: Any, all_plain: bool, plain_types: dict[str, bool]) -> None:
        self.cast_to = cast_to
        self._all_plain = all_plain
        self._plain_types = plain_types
        self.plans: dict[Any, Any] = {}
        self.compiled: dict[Any, Callable[[Any], Any] | None] = {}
        self.recent: list[Callable[[Any], Any]] = []
        """The compiled plans (`_compile`) of the structures met last, newest first: a stream's
        chunks come in a few structures, tried before the structure is computed."""

    def plain(self, data: dict[str, Any]) -> bool:
        """Whether a chunk parsed as `data` is of a model whose parse depends on structure only."""
        if self._all_plain:
            return True
        kind = data.get("type")
        return type(kind) is str and self._plain_types.get(kind, False)


_KINDS: dict[int, ChunkKind | None] = {}
"""Per `cast_to` (by id; the ChunkKind keeps the object, so the id stays its own)."""
_REFUSED: list[Any] = []
"""The `cast_to`s found not rebuildable (kept so that their ids stay theirs)."""


def chunk_kind(cast_to: Any) -> ChunkKind | None:
    """The ChunkKind of an SDK stream's `cast_to`, or None when its chunks cannot be rebuilt from
    text (not a model nor a union of models told apart by a literal `type`)."""
    key = id(cast_to)
    try:
        return _KINDS[key]
    except KeyError:
        pass
    kind: ChunkKind | None = None
    try:
        kind = _kind_of(cast_to)
    except Exception:  # a type this module does not understand: the SDK objects are read instead
        kind = None
    if kind is None:
        _REFUSED.append(cast_to)
    _KINDS[key] = kind
    return kind


def _kind_of(cast_to: Any) -> ChunkKind | None:
    tp = _unalias(cast_to)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return ChunkKind(cast_to, _plain(tp, set()), {})
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    plain_types: dict[str, bool] = {}
    for variant in typing.get_args(tp):
        variant = _unalias(variant)
        if not (isinstance(variant, type) and issubclass(variant, BaseModel)):
            return None
        field = variant.model_fields.get("type")
        if field is None or typing.get_origin(field.annotation) is not typing.Literal:
            return None
        for value in typing.get_args(field.annotation):
            if type(value) is not str or value in plain_types:
                return None
            plain_types[value] = _plain(variant, set())
    return ChunkKind(cast_to, False, plain_types)


def _unalias(tp: Any) -> Any:
    """`tp` without `Annotated[...]` and type-alias wrappers."""
    while True:
        if type(tp).__name__ == "TypeAliasType":
            tp = tp.__value__
        elif typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        else:
            return tp


def _plain(tp: Any, seen: set[Any]) -> bool:
    """Whether every value a model of type `tp` holds is parsed by its JSON structure alone:
    models, lists, dicts, literals and single scalar types (no datetime, no union of two scalars)."""
    tp = _unalias(tp)
    if tp in (str, int, float, bool, type(None), object, typing.Any):
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return all(value is None or type(value) in (str, int, bool) for value in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if sum(_unalias(arg) in _SCALARS for arg in args) > 1:
            return False
        return all(_plain(arg, seen) for arg in args)
    if origin in (list, dict):
        return all(_plain(arg, seen) for arg in typing.get_args(tp))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return True
        seen.add(tp)
        extra = tp.model_fields.get("__pydantic_extra__")
        if extra is not None or "__pydantic_extra__" in getattr(tp, "__annotations__", {}):
            return False  # typed extra fields: constructed by a type of their own
        return all(_plain(field.annotation, seen) for field in tp.model_fields.values())
    return False


def _signature(value: Any) -> Any:
    """The structure of parsed JSON: keys in order, leaf types, discriminators' values, and what
    a value-dependent parse could tell apart (a whole float, an int 0 or 1)."""
    kind = type(value)
    if kind is dict:
        return tuple(
            [
                (key, item if key in _DISCRIMINATORS and type(item) is str else _signature(item))
                for key, item in value.items()
            ]
        )
    if kind is list:
        return (list, *[_signature(item) for item in value])
    if kind is float:
        return _WHOLE_FLOAT if value.is_integer() else float
    if kind is int:
        if value == 0 or value == 1:
            return _INT_0 if value == 0 else _INT_1
        try:
            whole = float(value) == value
        except OverflowError:
            whole = False
        return int if whole else _INT_BEYOND_FLOAT
    return kind


def _learn(parsed: Any, dumped: Any) -> Any:
    """The plan turning `parsed` into `dumped` (key order, ints made floats), or _Unsafe."""
    kind = type(parsed)
    if kind is dict:
        if type(dumped) is not dict or len(parsed) != len(dumped) or parsed.keys() != dumped.keys():
            raise _Unsafe
        subs = tuple([(key, _learn(parsed[key], dumped[key])) for key in dumped])
        if list(parsed) == list(dumped) and all(sub is _IDENT for _, sub in subs):
            return _IDENT
        return (_DICT, subs)
    if kind is list:
        if type(dumped) is not list or len(parsed) != len(dumped):
            raise _Unsafe
        items = tuple([_learn(a, b) for a, b in zip(parsed, dumped, strict=True)])
        return _IDENT if all(item is _IDENT for item in items) else (_LIST, items)
    if type(dumped) is kind and (repr(parsed) == repr(dumped) if kind is float else parsed == dumped):
        return _IDENT
    if kind is int and type(dumped) is float and float(parsed) == dumped:
        return _FLOAT
    raise _Unsafe


def _apply(plan: Any, value: Any) -> Any:
    """`value` as `plan` says the SDK object reads."""
    if plan is _IDENT:
        return value
    if plan == _FLOAT:  # construct_type's own rule: a float only when it keeps the value
        coerced = float(value)
        return coerced if coerced == value else value
    if plan[0] == _DICT:
        return {key: _apply(sub, value[key]) for key, sub in plan[1]}
    return [_apply(sub, item) for sub, item in zip(plan[1], value, strict=True)]


_MAX_RECENT = 4
_MAX_NODES = 400
"""Structures with more values than this are not compiled (their plan is applied by `_apply`)."""


def _whole_int(value: int) -> bool:
    """Whether `float(value)` keeps the int (the `int` leaf mark, see `_signature`)."""
    try:
        return float(value) == value
    except OverflowError:
        return False


def _compile(signature: Any, plan: Any) -> Callable[[Any], Any] | None:
    """`_apply(plan, data)` for data of exactly this structure, else None, as one generated function
    (the structure checked and the output built in one pass: what `_signature` and `_apply` do for
    each chunk in two walks); None when the structure is too big to be worth it."""
    lines: list[str] = []
    consts: dict[str, Any] = {"_whole_int": _whole_int}
    count = [0]
    names = iter(range(1 << 30))

    def const(value: Any) -> str:
        name = f"c{len(consts)}"
        consts[name] = value
        return name

    def walk(sig: Any, plan: Any, var: str) -> str:
        count[0] += 1
        if count[0] > _MAX_NODES:
            raise _Unsafe
        if type(sig) is tuple and (not sig or sig[0] is not list):  # a dict: (key, structure) pairs
            keys = tuple(key for key, _ in sig)
            lines.append(f"if type({var}) is not dict or tuple({var}) != {const(keys)}: return None")
            subs = dict(plan[1]) if plan is not _IDENT else {}
            outs: dict[str, str] = {}
            for key, sub in sig:
                child = f"v{next(names)}"
                lines.append(f"{child} = {var}[{const(key)}]")
                if key in _DISCRIMINATORS and type(sub) is str:
                    lines.append(f"if type({child}) is not str or {child} != {const(sub)}: return None")
                    outs[key] = child if subs.get(key, _IDENT) is _IDENT else walk(str, subs[key], child)
                else:
                    outs[key] = walk(sub, subs.get(key, _IDENT), child)
            if plan is _IDENT:
                return var
            return "{" + ", ".join(f"{const(key)}: {outs[key]}" for key, _ in plan[1]) + "}"
        if type(sig) is tuple:  # a list: (list, *structures)
            items = sig[1:]
            lines.append(f"if type({var}) is not list or len({var}) != {len(items)}: return None")
            subs_list = plan[1] if plan is not _IDENT else (_IDENT,) * len(items)
            outs_list = []
            for i, (sub, item_plan) in enumerate(zip(items, subs_list, strict=True)):
                child = f"v{next(names)}"
                lines.append(f"{child} = {var}[{i}]")
                outs_list.append(walk(sub, item_plan, child))
            return var if plan is _IDENT else "[" + "".join(f"{out}, " for out in outs_list) + "]"
        if sig is _WHOLE_FLOAT or sig is float:
            test = "not " if sig is _WHOLE_FLOAT else ""
            lines.append(f"if type({var}) is not float or {test}{var}.is_integer(): return None")
        elif sig is _INT_0 or sig is _INT_1:
            lines.append(f"if type({var}) is not int or {var} != {int(sig is _INT_1)}: return None")
        elif sig is int or sig is _INT_BEYOND_FLOAT:
            test = "not " if sig is int else ""
            check = f"{var} == 0 or {var} == 1 or {test}_whole_int({var})"
            lines.append(f"if type({var}) is not int or {check}: return None")
        elif sig in (str, bool, type(None)):
            lines.append(f"if type({var}) is not {const(sig)}: return None")
        else:
            raise _Unsafe
        if plan is _IDENT:
            return var
        if plan == _FLOAT:
            return f"float({var})"
        raise _Unsafe

    try:
        out = walk(signature, plan, "data")
    except _Unsafe:
        return None
    body = "".join(f"    {line}\n" for line in lines)
    exec(f"def matched(data):\n{body}    return {out}\n", consts)  # our own code, made from a plan
    matched: Callable[[Any], Any] = consts["matched"]
    return matched


def rebuild(kind: ChunkKind, text: str, build: Callable[[Any], Any]) -> tuple[bool, Any]:
    """A tapped chunk from its event's text: (True, the dict its SDK object reads as) or, when only
    the SDK can say, (False, the SDK object `build` makes from the parsed text, as the SDK did)."""
    data = loads(text)
    if type(data) is not dict or not kind.plain(data):
        return False, build(data)
    for matched in kind.recent:
        out = matched(data)
        if out is not None:
            return True, out
    plans = kind.plans
    signature = _signature(data)
    plan = plans.get(signature, _SDK)
    if plan is _SDK and signature not in plans:
        obj = build(loads(text))
        try:
            dumped = sdk_json(obj)
            plan = _learn(data, dumped)
        except (_Unsafe, Exception):  # a dump unlike the text: this structure is the SDK's to build
            plan = _SDK
        if len(plans) < _MAX_PLANS:
            plans[signature] = plan
        if plan is _SDK:
            return False, obj
    elif plan is _SDK:
        return False, build(data)
    compiled = kind.compiled.get(signature, _SDK)
    if compiled is _SDK:
        compiled = _compile(signature, plan)
        if len(kind.compiled) < _MAX_PLANS:
            kind.compiled[signature] = compiled
    if compiled is not None:
        recent = kind.recent
        recent.insert(0, compiled)
        del recent[_MAX_RECENT:]
    return True, _apply(plan, data)

"""Stream chunks snapshotted at arrival: what a chunk says, frozen, for the recorder to fold later.

`StreamRecorder.add` keeps only an immutable copy of each chunk (later changes to the caller's
dict or SDK object must not reach the record) and leaves the folding to `finish()`.

- A plain dict is deep-copied by `copy_json`, which checks on the way that it holds plain JSON
  only (what `is_clean` checks), so `finish()` need not check it again. A dict holding anything
  else is made storable at once (`clean`, with its notes) and copied with `marshal` (`freeze_dict`),
  a C deep copy of exact builtin types. (marshal alone is cheaper at arrival but its `loads` and
  the separate check in `finish()` cost twice as much in all.)
- A pydantic SDK object (openai, anthropic, google-genai) is read field by field into the dict its
  `model_dump` would give (`helpers.sdk.sdk_json`: wire names, only the fields that were set, extras
  after the fields), but only where that is exact: str, bool, None, 64-bit ints, finite floats,
  enum values, lists, dicts and nested models of the field's declared class; google-genai bytes and
  datetimes as `sdk_json` writes them. Scalars are immutable, so reading them is a snapshot.

Anything else raises `Unsnappable`; the recorder then takes the exact slow path at once. A chunk
read here also teaches `_shapes` its shape, so the next chunks of that shape skip this read.
"""

from __future__ import annotations

import base64
import marshal
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Final

from tracekit.helpers._clean import INT64_MAX, INT64_MIN
from tracekit.helpers.sdk import _GENAI_CLIENT_KEYS, _SNAPSHOT_KEYS, _strip_parsed

__all__ = [
    "Unsnappable",
    "copy_json",
    "freeze_dict",
    "int64_test",
    "plan_of",
    "sdk_chunk",
    "thaw_dict",
    "tidy_top",
]

_MAX_DEPTH: Final = 32
"""Deepest model/container nesting read directly (stream chunks nest about six levels)."""


class Unsnappable(Exception):
    """A value this module cannot copy exactly; the caller takes the slow, exact path."""


_COPY_DEPTH: Final = 16
"""Deepest nesting `copy_json` copies (vendor chunks nest about six levels); deeper dicts take the
slow path, whose `clean` applies the exact depth limit."""


def copy_json(value: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """A deep copy of a plain-JSON dict, checked on the way as `is_clean` checks it (exact str,
    bool, None, 64-bit int, finite float, str keys); Unsnappable for anything else. Hot path: one
    call per dict chunk, so the lists inside a dict are copied in the same frame."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        kind = type(item)
        if kind is str or item is None or kind is bool:
            out[key] = item
        elif kind is dict:
            if depth >= _COPY_DEPTH:
                raise Unsnappable("nested too deep")
            out[key] = copy_json(item, depth + 1)
        elif (kind is int and INT64_MIN <= item <= INT64_MAX) or (kind is float and item - item == 0.0):
            out[key] = item
        elif kind is list and depth < _COPY_DEPTH:
            items: list[Any] = []
            for element in item:
                kind = type(element)
                if kind is dict:
                    items.append(copy_json(element, depth + 2))
                elif (
                    kind is str
                    or element is None
                    or kind is bool
                    or (kind is int and INT64_MIN <= element <= INT64_MAX)
                    or (kind is float and element - element == 0.0)
                ):
                    items.append(element)
                elif kind is list:
                    items.append(copy_json({"": element}, depth + 1)[""])
                else:
                    raise Unsnappable(f"a {kind.__name__} value")
            out[key] = items
        else:
            raise Unsnappable(f"a {kind.__name__} value")
        if type(key) is not str:
            raise Unsnappable("a key that is not text")
    return out


def freeze_dict(chunk: dict[str, Any]) -> bytes:
    """An immutable deep copy of a plain dict (see the module docstring); Unsnappable when it holds
    a value of any other type (or nests too deep for marshal)."""
    try:
        return marshal.dumps(chunk)
    except (ValueError, TypeError, RecursionError) as exc:
        raise Unsnappable(str(exc)) from exc


def thaw_dict(frozen: bytes) -> Any:
    """The dict `freeze_dict` copied (a fresh copy, owned by the caller)."""
    return marshal.loads(frozen)


_ONE_DIGIT: Final = 2**30 - 1
"""The largest int CPython keeps in one 30-bit digit: a comparison of two such ints is specialised by
the interpreter, one with the 64-bit bounds is not."""


def int64_test(var: str, learnt: int) -> str:
    """Generated source testing that the int in local `var` fits 64 bits. Where the shape's own value
    `learnt` has one digit (counts and indexes), the one-digit range is tested first and the exact
    64-bit bounds only past it; a field learnt wider (a Unix time) is tested against the bounds alone."""
    if -_ONE_DIGIT <= learnt <= _ONE_DIGIT:
        return f"(-{_ONE_DIGIT} <= {var} <= {_ONE_DIGIT} or {INT64_MIN} <= {var} <= {INT64_MAX})"
    return f"{INT64_MIN} <= {var} <= {INT64_MAX}"


Field = tuple[str, str, frozenset[type] | None]
"""(attribute, wire key, the nested model classes its annotation allows, or None for any)."""


class _Plan:
    """How to read one pydantic class (`fields`: what it declares; `top_fields`: those a chunk's own
    dump keeps): `read(obj, depth)` gives its dump (every field), `read_top`
    the same for the chunk itself (without google-genai's client-side fields, as `sdk_json` leaves
    them out); `genai` says it is google-genai's (dumped in Python mode, bytes as base64 text);
    `extras` that its dump writes extra fields (`extra="allow"`): pydantic's serializer leaves
    `__pydantic_extra__` out for any other class, so its readers never read it."""

    __slots__ = ("extras", "fields", "genai", "read", "read_top", "top_fields")

    def __init__(
        self, fields: tuple[Field, ...], top_fields: tuple[Field, ...], genai: bool, extras: bool
    ) -> None:
        self.fields = fields
        self.top_fields = top_fields
        self.genai = genai
        self.extras = extras
        self.read = _reader(fields, genai, extras)
        self.read_top = self.read if top_fields == fields else _reader(top_fields, genai, extras)


def _reader(fields: tuple[Field, ...], genai: bool, extras: bool) -> Callable[[Any, int], dict[str, Any]]:
    """A function reading one class's set fields in declaration order, then its extras. Generated
    once per class (as dataclasses and attrs generate their methods): one straight-line test per
    field instead of a loop over a field table, and a field declared as one model class (or a list
    of them) calls that class's reader directly; together they halve the cost of reading a chunk."""
    lines = [
        "def read(obj, depth):",
        "    if depth > MAX_DEPTH:",
        "        raise Unsnappable('nested too deep')",
        "    values = obj.__dict__",
        "    is_set = obj.__pydantic_fields_set__",
        "    out = {}",
    ]
    namespace: dict[str, Any] = {
        "value": _value,
        "extras": _extras,
        "plans": _PLANS,
        "Unsnappable": Unsnappable,
        "MIN": INT64_MIN,
        "MAX": INT64_MAX,
        "MAX_DEPTH": _MAX_DEPTH + 1,
    }
    for i, (name, wire, allowed) in enumerate(fields):
        namespace[f"A{i}"] = allowed
        lines += [f"    if {name!r} in is_set:", f"        x = values[{name!r}]", "        t = type(x)"]
        only = next(iter(allowed)) if allowed is not None and len(allowed) == 1 else None
        if only is not None and _is_genai(only) == genai:
            namespace[f"C{i}"] = only
            lines += [
                f"        if t is C{i} and (p := plans.get(C{i})) is not None:",
                f"            out[{wire!r}] = p.read(x, depth + 1)",
                f"        elif t is list and (p := plans.get(C{i})) is not None:",
                "            r = p.read",
                f"            out[{wire!r}] = [r(e, depth + 2) if type(e) is C{i} else "
                f"value(e, A{i}, {genai!r}, depth + 1) for e in x]",
                "        else:",
                f"            out[{wire!r}] = x if t is str or x is None or t is bool or "
                f"(t is int and MIN <= x <= MAX) else value(x, A{i}, {genai!r}, depth)",
            ]
        else:
            lines.append(
                f"        out[{wire!r}] = x if t is str or x is None or t is bool or "
                f"(t is int and MIN <= x <= MAX) else value(x, A{i}, {genai!r}, depth)"
            )
    if extras:
        lines += [
            "    extra = obj.__pydantic_extra__",
            "    if extra:",
            f"        extras(out, extra, {genai!r}, depth)",
        ]
    lines.append("    return out")
    # the source holds only field names and wire keys, each written with repr()
    exec("\n".join(lines), namespace)
    reader: Callable[[Any, int], dict[str, Any]] = namespace["read"]
    return reader


def _is_genai(kind: type) -> bool:
    return kind.__module__.startswith("google.genai")


_PLANS: dict[type, _Plan | None] = {}
_BASE_DUMP: Any = None


def _model_types(annotation: Any, out: set[type]) -> bool:
    """Collect the pydantic model classes a field's annotation names into `out`; False when the
    annotation admits any value (Any, object, a bare type variable), so any model may appear."""
    if annotation is Any or annotation is object or isinstance(annotation, typing.TypeVar):
        return False
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return True
    if origin is None:
        if isinstance(annotation, type) and hasattr(annotation, "__pydantic_fields__"):
            out.add(annotation)
        return True
    return all(_model_types(arg, out) for arg in typing.get_args(annotation))


def plan_of(kind: type) -> _Plan | None:
    """The reading plan for an SDK class, or None when a field-by-field read may differ from its
    dump (custom serializers, computed or excluded fields, not pydantic's own model_dump)."""
    try:
        return _PLANS[kind]
    except KeyError:
        pass
    plan: _Plan | None = None
    try:
        plan = _make_plan(kind)
    except Exception:  # an unusual class: read through its model_dump instead
        plan = None
    _PLANS[kind] = plan
    return plan


def _make_plan(kind: type) -> _Plan | None:
    global _BASE_DUMP
    if _BASE_DUMP is None:
        import pydantic  # a runtime dependency; imported here so helpers load without it at first

        _BASE_DUMP = pydantic.BaseModel.model_dump
    fields = getattr(kind, "__pydantic_fields__", None)
    decorators = getattr(kind, "__pydantic_decorators__", None)
    if (
        not isinstance(fields, Mapping)
        or decorators is None
        or getattr(kind, "model_dump", None) is not _BASE_DUMP
    ):
        return None
    if decorators.field_serializers or decorators.model_serializers or decorators.computed_fields:
        return None
    if getattr(kind, "__pydantic_root_model__", False):
        return None
    genai = _genai_plan_for(kind)
    skipped = genai or set()
    entries: list[tuple[str, str, frozenset[type] | None]] = []
    for name, info in fields.items():
        if info.exclude or any("Serializer" in type(m).__name__ for m in info.metadata):
            return None
        wire = info.serialization_alias or info.alias or name
        allowed: set[type] = set()
        entries.append((name, wire, frozenset(allowed) if _model_types(info.annotation, allowed) else None))
    top = tuple(entry for entry in entries if entry[0] not in skipped)
    return _Plan(tuple(entries), top, genai is not None, _dumps_extras(kind))


_NO_EXTRAS: Final = frozenset({"ignore", "forbid"})


def _dumps_extras(kind: type) -> bool:
    """Whether pydantic's dump of `kind` writes its extra fields: only with `extra="allow"` (the
    default is "ignore"; google-genai's models forbid extras). Any other setting counts as allow, so
    its extras are read as before."""
    config = getattr(kind, "model_config", None)
    if not isinstance(config, Mapping):
        return True
    return config.get("extra", "ignore") not in _NO_EXTRAS


def _genai_plan_for(kind: type) -> set[str] | None:
    """For a google-genai class, the fields that hold what its client fills in (left out, as
    `sdk_json` leaves them out); None for any other vendor's class."""
    if not _is_genai(kind):
        return None
    skipped: set[str] = set()
    for name, info in kind.__pydantic_fields__.items():  # type: ignore[attr-defined]
        if (info.serialization_alias or info.alias or name) in _GENAI_CLIENT_KEYS:
            skipped.add(name)
    return skipped


def _value(value: Any, allowed: frozenset[type] | None, genai: bool, depth: int) -> Any:
    """A JSON value read from a field (see the module docstring), or Unsnappable."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return value
        raise Unsnappable("integer outside 64 bits")
    if kind is float:
        if value - value == 0.0:
            return value
        raise Unsnappable("non-finite float")
    if depth > _MAX_DEPTH:
        raise Unsnappable("nested too deep")
    plan = _PLANS.get(kind)
    if plan is not None and (allowed is None or kind in allowed) and plan.genai == genai:
        return plan.read(value, depth + 1)
    if kind is list or kind is tuple:
        return [_value(item, allowed, genai, depth + 1) for item in value]
    if kind is dict:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                raise Unsnappable("non-text key")
            out[key] = _value(item, allowed, genai, depth + 1)
        return out
    if allowed is None or kind in allowed:
        plan = plan_of(kind)
        if plan is not None and plan.genai == genai:
            return plan.read(value, depth + 1)
    if isinstance(value, Enum):
        inner = value.value
        if type(inner) is str or (type(inner) is int and INT64_MIN <= inner <= INT64_MAX):
            return inner
    elif genai:
        if kind is bytes:
            return base64.b64encode(value).decode("ascii")
        if kind is datetime:
            return value.isoformat().replace("+00:00", "Z")
    raise Unsnappable(f"a {kind.__name__} value")


def _extras(out: dict[str, Any], extra: Mapping[Any, Any], genai: bool, depth: int) -> None:
    """A model's extra fields (kept by `extra="allow"`), after its declared ones, as its dump has them."""
    for key, item in extra.items():
        if type(key) is not str or key in out:
            raise Unsnappable("an unusual extra field")
        out[key] = _value(item, None, genai, depth)


def sdk_chunk(obj: Any) -> dict[str, Any] | None:
    """`sdk_json(obj)` for a stream chunk read field by field, or None for a type this module does
    not read (the caller dumps it); Unsnappable for a value inside it that cannot be read exactly."""
    plan = plan_of(type(obj))
    if plan is None:
        return None
    try:
        data = plan.read_top(obj, 0)
    except (KeyError, AttributeError, TypeError) as exc:  # an object not shaped as its class says
        raise Unsnappable(str(exc)) from exc
    return tidy_top(data, plan.genai)


def tidy_top(data: dict[str, Any], genai: bool) -> dict[str, Any]:
    """A chunk's top-level read finished as `sdk_json` finishes its dump: google-genai's client-side
    fields and the SDK stream helpers' additions dropped (in place; `data` is returned)."""
    if genai:
        for key in _GENAI_CLIENT_KEYS:
            data.pop(key, None)
        return data
    kind = data.get("type")
    if type(kind) is str:
        for key in _SNAPSHOT_KEYS.get(kind, ()):
            data.pop(key, None)
    if (
        "response" in data
        or "output" in data
        or any(type(choice) is dict and "message" in choice for choice in data.get("choices") or ())
    ):  # only then can `sdk_json`'s stripping of openai's parse helpers change anything
        response = data.get("response")
        _strip_parsed(response if type(response) is dict else data)
    return data

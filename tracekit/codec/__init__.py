"""Exact dict/JSON round trip for every model type: the one boundary where values are checked.

The rule: whatever `to_dict`/`to_json` accept, `from_dict`/`from_json` give back equal; anything
else is refused with a SerializationError naming the field path, the value and the fix.

Writing (encoder.py) walks the dataclasses with a plan compiled from their type hints, checking
each value as it encodes it: datetimes become ISO-8601 UTC text with fixed microsecond width (so
stored text sorts), events carry their `event_type`. Reading validates through pydantic
TypeAdapters built from the same hints, their int/float/bool/str read strictly (a JSON value of
another type is refused, never coerced); every problem is reported in one InvalidDataError with
its field path and bad value. No other exception type leaves these functions.

Speed: JSON text is written and parsed by orjson, with the standard library as the fallback for
what orjson spells differently or refuses (lone surrogates, integers beyond 64 bits, floats it
formats differently), so the text is the same either way. `from_json` first tries the checked
fast decoders (decoder.py) and falls back to the full validation for anything they cannot vouch
for; the store reads its own rows with `from_trusted_json` / `from_trusted_dict`, which skip the
checks (and fall back to the full validation if a row is damaged).

Lone UTF-16 surrogates (half an emoji split across stream chunks) are kept in free text: the JSON
holds a \\u escape that reads back to the same string. Fields the store keeps in query columns
(`model.KeyText`: ids, names, top-level metadata keys) refuse them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from tracekit import model
from tracekit.codec import decoder
from tracekit.codec.encoder import INT64_MAX, INT64_MIN, MAX_DEPTH, encode, format_datetime, text_data
from tracekit.errors import FieldProblem, InvalidDataError, SerializationError

__all__ = [
    "MAX_DEPTH",
    "dumps",
    "dumps_encoded",
    "encode",
    "format_datetime",
    "from_dict",
    "from_json",
    "from_trusted_dict",
    "from_trusted_json",
    "loads",
    "to_dict",
    "to_json",
    "trusted_json_reader",
]

T = TypeVar("T")


# ---------------------------------------------------------------------------------------------
# Writing


_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


_PASSTHROUGH = (
    orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _respelled(out: bytes) -> bool:
    """Whether orjson's `out` may spell a float otherwise than Python's repr: below 1e-4 orjson
    writes "0.00001" where repr writes "1e-05" (a number starting "0.0000" and a digit, never
    preceded by a digit: a timestamp's ":40.000000" is), and "1e-7" where repr writes "1e-07" (a
    digit, "e-", one digit and no further digit). C-level finds; Python looks only at their hits."""
    end = len(out)
    at = out.find(b"0.0000")
    while at != -1:
        if (at == 0 or not 48 <= out[at - 1] <= 57) and at + 6 < end and 48 <= out[at + 6] <= 57:
            return True
        at = out.find(b"0.0000", at + 1)
    at = out.find(b"e-")
    while at != -1:
        if (
            at > 0
            and 48 <= out[at - 1] <= 57
            and at + 2 < end
            and 48 <= out[at + 2] <= 57
            and (at + 3 == end or not 48 <= out[at + 3] <= 57)
        ):
            return True
        at = out.find(b"e-", at + 2)
    return False


def _orjson_text(data: Any) -> str | None:
    """`data` as orjson writes it when that is the standard library's text, else None.

    orjson spells floats as Python's repr does except between 1e-9 and 1e-4 ("0.00001", "1e-7"
    where repr writes "1e-05", "1e-07"); it refuses lone surrogates and integers beyond 64 bits."""
    try:
        out = orjson.dumps(data, option=_PASSTHROUGH)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a big int, nesting past 254
        return None
    if _respelled(out):
        return None
    return out.decode("utf-8")


def dumps_encoded(data: Any, *, root: str = "") -> str:
    """`dumps` of what `encode` returned (checked: finite floats, str keys, JSON types only),
    written by orjson when its text is the same as the standard library's."""
    fast = _orjson_text(data)
    if fast is not None:
        return fast
    return dumps(data, root=root)


def dumps(data: Any, *, root: str = "") -> str:
    """Compact JSON text of already-checked data (non-ASCII kept). A lone surrogate is written as
    its \\u escape, so the text always encodes to UTF-8 and reads back to the same string; a
    surrogate pair held as two code points is refused (JSON would read it back as one character),
    with its path from `root`."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        if _SURROGATE_PAIR.search(text):
            _refuse_surrogate_pair(data, root)
        # Surrogates only occur inside JSON strings, where "\\udXXX" is the escape JSON itself uses.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _refuse_surrogate_pair(data: Any, root: str) -> None:
    """Raise SerializationError at the first string (or key) in `data` holding a surrogate pair."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        items: Any
        if isinstance(value, str):
            if _SURROGATE_PAIR.search(value):
                where = ".".join(p for p in (root, *path) if p)
                raise SerializationError(
                    f"{where}: {value[:40]!r} holds a UTF-16 surrogate pair as two code points, which "
                    "JSON reads back as one character; join the pair first, e.g. "
                    "s.encode('utf-16', 'surrogatepass').decode('utf-16')",
                    path=".".join(path),
                    value=value,
                )
            continue
        if isinstance(value, dict):
            stack.extend((key, (*path, repr(key))) for key in value)
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            continue
        stack.extend(
            (item, (*path, str(key) if model.is_valid_unicode(str(key)) else repr(key)))
            for key, item in items
        )


def to_dict(obj: model._Record) -> dict[str, Any]:
    """A JSON-ready dict of any model object with every field present (None = not reported);
    raises SerializationError naming the field path, value and fix of what would not read back."""
    return encode(obj, compact=False)


_TEXT_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def to_json(obj: model._Record) -> str:
    """Compact JSON text: fields still at their defaults (None, empty lists, ...) are left out and
    `from_json` restores them, so the round trip stays exact at a fraction of the size. Raises
    SerializationError (path, value, fix) for anything that would not read back equal."""
    # The memo writes a record held twice (an event in its timestep and in event_history) once.
    # First the writers for orjson's text (datetimes formatted by orjson, ids not checked for lone
    # surrogates: orjson refuses them); whatever orjson refuses or spells differently is written
    # again the checked way, which gives the text or names the problem.
    written = text_data(obj)
    if written is not None:
        data, unsure = written
        try:
            out = orjson.dumps(data, option=_TEXT_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: a lone surrogate, a big int, nesting past 254
            pass
        else:
            # the text writers leave floats below 1e-4 to the walk: only then can orjson's text differ
            if not (unsure and _respelled(out)):
                return out.decode("utf-8")
    return dumps_encoded(encode(obj, compact=True, memo={}), root=type(obj).__name__)


# ---------------------------------------------------------------------------------------------
# Reading


_ADAPTERS: dict[type, SchemaValidator] = {}

_EXACT_SCALARS = frozenset({"int", "float", "bool", "str"})
"""Core-schema types read strictly: pydantic's lax mode would take "3", 3.0 or true for an int,
"3.5" for a float, 1 or "yes" for a bool and bytes for a str, and hand back a value that to_json
writes otherwise. Strict keeps what JSON means: an int field takes a JSON integer, a float field a
JSON number, a bool field true/false, a str field a string; anything else is refused with its path."""


def _strict_scalars(schema: Any) -> Any:
    """A copy of a pydantic core schema with every int/float/bool/str schema in it made strict (the
    dataclasses, lists, dicts and datetimes around them keep their own rules)."""
    if isinstance(schema, dict):
        copied = {key: _strict_scalars(value) for key, value in schema.items()}
        if copied.get("type") in _EXACT_SCALARS:
            copied["strict"] = True
        return copied
    if isinstance(schema, list):
        return [_strict_scalars(item) for item in schema]
    return schema


def _adapter(cls: type[T]) -> SchemaValidator:
    """The validator for `cls` (its TypeAdapter's, with exact scalars), cached until an event type is
    registered (which changes unions)."""
    validator = _ADAPTERS.get(cls)
    if validator is None:
        validator = _ADAPTERS[cls] = SchemaValidator(_strict_scalars(TypeAdapter(cls).core_schema))
    return validator


model._registry_listeners.append(_ADAPTERS.clear)


def _target_class(cls: type[T], data: Mapping[str, Any]) -> type[T]:
    """For events, the registered class named by `event_type` (checked against `cls`)."""
    if not (isinstance(cls, type) and issubclass(cls, model.BaseEvent)):
        return cls
    tag = data.get("event_type", cls.event_type)
    target = model.registered_event_class(tag) if isinstance(tag, str) else None
    if target is None:
        known = ", ".join(sorted(model.event_types()))
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
        return typing.cast(T, _adapter(target).validate_python(data))
    except ValidationError as exc:
        raise InvalidDataError(target.__name__, _problems(exc)) from None
    except RecursionError:
        raise InvalidDataError(
            target.__name__, [FieldProblem("", "nested too deeply to validate", _head(repr(data)))]
        ) from None


_JSON_LEAVES = (str, bool, type(None))
_TWO_63 = 2.0**63


def _find_non_finite(data: Any) -> tuple[FieldProblem | None, bool]:
    """The first NaN/inf anywhere in `data` (walked with an explicit stack: any depth, no RecursionError),
    and whether `data` may hold what to_json refuses (a tuple, set, bytes, a non-str key, an object,
    nesting past MAX_DEPTH, a number past 64 bits that an int field would take)."""
    foreign = False
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                return FieldProblem(".".join(path), "non-finite float is not allowed", value), foreign
            foreign = foreign or abs(value) >= _TWO_63  # an int field would take it as a too-big int
            continue
        if kind is int:
            foreign = foreign or not INT64_MIN <= value <= INT64_MAX  # fine in free-form, not in an int field
            continue
        if len(path) > MAX_DEPTH:  # maybe past the free-form nesting limit: the write check decides
            foreign = True
        if isinstance(value, Mapping):
            foreign = foreign or kind is not dict or any(type(key) is not str for key in value)
            items: Any = value.items()
        elif isinstance(value, list | tuple):
            foreign = foreign or kind is not list
            items = enumerate(value)
        else:
            foreign = foreign or kind not in _JSON_LEAVES
            continue
        stack.extend((item, (*path, str(key))) for key, item in reversed(list(items)))
    return None, foreign


def _check_writable(cls: type[Any], obj: Any) -> None:
    """Refuse, as to_json would, a record read from a dict holding values JSON cannot (a tuple in
    free-form metadata, nesting past MAX_DEPTH...): what from_dict accepts must write and read back equal."""
    try:
        dumps(encode(obj, compact=True), root=cls.__name__)
    except SerializationError as exc:
        raise InvalidDataError(cls.__name__, [FieldProblem(exc.path or "", str(exc), exc.value)]) from None


def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Validate a dict (as `to_dict` makes, or hand-written) into `cls`; raises InvalidDataError."""
    problem, foreign = _find_non_finite(data)
    if problem is not None:
        raise InvalidDataError(getattr(cls, "__name__", str(cls)), [problem])
    obj = _validate(cls, data)
    if foreign:
        _check_writable(cls, obj)
    return obj


def _reject_constant(token: str) -> float:
    raise ValueError(f"non-finite number {token} is not allowed in tracekit JSON")


class _Numbers:
    """json.loads number hooks: floats must be finite; `big` notes a number past 64 bits (fine in
    free-form JSON, refused by to_json in an int field, so the write check must then decide)."""

    __slots__ = ("big",)

    def __init__(self) -> None:
        self.big = False

    def as_float(self, token: str) -> float:
        value = float(token)
        if not math.isfinite(value):
            raise ValueError(f"number {token} overflows a float")
        if abs(value) >= _TWO_63:
            self.big = True
        return value

    def as_int(self, token: str) -> int:
        value = int(token)
        if not INT64_MIN <= value <= INT64_MAX:
            self.big = True
        return value


def from_json(cls: type[T], text: str | bytes) -> T:
    """Parse JSON text (NaN/Infinity refused) and validate it into `cls`; raises InvalidDataError."""
    raw = _utf8(text)
    try:  # `_fast_loads`, inlined
        data = _NOT_PARSED if raw is None or _BIG_INT in raw.translate(_DIGIT_RUNS) else orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = _NOT_PARSED
    # a long run of digits (a number past 64 bits?), text orjson refuses, or nesting deeper than
    # to_json writes: the reference path below parses, validates and checks it as to_json would
    if raw is not None and type(data) is dict and not bytes_nest_deeper_than(raw, MAX_DEPTH):
        target = _fast_target(cls, data)
        decode = None if target is None else decoder.decoder(target, False)
        if decode is not None:
            decoder.forget_dates()
            try:
                return typing.cast(T, decode(data))
            except Exception:  # anything the fast path cannot vouch for: the full validation decides
                pass
    return _from_json_validated(cls, text)


def _from_json_validated(cls: type[T], text: str | bytes) -> T:
    """`from_json` through the standard library parser and the full pydantic validation (the
    reference the fast path is tested against, and what reports every problem)."""
    name = getattr(cls, "__name__", str(cls))
    try:
        numbers = _Numbers()
        data = json.loads(
            text, parse_constant=_reject_constant, parse_float=numbers.as_float, parse_int=numbers.as_int
        )
    except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidDataError(name, [FieldProblem("", f"not valid JSON: {exc}", _head(text))]) from None
    except RecursionError:
        raise InvalidDataError(
            name, [FieldProblem("", "not valid JSON: nested too deeply to parse", _head(text))]
        ) from None
    obj = _validate(cls, data)
    if numbers.big or _nests_deeper_than(text, MAX_DEPTH):
        _check_writable(cls, obj)
    return obj


_STR_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nests_deeper_than(text: str | bytes, limit: int) -> bool:
    """Whether valid JSON `text` nests more than `limit` lists/objects (string contents ignored):
    then a free-form value may be deeper than to_json writes, and the write check must decide.
    Texts with at most `limit` brackets (most call records) are answered by two counts."""
    plain = text if isinstance(text, str) else text.decode("utf-8", "replace")
    if plain.count("[") + plain.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS.sub("", _STR_TOKENS.sub("", plain))
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


_NOT_SHAPE = bytes(range(256)).translate(None, b'"[]{}')
_NOT_SHAPE_OR_ESCAPE = bytes(range(256)).translate(None, b'\\"[]{}')
_PARENS = bytes.maketrans(b"[]{}", b"()()")
_QUOTE_ESCAPES = re.compile(rb'\\[\\"]')
"""An escaped backslash or quote (leftmost first, as a JSON parser pairs them)."""


def bytes_nest_deeper_than(raw: bytes, limit: int) -> bool:
    """`_nests_deeper_than` of valid JSON held as UTF-8 bytes, in a few C-level passes: everything
    but backslashes, quotes and brackets dropped (one pass over the text; the rest works on what
    is left), escaped quotes and backslashes dropped, string contents dropped, then `limit` rounds
    each removing the innermost bracket pairs (what is left nests deeper)."""
    shape = raw.translate(_PARENS, _NOT_SHAPE_OR_ESCAPE)
    if shape.count(b"(") <= limit:
        return False
    if b"\\" in shape:
        if b'\\"' in shape:
            # maybe an escaped quote, or an escaped backslash (or a dropped escape letter) before a
            # quote: the escapes are paired on the text itself, beside what they escape
            shape = _QUOTE_ESCAPES.sub(b"", raw).translate(_PARENS, _NOT_SHAPE)
        else:  # no backslash right before a quote: backslashes change no string's end
            shape = shape.replace(b"\\", b"")
    shape = shape.replace(b'""', b"")  # empty or adjacent strings
    if b'"' in shape:
        shape = b"".join(shape.split(b'"')[::2])
    for _ in range(limit):
        if not shape:
            return False
        shape = shape.replace(b"()", b"")
    return bool(shape)


def from_trusted_json(cls: type[T], text: str | bytes) -> T:
    """Read JSON that tracekit wrote itself (the store's rows) without re-checking every field;
    text that does not decode that way (a damaged row) goes through `from_json`'s full checks."""
    data = _fast_loads(text)
    if data is _NOT_PARSED:
        try:
            data = json.loads(text, parse_constant=_reject_constant, parse_float=_Numbers().as_float)
        except (ValueError, TypeError, RecursionError):
            return from_json(cls, text)
    record = _trusted(cls, data)
    return from_json(cls, text) if record is None else record


def trusted_json_reader(cls: type[T]) -> Callable[[str | bytes], T]:
    """`from_trusted_json(cls, text)` as a function of `text` alone, with the class's decoder
    looked up once (the store's bulk reads: one call per row). `cls` is not an event class."""
    decode = decoder.decoder(cls, True)
    shapes = decoder.shape_table(cls)
    digits, big, loads = _DIGIT_RUNS, _BIG_INT, orjson.loads

    if shapes is not None:  # the class's decoder is its shape table's dispatch, inlined here

        def read_shaped(text: str | bytes) -> T:
            try:
                raw = text.encode("utf-8") if type(text) is str else text
                if big not in raw.translate(digits):
                    data = loads(raw)
                    if type(data) is dict:
                        return typing.cast(T, shapes[tuple(data)](data))
            except Exception:  # a lone surrogate, text orjson refuses, a damaged row: the full path
                pass
            return from_trusted_json(cls, text)

        return read_shaped

    def read(text: str | bytes) -> T:
        if decode is not None:
            try:
                raw = text.encode("utf-8") if type(text) is str else text
                if big not in raw.translate(digits):
                    data = loads(raw)
                    if type(data) is dict:
                        return typing.cast(T, decode(data))
            except Exception:  # a lone surrogate, text orjson refuses, a damaged row: the full path
                pass
        return from_trusted_json(cls, text)

    return read


def from_trusted_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """`from_trusted_json` for data already parsed (the store reassembles a trace from its rows);
    data that does not decode that way (a damaged row) goes through `from_dict`'s full checks."""
    record = _trusted(cls, data)
    return from_dict(cls, data) if record is None else record


def _trusted(cls: type[T], data: Any) -> T | None:
    """`data` decoded without re-checking its fields, or None when it does not decode that way (a
    damaged row: the caller's full validation then names what is wrong)."""
    if type(data) is not dict:
        return None
    target = _fast_target(cls, data)
    decode = None if target is None else decoder.decoder(target, True)
    if decode is None:
        return None
    try:
        return typing.cast(T, decode(data))
    except Exception:
        return None


def loads(text: str | bytes) -> Any:
    """`json.loads(text)`, parsed by orjson when that gives the same data (it raises what
    json.loads raises)."""
    data = _fast_loads(text)
    return json.loads(text) if data is _NOT_PARSED else data


_NOT_PARSED: Any = object()
_DIGIT_RUNS = bytes(ord("0") if chr(i).isdigit() and i < 128 else ord(" ") for i in range(256))
_BIG_INT = b"0" * 19
"""orjson reads an integer of 19 or more digits beyond 64 bits as a float; the standard library
keeps it exact, so text with such a run of digits is parsed by the standard library."""


def _utf8(text: Any) -> bytes | None:
    """`text` as UTF-8 bytes, or None when it is neither str nor bytes or holds a lone surrogate."""
    kind = type(text)
    if kind is bytes:
        return typing.cast(bytes, text)
    if kind is str:
        try:
            return typing.cast(str, text).encode("utf-8")
        except UnicodeEncodeError:
            return None
    return None


def _fast_loads(text: Any) -> Any:
    """orjson's parse of `text`, or _NOT_PARSED when it might differ from json.loads (big
    integers), or fails (lone surrogate escapes, NaN, invalid text: json.loads decides)."""
    raw = _utf8(text)
    if raw is None:
        return _NOT_PARSED
    if _BIG_INT in raw.translate(_DIGIT_RUNS):
        return _NOT_PARSED
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _NOT_PARSED


def _fast_target(cls: type, data: dict[str, Any]) -> type | None:
    """The class `_target_class` would pick, or None where it would raise."""
    if not (isinstance(cls, type) and issubclass(cls, model.BaseEvent)):
        return cls
    tag = data.get("event_type", cls.event_type)
    target = model.registered_event_class(tag) if type(tag) is str else None
    if target is None or not issubclass(target, cls):
        return None
    return target


def _head(text: Any, limit: int = 60) -> Any:
    try:
        return text if len(text) <= limit else text[:limit]
    except TypeError:  # not text at all: show it as it is
        return text


class _Codec:
    """The codec as the model's record methods see it (installed below)."""

    to_dict = staticmethod(to_dict)
    to_json = staticmethod(to_json)
    from_dict = staticmethod(from_dict)
    from_json = staticmethod(from_json)


model.install_codec(_Codec())

"""The per-call raw JSON text (`record.response_raw_json`, `request_raw_json`) written by orjson when
its text is provably the standard library's, else by `encode_json`: the same text either way.

orjson writes plain JSON values as `json.dumps(..., ensure_ascii=False, separators=(",", ":"),
allow_nan=False)` does except for a few spellings, each screened here in C speed:
- values that are not exactly dict/list/tuple/str/int/float/bool/None (an Enum member, a UUID, a
  str or dict subclass): orjson writes some of them where the standard library refuses, so a value
  `marshal` refuses (it takes only those exact types, bytes-likes, sets and complex, which orjson
  refuses in turn) goes to the standard library;
- NaN and infinity, which orjson writes as null where the standard library refuses: their marshal
  bytes (exponent all ones) are searched for, only when the marshal bytes hold a 0x7f or 0xff byte
  at all (the last byte of a non-finite float is one of them; plain text and small counts have none);
- floats between 1e-9 and 1e-4, which orjson spells "0.00001", "1e-7" where repr writes "1e-05",
  "1e-07"; orjson refuses integers beyond 64 bits, lone surrogates and nesting past 254 levels.
  The short exponent is found by looking at each "e-" orjson wrote (a model id such as
  "claude-3-5-sonnet" holds one in a string) rather than by a regex over the whole text.
"""

from __future__ import annotations

import marshal
import re
from typing import Any

import orjson

from tracekit.helpers._json import encode_json

__all__ = ["json_bytes", "json_text", "spelled_alike"]

_NON_FINITE = re.compile(rb"[\x67\xe7][\x00-\xff]{6}[\xf0-\xff][\x7f\xff]", re.DOTALL).search
"""A marshalled float (type byte "g", with or without the reference flag) whose exponent bits are
all ones: NaN or infinity. Other bytes may match too; a match only sends the value the slow way."""
_SHORT_EXPONENT = re.compile(rb"[0-9]e-[0-9](?![0-9])").search
_MARSHAL = marshal.dumps
_ORJSON = orjson.dumps
_MAX_LOOKS = 16
"""How many "e-" are looked at one by one before the regex searches the rest of the text."""


def _short_exponent(out: bytes) -> bool:
    """Whether `out` holds a digit, "e-", one digit and no digit after it (`_SHORT_EXPONENT`'s
    match): each "e-" found is looked at in place, without scanning the text a second time."""
    at = out.find(b"e-", 1)
    looks = 0
    size = len(out)
    while at != -1:
        if at + 2 >= size:  # no digit can follow the "e-"
            return False
        digit_after = at + 3 < size and 48 <= out[at + 3] <= 57
        if 48 <= out[at - 1] <= 57 and 48 <= out[at + 2] <= 57 and not digit_after:
            return True
        looks += 1
        if looks == _MAX_LOOKS:  # text full of "e-": the regex takes the rest
            return _SHORT_EXPONENT(out, at) is not None
        at = out.find(b"e-", at + 1)
    return False


def spelled_alike(out: bytes) -> bool:
    """Whether every float in `out`, orjson's text of plain JSON values, is spelled as `repr`
    spells it (see the module docstring); a false "no" only sends a value the checked way."""
    return b"0.0000" not in out and not _short_exponent(out)


def json_bytes(value: Any) -> bytes | None:
    """`encode_json(value)` as UTF-8, written by orjson, when that is provably its text; else None
    (the caller takes `json_text`, which gives the text or the standard library's exception)."""
    try:
        packed = _MARSHAL(value)
    except Exception:  # ValueError: a type marshal does not take (anything but the exact core types)
        return None
    if (b"\xff" in packed or b"\x7f" in packed) and _NON_FINITE(packed) is not None:
        return None
    try:
        out = _ORJSON(value)
    except TypeError:  # orjson.JSONEncodeError: bytes, sets, big ints, lone surrogates, deep nesting
        return None
    if b"0.0000" in out or _short_exponent(out):
        return None
    return out


def _orjson_text(value: Any) -> str | None:
    """`value` as orjson writes it when that is provably `encode_json`'s text, else None."""
    fast = json_bytes(value)
    return None if fast is None else fast.decode("utf-8")


def json_text(value: Any) -> str:
    """`encode_json(value)`, the same text and the same exceptions, written by orjson when it can be."""
    fast = json_bytes(value)
    if fast is not None:
        return fast.decode("utf-8")
    return encode_json(value)

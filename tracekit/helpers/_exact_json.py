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
"""

from __future__ import annotations

import marshal
import re
from typing import Any

import orjson

from tracekit.helpers._json import encode_json

__all__ = ["json_bytes", "json_text"]

_NON_FINITE = re.compile(rb"[\x67\xe7][\x00-\xff]{6}[\xf0-\xff][\x7f\xff]", re.DOTALL).search
"""A marshalled float (type byte "g", with or without the reference flag) whose exponent bits are
all ones: NaN or infinity. Other bytes may match too; a match only sends the value the slow way."""
_SHORT_EXPONENT = re.compile(rb"[0-9]e-[0-9](?![0-9])").search
_MARSHAL = marshal.dumps
_ORJSON = orjson.dumps


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
    if b"0.0000" in out or (b"e-" in out and _SHORT_EXPONENT(out) is not None):
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

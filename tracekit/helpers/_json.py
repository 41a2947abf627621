"""One compact JSON encoder for the per-call hot paths (raw JSON of requests and responses, the
request snapshot): what `json.dumps(value, ensure_ascii=False, separators=(",", ":"),
allow_nan=False)` writes, from the C encoder built once instead of on every call."""

from __future__ import annotations

import json.encoder
from typing import Any, NoReturn

__all__ = ["encode_json"]


def _refuse(value: Any) -> NoReturn:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_make: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODE = (
    None
    if _make is None
    else _make(None, _refuse, json.encoder.encode_basestring, None, ":", ",", False, False, False)
)
_PY_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def encode_json(value: Any) -> str:
    """Compact JSON text of `value`, non-ASCII kept; TypeError for a value JSON cannot hold,
    ValueError for NaN/infinity, RecursionError for a cycle or nesting past the recursion limit
    (the C encoder keeps no markers: callers catch all three, as they do for json.dumps)."""
    if _C_ENCODE is None:  # a Python built without the _json accelerator
        return _PY_ENCODE(value)
    return "".join(_C_ENCODE(value, 0))

"""Call ids for the per-call path: `model.new_id()`'s form (uuid4 hex: 122 random bits from
`os.urandom`, version 4, RFC 4122 variant) drawn from a block of random bytes read 256 ids at a
time, which saves a system call and a uuid.UUID per recorded call.

Each id is handed out once: the pool is a list iterator (`next` on it is atomic under the GIL, so
threads never share an id), and a forked child drops the parent's pool so the two processes never
hand out the same ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

__all__ = ["new_call_id"]

_PER_READ = 256
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)
_URANDOM = os.urandom
_EMPTY: Iterator[str] = iter(())
_pool: Iterator[str] = _EMPTY


def _fresh_ids() -> list[str]:
    block = _URANDOM(16 * _PER_READ)
    from_bytes, clear, set_bits = int.from_bytes, _UUID4_CLEAR, _UUID4_SET
    return [
        "%032x" % ((from_bytes(block[i : i + 16], "big") & clear) | set_bits)
        for i in range(0, len(block), 16)
    ]


def new_call_id() -> str:
    """A fresh uuid4 hex id, as `model.new_id()` gives."""
    global _pool
    try:
        return next(_pool)
    except StopIteration:
        ids = _fresh_ids()
        mine = ids.pop()  # taken before the pool is shared: another thread cannot drain it first
        _pool = iter(ids)
        return mine


def _drop_pool() -> None:
    global _pool
    _pool = _EMPTY


os.register_at_fork(after_in_child=_drop_pool)

"""A local append-only file of traces that could not be saved, replayed once the store is back.

One trace per line, as the model's JSON. Appends are flushed and fsynced before the save call
returns, so a trace handed to the store survives the process dying. Replay rewrites the file
atomically (temp file + rename) with only the lines that still failed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

__all__ = ["Spool", "default_spool_path"]

log = logging.getLogger(__name__)


def default_spool_path(url: str) -> Path:
    """Where a store's spool lives: $TRACEKIT_SPOOL_DIR or ~/.cache/tracekit, one file per URL."""
    base = os.environ.get("TRACEKIT_SPOOL_DIR") or os.path.join(Path.home(), ".cache", "tracekit")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(base) / f"spool-{digest}.jsonl"


class Spool:
    """Traces waiting to be saved, one JSON document per line in `path` (blocking file I/O)."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r})"

    def append(self, trace_json: str) -> None:
        """Add one trace's JSON (a single line) and flush it to disk."""
        if "\n" in trace_json:
            raise ValueError("spooled trace JSON must be one line (the codec writes compact JSON)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(trace_json + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> list[str]:
        """Every spooled line, oldest first ([] when there is no spool file)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line for line in text.split("\n") if line]

    def replace(self, lines: list[str], *, consumed: int) -> None:
        """Drop the first `consumed` lines read earlier, keep `lines` in their place, and keep any
        lines appended since the read; atomic on the file system."""
        current = self.read()
        remaining = lines + current[consumed:]
        if not remaining:
            self.path.unlink(missing_ok=True)
            return
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in remaining))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

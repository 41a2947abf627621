"""A local file of traces that could not be saved, replayed once the store is back; safe to share
between processes.

Each line is `<spool id> <trace JSON>`: the id (32 random hex digits) is how a replay removes
exactly the lines it saved, whatever was appended or removed meanwhile. Plain JSON lines written
by tracekit 0.1 are read too (their text is their identity). Appends are flushed and fsynced
before the save call returns, so a trace handed to the store survives the process dying.

Two advisory `flock` locks beside the spool make it safe across processes and threads (POSIX):
`<spool>.lock` is held briefly by every append, read and rewrite; `<spool>.replay.lock` is held
by one replay from its read to its rewrite, so no two replays save the same lines. A rewrite
re-reads the file under the lock, drops the ids that were saved and keeps every other line (those
appended during the replay included), then swaps the file in through a unique temporary name.

A line that is not an id and a JSON object (a torn write of a crashed process, corrupt bytes)
is moved to `<spool>.rejected` with a warning, and the other lines are replayed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tracekit.errors import StoreError

__all__ = ["Spool", "SpoolEntry", "SpoolSnapshot", "default_spool_path"]

log = logging.getLogger(__name__)

_ID = re.compile(rb"[0-9a-f]{32}")


def default_spool_path(url: str) -> Path:
    """Where a server store's spool lives: $TRACEKIT_SPOOL_DIR or ~/.cache/tracekit, one file per URL."""
    base = os.environ.get("TRACEKIT_SPOOL_DIR") or os.path.join(Path.home(), ".cache", "tracekit")
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return Path(base) / f"spool-{digest}.jsonl"


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    """One spooled trace: its identity in the spool and its JSON text."""

    spool_id: str
    trace_json: str


@dataclass(frozen=True, slots=True)
class SpoolSnapshot:
    """What a read found: the well-formed entries, oldest first, and the raw lines that were not."""

    entries: list[SpoolEntry]
    rejected: list[bytes]


def _parse(line: bytes) -> SpoolEntry | None:
    """The entry a line holds, or None when it is torn or corrupt (not an id and a JSON object)."""
    if _ID.fullmatch(line[:32]) and line[32:33] == b" ":
        ident, body = line[:32].decode("ascii"), line[33:]
    elif line[:1] == b"{":
        ident, body = "", line  # a tracekit 0.1 line: plain JSON, identified by its text
    else:
        return None
    try:
        text = body.decode("utf-8")
        if not isinstance(json.loads(text), dict):
            return None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        return None
    return SpoolEntry(ident or _legacy_id(body), text)


def _legacy_id(body: bytes) -> str:
    return "legacy:" + hashlib.sha256(body).hexdigest()


def _entry_id(line: bytes) -> str | None:
    """The identity of a raw line (no JSON parsing): its spool id, or its text for a 0.1 line."""
    if _ID.fullmatch(line[:32]) and line[32:33] == b" ":
        return line[:32].decode("ascii")
    if line[:1] == b"{":
        return _legacy_id(line)
    return None


class Spool:
    """Traces waiting to be saved, one per line in `path` (blocking file I/O; run it off the loop)."""

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"Spool({str(self.path)!r})"

    @property
    def lock_path(self) -> Path:
        """The lock file held for appends, reads and rewrites."""
        return self.path.with_name(self.path.name + ".lock")

    @property
    def replay_lock_path(self) -> Path:
        """The lock file held by a replay from its read to its rewrite."""
        return self.path.with_name(self.path.name + ".replay.lock")

    @property
    def rejected_path(self) -> Path:
        """Where torn and corrupt lines are moved (kept for inspection, never replayed)."""
        return self.path.with_name(self.path.name + ".rejected")

    def exists(self) -> bool:
        """Whether the spool file exists (it is removed when its last line is replayed)."""
        return self.path.exists()

    def append(self, trace_jsons: Sequence[str]) -> list[str]:
        """Add traces' JSON (one line each) durably, under the lock; returns their spool ids."""
        ids = [uuid.uuid4().hex for _ in trace_jsons]
        chunks: list[bytes] = []
        for ident, text in zip(ids, trace_jsons, strict=True):
            if "\n" in text or "\r" in text:
                raise StoreError("spooled trace JSON must be one line (the codec writes compact JSON)")
            try:
                chunks.append(f"{ident} {text}\n".encode())
            except UnicodeEncodeError as exc:
                raise StoreError(
                    f"cannot spool a trace whose JSON is not valid UTF-8 ({exc.reason} at {exc.start}); "
                    "the codec escapes lone surrogates, so build the JSON with to_json()"
                ) from exc
        data = b"".join(chunks)
        with self._locked(self.lock_path, wait=True) as _held, self._io("append to"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                if handle.tell() > 0 and not self._ends_with_newline():
                    data = b"\n" + data  # a crashed writer left a torn line: never glue onto it
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        return ids

    def read(self) -> SpoolSnapshot:
        """Every spooled entry, oldest first, and the torn/corrupt lines (empty without a spool file)."""
        with self._locked(self.lock_path, wait=True) as _held, self._io("read"):
            lines = self._raw_lines()
        entries: list[SpoolEntry] = []
        rejected: list[bytes] = []
        for line in lines:
            entry = _parse(line)
            if entry is None:
                rejected.append(line)
            else:
                entries.append(entry)
        return SpoolSnapshot(entries, rejected)

    def remove(self, spool_ids: set[str], rejected: Sequence[bytes] = ()) -> int:
        """Drop the lines with these ids and move these rejected lines to `rejected_path`, keeping
        every other line; atomic on the file system. Returns how many lines remain."""
        bad = set(rejected)
        with self._locked(self.lock_path, wait=True) as _held, self._io("rewrite"):
            lines = self._raw_lines()
            kept = [line for line in lines if _entry_id(line) not in spool_ids and line not in bad]
            moved = [line for line in lines if line in bad]
            if moved:
                with self.rejected_path.open("ab") as handle:
                    handle.write(b"".join(line + b"\n" for line in moved))
                    handle.flush()
                    os.fsync(handle.fileno())
            if len(kept) == len(lines):
                return len(kept)
            if not kept:
                self.path.unlink(missing_ok=True)
                return 0
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(b"".join(line + b"\n" for line in kept))
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return len(kept)

    @contextmanager
    def replaying(self, *, wait: bool) -> Iterator[bool]:
        """Hold the replay lock; yields False (without waiting) when `wait` is off and another
        replay holds it."""
        with self._locked(self.replay_lock_path, wait=wait) as held:
            yield held

    # -- internals (callers hold the lock) --------------------------------------------------------

    def _raw_lines(self) -> list[bytes]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [line for line in data.split(b"\n") if line.strip()]

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    @contextmanager
    def _io(self, action: str) -> Iterator[None]:
        """OS errors on the spool file become a StoreError naming the file."""
        try:
            yield
        except OSError as exc:
            raise StoreError(
                f"cannot {action} the spool {str(self.path)!r}: {exc.strerror or exc}; "
                "pass spool_path= a writable file, or set TRACEKIT_SPOOL_DIR"
            ) from exc

    @contextmanager
    def _locked(self, lock_path: Path, *, wait: bool) -> Iterator[bool]:
        """Hold an exclusive flock on `lock_path` (per open file: threads exclude each other too)."""
        handle: IO[bytes]
        with self._io("lock"):
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            handle = lock_path.open("ab")
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            except OSError as exc:
                raise StoreError(
                    f"cannot lock {str(lock_path)!r}: {exc.strerror or exc}; the spool needs a local "
                    "file system with flock (pass spool_path=)"
                ) from exc
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

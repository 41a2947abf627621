"""NDJSONSink writes live events one JSON object a line (flushed on an interval and on close);
read_ndjson reads them back, leaving out a last line cut by a crash."""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import threading
import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from tracekit.errors import InvalidArgumentError
from tracekit.store.arguments import file_path

if TYPE_CHECKING:
    from tracekit.live.bus import Event

__all__ = ["NDJSONSink", "read_ndjson"]

log = logging.getLogger(__name__)


class NDJSONSink:
    """Writes events one JSON object a line to `path` (appending), flushed every
    `flush_interval_ms` and on close; a crash loses at most what arrived since the last flush,
    and a line cut by a crash is never misread (read_ndjson skips it).

    Use it as a subscriber: `with tracer.subscribe(tk.NDJSONSink(path)): ...`. `fsync=True` also
    asks the OS to put each flush on disk (survives power loss, slower). Values JSON cannot hold
    are written as their repr.
    """

    def __init__(self, path: str | os.PathLike[str], flush_interval_ms: float = 1000, *, fsync: bool = False):
        if (
            isinstance(flush_interval_ms, bool)
            or not isinstance(flush_interval_ms, int | float)
            or not 0 < flush_interval_ms < math.inf
        ):
            raise InvalidArgumentError(
                f"flush_interval_ms must be a finite number of milliseconds > 0, got {flush_interval_ms!r}"
            )
        self.path = file_path(path)
        self.flush_interval_ms = float(flush_interval_ms)
        self.fsync = fsync
        self.written = 0
        """Lines written to the file so far (flushed)."""
        self._lines: list[bytes] = []
        self._lock = threading.Lock()
        self._closed = threading.Event()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise InvalidArgumentError(f"cannot open {self.path} for appending: {exc.strerror}") from exc
        self._thread = threading.Thread(target=self._flusher, name="tracekit-ndjson", daemon=True)
        self._thread.start()
        atexit.register(_close_at_exit, weakref.ref(self))

    def __repr__(self) -> str:
        return f"NDJSONSink({str(self.path)!r}, flush_interval_ms={self.flush_interval_ms:g})"

    def __enter__(self) -> NDJSONSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __call__(self, event: Event) -> None:
        """Buffer one event as a line (written at the next flush)."""
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=repr).encode("utf-8")
        with self._lock:
            if self._closed.is_set():
                log.warning("NDJSONSink %s is closed; %s event not written", self.path, event.get("kind"))
                return
            self._lines.append(line + b"\n")

    def flush(self) -> int:
        """Write the buffered lines now in one write; returns how many."""
        with self._lock:
            lines, self._lines = self._lines, []
            if not lines or self._fd < 0:
                return 0
            data = b"".join(lines)
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            if self.fsync:
                os.fsync(self._fd)
            self.written += len(lines)
            return len(lines)

    def close(self) -> None:
        """Flush what is buffered and close the file (again: no-op)."""
        if self._closed.is_set():
            return
        try:
            self.flush()
        finally:
            self._closed.set()
            with self._lock:
                fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)

    def _flusher(self) -> None:
        interval = self.flush_interval_ms / 1000.0
        while not self._closed.wait(interval):
            try:
                self.flush()
            except OSError:
                log.exception("NDJSONSink could not write to %s; lines stay buffered", self.path)


def _close_at_exit(ref: weakref.ref[NDJSONSink]) -> None:
    sink = ref()
    if sink is not None:
        sink.close()


def read_ndjson(path: str | os.PathLike[str]) -> list[Event]:
    """The events an NDJSONSink wrote to `path`. A last line without its newline (cut by a crash
    mid-write) is left out; any other line that is not a JSON object raises InvalidArgumentError."""
    try:
        data = file_path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc.strerror}") from exc
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line the writer did not finish
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise InvalidArgumentError(f"{path}: line {number} is not JSON ({exc}): {line[:80]!r}") from None
        if not isinstance(event, dict):
            raise InvalidArgumentError(f"{path}: line {number} is not a JSON object: {line[:80]!r}")
        events.append(event)
    return events

"""Embedded saves queued for the database's worker thread; the next one prepared while a save commits.

A save's CPU work (checking, encoding, building its rows) and its write run on the database's one
worker thread, one save after another. A commit under synchronous=FULL spends most of its time
syncing the WAL to disk with the GIL released and no Python running, so as a save's COMMIT starts,
the next queued save is prepared on a second thread: with two or more saves waiting, a save's
encoding overlaps the previous save's sync instead of adding to it. It is started only then, never
beside a save's INSERTs: executemany takes the GIL back after every row, and a busy Python thread
beside it makes it 2-3x slower. A save's own write waits for its rows (prepared ahead or, when
nothing was waiting, on the worker as before); a refusal found ahead of time is raised by that save
alone, before anything of it is written.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Sequence

from tracekit.store.embedded import StatementRows

__all__ = ["PreparedWrite", "WriteQueue"]

Prepare = Callable[[], Sequence[StatementRows]]


class PreparedWrite:
    """One queued save: `prepare` run once, on whichever thread gets to it first (the other waits)."""

    __slots__ = ("_error", "_groups", "_lock", "_prepare", "started")

    def __init__(self, prepare: Prepare) -> None:
        self._prepare = prepare
        self._lock = threading.Lock()
        self._groups: Sequence[StatementRows] | None = None
        self._error: Exception | None = None
        self.started = False
        """Whether the preparer thread was given this save (it is given each save once)."""

    def groups(self) -> Sequence[StatementRows]:
        """The save's statement groups; raises what `prepare` raised (the same exception object)."""
        with self._lock:
            if self._groups is None and self._error is None:
                try:
                    self._groups = self._prepare()
                except Exception as exc:  # kept for the save's own write, which raises it
                    self._error = exc
        if self._error is not None:
            raise self._error
        assert self._groups is not None
        return self._groups

    def prepare_ahead(self) -> None:
        """Prepare on the preparer thread; a refusal waits for the save's own write to raise it."""
        with contextlib.suppress(Exception):
            self.groups()


class WriteQueue:
    """The saves queued for one worker thread, in submission order (the order the worker runs them),
    and the thread that prepares the next one while a save commits (made when first needed)."""

    __slots__ = ("_closed", "_jobs", "_preparer")

    def __init__(self) -> None:
        self._jobs: deque[PreparedWrite] = deque()
        self._preparer: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False

    def add(self, prepare: Prepare) -> PreparedWrite:
        """Queue a save (on the caller's thread, before it is handed to the worker)."""
        job = PreparedWrite(prepare)
        self._jobs.append(job)
        return job

    def discard(self, job: PreparedWrite) -> None:
        """Forget a save: it runs now, or its caller stopped waiting (a cancelled save)."""
        with contextlib.suppress(ValueError):
            self._jobs.remove(job)

    def prepare_next(self) -> None:
        """On the worker, as a save's COMMIT starts: give the next queued save to the preparer thread."""
        try:
            job = self._jobs[0]
        except IndexError:
            return
        if job.started or self._closed:
            return
        job.started = True
        if self._preparer is None:
            self._preparer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tracekit-prepare")
        with contextlib.suppress(RuntimeError):  # shut down meanwhile: the save prepares on the worker
            self._preparer.submit(job.prepare_ahead)

    def close(self) -> None:
        """Stop the preparer thread (a preparation under way finishes; its save prepares it no more)."""
        self._closed = True
        if self._preparer is not None:
            self._preparer.shutdown(wait=False)
            self._preparer = None

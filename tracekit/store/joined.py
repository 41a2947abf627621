"""Saves to a server that wait for a free slot, sent together by the first of them to get one.

A manager sends at most `max_inflight_saves` saves at once (each holds a write connection; the
bundled sqld can stop committing with 3 or more writers, see README "Reliability and limits").
When every slot is busy and several saves wait, the first to get a slot sends the others'
statements after its own in the same batch: one request and one transaction, each save's deletes
and inserts in the order the saves were made (so of two saves of one session the later wins, as it
would one after the other), up to `max_batch_bytes`. Each save still stands alone where it fails:
a batch the server refuses for its data is sent again save by save, so a refusal reaches only the
save that caused it; a batch spooled for an unreachable server spools every save in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracekit.model import SessionTrace
from tracekit.store.libsql import Statement

__all__ = ["Joiner", "Waiting"]


@dataclass(slots=True, eq=False)
class Waiting:
    """One save waiting for a slot: its traces, its statements, about how many bytes they send, and
    where the save that sends it puts the outcome (a SaveOutcome, or the exception to raise)."""

    traces: list[SessionTrace]
    statements: list[Statement]
    weight: int
    outcome: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Joiner:
    """The saves of one manager waiting for a slot, oldest first."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: list[Waiting] = []

    def wait(self, traces: list[SessionTrace], statements: list[Statement], weight: int) -> Waiting:
        """Join the queue of waiting saves."""
        entry = Waiting(traces, statements, weight)
        self._waiting.append(entry)
        return entry

    def leave(self, entry: Waiting) -> None:
        """Leave the queue (sent, taken by another save, or its caller stopped waiting)."""
        if entry in self._waiting:
            self._waiting.remove(entry)

    def take(self, entry: Waiting, max_bytes: int) -> list[Waiting]:
        """`entry` (which got a slot) and the saves waiting after it that fit one batch with it under
        `max_bytes`, in the order they were made; they leave the queue."""
        self.leave(entry)
        group = [entry]
        size = entry.weight
        for other in list(self._waiting):
            if other.outcome.done():
                continue
            if size + other.weight > max_bytes:
                break  # keep the order: a later save never goes before an earlier one left behind
            group.append(other)
            size += other.weight
            self._waiting.remove(other)
        return group

    def give_back(self, entries: Sequence[Waiting]) -> None:
        """Put saves taken by a save that could not send them back at the head of the queue: each
        sends itself when it gets a slot."""
        self._waiting[:0] = [entry for entry in entries if not entry.outcome.done()]

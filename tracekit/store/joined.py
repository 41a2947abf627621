"""Saves to a server that wait for a free slot, sent together by the first of them to get one.

A manager sends at most `max_inflight_saves` saves at once (each holds a write connection; the
bundled sqld can stop committing with 3 or more writers, see README "Reliability and limits").
A save that finds every slot busy (or others already waiting) joins the queue; a sender holding a
slot sends the oldest waiting saves together in one batch: one request and one transaction, each
save's deletes and inserts in the order the saves were made (so of two saves of one session the
later wins, as it would one after the other), up to `max_batch_bytes`. Each save still stands
alone where it fails: a batch the server refuses for its data is sent again save by save, so a
refusal reaches only the save that caused it; a batch spooled for an unreachable server spools
every save in it.
"""

from __future__ import annotations

import asyncio
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

    def waiting(self) -> bool:
        """Whether any save waits."""
        return bool(self._waiting)

    def wait(self, traces: list[SessionTrace], statements: list[Statement], weight: int) -> Waiting:
        """Join the queue of waiting saves."""
        entry = Waiting(traces, statements, weight)
        self._waiting.append(entry)
        return entry

    def leave(self, entry: Waiting) -> None:
        """Leave the queue before being sent (its caller stopped waiting)."""
        if entry in self._waiting:
            self._waiting.remove(entry)

    def take(self, max_bytes: int) -> list[Waiting]:
        """The oldest waiting saves that fit one batch under `max_bytes` (at least one), in the order
        they were made; they leave the queue. Empty when none waits."""
        size = 0
        count = 0
        for entry in self._waiting:
            if count and size + entry.weight > max_bytes:
                break
            size += entry.weight
            count += 1
        group = self._waiting[:count]
        del self._waiting[:count]
        return group

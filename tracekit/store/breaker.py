"""A circuit breaker for a remote store: after a connection failure, saves skip the server.

Closed (the normal state): saves go to the server. A save that cannot reach it trips the breaker;
while it is open, saves go straight to the spool instead of each waiting out the retries and the
timeout, and a cheap probe (a fresh connection and `SELECT 1`, under a short timeout) is due every
`probe_interval_s`, doubling up to `max_probe_interval_s`. A probe that gets an answer closes the
breaker and the spool is replayed. The breaker only keeps time; the manager runs the probes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CircuitBreaker"]


class CircuitBreaker:
    """Open/closed state with a backed-off probe schedule (`clock` is injectable for tests)."""

    __slots__ = (
        "_clock",
        "_interval_s",
        "_next_probe_at",
        "_open",
        "max_probe_interval_s",
        "probe_interval_s",
    )

    def __init__(
        self,
        probe_interval_s: float = 0.5,
        max_probe_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.probe_interval_s = probe_interval_s
        self.max_probe_interval_s = max_probe_interval_s
        self._clock = clock
        self._open = False
        self._interval_s = probe_interval_s
        self._next_probe_at = 0.0

    def __repr__(self) -> str:
        return f"CircuitBreaker(open={self._open})"

    @property
    def is_open(self) -> bool:
        """True while saves should skip the server."""
        return self._open

    def trip(self) -> None:
        """Open the breaker (a save could not reach the server); the first probe is due after one interval."""
        if not self._open:
            self._open = True
            self._interval_s = self.probe_interval_s
            self._next_probe_at = self._clock() + self._interval_s

    def close(self) -> None:
        """Close the breaker (the server answered)."""
        self._open = False
        self._interval_s = self.probe_interval_s

    def claim_probe(self) -> bool:
        """True when the breaker is open and a probe is due; the next one is then scheduled one
        (doubled, capped) interval later, so concurrent callers run at most one probe."""
        if not self._open:
            return False
        now = self._clock()
        if now < self._next_probe_at:
            return False
        self._interval_s = min(self._interval_s * 2, self.max_probe_interval_s)
        self._next_probe_at = now + self._interval_s
        return True

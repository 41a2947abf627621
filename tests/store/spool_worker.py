"""Child processes for the multi-process spool test: spool sessions to a store that is down, or
replay a shared spool into a database; each writes its results as JSON to `out`.

The test starts them through a forkserver that has imported tracekit.store once, so each child
is a real process that does not pay that import again. Every worker waits for the
`go` file to exist, so all of them start their work at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path

from storebuilders import make_trace

from tracekit.store import TursoManager


class _ReplayCounter(logging.Handler):
    """Adds up the "replayed N spooled session(s)" counts the manager logs (open() replays too)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.replayed = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.replayed += replayed_count(record)


def replayed_count(record: logging.LogRecord) -> int:
    """N from the manager's "replayed N spooled session(s)" log record; 0 for any other record."""
    if str(record.msg).startswith("replayed %d spooled") and isinstance(record.args, tuple):
        count = record.args[0]
        assert isinstance(count, int)
        return count
    return 0


def _wait_for(go_file: Path) -> None:
    deadline = time.monotonic() + 60
    while not go_file.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{go_file} never appeared")
        time.sleep(0.005)


async def _spool(url: str, spool: Path, prefix: str, count: int) -> dict[str, object]:
    db = TursoManager(url, spool_path=spool, retries=0, timeout_s=2)
    outcomes = [await db.save_session(make_trace(f"{prefix}-{i}", steps=1, seed=i)) for i in range(count)]
    await db.close()
    return {"outcomes": outcomes}


async def _replay(url: str, spool: Path, rounds: int) -> dict[str, object]:
    counter = _ReplayCounter()
    logger = logging.getLogger("tracekit.store.manager")
    logger.addHandler(counter)
    logger.setLevel(logging.INFO)
    db = TursoManager(url, spool_path=spool, timeout_s=20)
    for _ in range(rounds):
        await db.replay_spool()
        await asyncio.sleep(0.05)
    await db.close()
    return {"replayed": counter.replayed}


def spool_sessions(url: str, spool: Path, prefix: str, count: int, go: Path, out: Path) -> None:
    """Save `count` sessions named `<prefix>-<i>` to `url` (down), which spools them."""
    _wait_for(go)
    out.write_text(json.dumps(asyncio.run(_spool(url, spool, prefix, count))), encoding="utf-8")


def replay_spool(url: str, spool: Path, rounds: int, go: Path, out: Path) -> None:
    """Replay the spool into `url` `rounds` times; reports how many sessions this process saved."""
    _wait_for(go)
    out.write_text(json.dumps(asyncio.run(_replay(url, spool, rounds))), encoding="utf-8")

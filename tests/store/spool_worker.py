"""A child process for the multi-process spool test: spools sessions to a store that is down, or
replays a shared spool into a database; writes one JSON line of results to stdout.

    python spool_worker.py spool URL SPOOL PREFIX COUNT GO_FILE
    python spool_worker.py replay URL SPOOL ROUNDS GO_FILE

Every worker waits for GO_FILE to exist, so all of them start their work at the same moment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
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
        if record.msg.startswith("replayed %d spooled"):
            self.replayed += int(record.args[0])  # type: ignore[index]


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


def main(argv: list[str]) -> None:
    mode, url, spool = argv[0], argv[1], Path(argv[2])
    _wait_for(Path(argv[-1]))
    if mode == "spool":
        result = asyncio.run(_spool(url, spool, argv[3], int(argv[4])))
    else:
        result = asyncio.run(_replay(url, spool, int(argv[3])))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

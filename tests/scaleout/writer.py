"""A writer process for the scale-out test: saves `count` sessions named `<prefix>-<i>` to `url`
and prints one JSON line with the outcomes (run as `python writer.py URL PREFIX COUNT`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scaleout_traces import scaleout_trace

from tracekit.store import TursoManager


async def _write(url: str, prefix: str, count: int, spool: str) -> list[str]:
    async with TursoManager(url, spool_path=spool, retries=3, retry_backoff_s=0.2) as db:
        return [await db.save_session(scaleout_trace(f"{prefix}-{i}", i)) for i in range(count)]


if __name__ == "__main__":
    url, prefix, count, spool = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sys.stdout.write(json.dumps({"outcomes": asyncio.run(_write(url, prefix, count, spool))}) + "\n")

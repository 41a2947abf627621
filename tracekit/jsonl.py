"""Traces as JSON Lines: one `SessionTrace.to_json()` per line, for `tracekit export` / `import`.

Export streams the matching sessions one at a time; import validates every line before it
saves anything (a bad line names its number and the field), then saves in atomic batches. A
session's rewards and experiment links travel inside its session_metadata (a SessionTracer puts
them there; export adds those stored straight through `db.add_*_reward` / `db.link_session`):
saving the trace stores them in the reward tables and experiments again (each reward once, by its
key), so `list_sessions(min_reward=...)` and `export-sft --min-reward` see them in the new store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracekit.errors import InvalidArgumentError, InvalidDataError, SerializationError
from tracekit.model import SessionTrace
from tracekit.report.stats import Progress, SessionFilters, iter_sessions
from tracekit.store.arguments import whole
from tracekit.store.carried import (
    EXPERIMENT_INFO_KEY,
    EXPERIMENT_KEY,
    REWARD_KEY,
    STORED_KEY,
    Carried,
    carried,
)
from tracekit.store.manager import TursoManager

__all__ = ["ImportResult", "export_jsonl", "import_jsonl", "read_jsonl"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """How many traces were read and saved, and into which store."""

    url: str
    sessions: int


async def export_jsonl(
    db: TursoManager,
    write: Callable[[str], object],
    filters: SessionFilters | None = None,
    *,
    progress: Progress | None = None,
) -> int:
    """Write each matching trace, with its stored rewards and experiment links, as one JSON line
    through `write`; the number of traces written."""
    count = 0
    async for trace in iter_sessions(db, filters or SessionFilters()):
        write((await with_stored_side_tables(db, trace)).to_json() + "\n")
        count += 1
        if progress is not None:
            progress(count, None)
    return count


def read_jsonl(lines: Iterable[str], source: str = "<input>") -> list[SessionTrace]:
    """Every trace in `lines` (blank lines skipped); the first bad line raises InvalidDataError naming it."""
    if isinstance(lines, str | bytes) or not isinstance(lines, Iterable):
        raise InvalidArgumentError(f"read_jsonl takes an iterable of lines (str), got {lines!r:.60}")
    traces = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise InvalidArgumentError(
                f"{source} line {number} is {type(line).__name__}, not text: {line!r:.60}"
            )
        if not line.strip():
            continue
        try:
            trace = SessionTrace.from_json(line)
            carried(trace.session_metadata)  # a malformed reward is refused before anything is saved
            traces.append(trace)
        except InvalidDataError as exc:
            raise InvalidDataError(f"SessionTrace ({source} line {number})", exc.problems) from None
        except SerializationError as exc:
            raise SerializationError(f"{source} line {number} is not a SessionTrace: {exc}") from None
    return traces


async def import_jsonl(
    db: TursoManager,
    traces: list[SessionTrace],
    *,
    batch_size: int = 100,
    progress: Progress | None = None,
) -> ImportResult:
    """Save `traces` in atomic batches of `batch_size` (a session already stored is replaced), with
    the rewards and experiment links each carries (stored once: importing again adds none)."""
    if not isinstance(traces, Sequence) or isinstance(traces, str | bytes):
        raise InvalidArgumentError(f"import_jsonl takes a list of SessionTrace, got {traces!r:.60}")
    batch_size = whole(batch_size, "batch_size", minimum=1)
    if progress is not None and not callable(progress):
        raise InvalidArgumentError(f"progress must be a function (done, total) or None, got {progress!r:.60}")
    done = 0
    for start in range(0, len(traces), batch_size):
        batch = traces[start : start + batch_size]
        await db.save_sessions(batch)
        done += len(batch)
        if progress is not None:
            progress(done, len(traces))
    return ImportResult(db.url, done)


async def with_stored_side_tables(store: TursoManager, trace: SessionTrace) -> SessionTrace:
    """`trace` (as read from `store`) with the rewards and experiment links stored for it but not
    carried in its session_metadata appended in carried form, so an export keeps them all.

    A reward added straight to the store gets the key `stored:<kind>:<reward_id>` (its id in the
    source store), so importing the same export twice stores it once. The trace comes back as it
    is (the same object) when it already carries everything."""
    try:
        found = carried(trace.session_metadata)
    except InvalidDataError:  # exported as stored; `tracekit import` names the malformed entry
        found = Carried()
    keys = {reward["reward_key"] for reward in found.rewards}
    extra: list[dict[str, Any]] = [
        {
            EXPERIMENT_KEY: row["experiment_id"],
            EXPERIMENT_INFO_KEY: {k: row[k] for k in ("name", "description", "metadata")},
        }
        for row in await store.session_experiments(trace.session_id)
        if row["experiment_id"] not in found.experiments
    ]
    stored = await store.get_rewards(trace.session_id)
    for kind, rows in (("outcome", stored["outcome"]), ("event", stored["event"])):
        for row in rows:
            meta = dict(row["metadata"])
            key = meta.pop(STORED_KEY, None)
            if key in keys:
                continue
            reward: dict[str, Any] = {
                "reward_key": key if isinstance(key, str) and key else f"stored:{kind}:{row['reward_id']}",
                "kind": kind,
                "metadata": meta,
            }
            if kind == "outcome":
                reward.update(value=row["total_reward"], achievements_count=row["achievements_count"])
            else:
                reward.update(
                    value=row["reward_value"],
                    event_index=row["event_index"],
                    reward_type=row["reward_type"],
                    key=row["key"],
                )
            extra.append({REWARD_KEY: reward})
    if not extra:
        return trace
    return dataclasses.replace(trace, session_metadata=[*(trace.session_metadata or ()), *extra])

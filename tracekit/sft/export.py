"""export_sft: stream matching sessions out of a store into OpenAI chat fine-tuning JSONL.

Sessions are read a page at a time in the store's (created_at, session_id) order, so memory
stays bounded whatever the store holds (what grows is 16 bytes per distinct example for dedupe
and 8 per kept example for the length statistics). One example per LLM call (see convert.py);
identical examples are written once, and whole sessions go to train or validation by a seeded
hash of their id, so a split never changes when other sessions are added.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from tracekit.errors import InvalidArgumentError
from tracekit.model import LLMCallRecord, LMCAISEvent, SessionTrace
from tracekit.sft.convert import Reasoning, convert_record
from tracekit.sft.options import CallContext, MetadataScalar, SFTOptions, example_tokens
from tracekit.sft.report import SFTReport, TokenLengths
from tracekit.store import SessionSummary, SyncTursoManager, TursoManager
from tracekit.store.arguments import file_path

__all__ = ["calls_of", "export_sft", "export_sft_async", "in_validation"]


def in_validation(session_id: str, fraction: float, seed: int = 0) -> bool:
    """Whether a session falls in the validation split: a seeded 64-bit hash of its id, scaled
    to [0, 1), is below `fraction` (the same answer on every machine and every run)."""
    digest = hashlib.blake2b(f"{seed}:{session_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


def calls_of(
    trace: SessionTrace, event_rewards: Mapping[int, float] | None = None
) -> Iterator[tuple[LLMCallRecord, CallContext]]:
    """Each call record of a trace in order, with where it sits (the calls tk.aggregate counts:
    event_history, or the timesteps' events when the history is empty)."""
    if trace.event_history:
        events: list[tuple[int | None, Any]] = list(enumerate(trace.event_history))
    else:
        events = [(None, e) for step in trace.session_time_steps for e in step.events]
    for index, event in events:
        if not isinstance(event, LMCAISEvent):
            continue
        reward = None if index is None or event_rewards is None else event_rewards.get(index)
        for record in event.call_records:
            agent = event.system_instance_id or record.metadata.get("agent_id") or None
            yield record, CallContext(trace.session_id, index, agent, reward)


class _Writer:
    """Filters, converts, dedupes, splits and writes; the files appear only when all went well."""

    def __init__(self, options: SFTOptions, out: Path, validation_out: Path | None) -> None:
        self.options = options
        self.targets = [out] if validation_out is None else [out, validation_out]
        self.report = SFTReport(str(out), None if validation_out is None else str(validation_out))
        self.lengths = TokenLengths()
        self.seen: set[bytes] = set()
        self.files: list[IO[str]] = []

    def __enter__(self) -> _Writer:
        for target in self.targets:
            try:
                self.files.append(open(_partial(target), "w", encoding="utf-8", newline="\n"))
            except OSError as exc:
                for handle in self.files:
                    handle.close()
                    os.unlink(handle.name)
                raise InvalidArgumentError(f"cannot write {target}: {exc.strerror}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for handle in self.files:
            handle.close()
        for target in self.targets:
            if exc is None:
                os.replace(_partial(target), target)
            else:
                _partial(target).unlink(missing_ok=True)
        if exc is None:
            self.report.token_length = self.lengths.distribution()
            self.report.tokens_unknown = self.lengths.unknown

    def wants(self, summary: SessionSummary) -> bool:
        """Count the session; False when the metadata predicate refuses it."""
        self.report.sessions_seen += 1
        predicate = self.options.metadata_predicate
        if predicate is not None and not predicate(summary.metadata):
            self.report.sessions_skipped += 1
            return False
        return True

    def add_page(
        self,
        session_ids: list[str],
        call_rows: list[dict[str, Any]],
        reward_rows: list[dict[str, Any]] | None,
    ) -> None:
        """Write the examples of a page of sessions, in page order, from the rows read for them."""
        calls: dict[str, list[tuple[LLMCallRecord, CallContext]]] = {sid: [] for sid in session_ids}
        best = {(r["session_id"], r["event_index"]): r["best"] for r in reward_rows or ()}
        for row in call_rows:
            record = LLMCallRecord.from_json(row["record_json"])
            key = (row["session_id"], row["event_index"])
            agent = row["system_instance_id"] or record.metadata.get("agent_id") or None
            where = CallContext(row["session_id"], row["event_index"], agent, best.get(key))
            calls[row["session_id"]].append((record, where))
        for session_id in session_ids:
            self.add(session_id, calls[session_id])

    def add(self, session_id: str, calls: Iterable[tuple[LLMCallRecord, CallContext]]) -> None:
        """Write the examples of one session's calls (in order)."""
        report, options = self.report, self.options
        validation = len(self.files) > 1 and in_validation(
            session_id, options.validation_fraction, options.seed
        )
        for record, where in calls:
            report.calls_seen += 1
            reason = options.call_reason(record, where)
            if reason is not None:
                report.drop(reason)
                continue
            converted = convert_record(record, reasoning=options.reasoning, train_on=options.train_on)
            report.orphan_tool_results += converted.orphan_tool_results
            if converted.example is None:
                report.drop(converted.reason or "unsupported_content")
                continue
            line = json.dumps(converted.example, ensure_ascii=False, separators=(",", ":"))
            if options.dedupe:
                key = hashlib.blake2b(line.encode(), digest_size=16).digest()
                if key in self.seen:
                    report.drop("duplicate")
                    continue
                self.seen.add(key)
            self.files[1 if validation else 0].write(line + "\n")
            if validation:
                report.validation += 1
            else:
                report.train += 1
            self.lengths.add(example_tokens(record))


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


# One read per page of sessions (a round trip costs ~10 ms even on an embedded file, so reading
# sessions one by one would cap an export near 100 sessions/s). Only the store's read-only
# `execute` is used, on the published schema (schemas/): llm_calls holds one row per call with its
# agent (`system_instance_id`) and `in_rollup` (the calls aggregates count), llm_call_records the
# record as saved, event_rewards the per-event rewards keyed by the event's index.
_CALLS_SQL = (
    "SELECT c.session_id, c.event_index, c.system_instance_id, r.record_json FROM llm_calls c "
    "JOIN llm_call_records r ON r.session_id = c.session_id AND r.event_index = c.event_index "
    "AND r.call_index = c.call_index WHERE c.in_rollup = 1 AND c.session_id IN ({marks}) "
    "ORDER BY c.session_id, c.event_index, c.call_index"
)
_REWARDS_SQL = (
    "SELECT session_id, event_index, max(reward_value) AS best FROM event_rewards "
    "WHERE event_index IS NOT NULL AND session_id IN ({marks}) GROUP BY session_id, event_index"
)


def _calls_query(session_ids: list[str]) -> tuple[str, list[Any]]:
    return _CALLS_SQL.format(marks=", ".join("?" * len(session_ids))), list(session_ids)


def _rewards_query(session_ids: list[str], options: SFTOptions) -> tuple[str, list[Any]] | None:
    if options.min_event_reward is None:
        return None
    return _REWARDS_SQL.format(marks=", ".join("?" * len(session_ids))), list(session_ids)


def _file_target(value: Any, name: str) -> Path:
    """`value` as the path of a file to write, in an existing directory (InvalidArgumentError else)."""
    path = file_path(value, name)
    if path.name in ("", ".", "..") or path.is_dir():
        raise InvalidArgumentError(f"{name} {str(path)!r} names a directory; give a file path")
    if not path.parent.is_dir():
        raise InvalidArgumentError(f"{name}: cannot write {path}: directory {path.parent} does not exist")
    return path


def _prepare(out: str | Path, validation_out: str | Path | None, options: SFTOptions) -> _Writer:
    if options.validation_fraction > 0 and validation_out is None:
        raise InvalidArgumentError(
            f"validation_fraction={options.validation_fraction} needs validation_out (a path for the "
            "validation JSONL)"
        )
    first = _file_target(out, "out")
    second = None if validation_out is None else _file_target(validation_out, "validation_out")
    if second is not None and second.resolve() == first.resolve():
        raise InvalidArgumentError(f"out and validation_out are the same file ({first}); give two paths")
    return _Writer(options, first, second)


def export_sft(
    db: SyncTursoManager | str,
    out: str | Path,
    *,
    validation_out: str | Path | None = None,
    validation_fraction: float = 0.0,
    seed: int = 0,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    experiment_id: str | None = None,
    metadata: Mapping[str, MetadataScalar] | None = None,
    metadata_predicate: Callable[[Mapping[str, Any]], bool] | None = None,
    min_outcome_reward: float | None = None,
    min_event_reward: float | None = None,
    model: str | Collection[str] | None = None,
    agent: str | Collection[str] | None = None,
    success_only: bool = True,
    finish_reason: str | Collection[str] | None = None,
    min_tokens: int | None = None,
    max_tokens: int | None = None,
    min_cost_usd: float | None = None,
    max_cost_usd: float | None = None,
    min_latency_ms: float | None = None,
    max_latency_ms: float | None = None,
    reasoning: Reasoning = "drop",
    train_on: Literal["last", "all"] = "last",
    dedupe: bool = True,
    page_size: int = 200,
) -> SFTReport:
    """Write OpenAI chat fine-tuning JSONL (one example per matching LLM call) and report on it.

    db: a SyncTursoManager, or a URL (opened and closed here). out / validation_out: JSONL paths,
    written whole or not at all; validation_fraction (0..1) of the sessions, picked by a hash of
    the session id and `seed`, go to validation_out.
    Session filters: created_after (inclusive) / created_before (exclusive) on the session's
    created_at; experiment_id; metadata (each key equals that JSON scalar); metadata_predicate
    (any Python test of the metadata dict); min_outcome_reward (some outcome reward >= it).
    Call filters: min_event_reward (a reward recorded for the call's event >= it); model, agent,
    finish_reason (a name or a collection of names, matched exactly); success_only (outcome
    "success"); min_tokens / max_tokens (the call's total tokens; the report counts examples
    over max_tokens); min_cost_usd / max_cost_usd (tracekit.analysis.pricing); min_latency_ms /
    max_latency_ms. A bound on a value the call did not report drops the call.
    Shape: reasoning "drop" | "field" | "inline"; train_on "last" (weight 0 on earlier assistant
    turns) or "all"; dedupe (identical lines written once). page_size: sessions per read (1..900).
    Raises InvalidArgumentError for bad arguments and StoreError for store failures.
    """
    options = SFTOptions.build(
        model=model,
        agent=agent,
        finish_reason=finish_reason,
        created_after=created_after,
        created_before=created_before,
        experiment_id=experiment_id,
        metadata=metadata,
        metadata_predicate=metadata_predicate,
        min_outcome_reward=min_outcome_reward,
        min_event_reward=min_event_reward,
        success_only=success_only,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        min_cost_usd=min_cost_usd,
        max_cost_usd=max_cost_usd,
        min_latency_ms=min_latency_ms,
        max_latency_ms=max_latency_ms,
        reasoning=reasoning,
        train_on=train_on,
        validation_fraction=validation_fraction,
        seed=seed,
        dedupe=dedupe,
    )
    _check_page_size(page_size)
    if not isinstance(db, str | SyncTursoManager):
        raise InvalidArgumentError(f"db must be a database URL or a SyncTursoManager, got {db!r:.80}")
    writer = _prepare(out, validation_out, options)
    store = SyncTursoManager(db) if isinstance(db, str) else db
    try:
        with writer:
            after: str | None = None
            while True:
                page = store.list_sessions(**options.session_query(), limit=page_size, after=after)
                wanted = [s.session_id for s in page.sessions if writer.wants(s)]
                if wanted:
                    calls, rewards = _calls_query(wanted), _rewards_query(wanted, options)
                    writer.add_page(
                        wanted,
                        store.execute(*calls),
                        None if rewards is None else store.execute(*rewards),
                    )
                if page.next_cursor is None:
                    break
                after = page.next_cursor
    finally:
        if isinstance(db, str):
            store.close()
    return writer.report


async def export_sft_async(
    db: TursoManager, out: str | Path, *, page_size: int = 200, **options: Any
) -> SFTReport:
    """export_sft for async code (same keyword arguments), on an async TursoManager."""
    validation_out = options.pop("validation_out", None)
    built = SFTOptions.build(**options)
    _check_page_size(page_size)
    writer = _prepare(out, validation_out, built)
    with writer:
        after: str | None = None
        while True:
            page = await db.list_sessions(**built.session_query(), limit=page_size, after=after)
            wanted = [s.session_id for s in page.sessions if writer.wants(s)]
            if wanted:
                calls, rewards = _calls_query(wanted), _rewards_query(wanted, built)
                writer.add_page(
                    wanted,
                    await db.execute(*calls),
                    None if rewards is None else await db.execute(*rewards),
                )
            if page.next_cursor is None:
                break
            after = page.next_cursor
    return writer.report


def _check_page_size(page_size: int) -> None:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 900:
        # 900: the session ids of a page are SQL parameters (SQLite allows 999 per statement)
        raise InvalidArgumentError(f"page_size must be an int from 1 to 900, got {page_size!r}")

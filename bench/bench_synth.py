"""Same workload, tracekit against synth-ai's tracing_v3 managers: whole sessions saved to a local file.

    python bench/bench_synth.py [--sessions 5] [--steps 100] [--runs 3] [--no-synth]
    make bench-synth        # the same, inside the two venvs that hold synth-ai (built on first use)

The workload (issue 14): `--sessions` sessions of `--steps` timesteps, each an LLM event with its
call record, an environment event and 2 messages (tests/store/storebuilders.make_trace, as in
bench_store), saved one session per call, each save awaited, into a fresh local SQLite file.

- tracekit: `TursoManager("file:...").save_session(trace)` (one sqlite3 connection, WAL,
  synchronous=FULL: a save that returned is on disk).
- synth-ai, when it is importable in this interpreter (never a tracekit dependency): the very same
  sessions converted field by field into synth-ai's own dataclasses (fields synth-ai lacks, such as
  the call's `timing`, go into the record's `metadata` so the same data is stored; events and
  messages carry `metadata["step_id"]` as synth-ai's SessionTracer sets it), saved with each
  manager's `insert_session_trace`: `NativeLibsqlTraceManager` (the `libsql` driver; synth-ai
  0.2.10 on, 0.7.0 the newest wheel with tracing_v3) and `AsyncSQLTraceManager` (SQLAlchemy +
  aiosqlite; synth-ai <= 0.2.8). No release has both, so `make bench-synth` runs this script once in
  each of two venvs. Each side's journal and synchronous modes are read back and printed.

Per run and side: a fresh file, the store opened and one warm-up session saved untimed, then the
sessions timed; the sides take turns run by run so load drifts hit both. Rows are counted in the
file itself (all tables, after minus before the timed saves), the same way for every side; each
side's schema differs, so the comparison is sessions/s on the same sessions. Printed: sessions/s and
rows/s, min / median of the runs, and tracekit's speed as a multiple of each synth-ai manager's
(medians, and the range of the per-run ratios). Target: >= 100x synth-ai's native manager.

A third side, the ceiling: the same sessions' rows, encoded beforehand, run as tracekit's own
statements on ONE persistent sqlite3 connection (WAL, synchronous=FULL, one transaction per session),
bench_store's "limit" for an embedded save. No store keeping tracekit's schema and durability can save
faster on this machine, so its multiple of synth-ai's is the most the target can read here.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import importlib.metadata
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from store.storebuilders import make_trace

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.store import TursoManager, writer
from tracekit.store.mapping import trace_rows

# (label, manager module, class, URL for a file path) per synth-ai layout, newest first
_MANAGERS = (
    ("native libSQL", "synth_ai.core.tracing_v3.turso.native_manager", "NativeLibsqlTraceManager", "{path}"),
    ("native libSQL", "synth_ai.tracing_v3.turso.native_manager", "NativeLibsqlTraceManager", "{path}"),
    ("SQLAlchemy", "synth_ai.tracing_v3.turso.manager", "AsyncSQLTraceManager", "sqlite+aiosqlite:///{path}"),
)
# where each synth-ai layout keeps the dataclasses a trace is made of
_MODEL_MODULES = (
    ("synth_ai.data.traces", "synth_ai.data.llm_calls"),
    ("synth_ai.tracing_v3.abstractions", "synth_ai.tracing_v3.lm_call_record_abstractions"),
)


@dataclass(slots=True)
class Side:
    """One store under test: how to open it, save a trace into it, close it, and read its modes."""

    label: str
    api: str
    modes_of: Callable[[Path], str]
    open: Callable[[Path], Awaitable[Any]]
    save: Callable[[Any, Any], Awaitable[Any]]
    close: Callable[[Any], Awaitable[None]]
    traces: list[Any]
    warmup: Any
    rates: list[float] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    modes: str = ""
    failed: str = ""


def _file_rows(path: Path) -> int:
    """Rows in every table of the file (SQLite's own tables excluded), read with a fresh connection."""
    conn = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return sum(conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names)
    finally:
        conn.close()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


_SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
# synth-ai's messages table accepts only user/assistant/system/tool_use/tool_result (a CHECK constraint),
# so make_trace's two message kinds get the nearest of those names, on both sides
_MESSAGE_TYPES = {"observation": "user", "tool_call": "tool_use"}


def workload(session_id: str, steps: int, seed: int, created: float) -> tk.SessionTrace:
    """bench_store's session (make_trace), its 2 messages per step typed as synth-ai's schema requires."""
    trace = make_trace(session_id, steps=steps, seed=seed, created=created)
    for message in trace.markov_blanket_message_history:
        message.message_type = _MESSAGE_TYPES[message.message_type]
    return trace


async def _time_side(side: Side, path: Path) -> None:
    """One run of one side: open and warm up untimed, time the saves, count the rows they wrote."""
    store = await side.open(path)
    try:
        await side.save(store, side.warmup)
        before = await asyncio.to_thread(_file_rows, path)
        started = time.perf_counter()
        for trace in side.traces:
            await side.save(store, trace)
        elapsed = time.perf_counter() - started
    finally:
        await side.close(store)
    side.rates.append(len(side.traces) / elapsed)
    side.rows.append(await asyncio.to_thread(_file_rows, path) - before)


def tracekit_side(traces: list[tk.SessionTrace], warmup: tk.SessionTrace, work: Path) -> Side:
    """tracekit's embedded store: save_session, one session per call."""

    async def open_(path: Path) -> TursoManager:
        db = TursoManager(f"file:{path}", spool_path=work / "spool.jsonl")
        await db.open()
        return db

    async def save(db: TursoManager, trace: tk.SessionTrace) -> None:
        await db.save_session(trace)

    async def close(db: TursoManager) -> None:
        await db.close()

    def modes(path: Path) -> str:
        return f"journal={_journal_mode(path)}, synchronous=FULL (set by the store)"

    return Side(
        f"tracekit {tk.__version__}", "TursoManager.save_session", modes, open_, save, close, traces, warmup
    )


def _cost(record: tk.LLMCallRecord) -> tuple[int | None, str | None]:
    priced = pricing.call_cost(record)
    return (None, None) if priced is None else (priced.nanousd, priced.price_table_version)


def limit_side(traces: list[tk.SessionTrace], warmup: tk.SessionTrace, work: Path) -> Side:
    """The ceiling: tracekit's statements on the same rows, encoded beforehand, through one persistent
    sqlite3 connection (WAL, synchronous=FULL as the store sets them), one transaction per session."""
    batches = {
        t.session_id: writer.save_rows(
            [trace_rows(t, saved_at="2026-01-01T00:00:00.000000+00:00", cost=_cost)]
        )
        for t in [warmup, *traces]
    }

    async def open_(path: Path) -> sqlite3.Connection:
        async with TursoManager(f"file:{path}", spool_path=work / "spool-limit.jsonl"):
            pass  # the schema, made by the store itself
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    async def save(conn: sqlite3.Connection, trace: tk.SessionTrace) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for sql, rows in batches[trace.session_id]:
            conn.executemany(sql, rows)
        conn.execute("COMMIT")

    async def close(conn: sqlite3.Connection) -> None:
        conn.close()

    def modes(path: Path) -> str:
        return f"journal={_journal_mode(path)}, synchronous=FULL (set on the connection)"

    return Side(
        "the ceiling, one sqlite3 connection", "tracekit's statements, rows encoded beforehand",
        modes, open_, save, close, traces, warmup,
    )  # fmt: skip


# -- synth-ai -------------------------------------------------------------------------------------


def _synth_classes() -> dict[str, type]:
    """synth-ai's trace dataclasses by name, from whichever layout the installed version has."""
    for modules in _MODEL_MODULES:
        try:
            loaded = [importlib.import_module(name) for name in modules]
        except ImportError:
            continue
        return {
            name: value
            for module in loaded
            for name, value in vars(module).items()
            if isinstance(value, type) and dataclasses.is_dataclass(value)
        }
    raise ImportError("no synth-ai tracing_v3 data classes found")


def _plain(value: Any) -> Any:
    """A tracekit-only value as plain JSON-able data (for synth-ai's metadata dicts)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _is_default(f: dataclasses.Field[Any], value: Any) -> bool:
    if f.default is not dataclasses.MISSING:
        return bool(value == f.default)
    if f.default_factory is not dataclasses.MISSING:
        return bool(value == f.default_factory())
    return False


class SynthConverter:
    """tracekit objects -> synth-ai's dataclasses of the same name, field by field (same values).

    Shared objects stay shared (a step's events are the trace's event_history entries)."""

    def __init__(self, classes: dict[str, type]) -> None:
        self.classes = classes
        self.memo: dict[int, Any] = {}

    def convert(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.convert(v) for v in value]
        if isinstance(value, dict):
            return {k: self.convert(v) for k, v in value.items()}
        if not (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            return value
        if id(value) in self.memo:
            return self.memo[id(value)]
        name = type(value).__name__
        target = self.classes[name]
        wanted = {f.name for f in dataclasses.fields(target)}
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if f.name in wanted:
                kwargs[f.name] = self._field(name, f.name, item)
            elif not _is_default(f, item):
                extra[f.name] = _plain(item)
        if extra:
            if "metadata" not in wanted:
                raise ValueError(f"synth-ai's {name} has no field for {sorted(extra)} and no metadata")
            kwargs["metadata"] = {**kwargs.get("metadata", {}), **extra}
        converted = target(**kwargs)
        self.memo[id(value)] = converted
        return converted

    def _field(self, owner: str, name: str, value: Any) -> Any:
        if owner == "TimeRecord" and name == "event_time":
            return value.timestamp()  # synth-ai: epoch seconds
        if (
            owner == "SessionEventMarkovBlanketMessage"
            and name == "content"
            and "SessionMessageContent" not in self.classes
        ):
            return value.text if value.text is not None else value.json_payload  # synth-ai <= 0.2.8: a str
        return self.convert(value)

    def trace(self, trace: tk.SessionTrace) -> Any:
        """The whole session; events and messages get metadata["step_id"] as synth-ai's tracer sets it."""
        converted = self.convert(trace)
        for step in converted.session_time_steps:
            for item in [*step.events, *step.markov_blanket_messages]:
                item.metadata["step_id"] = step.step_id
        return converted


def _synchronous_native(path: Path) -> str:
    import libsql

    conn = libsql.connect(str(path), sync_interval=0)  # what the manager opens for a local file
    try:
        return _SYNCHRONOUS.get(conn.execute("PRAGMA synchronous").fetchone()[0], "?")
    finally:
        conn.close()


def _synchronous_sqlite(path: Path) -> str:
    conn = sqlite3.connect(path)  # aiosqlite runs the stdlib sqlite3; the manager sets no synchronous
    try:
        return _SYNCHRONOUS.get(conn.execute("PRAGMA synchronous").fetchone()[0], "?")
    finally:
        conn.close()


def synth_sides(traces: list[tk.SessionTrace], warmup: tk.SessionTrace) -> tuple[list[Side], str]:
    """Every synth-ai manager importable here, on the same sessions; and a line saying what was found."""
    try:
        version = importlib.metadata.version("synth-ai")
    except importlib.metadata.PackageNotFoundError:
        return (
            [],
            "synth-ai: not installed in this interpreter; tracekit alone (`make bench-synth` runs both)",
        )
    sides: list[Side] = []
    missing: list[str] = []
    seen: set[str] = set()
    for label, module_name, class_name, url in _MANAGERS:
        if label in seen:
            continue
        try:
            module: ModuleType = importlib.import_module(module_name)
        except (ImportError, RuntimeError) as exc:  # RuntimeError: its guard when libsql lacks connect()
            missing.append(f"{module_name} ({type(exc).__name__}: {exc})")
            continue
        seen.add(label)
        manager = getattr(module, class_name)
        sides.append(_synth_side(version, label, manager, url, traces, warmup, wal=False))
        if label.startswith("native"):  # its default journal is DELETE: also measure it on tracekit's WAL
            sides.append(_synth_side(version, label, manager, url, traces, warmup, wal=True))
    found = f"synth-ai {version}: " + (
        "; ".join(f"{s.api} ({s.label.removeprefix(f'synth-ai {version} ')})" for s in sides)
        or "no tracing_v3 manager"
    )
    return sides, found + (f"; not in this version: {', '.join(missing)}" if missing else "")


def _set_wal(path: Path) -> None:
    """Create the file in WAL mode (persistent in the file): the manager then opens it in WAL."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()


def _synth_side(
    version: str,
    label: str,
    manager: type,
    url: str,
    traces: list[tk.SessionTrace],
    warmup: tk.SessionTrace,
    *,
    wal: bool,
) -> Side:
    converter = SynthConverter(_synth_classes())
    converted = [converter.trace(t) for t in traces]

    async def open_(path: Path) -> Any:
        if wal:
            _set_wal(path)
        db = manager(db_url=url.format(path=path))
        await db.initialize()
        return db

    async def save(db: Any, trace: Any) -> None:
        await db.insert_session_trace(trace)

    async def close(db: Any) -> None:
        await db.close()

    def modes(path: Path) -> str:
        sync = _synchronous_native(path) if label.startswith("native") else _synchronous_sqlite(path)
        how = "pre-set on the file" if wal else "the manager's own"
        return f"journal={_journal_mode(path)} ({how}), synchronous={sync} (the driver's default)"

    return Side(
        f"synth-ai {version} {label}" + (", WAL" if wal else ""),
        f"{manager.__name__}.insert_session_trace",
        modes,
        open_,
        save,
        close,
        converted,
        converter.trace(warmup),
    )


def _min_med(values: list[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


async def run(args: Any, work: Path) -> None:
    traces = [workload(f"bench-{i:05d}", args.steps, i, float(i)) for i in range(args.sessions)]
    warmup = workload("warmup", args.steps, args.sessions, -1.0)
    sides = [tracekit_side(traces, warmup, work), limit_side(traces, warmup, work)]
    if args.no_synth:
        found = "synth-ai: skipped (--no-synth); tracekit alone"
    else:
        extra, found = synth_sides(traces, warmup)
        sides += extra
    print(
        f"workload: {args.sessions} sessions x {args.steps} timesteps (LLM event + call record, environment "
        f"event, 2 messages), one save per session, each awaited; {args.runs} runs, sides in turn; "
        "one warm-up session per side and run, untimed"
    )
    print(found)
    for number in range(args.runs):
        for index, side in enumerate(sides):
            if side.failed:
                continue
            path = work / f"side{index}-run{number}.db"
            try:
                await _time_side(side, path)
            except Exception as exc:  # a synth-ai manager failing here is reported, tracekit's own is raised
                if index == 0:
                    raise
                side.failed = f"{type(exc).__name__}: {exc}"
                continue
            side.modes = side.modes or side.modes_of(path)
    for side in [s for s in sides if s.failed]:
        print(f"  {side.label}, {side.api}: FAILED on this machine: {side.failed}")
    sides = [s for s in sides if not s.failed]
    for side in sides:
        low, med = _min_med(side.rates)
        per_session = side.rows[0] / args.sessions
        print(
            f"  {side.label}, {side.api}: {low:,.2f} / {med:,.2f} sessions/s (min / median), "
            f"{low * per_session:,.0f} / {med * per_session:,.0f} rows/s; "
            f"{side.rows[0]:,} rows per run in its schema; {side.modes}"
        )
    ours, ceiling = sides[0], sides[1]
    print(f"  tracekit / the ceiling: {_ratio(ours, ceiling)}")
    for side in sides[2:]:
        target = " (target >= 100x)" if "native" in side.label else ""
        print(f"  tracekit / {side.label}: {_ratio(ours, side)}{target}")
        print(f"    the ceiling / {side.label}: {_ratio(ceiling, side)} (the most any store could read)")


def _ratio(a: Side, b: Side) -> str:
    """a's speed as a multiple of b's: of the medians, and the range of the per-run ratios."""
    ratios = sorted(x / y for x, y in zip(a.rates, b.rates, strict=True))
    median = _min_med(a.rates)[1] / _min_med(b.rates)[1]
    return f"{median:,.1f}x on median sessions/s (per run {ratios[0]:,.1f}x-{ratios[-1]:,.1f}x)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5, help="timed sessions per run and side (default 5)")
    parser.add_argument("--steps", type=int, default=100, help="timesteps per session (default 100)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side (default 3)")
    parser.add_argument(
        "--no-synth", action="store_true", help="tracekit alone even if synth-ai is importable"
    )
    args: Any = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="tracekit-bench-synth-"))
    try:
        asyncio.run(run(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

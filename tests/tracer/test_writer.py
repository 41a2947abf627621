"""The background writer: batched saves, rewards and experiments, spool when down, replay, exit."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import tracekit as tk
from tracekit.store import TursoManager
from tracekit.store.server import free_port, start_sqld

MakeTracer = Callable[..., tk.SessionTracer]


def run_session(tracer: tk.SessionTracer, session_id: str, *, reward: float | None = None) -> tk.SessionTrace:
    """One small session: two turns with an event and a message each, and an optional reward."""
    with tracer.session(session_id=session_id, metadata={"run": session_id}) as trace:
        for turn in range(2):
            with tracer.timestep(f"turn-{turn}", turn_number=turn):
                tracer.record_event(tk.RuntimeEvent(system_instance_id=f"{session_id}-agent", actions=[turn]))
                tracer.record_message(
                    f"{session_id}-{turn}", "agent_to_env", from_role="agent", to_role="env"
                )
        if reward is not None:
            tracer.record_reward(reward)
    return trace


async def test_concurrent_sessions_are_saved_once_and_read_back_equal(
    make_tracer: MakeTracer, file_store: TursoManager, db_url: str
) -> None:
    """50 async sessions go through the writer; each reads back from the store equal to the live one."""
    tracer = make_tracer(file_store)

    async def agent(n: int) -> tk.SessionTrace:
        async with tracer.session(session_id=f"a{n}") as trace:
            for turn in range(2):
                async with tracer.timestep(turn_number=turn):
                    tracer.record_event(tk.RuntimeEvent(system_instance_id=f"a{n}", actions=[turn]))
                    await asyncio.sleep(0)
        return trace

    traces = await asyncio.gather(*(agent(n) for n in range(50)))
    result = await tracer.aflush(timeout=30)
    assert (result.written, result.spooled, result.failed, result.pending) == (50, 0, 0, 0)
    assert result.errors == {}
    async with TursoManager(db_url) as db:
        page = await db.list_sessions(limit=100)
        assert sorted(s.session_id for s in page.sessions) == sorted(f"a{n}" for n in range(50))
        assert {s.num_events for s in page.sessions} == {2}
        for trace in traces:
            assert await db.get_session(trace.session_id) == trace
    assert tracer.sessions == {}  # with a store, finished traces are not kept in memory


def test_threads_running_async_sessions_lose_nothing(
    make_tracer: MakeTracer, file_store: TursoManager, db_url: str
) -> None:
    """8 threads, each with its own event loop running 7 concurrent sessions, share one tracer:
    all 56 traces are saved, each equal to its live trace with only its own events."""
    tracer = make_tracer(file_store)
    produced: dict[str, tk.SessionTrace] = {}
    errors: list[BaseException] = []

    async def agent(sid: str) -> None:
        async with tracer.session(session_id=sid) as trace:
            for turn in range(3):
                async with tracer.timestep(turn_number=turn):
                    for k in range(5):
                        tracer.record_event(tk.RuntimeEvent(system_instance_id=f"{sid}/{turn}/{k}"))
                        await asyncio.sleep(0)
        produced[sid] = trace

    def worker(n: int) -> None:
        async def main() -> None:
            await asyncio.gather(*(agent(f"t{n}-a{k}") for k in range(7)))

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = tracer.flush(timeout=60)
    assert (result.written, result.spooled, result.failed, result.pending) == (56, 0, 0, 0)
    for sid, trace in produced.items():
        expected = [f"{sid}/{turn}/{k}" for turn in range(3) for k in range(5)]
        assert [e.system_instance_id for e in trace.event_history] == expected
        assert [[e.system_instance_id for e in step.events] for step in trace.session_time_steps] == [
            expected[0:5],
            expected[5:10],
            expected[10:15],
        ]

    async def read() -> list[tk.SessionTrace]:
        async with TursoManager(db_url) as db:
            return [await db.get_session(sid) for sid in sorted(produced)]

    assert asyncio.run(read()) == [produced[sid] for sid in sorted(produced)]


async def test_rewards_and_experiments_reach_the_store(
    make_tracer: MakeTracer, file_store: TursoManager, db_url: str
) -> None:
    """Outcome rewards filter list_sessions(min_reward=), event rewards point at their event,
    and experiment_id links the session."""
    tracer = make_tracer(file_store)
    with tracer.session(session_id="good", experiment_id="exp-1") as good:
        first = tracer.record_event(tk.RuntimeEvent(system_instance_id="agent"))
        tracer.record_event(tk.EnvironmentEvent(system_instance_id="env", reward=0.25))
        tracer.record_reward(0.9, achievements_count=3, metadata={"judge": "exact"})
        tracer.record_reward(0.5, event=first, reward_type="shaped", key="progress")
        tracer.record_reward(0.75, event=1)
    run_session(tracer, "bad", reward=0.1)
    run_session(tracer, "none")
    assert tracer.flush(timeout=30).written == 3
    async with TursoManager(db_url) as db:
        await db.create_experiment("Named run", experiment_id="exp-2")
    with tracer.session(session_id="second", experiment_id="exp-2"):
        pass
    assert tracer.flush(timeout=30).written == 1
    async with TursoManager(db_url) as db:
        experiments = [
            (e["experiment_id"], e["name"], e["session_count"]) for e in await db.list_experiments()
        ]
        assert experiments == [("exp-1", "exp-1", 1), ("exp-2", "Named run", 1)]
        assert [s.session_id for s in (await db.list_sessions(min_reward=0.5)).sessions] == ["good"]
        assert sorted(s.session_id for s in (await db.list_sessions(min_reward=0.05)).sessions) == [
            "bad",
            "good",
        ]
        assert [s.session_id for s in (await db.list_sessions(experiment_id="exp-1")).sessions] == ["good"]
        rewards = await db.get_rewards("good")
        assert [
            (r["total_reward"], r["achievements_count"], r["metadata"]["judge"]) for r in rewards["outcome"]
        ] == [(0.9, 3, "exact")]
        assert [
            (r["event_index"], r["reward_value"], r["reward_type"], r["key"]) for r in rewards["event"]
        ] == [
            (0, 0.5, "shaped", "progress"),
            (1, 0.75, None, None),
        ]
        assert await db.get_session("good") == good
        assert good.metadata == {"experiment_id": "exp-1"}


async def test_a_trace_the_store_refuses_fails_alone(
    make_tracer: MakeTracer, file_store: TursoManager, db_url: str
) -> None:
    """A trace with a value SQLite cannot hold is reported failed; the others of its batch are saved."""
    gate = threading.Event()
    tracer = make_tracer(file_store, hooks={"before_save": lambda trace: gate.wait(10)})
    run_session(tracer, "ok-1")
    with tracer.session(session_id="nan"):
        tracer.record_event(tk.EnvironmentEvent(system_instance_id="env", reward=float("nan")))
    run_session(tracer, "ok-2")
    gate.set()
    result = tracer.flush(timeout=30)
    assert (result.written, result.failed, result.spooled) == (2, 1, 0)
    assert list(result.errors) == ["nan"]
    assert "SerializationError" in result.errors["nan"]
    assert "non-finite float" in result.errors["nan"]
    async with TursoManager(db_url) as db:
        assert sorted(s.session_id for s in (await db.list_sessions()).sessions) == ["ok-1", "ok-2"]


def test_full_queue_blocks_briefly_then_spools(make_tracer: MakeTracer, tmp_path: Path, db_url: str) -> None:
    """Writer stalled and queue full: session end blocks block_s, then spools; nothing is lost."""
    spool = tmp_path / "spool.jsonl"
    stalled, gate = threading.Event(), threading.Event()

    def stall(trace: tk.SessionTrace) -> None:
        stalled.set()
        gate.wait(10)

    store = TursoManager(db_url, spool_path=spool)
    tracer = make_tracer(store, hooks={"before_save": stall}, queue_size=1, block_s=0.2)
    traces = [run_session(tracer, "s0")]
    assert stalled.wait(10)  # the writer holds s0 in before_save
    started = time.perf_counter()
    traces.append(run_session(tracer, "s1"))  # fills the one queue slot
    queued_s = time.perf_counter() - started
    started = time.perf_counter()
    traces.append(run_session(tracer, "s2"))  # queue full: blocks 0.2 s, then spools here
    spooled_s = time.perf_counter() - started
    assert queued_s < 0.1
    assert 0.2 <= spooled_s < 1.0
    assert [json.loads(line)["session_id"] for line in spool.read_text().splitlines()] == ["s2"]
    gate.set()
    result = tracer.flush(timeout=30)
    assert (result.written, result.spooled, result.replayed, result.failed, result.pending) == (2, 1, 1, 0, 0)
    assert not spool.exists()
    tracer.close()
    check = TursoManager(db_url)

    async def read() -> list[tk.SessionTrace]:
        async with check:
            return [await check.get_session(f"s{n}") for n in range(3)]

    assert asyncio.run(read()) == traces


async def test_close_spools_what_a_stuck_writer_has_not_saved(
    make_tracer: MakeTracer, tmp_path: Path, db_url: str
) -> None:
    """close(timeout) with a stuck writer spools its in-flight and queued traces; a later start saves them."""
    spool = tmp_path / "spool.jsonl"
    stalled, gate = threading.Event(), threading.Event()

    def stall(trace: tk.SessionTrace) -> None:
        stalled.set()
        gate.wait(30)

    tracer = make_tracer(TursoManager(db_url, spool_path=spool), hooks={"before_save": stall})
    traces = [run_session(tracer, "stuck-0")]
    assert stalled.wait(10)
    traces.append(run_session(tracer, "stuck-1"))
    result = tracer.close(timeout=0.3)
    assert (result.written, result.spooled, result.pending, result.failed) == (0, 2, 0, 0)
    assert sorted(json.loads(line)["session_id"] for line in spool.read_text().splitlines()) == [
        "stuck-0",
        "stuck-1",
    ]
    traces.append(run_session(tracer, "after-close"))  # a closed tracer spools at once
    replayer = make_tracer(TursoManager(db_url, spool_path=spool))
    assert (await replayer.aflush(timeout=30)).replayed == 3
    async with TursoManager(db_url) as db:
        assert [await db.get_session(t.session_id) for t in traces] == traces
    gate.set()  # the stuck writer finishes its save (idempotent) and stops


def test_writer_rides_out_a_sqld_restart(make_tracer: MakeTracer, tmp_path: Path) -> None:
    """sqld stopped and restarted while sessions keep ending: every session is in the database after."""
    port = free_port()
    db_path = tmp_path / "db.sqld"
    server = start_sqld(db_path, port=port)
    spool = tmp_path / "spool.jsonl"
    store = TursoManager(server.url, spool_path=spool, retries=1, retry_backoff_s=0.05, timeout_s=5)
    tracer = make_tracer(store)
    produced: list[tk.SessionTrace] = []
    results: list[tk.FlushResult] = []
    try:
        for n in range(45):
            if n == 15:
                server.stop()  # no flush first: saves in flight meet the stop
            if n == 30:
                results.append(tracer.flush(timeout=30))
                assert results[-1].spooled >= 15  # retried, then spooled: nothing dropped
                assert len(spool.read_text().splitlines()) == results[-1].spooled
                server = start_sqld(db_path, port=port)
            produced.append(run_session(tracer, f"r{n}", reward=n / 45))
        results.append(tracer.flush(timeout=60))
        written, spooled, replayed = (
            sum(getattr(r, k) for r in results) for k in ("written", "spooled", "replayed")
        )
        assert written + spooled == 45
        assert replayed == spooled
        assert (results[-1].failed, results[-1].pending) == (0, 0)
        assert not spool.exists()

        async def read() -> tuple[list[tk.SessionTrace], list[str]]:
            async with TursoManager(server.url) as db:
                stored = [await db.get_session(t.session_id) for t in produced]
                rewarded = await db.list_sessions(min_reward=40 / 45, limit=100)
                return stored, [s.session_id for s in rewarded.sessions]

        stored, rewarded = asyncio.run(read())
        assert stored == produced
        assert sorted(rewarded) == ["r40", "r41", "r42", "r43", "r44"]
    finally:
        tracer.close(timeout=10)
        server.stop()


CHILD = """
import sys
import tracekit as tk
from tracekit.store import TursoManager

url, spool = sys.argv[1], sys.argv[2]
tracer = tk.SessionTracer(TursoManager(url, spool_path=spool, retries=0, timeout_s=2), exit_timeout_s=5)
with tracer.session(session_id="child", metadata={"argv": sys.argv[1:]}) as trace:
    with tracer.timestep("only", turn_number=1):
        tracer.record_event(tk.RuntimeEvent(system_instance_id="child-agent", actions=[1, 2]))
    tracer.record_reward(0.9)
sys.stdout.write(trace.to_json())
"""


def run_child(url: str, spool: Path) -> tk.SessionTrace:
    """Run CHILD in a fresh interpreter that exits right after its session; its trace as printed."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(spool)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return tk.SessionTrace.from_json(done.stdout)


async def test_a_process_exiting_right_after_a_session_saved_it(tmp_path: Path, db_url: str) -> None:
    """A subprocess that exits just after its session leaves the trace and its reward in the database."""
    spool = tmp_path / "spool.jsonl"
    trace = run_child(db_url, spool)
    assert not spool.exists()
    async with TursoManager(db_url) as db:
        assert await db.get_session("child") == trace
        assert [s.session_id for s in (await db.list_sessions(min_reward=0.9)).sessions] == ["child"]


async def test_a_process_exiting_with_the_store_down_spools_then_the_next_start_saves(
    make_tracer: MakeTracer, tmp_path: Path, db_url: str
) -> None:
    """With the server unreachable the exiting process spools its trace; the next tracer replays it."""
    spool = tmp_path / "spool.jsonl"
    trace = run_child(f"http://127.0.0.1:{free_port()}", spool)
    assert [json.loads(line)["session_id"] for line in spool.read_text().splitlines()] == ["child"]
    tracer = make_tracer(TursoManager(db_url, spool_path=spool))
    result = await tracer.aflush(timeout=30)
    assert (result.replayed, result.written, result.failed) == (1, 0, 0)
    assert not spool.exists()
    async with TursoManager(db_url) as db:
        assert await db.get_session("child") == trace
        assert [s.session_id for s in (await db.list_sessions(min_reward=0.9)).sessions] == ["child"]
        assert len((await db.get_rewards("child"))["outcome"]) == 1


def test_in_memory_tracer_keeps_finished_sessions(make_tracer: MakeTracer) -> None:
    """store=None keeps each finished trace in `sessions` / `get`, and flush has nothing to report."""
    tracer = make_tracer()
    trace = run_session(tracer, "m", reward=1.0)
    assert tracer.get("m") is trace
    assert tracer.get("other") is None
    assert tracer.sessions == {"m": trace}
    assert tracer.flush() == tk.FlushResult()


def test_tracer_arguments_are_checked(make_tracer: MakeTracer, db_url: str) -> None:
    """A URL opens a TursoManager; a wrong store, queue size, wait or hooks value is refused at once."""
    tracer = make_tracer(db_url)
    assert isinstance(tracer.store, TursoManager)
    with pytest.raises(tk.InvalidArgumentError, match="store must be None, a database URL or a TursoManager"):
        tk.SessionTracer(store=42)  # type: ignore[arg-type]
    with pytest.raises(
        tk.InvalidArgumentError, match="block_s must be a finite number of seconds >= 0, got -1"
    ):
        tk.SessionTracer(block_s=-1)
    with pytest.raises(tk.InvalidArgumentError, match="queue_size must be an int of at least 1, got 0"):
        tk.SessionTracer(queue_size=0)
    with pytest.raises(tk.InvalidArgumentError, match=r"hooks must be a tk\.Hooks or a mapping"):
        tk.SessionTracer(hooks=[print])  # type: ignore[arg-type]

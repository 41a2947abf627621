"""The recording path's invariant under thousands of seeded mutations of every vendor fixture."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fuzzing import NAMES, Case, cases, check, run
from hypothesis import HealthCheck, given, settings

import tracekit as tk
from tracekit.store import TursoManager

FUZZ_CASES = 2500
SAVE_EVERY = 50


def test_fuzzed_payloads_record_serialise_read_back_and_save(tmp_path: Path) -> None:
    """Every mutated fixture, through record_from_response, record_from_stream or a StreamRecorder,
    is refused with a TracekitError or gives a record that serialises, reads back equal, names
    each value it replaced in `error`, and (on a sample) saves to an embedded store and reads back."""
    seen: list[tk.LLMCallRecord] = []
    outcomes = {"refused": 0, "recorded": 0}

    @settings(
        max_examples=FUZZ_CASES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases())
    def one(case: Case) -> None:
        record = run(case)
        if record is None:
            outcomes["refused"] += 1
            return
        outcomes["recorded"] += 1
        check(case, record)
        if (outcomes["recorded"] % SAVE_EVERY) == 0:
            seen.append(record)

    one()
    assert outcomes["recorded"] + outcomes["refused"] == FUZZ_CASES
    assert outcomes["recorded"] > FUZZ_CASES * 0.8
    trace = tk.SessionTrace(session_id="fuzz")
    for i, record in enumerate(seen):
        record.call_id = f"call-{i}"
        trace.event_history.append(
            tk.LMCAISEvent(system_instance_id="fuzz", model_name=record.model_name, call_records=[record])
        )

    async def save_and_read() -> tk.SessionTrace:
        async with TursoManager(f"file:{tmp_path / 'fuzz.db'}") as db:
            assert await db.save_session(trace) == "saved"
            return await db.get_session("fuzz")

    assert len(seen) >= 20
    assert asyncio.run(save_and_read()) == trace


def test_every_fixture_is_fuzzed() -> None:
    """The fuzz cases draw from every fixture of every vendor (requests, responses and streams)."""
    assert len(NAMES) == 49

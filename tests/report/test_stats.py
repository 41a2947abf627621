"""collect_stats takes its warnings from the store's roll-up, which equal tk.aggregate's."""

from __future__ import annotations

from pathlib import Path

from store.storebuilders import at, make_trace

import tracekit as tk
from tracekit.report.stats import SessionFilters, collect_stats
from tracekit.store import TursoManager


async def test_stats_warnings_are_the_aggregate_warnings(tmp_path: Path) -> None:
    """Stats of a store (all sessions, and one experiment) warn exactly as tk.aggregate over the traces."""
    quiet = make_trace("quiet", steps=2, seed=1, created=1)
    tools_only = make_trace("tools-only", steps=0, created=2)
    tools_only.event_history.append(
        tk.RuntimeEvent(system_instance_id="tool-runtime", time_record=tk.TimeRecord(at(3)), actions=[2])
    )
    async with TursoManager(f"file:{tmp_path / 'stats.db'}") as db:
        await db.save_sessions([quiet, tools_only])
        exp = await db.create_experiment("only-quiet")
        await db.link_session(exp, "quiet")
        everything = await collect_stats(db, sessions=False)
        in_exp = await collect_stats(db, SessionFilters(experiment_id=exp), by=("model",))
    assert everything.warnings == tk.aggregate([quiet, tools_only]).warnings
    assert any("'tools-only': no LLM calls recorded" in w for w in everything.warnings)
    assert in_exp.warnings == tk.aggregate([quiet]).warnings
    assert not any("tools-only" in w for w in in_exp.warnings)

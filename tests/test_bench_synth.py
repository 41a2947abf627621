"""bench/bench_synth.py in tracekit-alone mode: runs at a tiny size and prints tracekit's figure."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from store.storebuilders import make_trace

import tracekit as tk
from tracekit.store.mapping import trace_rows

ROOT = Path(__file__).resolve().parents[1]


def _cost(record: object) -> tuple[int | None, str | None]:
    return None, None


def test_bench_synth_prints_tracekits_figure_without_synth_ai(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without synth-ai the bench saves the workload and prints tracekit's rates and the rows it wrote,
    beside the ceiling's (one sqlite3 connection running the same statements: the same rows)."""
    # run in this process (the interpreter and tracekit are already loaded: a subprocess costs ~6 s here)
    spec = importlib.util.spec_from_file_location("bench_synth", ROOT / "bench" / "bench_synth.py")
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_synth", bench)  # its dataclasses look their module up there
    monkeypatch.setattr(sys, "path", list(sys.path))  # it puts tests/ on the path, as a script needs
    spec.loader.exec_module(bench)
    bench.main(["--sessions", "2", "--steps", "3", "--runs", "1", "--no-synth"])
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 5
    assert lines[0].startswith("workload: 2 sessions x 3 timesteps (LLM event + call record, ")
    assert lines[1] == "synth-ai: skipped (--no-synth); tracekit alone"
    figure = re.fullmatch(
        rf"  tracekit {re.escape(tk.__version__)}, TursoManager\.save_session: ([0-9,.]+) / ([0-9,.]+) "
        r"sessions/s \(min / median\), ([0-9,]+) / ([0-9,]+) rows/s; ([0-9,]+) rows per run in its schema; "
        r"journal=wal, synchronous=FULL \(set by the store\)",
        lines[2],
    )
    assert figure is not None, lines[2]
    low, median = float(figure[1].replace(",", "")), float(figure[2].replace(",", ""))
    assert 0 < low == median  # one run: its min is its median
    expected_rows = sum(
        trace_rows(
            make_trace(f"bench-{i:05d}", steps=3, seed=i, created=float(i)), saved_at="x", cost=_cost
        ).count()
        for i in range(2)
    )
    assert int(figure[5].replace(",", "")) == expected_rows
    ceiling = re.fullmatch(
        r"  the ceiling, one sqlite3 connection, tracekit's statements, rows encoded beforehand: "
        r"([0-9,.]+) / ([0-9,.]+) sessions/s \(min / median\), [0-9,]+ / [0-9,]+ rows/s; ([0-9,]+) rows per "
        r"run in its schema; journal=wal, synchronous=FULL \(set on the connection\)",
        lines[3],
    )
    assert ceiling is not None, lines[3]
    assert int(ceiling[3].replace(",", "")) == expected_rows
    assert float(ceiling[2].replace(",", "")) > 0
    assert re.fullmatch(r"  tracekit / the ceiling: [0-9.]+x on median sessions/s \(per run .*\)", lines[4])

"""Every bench/*.py script imports: a private name a script uses that the library renamed or
removed fails here, not first in `make bench-report` (bench_reliability.py once imported a
`_batch_bytes` the store no longer had)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_bench_script_imports(script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The module's top level runs (its imports resolve); its `main` is not run."""
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import each other as `bench_helpers`, ...
    monkeypatch.setattr(sys, "path", list(sys.path))  # and put tests/ on it themselves: undone after
    spec = importlib.util.spec_from_file_location(f"_bench_{script[:-3]}", BENCH / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    assert module.__name__ != "__main__"

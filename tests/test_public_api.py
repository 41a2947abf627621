"""The top-level package exports exactly its public names, sorted."""

from __future__ import annotations

import tracekit


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and equals the public names the package defines (httpx-style export check)."""
    public = {name for name in vars(tracekit) if not name.startswith("_")}
    modules = {name for name, value in vars(tracekit).items() if type(value).__name__ == "module"}
    assert sorted(tracekit.__all__) == tracekit.__all__
    assert set(tracekit.__all__) - {"__version__"} == public - modules


def test_every_exported_name_resolves() -> None:
    """Each name in __all__ is importable from the package."""
    for name in tracekit.__all__:
        assert getattr(tracekit, name) is not None, name

"""Every console script the package declares points at a callable that imports."""

from __future__ import annotations

import importlib
import importlib.metadata
import tomllib
from collections.abc import Mapping
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def script_problems(scripts: Mapping[str, str]) -> list[str]:
    """One line per `name = "module:attr"` entry that does not resolve to an importable callable."""
    problems = []
    for name, spec in scripts.items():
        module_name, _, attr = spec.partition(":")
        try:
            target: object = importlib.import_module(module_name.strip())
        except ImportError as exc:
            problems.append(f"{name} = {spec}: {exc}")
            continue
        for part in attr.strip().split(".") if attr.strip() else []:
            target = getattr(target, part, None)
        if not attr.strip() or not callable(target):
            problems.append(f"{name} = {spec}: {attr or '<no attribute>'} is not a callable")
    return problems


def test_console_scripts_in_pyproject_resolve() -> None:
    """Each [project.scripts] entry imports and is callable (none points at a missing module)."""
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"].get("scripts", {})
    assert script_problems(scripts) == []


def test_installed_console_scripts_match_pyproject_and_resolve() -> None:
    """The installed distribution declares the same console scripts as pyproject, and they resolve."""
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"].get("scripts", {})
    installed = {
        ep.name: ep.value
        for ep in importlib.metadata.distribution("tracekit").entry_points
        if ep.group == "console_scripts"
    }
    assert installed == scripts
    assert script_problems(installed) == []


def test_the_check_reports_a_missing_module_and_a_non_callable() -> None:
    """The resolver names the entry and why: a missing module, an attribute that is no function."""
    assert script_problems(
        {
            "gone": "tracekit.no_such_cli:main",
            "data": "tracekit:__all__",
            "bare": "tracekit",
            "ok": "tracekit:aggregate",
        }
    ) == [
        "gone = tracekit.no_such_cli:main: No module named 'tracekit.no_such_cli'",
        "data = tracekit:__all__: __all__ is not a callable",
        "bare = tracekit: <no attribute> is not a callable",
    ]

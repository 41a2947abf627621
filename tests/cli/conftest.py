"""CLI test fixtures: the CLI in an empty working directory, and one demo store shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirunner import Cli, DemoStore, run_demo_store


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI run in an empty working directory."""
    return Cli(tmp_path)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """One demo run for the CLI tests that only read the store."""
    return run_demo_store(tmp_path_factory.mktemp("demo"))

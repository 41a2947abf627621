"""The HTML report: every section present, numbers equal to `stats --json`, nothing fetched at view time."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from clirunner import Cli, DemoStore, run_demo_store

SECTIONS = [
    "totals", "warnings", "by-model", "by-agent", "by-provider", "by-experiment",
    "latency", "ttft", "cost-over-time", "tool-calls", "sessions",
]  # fmt: skip


class _Report(HTMLParser):
    """Collects section ids, table rows (data-key -> {data-field: data-value}), cards and references."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tables: dict[str, dict[Any, dict[str, Any]]] = {}
        self.cards: dict[str, Any] = {}
        self.references: list[str] = []
        self.tags: set[str] = set()
        self.sessions: list[str] = []
        self._section: str | None = None
        self._row: Any = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.add(tag)
        for name in ("src", "href"):
            if a.get(name):
                self.references.append(a[name] or "")
        if tag == "section":
            self._section = a["id"]
            self.sections.append(a["id"] or "")
            self.tables[a["id"] or ""] = {}
        elif tag == "tr" and "data-key" in a:
            self._row = "TOTAL" if a.get("data-total") else json.loads(a["data-key"] or "null")
            assert self._section is not None
            self.tables[self._section][self._row] = {}
        elif tag == "td" and "data-field" in a and self._section is not None and self._row is not None:
            self.tables[self._section][self._row][a["data-field"] or ""] = json.loads(
                a["data-value"] or "null"
            )
        elif tag == "div" and a.get("class") == "card":
            self.cards[a["data-field"] or ""] = json.loads(a["data-value"] or "null")
        elif tag == "details":
            self.sessions.append(a["data-session"] or "")


def _get(group: dict[str, Any], dotted: str) -> Any:
    value: Any = group
    for part in dotted.split("."):
        value = value[part]
    return value


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """A store filled by one demo run."""
    return run_demo_store(tmp_path_factory.mktemp("report-demo"))


@pytest.fixture(scope="module")
def written(demo: DemoStore) -> tuple[Path, _Report, dict[str, Any]]:
    """The report of the demo store, parsed, and `stats --json` of the same store."""
    out = demo.cli.cwd / "report.html"
    summary = demo.cli.json("report", "--db", demo.url, "--out", str(out))
    assert summary["sessions"] == 3
    assert summary["calls"] == 17
    parser = _Report()
    parser.feed(out.read_text(encoding="utf-8"))
    return out, parser, demo.cli.json("stats", "--db", demo.url)


def test_every_section_is_present_in_order(written: tuple[Path, _Report, dict[str, Any]]) -> None:
    """The report has each section once, in the documented order."""
    _, report, _ = written
    assert report.sections == SECTIONS


def test_group_tables_equal_stats_json(written: tuple[Path, _Report, dict[str, Any]]) -> None:
    """Every cell of the by-model/agent/provider/experiment tables equals the same field of `stats --json`."""
    from tracekit.report.html import GROUP_COLUMNS

    _, report, stats = written
    for section, dim in (("by-model", "model"), ("by-agent", "agent"), ("by-provider", "provider"),
                         ("by-experiment", "experiment")):  # fmt: skip
        table = report.tables[section]
        expected = {g["key"]: g for g in stats["by"][dim]}
        assert set(table) == {*expected, "TOTAL"}
        for key, group in expected.items():
            assert table[key] == {field: _get(group, field) for field, _ in GROUP_COLUMNS}, (section, key)
        assert table["TOTAL"] == {field: _get(stats["total"], field) for field, _ in GROUP_COLUMNS}


def test_totals_cards_distributions_and_tools(written: tuple[Path, _Report, dict[str, Any]]) -> None:
    """The totals cards, the latency/TTFT tables and the tool-call counts are the stored numbers."""
    _, report, stats = written
    total = stats["total"]
    assert report.cards["call_count"] == total["call_count"] == 17
    assert report.cards["cost_usd"] == total["cost_usd"]
    assert report.cards["unpriced_call_count"] == total["unpriced_call_count"]
    assert report.cards["latency_ms"] == total["latency_ms"]
    assert report.cards["ttft_ms"] == total["ttft_ms"]
    assert report.cards["tool_calls_count"] == total["tool_calls_count"]
    assert report.cards["sessions"] == 3
    by_model = {g["key"]: g for g in stats["by"]["model"]}
    for key, row in report.tables["ttft"].items():
        assert row["ttft_ms.p90"] == by_model[key]["ttft_ms"]["p90"]
        assert row["ttft_ms.count"] == by_model[key]["ttft_ms"]["count"]
    tools = report.tables["tool-calls"]
    assert tools["send_email"] == {"requested": 1, "ok": 0, "failed": 1, "no_result": 0, "success_rate": 0.0}
    assert tools["get_weather"]["failed"] == 0
    assert sum(t["requested"] for t in tools.values()) == total["tool_calls_count"]
    assert len(report.sessions) == 3


def test_report_needs_nothing_from_the_network(written: tuple[Path, _Report, dict[str, Any]]) -> None:
    """No script, stylesheet link, image or any src/href: the file is all there is."""
    path, report, _ = written
    assert report.references == []
    assert not {"script", "link", "img", "iframe"} & report.tags
    assert "http://" not in path.read_text(encoding="utf-8").replace("http://127.0.0.1", "")


def test_report_filters_and_bad_output_path(demo: DemoStore) -> None:
    """--meta narrows the report to one session; an unwritable --out is one error line, exit 1."""
    out = demo.cli.cwd / "one.html"
    one = demo.cli.json("report", "--db", demo.url, "--out", str(out), "--meta", "task=support-desk")
    assert (one["sessions"], one["calls"]) == (1, 8)
    bad = demo.cli("report", "--db", demo.url, "--out", str(demo.cli.cwd / "missing-dir" / "r.html"))
    assert bad.returncode == 1
    assert bad.stderr.startswith("tracekit report: error: cannot write the report to ")
    assert bad.stderr.count("\n") == 1


def test_report_of_an_empty_store_has_every_section(tmp_path: Path) -> None:
    """A store with no sessions still gives a complete report that says so."""
    cli = Cli(tmp_path)
    assert cli.json("import", "-", "--db", "file:empty.db", stdin="")["imported"] == 0
    summary = cli.json("report", "--db", "file:empty.db", "--out", "empty.html")
    assert summary["sessions"] == 0
    parser = _Report()
    parser.feed((tmp_path / "empty.html").read_text(encoding="utf-8"))
    assert parser.sections == SECTIONS


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_report_renders_in_headless_chromium(
    written: tuple[Path, _Report, dict[str, Any]], tmp_path: Path
) -> None:
    """Headless Chromium loads the file with the network off and lays out every section and session."""
    path, _, _ = written
    chromium = shutil.which("chromium")
    assert chromium is not None
    flags = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # any fetch would fail
    ]  # fmt: skip
    dom = subprocess.run(
        [*flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    parsed = _Report()
    parsed.feed(dom)
    assert parsed.sections == SECTIONS
    assert len(parsed.sessions) == 3
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1400,1800", path.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000

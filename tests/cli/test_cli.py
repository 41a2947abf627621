"""The tracekit command through a real subprocess: exit codes, output, --json, filters and bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from clirunner import Cli, DemoStore

import tracekit as tk
from tracekit.store.server import find_sqld

COMMANDS = [
    "demo",
    "stats",
    "sessions",
    "show",
    "report",
    "export-sft",
    "serve",
    "import",
    "export",
    "schema",
    "version",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_db_option(cli: Cli, command: str) -> None:
    """`tracekit COMMAND --help` exits 0 and shows --db and an example."""
    done = cli(command, "--help")
    assert done.returncode == 0
    assert "example:" in done.stdout
    assert "--db URL" in done.stdout


def test_version_prints_text_and_json(cli: Cli) -> None:
    """`python -m tracekit.cli version` names tracekit's version and exits 0; --json parses."""
    proc = Cli(cli.cwd, subprocess=True)
    done = proc("version")
    assert done.returncode == 0
    assert done.stdout.startswith(f"tracekit {tk.__version__} (schema ")
    info = cli.json("version")
    assert info["tracekit"] == tk.__version__
    assert info["vendor_sdks"] is True


def test_no_command_and_unknown_options_are_usage_errors(cli: Cli) -> None:
    """A missing command, an unknown option or a bad filter value exits 2."""
    assert Cli(cli.cwd, subprocess=True)().returncode == 2
    assert cli("stats", "--frobnicate").returncode == 2
    bad_time = cli("stats", "--since", "yesterday")
    assert bad_time.returncode == 2
    assert "'yesterday' is not an ISO-8601 time" in bad_time.stderr
    naive = cli("sessions", "--until", "2026-01-01T00:00:00")
    assert naive.returncode == 2
    assert "has no timezone" in naive.stderr
    assert cli("sessions", "--min-reward", "nan").returncode == 2
    assert cli("sessions", "--meta", "novalue").returncode == 2
    assert cli("stats", "--by", "model,colour").returncode == 2


@pytest.mark.parametrize("command", ["stats", "sessions", "report", "export"])
def test_a_missing_database_is_one_line_and_exit_1(cli: Cli, command: str) -> None:
    """Reading a file: database that does not exist fails in one stderr line and creates nothing."""
    done = Cli(cli.cwd, subprocess=command == "stats")(command, "--db", "file:nowhere.db")
    assert done.returncode == 1
    assert done.stderr == (
        f"tracekit {command}: error: no database at {cli.cwd / 'nowhere.db'} "
        f"(--db file:{cli.cwd / 'nowhere.db'}); "
        "run `tracekit demo` to create one, or pass --db / set TRACEKIT_DB\n"
    )
    assert not (cli.cwd / "nowhere.db").exists()


def test_bad_urls_fail_in_one_line_without_traceback(cli: Cli) -> None:
    """A bad URL scheme or an unreachable server is one error line, exit 1; --debug adds the traceback."""
    bad = cli("stats", "--db", "postgres://localhost/x")
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1
    assert bad.stderr.startswith("tracekit stats: error: ")
    assert "Traceback" not in bad.stderr
    down = cli("sessions", "--db", "http://127.0.0.1:9")
    assert down.returncode == 1
    assert down.stderr.count("\n") == 1
    debug = cli("stats", "--db", "postgres://localhost/x", "--debug")
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


def test_tracekit_db_env_is_the_default_store(demo_store: DemoStore, cli: Cli) -> None:
    """TRACEKIT_DB names the store when --db is not given."""
    listed = cli.json("sessions", env={"TRACEKIT_DB": demo_store.url})
    assert len(listed["sessions"]) == 3


def test_stats_json_csv_and_text_agree(demo_store: DemoStore) -> None:
    """stats --json, --csv and the text table show the same totals; --json and --csv together exit 2."""
    cli, url = demo_store.cli, demo_store.url
    stats = cli.json("stats", "--db", url)
    total = stats["total"]
    assert total["call_count"] == 17
    assert set(stats["by"]) == {"model", "provider", "agent", "session", "experiment", "timestep"}
    assert [g["key"] for g in stats["by"]["experiment"]] == ["tracekit-demo"]
    assert stats["by"]["experiment"][0]["call_count"] == 17
    assert sum(g["call_count"] for g in stats["by"]["agent"]) == 17
    assert len(stats["sessions"]) == 3
    assert total["unpriced_call_count"] == 5
    done = cli("stats", "--db", url, "--csv")
    assert done.returncode == 0
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    total_row = next(r for r in rows if r["dimension"] == "total")
    assert int(total_row["call_count"]) == total["call_count"]
    assert int(total_row["input_tokens"]) == total["input_tokens"]
    assert float(total_row["cost_usd"]) == total["cost_usd"]
    assert {r["key"] for r in rows if r["dimension"] == "provider"} == {"anthropic", "google", "openai"}
    text = cli("stats", "--db", url, "--by", "provider")
    assert text.returncode == 0
    assert text.stderr == ""  # not a terminal: no progress bar
    assert f"TOTAL     {total['call_count']}" in text.stdout
    assert "5 call(s) unpriced" in text.stdout
    assert cli("stats", "--db", url, "--json", "--csv").returncode == 2


def test_stats_filters_narrow_the_roll_up(demo_store: DemoStore) -> None:
    """--meta, --min-reward and --session select sessions for the roll-up."""
    cli, url = demo_store.cli, demo_store.url
    one = cli.json("stats", "--db", url, "--by", "model", "--meta", "task=weather-report")
    assert one["total"]["call_count"] == 5
    assert one["total"]["error_count"] == 1
    rewarded = cli.json("stats", "--db", url, "--by", "agent", "--min-reward", "0.75")
    assert rewarded["total"]["call_count"] == 4
    sid = demo_store.summary["session_ids"][2]
    only = cli.json("stats", "--db", url, "--by", "session", "--session", sid)
    assert [g["key"] for g in only["by"]["session"]] == [sid]


def test_stats_warns_about_tool_calls_without_llm_calls(cli: Cli) -> None:
    """A session with tool activity but no LLM call is flagged in stats text and JSON."""
    url = f"file:{cli.cwd / 'tools.db'}"
    tracer = tk.SessionTracer(store=url)
    with tracer.session(session_id="tools-only"):
        tracer.record_message({"q": 1}, "tool_call", from_role="agent", to_role="tool_runtime")
        tracer.record_message("42", "tool_result", from_role="tool_runtime", to_role="agent")
    assert tracer.close().written == 1
    stats = cli.json("stats", "--db", url)
    assert any("tools-only" in w and "no LLM calls" in w for w in stats["warnings"]), stats["warnings"]
    text = cli("stats", "--db", url).stdout
    assert "warnings:" in text
    assert "no LLM calls" in text


def test_sessions_lists_pages_and_filters(demo_store: DemoStore) -> None:
    """sessions pages with --limit/--after and filters by metadata and reward."""
    cli, url = demo_store.cli, demo_store.url
    first = cli.json("sessions", "--db", url, "--limit", "2")
    assert len(first["sessions"]) == 2
    rest = cli.json("sessions", "--db", url, "--limit", "2", "--after", first["next_cursor"])
    assert len(rest["sessions"]) == 1
    assert rest["next_cursor"] is None
    ids = [s["session_id"] for s in first["sessions"] + rest["sessions"]]
    assert sorted(ids) == sorted(demo_store.summary["session_ids"])
    support = cli.json("sessions", "--db", url, "--meta", "task=support-desk")["sessions"]
    assert [s["metadata"]["task"] for s in support] == ["support-desk"]
    assert support[0]["num_llm_calls"] == 8
    failed = cli.json("sessions", "--db", url, "--has-error")["sessions"]
    assert [s["metadata"]["task"] for s in failed] == [
        "weather-report",
        "support-desk",
    ]  # a failed call, a cut stream
    text = cli("sessions", "--db", url, "--limit", "2")
    assert "more: tracekit sessions --after " in text.stdout
    assert cli("sessions", "--db", url, "--after", "not-a-cursor").returncode == 1


def test_show_prints_the_timeline(demo_store: DemoStore) -> None:
    """show lists steps, calls with model/tokens/latency/cost, tool runs, messages and rewards."""
    cli, url = demo_store.cli, demo_store.url
    sid = demo_store.summary["session_ids"][0]
    shown = cli.json("show", sid, "--db", url)
    kinds = [e["kind"] for e in shown["timeline"]]
    assert kinds.count("step") == 2
    assert kinds.count("llm_call") == 4
    assert kinds.count("tool") == 4
    calls = [e["details"] for e in shown["timeline"] if e["kind"] == "llm_call"]
    assert [c["model"] for c in calls] == [
        "gpt-4o-mini",
        "claude-opus-4-7",
        "claude-3-opus-latest",
        "gemini-3.1-flash-lite",
    ]
    assert calls[0]["tool_calls"] == ["get_weather", "get_weather", "send_email"]
    assert (calls[0]["input_tokens"], calls[0]["output_tokens"]) == (82, 17)
    assert calls[1]["cost_usd"] is None  # no usage in that payload: unpriced, never $0
    tools = [e["details"] for e in shown["timeline"] if e["kind"] == "tool"]
    assert [(t["tool"], t["status"]) for t in tools] == [
        ("get_weather", "ok"),
        ("get_weather", "ok"),
        ("send_email", "error"),
        ("get_weather", "ok"),
    ]
    rewards = [e["details"] for e in shown["timeline"] if e["kind"] == "reward"]
    assert [r.get("reward", r.get("total_reward")) for r in rewards] == [0.5, 1.0, 1.0]
    assert shown["rollup"]["llm_call_count"] == 4
    text = cli("show", sid, "--db", url)
    assert text.returncode == 0
    assert "[llm_call] planner: gpt-4o-mini [success] 82 in / 17 out" in text.stdout
    assert "[tool] tool send_email error" in text.stdout


def test_show_unknown_session_is_one_line(demo_store: DemoStore) -> None:
    """An unknown session id exits 1 with one line naming it."""
    done = demo_store.cli("show", "no-such-session", "--db", demo_store.url)
    assert done.returncode == 1
    assert done.stderr.startswith("tracekit show: error: no session 'no-such-session' in ")
    assert done.stderr.count("\n") == 1


def test_export_import_round_trip(demo_store: DemoStore, cli: Cli) -> None:
    """export writes one trace per line; import into a new store and export again gives the same lines."""
    src = demo_store.url
    out = cli.cwd / "all.jsonl"
    summary = cli.json("export", "--db", src, "--out", str(out))
    assert summary == {"sessions": 3, "path": str(out)}
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert {tk.SessionTrace.from_json(line).session_id for line in lines} == set(
        demo_store.summary["session_ids"]
    )
    dst = f"file:{cli.cwd / 'copy.db'}"
    imported = cli.json("import", str(out), "--db", dst)
    assert imported["imported"] == 3
    assert imported["url"].endswith("/copy.db")
    again = cli("export", "--db", dst)
    assert again.returncode == 0
    assert sorted(again.stdout.splitlines()) == sorted(lines)
    piped = cli("import", "-", "--db", f"file:{cli.cwd / 'piped.db'}", stdin=again.stdout)
    assert piped.returncode == 0
    assert piped.stdout.startswith("imported 3 sessions into file:")


def test_import_refuses_a_bad_line_and_saves_nothing(cli: Cli) -> None:
    """A line that is not a trace names its number; no session of the file is saved."""
    good = tk.SessionTrace(session_id="ok-1").to_json()
    path = cli.cwd / "bad.jsonl"
    path.write_text(good + "\n" + '{"session_id": 5}\n', encoding="utf-8")
    done = cli("import", str(path), "--db", "file:target.db")
    assert done.returncode == 1
    assert done.stderr.startswith(
        f"tracekit import: error: invalid SessionTrace ({path} line 2): 1 problem(s); session_id: "
    )
    assert done.stderr.count("\n") == 1
    assert not (cli.cwd / "target.db").exists()
    assert cli("import", str(cli.cwd / "missing.jsonl")).returncode == 1


def test_schema_prints_ddl_and_versions_without_creating_a_database(cli: Cli, demo_store: DemoStore) -> None:
    """schema shows every table's DDL, the database's version, and leaves a missing database missing."""
    missing = cli.json("schema")
    assert missing["database_version"] is None
    assert not (cli.cwd / "traces.db").exists()
    assert "sessions" in missing["tables"]
    assert missing["tables"]["sessions"][0].startswith("CREATE TABLE IF NOT EXISTS sessions")
    stored = cli.json("schema", "--db", demo_store.url)
    assert stored["database_version"] == stored["schema_version"]
    text = cli("schema").stdout
    assert "CREATE TABLE IF NOT EXISTS llm_calls" in text


def test_serve_prints_url_and_env_and_serves_the_store(cli: Cli) -> None:
    """serve starts sqld and prints its URL and TRACEKIT_DB; other commands use it; SIGTERM stops it."""
    find_sqld()  # `make test` installs sqld; without it this test cannot run
    process = subprocess.Popen(
        [sys.executable, "-m", "tracekit.cli", "serve", "--json", "--db", "file:served.db"],
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["env"] == {"TRACEKIT_DB": info["url"]}
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["data_dir"] == str(cli.cwd / "served.db.sqld")
        assert (
            cli.json("import", "-", stdin=tk.SessionTrace(session_id="s1").to_json(), env=info["env"])[
                "imported"
            ]
            == 1
        )
        listed = cli.json("sessions", env=info["env"])
        assert [s["session_id"] for s in listed["sessions"]] == ["s1"]
    finally:
        process.terminate()
        code = process.wait(30)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
    assert code == 0
    assert cli("serve", "--db", "http://127.0.0.1:1").returncode == 2


def test_export_sft_maps_flags_onto_export_sft(demo_store: DemoStore) -> None:
    """export-sft writes the JSONL export_sft writes for the same arguments, and prints its report."""
    from tracekit.sft import export_sft

    cli, url = demo_store.cli, demo_store.url
    out, val = cli.cwd / "train.jsonl", cli.cwd / "val.jsonl"
    args = ["--out", str(out), "--validation-out", str(val), "--validation-fraction", "0.5", "--seed", "3"]
    report = cli.json("export-sft", "--db", url, *args, "--agent", "planner", "--agent", "analyst")
    expected = export_sft(
        url, cli.cwd / "py-train.jsonl", validation_out=cli.cwd / "py-val.jsonl", validation_fraction=0.5,
        seed=3, agent=["planner", "analyst"],
    )  # fmt: skip
    assert {k: v for k, v in report.items() if not k.endswith("_path")} == {
        k: v for k, v in expected.to_dict().items() if not k.endswith("_path")
    }
    assert out.read_bytes() == (cli.cwd / "py-train.jsonl").read_bytes()
    assert val.read_bytes() == (cli.cwd / "py-val.jsonl").read_bytes()
    assert report["kept"] == report["train"] + report["validation"] == 6
    everything = cli.json("export-sft", "--db", url, "--out", str(cli.cwd / "all.jsonl"), "--all-outcomes")
    assert (everything["calls_seen"], everything["kept"], everything["dropped"]) == (17, 17, {})
    text = cli("export-sft", "--db", url, "--out", str(cli.cwd / "ok.jsonl"))
    assert text.returncode == 0
    assert "dropped     2  not_success" in text.stdout
    bad = cli("export-sft", "--db", url, "--validation-fraction", "2")
    assert bad.returncode == 1
    assert bad.stderr == "tracekit export-sft: error: validation_fraction must be within [0, 1], got 2.0\n"


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_only_on_a_terminal() -> None:
    """The progress bar redraws one line on a terminal and writes nothing to a pipe or file."""
    from tracekit.cli.common import progress_bar

    terminal = _Terminal()
    update, finish = progress_bar("reading", terminal)
    update(1, 4)
    update(4, 4)
    update(5, None)
    finish()
    assert terminal.getvalue() == (
        "\rreading [#######.......................] 1/4"
        "\rreading [##############################] 4/4"
        "\rreading 5\n"
    )
    piped = io.StringIO()
    update, finish = progress_bar("reading", piped)
    update(1, 4)
    finish()
    assert piped.getvalue() == ""

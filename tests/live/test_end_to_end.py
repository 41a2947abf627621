"""Two real processes: a service streams llm_metrics to a benchmark client, whose numbers then match."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent


def test_client_aggregate_equals_the_services_per_agent() -> None:
    """Per agent: calls, tokens, cost, latency, TTFT, outcomes, tool calls are equal across the pipe."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    service = subprocess.Popen(
        [sys.executable, str(HERE / "agent_service.py")], stdout=subprocess.PIPE, env=env
    )
    assert service.stdout is not None
    client = subprocess.run(
        [sys.executable, str(HERE / "benchmark_client.py")],
        stdin=service.stdout,
        capture_output=True,
        env=env,
        timeout=120,
        check=True,
    )
    service.stdout.close()
    assert service.wait(timeout=60) == 0
    result = json.loads(client.stdout)
    client_agg, service_agg = result["client"], result["service"]
    assert [g["key"] for g in service_agg["groups"]] == ["planner", "writer"]
    assert client_agg["groups"] == service_agg["groups"]
    assert client_agg["total"] == service_agg["total"]
    planner = service_agg["groups"][0]
    assert (planner["call_count"], planner["success_count"], planner["error_count"]) == (3, 2, 1)
    assert planner["tool_calls_by_name"] == {"get_weather": 2, "send_email": 1}
    assert planner["ttft_ms"]["count"] == 1
    assert service_agg["total"]["cost_nanousd"] is not None
    assert client_agg["warnings"] == service_agg["warnings"]
    assert [w[:53] for w in client_agg["warnings"]] == [
        "1 of 5 LLM call(s) are unpriced and not in cost_usd: "
    ]
    assert result["received"] == [{"via": "llm_metrics", "version": 1}] * 5
    live = result["live"]
    assert [a["agent"] for a in live["agents"]] == ["planner", "writer"]
    for group, agent in zip(service_agg["groups"], live["agents"], strict=True):
        assert (agent["llm_calls"], agent["input_tokens"], agent["output_tokens"], agent["cost_nanousd"]) == (
            group["call_count"],
            group["input_tokens"],
            group["output_tokens"],
            group["cost_nanousd"],
        )

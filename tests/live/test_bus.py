"""The live event bus: every kind in order, bounded buffers that drop and report, async iteration."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sdk_transport import VendorServer, openai_client
from trace_checks import load

import tracekit as tk
from tracekit.tracer import SessionTracer

HI = [{"role": "user", "content": "hi"}]


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def test_llm_call_and_tool_run_arrive_in_order() -> None:
    """Session/timestep start and end, LLM call start/end, token usage, tool start/end: in order."""
    server = VendorServer().reply_json(load("openai_chat", "response_parallel_tools"))
    client = tk.instrument(openai_client(server), agent="planner")

    @tk.trace_tool()
    def get_weather(location: str) -> str:
        return "sunny"

    tracer = SessionTracer(strict=True)
    got: list[dict[str, Any]] = []
    sub = tracer.subscribe(got.append)
    with tracer.session(session_id="s1"), tracer.timestep("turn-1", turn_number=1):
        client.chat.completions.create(model="gpt-4o-mini", messages=HI)
        get_weather("Paris", call_id="call_12345xyz")
    sub.close()
    assert _kinds(got) == [
        "session_start",
        "timestep_start",
        "llm_call_start",
        "llm_call_end",
        "token_usage",
        "tool_start",
        "tool_end",
        "timestep_end",
        "session_end",
    ]
    assert [e["seq"] for e in got] == sorted(e["seq"] for e in got)
    assert {e["session_id"] for e in got} == {"s1"}
    end, usage, tool_start, tool_end = got[3], got[4], got[5], got[6]
    assert (end["agent"], end["model"], end["outcome"], end["received"]) == (
        "planner",
        "gpt-4o-mini",
        "success",
        False,
    )
    assert end["tool_calls"] == ["get_weather", "get_weather", "send_email"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"], usage["partial"]) == (
        82,
        17,
        99,
        False,
    )
    assert usage["call_id"] == end["call_id"]
    assert (tool_start["tool_name"], tool_start["call_id"]) == ("get_weather", "call_12345xyz")
    assert (tool_end["tool_name"], tool_end["call_id"], tool_end["success"]) == (
        "get_weather",
        "call_12345xyz",
        True,
    )
    assert tool_end["duration_ms"] >= 0
    assert (sub.delivered, sub.dropped) == (9, 0)


def test_stream_usage_chunk_is_published_as_it_arrives() -> None:
    """A streamed call publishes the usage chunk's raw usage (partial) before the call's end."""
    chunks = load("openai_chat", "stream_text_usage")
    server = VendorServer().reply_stream("openai_chat", chunks)
    client = tk.instrument(openai_client(server), agent="writer")
    tracer = SessionTracer(strict=True)
    got: list[dict[str, Any]] = []
    with tracer.subscribe(got.append, kinds={"token_usage", "llm_call_end"}), tracer.session():
        for _ in client.chat.completions.create(model="gpt-4o", messages=HI, stream=True):
            pass
    assert _kinds(got) == ["token_usage", "llm_call_end", "token_usage"]
    assert got[0]["partial"] is True
    assert got[0]["raw_usage"] == chunks[-1]["usage"]
    assert (got[2]["partial"], got[2]["input_tokens"], got[2]["output_tokens"]) == (False, 19, 11)


def test_slow_subscriber_never_blocks_and_drops_are_reported() -> None:
    """With the callback stuck the agent goes on; overflow is counted and reported, also by live_metrics."""
    entered, release = threading.Event(), threading.Event()
    got: list[dict[str, Any]] = []

    def slow(event: dict[str, Any]) -> None:
        entered.set()
        release.wait(10)
        got.append(event)

    tracer = SessionTracer(strict=True)
    sub = tracer.subscribe(slow, kinds={"session_start", "timestep_start"}, buffer=5)
    with tracer.session(session_id="busy"):
        assert entered.wait(10)
        start = time.perf_counter()
        for index in range(100):
            with tracer.timestep(f"t{index}"):
                pass
        elapsed = time.perf_counter() - start
        metrics = tracer.live_metrics()
    release.set()
    sub.close()
    assert elapsed < 2.0  # 100 timesteps; a blocking bus would wait 10 s on the first overflow
    assert sub.dropped == 95
    assert metrics["dropped_events"] == 95
    assert metrics["warnings"] == ["95 live event(s) were dropped by slow subscribers (full buffers)"]
    assert _kinds(got) == ["session_start"] + ["timestep_start"] * 5 + ["events_dropped"]
    assert [e["step_id"] for e in got[1:6]] == ["t0", "t1", "t2", "t3", "t4"]
    assert (got[6]["count"], got[6]["total"]) == (95, 95)


def test_failing_subscriber_is_logged_and_others_still_receive(caplog: pytest.LogCaptureFixture) -> None:
    """A callback that raises is logged; the agent and the other subscribers carry on."""

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    tracer = SessionTracer(strict=True)
    got: list[dict[str, Any]] = []
    with tracer.subscribe(broken), tracer.subscribe(got.append, kinds={"session_end"}), tracer.session():
        pass
    assert _kinds(got) == ["session_end"]
    assert "failed on a session_start event" in caplog.text


async def test_async_events_in_order_until_the_tracer_closes() -> None:
    """`async for ev in tracer.events()` yields each event in order and ends when the tracer closes."""
    tracer = SessionTracer(strict=True)
    events = tracer.events(kinds={"timestep_end", "session_end"})

    async def agent() -> None:
        async with tracer.session(session_id="a"):
            for index in range(3):
                async with tracer.timestep(f"t{index}"):
                    await asyncio.sleep(0)
        await asyncio.to_thread(tracer.close)

    task = asyncio.create_task(agent())
    got = [event async for event in events]
    await task
    assert _kinds(got) == ["timestep_end", "timestep_end", "timestep_end", "session_end"]
    assert [e.get("step_id") for e in got] == ["t0", "t1", "t2", None]
    assert all(e["duration_ms"] >= 0 for e in got[:3])


async def test_async_events_drop_when_not_read_and_aclose_unsubscribes() -> None:
    """An unread async iterator keeps `buffer` events, reports the rest as dropped, and aclose() stops it."""
    tracer = SessionTracer(strict=True)
    events = tracer.events(kinds={"timestep_start"}, buffer=2)
    with tracer.session():
        for index in range(5):
            with tracer.timestep(f"t{index}"):
                pass
    got = [await events.__anext__() for _ in range(3)]
    assert [e.get("step_id") for e in got] == ["t0", "t1", None]
    assert (got[2]["kind"], got[2]["count"], got[2]["total"]) == ("events_dropped", 3, 3)
    await events.aclose()
    assert tracer.bus.active is False
    with pytest.raises(StopAsyncIteration):
        await events.__anext__()


def test_bad_subscriptions_are_refused() -> None:
    """Unknown kinds, a bare string, a non-callable and a zero buffer are refused at once."""
    tracer = SessionTracer()
    with pytest.raises(tk.InvalidArgumentError, match="unknown event kind"):
        tracer.subscribe(print, kinds={"llm_call"})
    with pytest.raises(tk.InvalidArgumentError, match="one string"):
        tracer.subscribe(print, kinds="tool_end")
    with pytest.raises(tk.InvalidArgumentError, match="callable"):
        tracer.subscribe("print")  # type: ignore[arg-type]
    with pytest.raises(tk.InvalidArgumentError, match="buffer"):
        tracer.events(buffer=0)
    assert tracer.bus.active is False


def test_closing_the_tracer_does_not_wait_forever_on_a_stuck_subscriber() -> None:
    """tracer.close(timeout) gives a stuck subscriber at most `timeout` seconds, then returns."""
    release = threading.Event()
    tracer = SessionTracer(strict=True)
    sub = tracer.subscribe(lambda event: release.wait(30))
    with tracer.session():
        pass
    start = time.perf_counter()
    tracer.close(timeout=0.2)
    elapsed = time.perf_counter() - start
    release.set()
    assert elapsed < 5.0
    assert sub.closed is True
    assert tracer.bus.active is False

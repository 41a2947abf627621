"""Aggregates: hand-computed totals, grouping keys, distributions, session roll-ups and invariants."""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

import tracekit as tk
from tracekit.analysis import pricing
from tracekit.analysis.aggregates import GROUP_BY_VALUES

T0 = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
VERSION = "2026-11-21"


def at(ms: float) -> datetime:
    """T0 plus `ms` milliseconds."""
    return T0 + timedelta(milliseconds=ms)


@pytest.fixture(autouse=True)
def _fresh_prices() -> Iterator[None]:
    """Every test prices with the bundled table only."""
    tk.reset_prices()
    yield
    tk.reset_prices()


def call(
    call_id: str,
    model: str,
    provider: str | None,
    usage: tk.LLMUsage | None,
    *,
    latency_ms: float | None = None,
    timing: tk.LLMTiming | None = None,
    tools: tuple[str, ...] = (),
    outcome: Any = "success",
    metadata: dict[str, Any] | None = None,
    started: float | None = None,
    completed: float | None = None,
) -> tk.LLMCallRecord:
    return tk.LLMCallRecord(
        call_id=call_id,
        api_type="chat_completions",
        provider=provider,
        model_name=model,
        usage=usage,
        latency_ms=latency_ms,
        timing=timing,
        output_tool_calls=[tk.ToolCallSpec(name=n, arguments_json="{}") for n in tools],
        outcome=outcome,
        metadata=metadata or {},
        started_at=None if started is None else at(started),
        completed_at=None if completed is None else at(completed),
    )


def mixed_records() -> list[tk.LLMCallRecord]:
    """Seven calls across vendors; the comments give each one's cost in nano-dollars."""
    return [
        # gpt-4o: 200 uncached * 2500 + 1000 cached * 1250 + 300 out * 10000 = 4_750_000
        call(
            "r1",
            "gpt-4o-2024-08-06",
            "openai",
            tk.LLMUsage(
                input_tokens=1200,
                cache_read_tokens=1000,
                output_tokens=300,
                reasoning_tokens=100,
                total_tokens=1500,
            ),
            latency_ms=800.0,
            timing=tk.LLMTiming(ttft_ms=100.0, tpot_ms=10.0, output_tokens_per_second=50.0),
            tools=("get_weather", "search"),
            started=20,
            completed=820,
        ),
        # claude-sonnet-4-5: 5000*3000 + 2000*300 + 2000*3750 + 1000*6000 + 500*15000 = 36_600_000
        call(
            "r2",
            "claude-sonnet-4-5-20250929",
            "anthropic",
            tk.LLMUsage(
                input_tokens=10_000,
                cache_read_tokens=2_000,
                cache_write_tokens=3_000,
                cache_write_1h_tokens=1_000,
                output_tokens=500,
                total_tokens=10_500,
            ),
            latency_ms=1200.0,
            timing=tk.LLMTiming(ttft_ms=300.0, tpot_ms=20.0, output_tokens_per_second=40.0),
            tools=("get_weather",),
            started=2200,
            completed=4500,
        ),
        # gemini-2.5-pro, long-prompt tier: 200000*2500 + 100000*250 + 1000*15000 = 540_000_000
        call(
            "r3",
            "gemini-2.5-pro",
            "google",
            tk.LLMUsage(
                input_tokens=300_000,
                cache_read_tokens=100_000,
                output_tokens=1_000,
                reasoning_tokens=400,
                total_tokens=301_000,
            ),
            latency_ms=5000.0,
        ),
        # unknown model: unpriced
        call(
            "r4",
            "my-llama",
            "custom",
            tk.LLMUsage(input_tokens=100, output_tokens=10, total_tokens=110),
            latency_ms=50.0,
            outcome="error",
            metadata={"agent_id": "solo"},
        ),
        # no usage at all: unpriced, calls_without_usage
        call("r5", "gpt-4o-mini", "openai", None, outcome="timeout"),
        # output not reported: unpriced, but its input still counts
        call(
            "r6",
            "claude-haiku-4-5",
            "anthropic",
            tk.LLMUsage(input_tokens=1000),
            latency_ms=2000.0,
            outcome="incomplete",
        ),
        # a gateway reported $0.50: 500_000_000 nanos, version "reported"; outcome not reported
        call(
            "r7",
            "gpt-4.1",
            "openai",
            tk.LLMUsage(input_tokens=10, output_tokens=10, total_tokens=20, cost_usd=0.5),
            latency_ms=300.0,
            outcome=None,
        ),
    ]


def by_id(records: list[tk.LLMCallRecord]) -> dict[str, tk.LLMCallRecord]:
    return {r.call_id: r for r in records}


def build_trace() -> tk.SessionTrace:
    """Two timesteps, two agents, three LLM calls, a runtime action, rewards and tool messages."""
    r = by_id(mixed_records())
    planner = tk.LMCAISEvent(
        system_instance_id="planner", time_record=tk.TimeRecord(at(10)), call_records=[r["r1"]]
    )
    runtime = tk.RuntimeEvent(system_instance_id="runtime", time_record=tk.TimeRecord(at(900)), actions=[1])
    coder = tk.LMCAISEvent(
        system_instance_id="coder", time_record=tk.TimeRecord(at(2100)), call_records=[r["r2"], r["r7"]]
    )
    env_events = [
        tk.EnvironmentEvent(system_instance_id="env", time_record=tk.TimeRecord(at(3000)), reward=0.5),
        tk.EnvironmentEvent(system_instance_id="env", time_record=tk.TimeRecord(at(3500))),
        tk.EnvironmentEvent(system_instance_id="env", time_record=tk.TimeRecord(at(3900)), reward=1.25),
    ]

    def message(kind: str, ms: float) -> tk.SessionEventMarkovBlanketMessage:
        return tk.SessionEventMarkovBlanketMessage(
            content=tk.SessionMessageContent(text=kind), message_type=kind, time_record=tk.TimeRecord(at(ms))
        )

    m1, m2, m3 = message("tool_call", 950), message("tool_result", 3950), message("observation", 3990)
    step1 = tk.SessionTimeStep(
        step_id="turn-1",
        step_index=0,
        timestamp=at(0),
        completed_at=at(1000),
        events=[planner, runtime],
        markov_blanket_messages=[m1],
    )
    step2 = tk.SessionTimeStep(
        step_id="turn-2",
        step_index=1,
        timestamp=at(2000),
        completed_at=at(4000),
        events=[coder, *env_events],
        markov_blanket_messages=[m2, m3],
    )
    return tk.SessionTrace(
        session_id="s-1",
        created_at=at(0),
        session_time_steps=[step1, step2],
        event_history=[planner, runtime, coder, *env_events],
        markov_blanket_message_history=[m1, m2, m3],
    )


def tool_only_trace() -> tk.SessionTrace:
    """A benchmark-style session: the agent acted through tools, but no LLM call was recorded."""
    events: list[tk.BaseEvent] = [
        tk.RuntimeEvent(system_instance_id="agent", time_record=tk.TimeRecord(at(100 * i)), actions=[i])
        for i in range(3)
    ]
    messages = [
        tk.SessionEventMarkovBlanketMessage(
            content=tk.SessionMessageContent(text="ls"),
            message_type="tool_call",
            time_record=tk.TimeRecord(at(50)),
        ),
        tk.SessionEventMarkovBlanketMessage(
            content=tk.SessionMessageContent(text="a.txt"),
            message_type="tool_result",
            time_record=tk.TimeRecord(at(60)),
        ),
    ]
    step = tk.SessionTimeStep(
        step_id="t0", timestamp=at(0), events=list(events), markov_blanket_messages=messages
    )
    return tk.SessionTrace(
        session_id="bench-0",
        created_at=at(0),
        session_time_steps=[step],
        event_history=events,
        markov_blanket_message_history=list(messages),
    )


# -- totals -------------------------------------------------------------------------------------


def test_mixed_vendor_totals() -> None:
    """Seven calls across vendors roll up to the hand-computed totals."""
    total = tk.aggregate(mixed_records()).total
    assert total.key is None
    assert (total.call_count, total.success_count, total.error_count, total.incomplete_count) == (7, 3, 2, 1)
    assert total.calls_without_usage == 1  # r5
    assert total.input_tokens == 312_310  # 1200 + 10000 + 300000 + 100 + 1000 + 10
    assert total.output_tokens == 1_820  # 300 + 500 + 1000 + 10 + 10
    assert total.total_tokens == 313_130  # 1500 + 10500 + 301000 + 110 + 20
    assert total.cache_read_tokens == 103_000  # 1000 + 2000 + 100000
    assert total.cache_write_tokens == 3_000
    assert total.reasoning_tokens == 500  # 100 + 400
    assert total.cost_nanousd == 1_081_350_000  # 4_750_000 + 36_600_000 + 540_000_000 + 500_000_000
    assert total.cost_usd == 1.08135
    assert total.unpriced_call_count == 3  # r4 unknown model, r5 no usage, r6 no output count
    assert total.price_table_versions == (VERSION, "reported")
    assert total.tool_calls_count == 3
    assert total.tool_calls_by_name == {"get_weather": 2, "search": 1}
    assert total.models == (
        "claude-haiku-4-5",
        "claude-sonnet-4-5-20250929",
        "gemini-2.5-pro",
        "gpt-4.1",
        "gpt-4o-2024-08-06",
        "gpt-4o-mini",
        "my-llama",
    )
    assert total.providers == ("anthropic", "custom", "google", "openai")


def test_mixed_vendor_distributions() -> None:
    """Latency and streaming figures are nearest-rank distributions over the reported values only."""
    total = tk.aggregate(mixed_records()).total
    # latencies 50, 300, 800, 1200, 2000, 5000 (r5 has none): sum 9350; p50 rank ceil(3)=3;
    # p90 rank ceil(5.4)=6; p99 rank ceil(5.94)=6
    assert total.latency_ms == tk.Distribution(6, 9350 / 6, 50.0, 800.0, 5000.0, 5000.0, 5000.0)
    # two streamed calls: ttft 100, 300 -> p50 rank ceil(1)=1, p90 rank ceil(1.8)=2
    assert total.ttft_ms == tk.Distribution(2, 200.0, 100.0, 100.0, 300.0, 300.0, 300.0)
    assert total.tpot_ms == tk.Distribution(2, 15.0, 10.0, 10.0, 20.0, 20.0, 20.0)
    assert total.output_tokens_per_second == tk.Distribution(2, 45.0, 40.0, 40.0, 50.0, 50.0, 50.0)


def test_nearest_rank_percentiles() -> None:
    """p50/p90/p99 of 1..100 are 50, 90, 99; of 1..10 they are 5, 9, 10; one value is every percentile."""
    hundred = [call(str(i), "gpt-4o", "openai", None, latency_ms=float(i)) for i in range(100, 0, -1)]
    assert tk.aggregate(hundred).total.latency_ms == tk.Distribution(100, 50.5, 1.0, 50.0, 90.0, 99.0, 100.0)
    ten = [call(str(i), "gpt-4o", "openai", None, latency_ms=float(i)) for i in range(1, 11)]
    assert tk.aggregate(ten).total.latency_ms == tk.Distribution(10, 5.5, 1.0, 5.0, 9.0, 10.0, 10.0)
    one = [call("x", "gpt-4o", "openai", None, latency_ms=7.0)]
    assert tk.aggregate(one).total.latency_ms == tk.Distribution(1, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0)


def test_unpriced_calls_warn(caplog: pytest.LogCaptureFixture) -> None:
    """Unpriced calls are named in the result's warnings and logged, never shown as a silent $0."""
    with caplog.at_level(logging.WARNING, logger="tracekit.analysis.aggregates"):
        result = tk.aggregate(mixed_records())
    expected = (
        "3 of 7 LLM call(s) are unpriced and not in cost_usd: 1 with a model the price table does not "
        "know ('my-llama'), 2 without usable token counts. Add prices with tk.set_price(...) or "
        "tk.load_prices(path)."
    )
    assert result.warnings == (expected,)
    assert [r.getMessage() for r in caplog.records] == [expected]


def test_price_override_changes_aggregate_cost() -> None:
    """Pricing the unknown model in code makes its call priced, stamped with the override's version."""
    tk.set_price("my-llama", input="1", output="2", provider="custom", version="lab")
    total = tk.aggregate(mixed_records()).total
    # r4: 100 * 1000 + 10 * 2000 = 120_000 nanos on top of 1_081_350_000
    assert total.cost_nanousd == 1_081_470_000
    assert total.unpriced_call_count == 2
    assert total.price_table_versions == (VERSION, "lab", "reported")


def test_empty_input_has_no_nan() -> None:
    """No items: zero counts, every distribution field None, JSON-ready without NaN."""
    for by in (None, *GROUP_BY_VALUES):
        result = tk.aggregate([], by=by)
        assert result.groups == ()
        assert result.sessions == ()
        assert result.warnings == ()
        assert result.total == tk.GroupAggregate(key=None)
        assert result.total.latency_ms == tk.Distribution(0, None, None, None, None, None, None)
        text = json.dumps(result.to_dict(), allow_nan=False)
        assert "NaN" not in text


def test_non_finite_timings_are_skipped() -> None:
    """A NaN or infinite latency (built in code) is left out of the distribution, never propagated."""
    records = [
        call("a", "gpt-4o", "openai", None, latency_ms=float("nan")),
        call("b", "gpt-4o", "openai", None, latency_ms=float("inf")),
        call("c", "gpt-4o", "openai", None, latency_ms=4.0),
    ]
    assert tk.aggregate(records).total.latency_ms == tk.Distribution(1, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0)
    huge = [call(str(i), "gpt-4o", "openai", None, latency_ms=1.5e308) for i in range(2)]
    # the sum overflows; the mean does not: 1.5e308/2 + 1.5e308/2
    assert tk.aggregate(huge).total.latency_ms == tk.Distribution(
        2, 1.5e308, 1.5e308, 1.5e308, 1.5e308, 1.5e308, 1.5e308
    )


# -- grouping -----------------------------------------------------------------------------------


def test_group_by_model() -> None:
    """by="model" keys on the exact model name reported, one group per name, sorted."""
    result = tk.aggregate(mixed_records(), by="model")
    assert [g.key for g in result.groups] == list(result.total.models)
    assert result.group("gemini-2.5-pro").cost_nanousd == 540_000_000
    assert result.group("gpt-4o-mini").calls_without_usage == 1
    assert result.group("gpt-4o-mini").unpriced_call_count == 1


def test_group_by_provider() -> None:
    """by="provider" sums each vendor's calls; a call without a provider groups under None, last."""
    records = [*mixed_records(), call("r8", "gpt-4o", None, tk.LLMUsage(input_tokens=1000, output_tokens=0))]
    result = tk.aggregate(records, by="provider")
    assert [g.key for g in result.groups] == ["anthropic", "custom", "google", "openai", None]
    openai = result.group("openai")
    assert (openai.call_count, openai.unpriced_call_count) == (3, 1)
    assert openai.cost_nanousd == 504_750_000  # r1 4_750_000 + r7 500_000_000
    anthropic = result.group("anthropic")
    assert (anthropic.call_count, anthropic.input_tokens, anthropic.cost_nanousd) == (2, 11_000, 36_600_000)
    assert result.group(None).cost_nanousd == 2_500_000  # r8: 1000 * 2500
    with pytest.raises(KeyError, match="no group 'mistral'"):
        result.group("mistral")


def items_mixed() -> list[Any]:
    """A trace, a bare record with an agent_id and a standalone LM event."""
    r = by_id(mixed_records())
    critic = tk.LMCAISEvent(system_instance_id="critic", call_records=[r["r3"]])
    return [build_trace(), r["r4"], critic]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("agent", {"coder": ["r2", "r7"], "critic": ["r3"], "planner": ["r1"], "solo": ["r4"]}),
        ("session", {"s-1": ["r1", "r2", "r7"], None: ["r4", "r3"]}),
        ("timestep", {"turn-1": ["r1"], "turn-2": ["r2", "r7"], None: ["r4", "r3"]}),
    ],
)
def test_group_by_agent_session_timestep(by: str, expected: dict[str | None, list[str]]) -> None:
    """agent/session/timestep keys come from the event, trace and timestep holding each call."""
    records = by_id(mixed_records())
    result = tk.aggregate(items_mixed(), by=by)  # type: ignore[arg-type]
    assert [g.key for g in result.groups] == list(expected)
    for key, ids in expected.items():
        group = result.group(key)
        assert group.call_count == len(ids)
        usages = [records[i].usage for i in ids]
        assert group.input_tokens == sum(u.input_tokens or 0 for u in usages if u is not None)


def test_unknown_by_is_rejected() -> None:
    """An unsupported `by` raises a ValueError-based TracekitError naming the allowed values."""
    with pytest.raises(tk.InvalidArgumentError) as info:
        tk.aggregate([], by="day")  # type: ignore[arg-type]
    assert str(info.value) == (
        "aggregate(by='day') is not supported; use one of None, 'model', 'provider', 'agent', "
        "'session', 'timestep'"
    )
    assert isinstance(info.value, ValueError)


def test_unknown_item_type_is_rejected() -> None:
    """An item that is not a record, LM event or trace raises InvalidArgumentError naming its type."""
    with pytest.raises(tk.InvalidArgumentError, match="got an item of type dict"):
        tk.aggregate([{"call_id": "x"}])  # type: ignore[list-item]


# -- sessions -----------------------------------------------------------------------------------


def test_session_rollup() -> None:
    """A trace reports its span, counts by type, reward total and no warnings when calls exist."""
    result = tk.aggregate([build_trace()])
    assert result.total.call_count == 3  # event_history and timesteps hold the same events: counted once
    assert result.total.cost_nanousd == 541_350_000  # r1 4_750_000 + r2 36_600_000 + r7 500_000_000
    assert result.sessions == (
        tk.SessionRollup(
            session_id="s-1",
            started_at=at(0),
            ended_at=at(4500),  # r2 completed last
            duration_ms=4500.0,
            timestep_count=2,
            events_by_type={"cais": 2, "environment": 3, "runtime": 1},
            messages_by_type={"observation": 1, "tool_call": 1, "tool_result": 1},
            llm_call_count=3,
            runtime_event_count=1,
            tool_message_count=2,
            total_reward=1.75,  # 0.5 + 1.25; the reward-less event adds nothing
            warnings=(),
        ),
    )
    assert result.warnings == ()


def test_tool_calls_without_llm_calls_are_flagged(caplog: pytest.LogCaptureFixture) -> None:
    """A session with tool activity but no LLM call warns "no LLM calls recorded" in result and log."""
    with caplog.at_level(logging.WARNING, logger="tracekit.analysis.aggregates"):
        result = tk.aggregate([tool_only_trace()])
    assert result.total.call_count == 0
    assert result.total.cost_usd is None  # nothing priced: unknown, not $0.00
    (session,) = result.sessions
    assert session.total_reward is None
    expected = (
        "session 'bench-0': no LLM calls recorded, yet it has 3 runtime event(s), 2 tool message(s) and "
        "0 LM event(s) without call records; its LLM tokens and cost are missing from these totals. Put each "
        "call's LLMCallRecord (e.g. from tk.record_from_response) in LMCAISEvent.call_records."
    )
    assert session.warnings == (expected,)
    assert result.warnings == (expected,)
    assert [r.getMessage() for r in caplog.records] == [expected]


def test_timestep_events_used_when_history_is_empty() -> None:
    """With an empty event_history, calls come from the timesteps' events, once each."""
    trace = build_trace()
    trace.event_history = []
    trace.markov_blanket_message_history = []
    result = tk.aggregate([trace], by="timestep")
    assert [(g.key, g.call_count) for g in result.groups] == [("turn-1", 1), ("turn-2", 2)]
    assert result.sessions[0].messages_by_type == {"observation": 1, "tool_call": 1, "tool_result": 1}


def test_calls_missing_from_history_are_flagged() -> None:
    """Timesteps holding calls that event_history lacks give a warning instead of a silent undercount."""
    trace = build_trace()
    trace.event_history = trace.event_history[1:]  # drop the planner's event (call r1)
    result = tk.aggregate([trace])
    assert result.total.call_count == 2
    assert result.warnings == (
        "session 's-1': its timesteps hold 3 LLM call(s) but event_history only 2; only event_history "
        "is counted. Append every event to event_history (the tracer does), or leave event_history "
        "empty to count the timesteps' events.",
    )


def test_timestep_key_survives_a_round_trip() -> None:
    """After from_dict (copies, not shared objects) events are matched to their timestep by equality."""
    original = build_trace()
    copy = tk.SessionTrace.from_dict(original.to_dict())
    assert copy.event_history[0] is not copy.session_time_steps[0].events[0]
    assert tk.aggregate([copy], by="timestep") == tk.aggregate([original], by="timestep")


def test_to_dict_snapshot(snapshot: SnapshotAssertion) -> None:
    """The JSON-ready form of a by-agent aggregate over mixed items (deterministic: fixed times and ids)."""
    result = tk.aggregate([*items_mixed(), tool_only_trace()], by="agent")
    data = result.to_dict()
    json.dumps(data, allow_nan=False)
    assert data == snapshot


def test_synth_compatible_summary() -> None:
    """compute_aggregates_from_call_records returns synth-ai's keys with correct numbers."""
    summary = tk.compute_aggregates_from_call_records(mixed_records())
    assert summary == {
        "call_count": 7,
        "input_tokens": 312_310,
        "output_tokens": 1_820,
        "total_tokens": 313_130,
        "reasoning_tokens": 500,
        "cost_usd": 1.08135,
        "latency_ms": 9350.0,
        "models_used": [
            "claude-haiku-4-5",
            "claude-sonnet-4-5-20250929",
            "gemini-2.5-pro",
            "gpt-4.1",
            "gpt-4o-2024-08-06",
            "gpt-4o-mini",
            "my-llama",
        ],
        "providers_used": ["anthropic", "custom", "google", "openai"],
        "tool_calls_count": 3,
        "error_count": 2,
        "success_count": 3,
        "unpriced_call_count": 3,
        "avg_latency_ms": 9350 / 6,  # six calls reported a latency
        "avg_input_tokens": 312_310 / 6,  # six reported input tokens (r5 has no usage)
        "avg_output_tokens": 1_820 / 5,  # five reported output tokens
    }
    assert tk.compute_aggregates_from_call_records([]) == {
        "call_count": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "reasoning_tokens": 0,
        "cost_usd": 0.0,
        "latency_ms": 0.0,
        "models_used": [],
        "providers_used": [],
        "tool_calls_count": 0,
        "error_count": 0,
        "success_count": 0,
        "unpriced_call_count": 0,
    }


# -- invariants ---------------------------------------------------------------------------------

MODELS = ["gpt-4o", "gpt-4o-mini-2024-07-18", "claude-haiku-4-5", "gemini-2.5-pro", "unknown-model", ""]


@st.composite
def records_strategy(draw: st.DrawFn) -> list[Any]:
    """Bare records and LM events with random models, usage, timings, outcomes and tools."""
    items: list[Any] = []
    for index in range(draw(st.integers(0, 25))):
        input_tokens = draw(st.none() | st.integers(0, 400_000))
        cache_read = draw(st.none() | st.integers(0, input_tokens or 0))
        usage = draw(
            st.none()
            | st.builds(
                tk.LLMUsage,
                input_tokens=st.just(input_tokens),
                cache_read_tokens=st.just(cache_read),
                output_tokens=st.none() | st.integers(0, 5000),
                total_tokens=st.none() | st.integers(0, 500_000),
                reasoning_tokens=st.none() | st.integers(0, 100),
                cost_usd=st.none() | st.floats(0, 5, allow_nan=False),
            )
        )
        record = call(
            f"c{index}",
            draw(st.sampled_from(MODELS)),
            draw(st.sampled_from([None, "openai", "anthropic", "google"])),
            usage,
            latency_ms=draw(st.none() | st.floats(0, 1e5, allow_nan=False)),
            timing=draw(st.none() | st.builds(tk.LLMTiming, ttft_ms=st.floats(0, 1e4, allow_nan=False))),
            tools=tuple(draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))),
            outcome=draw(st.sampled_from([None, "success", "error", "timeout", "cancelled", "incomplete"])),
            metadata={"agent_id": draw(st.sampled_from(["x", "y", ""]))},
        )
        if draw(st.booleans()):
            items.append(record)
        else:
            items.append(
                tk.LMCAISEvent(system_instance_id=draw(st.sampled_from(["p", "q"])), call_records=[record])
            )
    return items


@settings(deadline=None, max_examples=120)
@given(items=records_strategy(), seed=st.integers(0, 2**32 - 1))
def test_groups_sum_to_total_and_order_does_not_matter(items: list[Any], seed: int) -> None:
    """For every `by`, group sums equal the total (and per-call costs), and shuffling changes nothing."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    records = [
        r for item in items for r in ([item] if isinstance(item, tk.LLMCallRecord) else item.call_records)
    ]
    costs = [pricing.call_cost_nanousd(r) for r in records]
    for by in (None, *GROUP_BY_VALUES):
        result = tk.aggregate(items, by=by)
        assert tk.aggregate(shuffled, by=by) == result
        # the per-call function a store uses adds up to the same totals
        priced = [c for c in costs if c is not None]
        assert result.total.cost_nanousd == (sum(priced) if priced else None)
        assert result.total.unpriced_call_count == costs.count(None)
        if by is None:
            continue
        total = result.total
        for name in (
            "call_count",
            "success_count",
            "error_count",
            "incomplete_count",
            "calls_without_usage",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "cost_nanousd",
            "unpriced_call_count",
            "tool_calls_count",
        ):
            values = [getattr(g, name) for g in result.groups]
            if getattr(total, name) is None:  # no group reported it either
                assert values == [None] * len(values), name
            else:
                assert sum(v for v in values if v is not None) == getattr(total, name), name
        assert sum(g.latency_ms.count for g in result.groups) == total.latency_ms.count
        assert sum(g.ttft_ms.count for g in result.groups) == total.ttft_ms.count
        assert set().union(*(g.price_table_versions for g in result.groups)) == set(
            total.price_table_versions
        )
        assert total.cost_usd == (None if total.cost_nanousd is None else total.cost_nanousd / 1e9)
        assert not any(isinstance(v, float) and math.isnan(v) for v in _leaves(result.to_dict()))


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value

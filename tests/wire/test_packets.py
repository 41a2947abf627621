"""llm_metrics packets: every number carried, received calls counted and linked, bad packets refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import build_call_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracekit as tk
from tracekit.analysis.pricing import call_cost
from tracekit.tracer import SessionTracer
from tracekit.wire import USAGE_FIELDS, packet_record


def _numbers(record: tk.LLMCallRecord) -> dict[str, Any]:
    """Everything a packet carries, read off a record."""
    usage, timing = record.usage, record.timing
    cost = call_cost(record)
    return {
        "call_id": record.call_id,
        "model": record.model_name,
        "provider": record.provider,
        "api_type": record.api_type,
        "started_at": record.started_at,
        "completed_at": record.completed_at,
        "latency_ms": record.latency_ms,
        "usage": None if usage is None else {name: getattr(usage, name) for name in USAGE_FIELDS},
        "timing": None if timing is None else timing.to_dict(),
        "cost_nanousd": None if cost is None else cost.nanousd,
        "price_table_version": None if cost is None else cost.price_table_version,
        "outcome": record.outcome,
        "finish_reason": record.finish_reason,
        "error": record.error,
        "tool_calls": [(c.call_id, c.name) for c in record.output_tool_calls],
    }


def test_packet_of_the_factory_record_is_exact() -> None:
    """A packet holds the record's numbers under the issue's names, None where not reported."""
    packet = tk.llm_metrics(build_call_record(), agent="planner")
    assert packet == {
        "type": "llm_metrics",
        "version": 1,
        "call_id": "call-0001",
        "agent_type": "planner",
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "api_type": "chat_completions",
        "timestamp": "2026-03-14T15:09:26.535897+00:00",
        "completed_at": "2026-03-14T15:09:27.348397+00:00",
        "duration_seconds": 0.8125,
        "latency_ms": 812.5,
        "input_tokens": 1200,
        "output_tokens": 40,
        "total_tokens": 1240,
        "cache_read_tokens": 1024,
        "cache_write_tokens": None,
        "cache_write_1h_tokens": None,
        "reasoning_tokens": 12,
        "reasoning_input_tokens": None,
        "reasoning_output_tokens": None,
        "tool_use_input_tokens": None,
        "input_audio_tokens": None,
        "output_audio_tokens": None,
        "billable_input_tokens": None,
        "billable_output_tokens": None,
        "ttft_ms": 300.0,
        "decode_ms": 512.5,
        "tpot_ms": 13.141025641025641,
        "output_tokens_per_second": None,
        "chunk_count": 2,
        "cost_usd": packet["cost_usd"],
        "cost_nanousd": packet["cost_nanousd"],
        "price_table_version": packet["price_table_version"],
        "outcome": "success",
        "finish_reason": "tool_calls",
        "error": None,
        "tool_calls": [{"call_id": "call_abc123", "name": "get_weather"}],
    }
    cost = call_cost(build_call_record())
    assert cost is not None
    assert (packet["cost_nanousd"], packet["price_table_version"]) == (cost.nanousd, cost.price_table_version)
    assert packet["cost_usd"] == cost.nanousd / 1e9


def test_round_trip_keeps_every_number_through_json() -> None:
    """record -> packet -> JSON -> record keeps every number the packet carries, and again after."""
    original = build_call_record()
    packet = json.loads(json.dumps(tk.llm_metrics(original, agent="planner")))
    back, agent = packet_record(packet)
    assert agent == "planner"
    assert _numbers(back) == _numbers(original)
    assert tk.llm_metrics(back) == tk.llm_metrics(original, agent="planner")
    assert back.metadata == {
        "tracekit_received": {"via": "llm_metrics", "version": 1},
        "agent_id": "planner",
    }


def test_missing_fields_stay_none_and_unknown_fields_are_kept() -> None:
    """A packet with only call_id and model gives None usage/timing/latency; extra keys are kept."""
    record, agent = packet_record({"call_id": "c1", "model": "gpt-4o", "trace": {"span": 3}, "ws_seq": 9})
    assert agent is None
    assert (record.usage, record.timing, record.latency_ms, record.outcome) == (None, None, None, None)
    assert record.metadata["tracekit_received"] == {
        "via": "llm_metrics",
        "version": 1,
        "extra": {"trace": {"span": 3}, "ws_seq": 9},
        "api_type_assumed": True,
    }
    total = tk.aggregate([record]).total
    assert (total.call_count, total.input_tokens, total.output_tokens, total.cost_usd) == (
        1,
        None,
        None,
        None,
    )
    assert total.unpriced_call_count == 1


def test_duration_seconds_alone_and_epoch_timestamps_are_read() -> None:
    """duration_seconds becomes latency_ms; an epoch-seconds timestamp becomes an aware UTC time."""
    record, _ = packet_record({"call_id": "c", "duration_seconds": 1.5, "timestamp": 1735787045.5})
    assert record.latency_ms == 1500.0
    assert record.started_at == datetime(2025, 1, 2, 3, 4, 5, 500000, tzinfo=UTC)


def test_malformed_packet_names_every_bad_field() -> None:
    """Each wrong field is named with its value in one InvalidDataError."""
    with pytest.raises(tk.InvalidDataError) as caught:
        packet_record(
            {
                "call_id": "",
                "input_tokens": -1,
                "output_tokens": "12",
                "ttft_ms": float("nan"),
                "timestamp": "2025-01-02T03:04:05",
                "outcome": "done",
                "api_type": "chat",
                "tool_calls": [{"name": 3}],
                "version": 2,
            }
        )
    assert [p.path for p in caught.value.problems] == [
        "version",
        "call_id",
        "api_type",
        "timestamp",
        "input_tokens",
        "output_tokens",
        "ttft_ms",
        "outcome",
        "tool_calls[0]",
    ]
    assert "'12'" in str(caught.value)


def test_disagreeing_duplicates_are_refused() -> None:
    """duration_seconds that disagrees with latency_ms, or cost_usd with cost_nanousd, is refused."""
    with pytest.raises(tk.InvalidDataError, match="duration_seconds"):
        packet_record({"call_id": "c", "duration_seconds": 2.0, "latency_ms": 1000.0})
    with pytest.raises(tk.InvalidDataError, match="cost_usd"):
        packet_record({"call_id": "c", "cost_usd": 0.5, "cost_nanousd": 1})


def test_not_a_mapping_and_unstorable_extras_are_refused() -> None:
    """A list is refused as a packet; an extra field JSON cannot hold is refused before recording."""
    with pytest.raises(tk.InvalidDataError, match="JSON object"):
        packet_record([("call_id", "c")])  # type: ignore[arg-type]
    with pytest.raises(tk.SerializationError):
        packet_record({"call_id": "c", "extra": float("inf")})


_BAD_VALUES = st.one_of(
    st.just(-1),
    st.just(True),
    st.just(10**400),
    st.just(float("inf")),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=2),
)
_CHECKED = (
    *USAGE_FIELDS,
    "ttft_ms",
    "decode_ms",
    "latency_ms",
    "duration_seconds",
    "chunk_count",
    "cost_nanousd",
)


@settings(derandomize=True, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_CHECKED), value=_BAD_VALUES)
def test_wrong_typed_numbers_are_refused_by_name(field: str, value: Any) -> None:
    """Any wrong-typed or out-of-range number raises InvalidDataError naming exactly that field."""
    with pytest.raises(tk.InvalidDataError) as caught:
        packet_record({"call_id": "c", field: value})
    assert [p.path for p in caught.value.problems] == [field]


@settings(derandomize=True, max_examples=100)
@given(
    tokens=st.lists(st.one_of(st.none(), st.integers(0, 2**63 - 1)), min_size=3, max_size=3),
    latency=st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
)
def test_any_valid_numbers_round_trip(tokens: list[int | None], latency: float | None) -> None:
    """Extreme but valid token counts and latencies survive record -> packet -> JSON -> record."""
    usage = None if tokens == [None, None, None] else tk.LLMUsage(*tokens)
    record = tk.LLMCallRecord(
        call_id="x", api_type="messages", provider="anthropic", usage=usage, latency_ms=latency
    )
    back, _ = packet_record(json.loads(json.dumps(tk.llm_metrics(record))))
    assert _numbers(back) == _numbers(record)


def test_received_call_counts_everywhere_and_links_tool_runs() -> None:
    """A received call is an LMCAISEvent of its agent; a traced tool run with its call_id is linked."""

    @tk.trace_tool()
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    packet = tk.llm_metrics(build_call_record(), agent="planner")
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace, tracer.timestep("turn-1", turn_number=1):
        record = tracer.record_llm_metrics(packet)
        get_weather("Zürich", call_id="call_abc123")
    event = trace.event_history[0]
    assert isinstance(event, tk.LMCAISEvent)
    assert (event.system_instance_id, event.input_tokens, event.output_tokens) == ("planner", 1200, 40)
    assert event.call_records == [record]
    assert [(r.call_id, r.output_text, r.status) for r in record.tool_results] == [
        ("call_abc123", "sunny in Zürich", "ok")
    ]
    by_agent = tk.aggregate([trace], by="agent")
    group = by_agent.group("planner")
    assert (group.call_count, group.input_tokens, group.cache_read_tokens) == (1, 1200, 1024)
    assert group.tool_calls_by_name == {"get_weather": 1}
    assert group.cost_nanousd == packet["cost_nanousd"]
    assert by_agent.warnings == ()


def test_record_llm_metrics_needs_a_session() -> None:
    """Outside a session the packet is refused with NoActiveSessionError, before it is read."""
    with pytest.raises(tk.NoActiveSessionError, match="record_llm_metrics"):
        SessionTracer().record_llm_metrics({"call_id": "c"})


def test_a_packet_delivered_twice_is_recorded_once() -> None:
    """A repeated call_id in a session adds nothing and returns the record already added."""
    packet = tk.llm_metrics(build_call_record(), agent="planner")
    other = {**packet, "call_id": "another-call"}
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        first = tracer.record_llm_metrics(packet)
        again = tracer.record_llm_metrics(json.loads(json.dumps(packet)))
        third = tracer.record_llm_metrics(other)
    assert again is first
    assert third is not first
    assert [r.call_id for e in trace.event_history for r in e.call_records] == [
        packet["call_id"],
        "another-call",
    ]
    total = tk.aggregate([trace]).total
    assert (total.call_count, total.input_tokens) == (2, 2400)
    with tracer.session() as second_session:
        tracer.record_llm_metrics(packet)  # the same call_id in another session is that session's call
    assert tk.aggregate([second_session]).total.call_count == 1


def test_a_repeated_call_id_with_other_numbers_keeps_the_first(caplog: pytest.LogCaptureFixture) -> None:
    """A different packet reusing a call_id keeps the first record and logs a warning naming the id."""
    packet = tk.llm_metrics(build_call_record(), agent="planner")
    tracer = SessionTracer(strict=True)
    with tracer.session() as trace:
        first = tracer.record_llm_metrics(packet)
        with caplog.at_level("WARNING", logger="tracekit.wire"):
            kept = tracer.record_llm_metrics({**packet, "input_tokens": 1})
    assert kept is first
    assert len(trace.event_history) == 1
    assert [r.getMessage() for r in caplog.records if r.name == "tracekit.wire"] == [
        f"llm_metrics packet with call_id {packet['call_id']!r} was already recorded in session "
        f"{trace.session_id!r} with other values; kept the first. Give each call its own call_id."
    ]

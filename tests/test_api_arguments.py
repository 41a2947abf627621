"""The threshold rule on the top-level functions: a wrong-typed or extreme argument is answered or
refused with a TracekitError, never another exception type (a leaked TypeError, AttributeError
or UnicodeEncodeError would reach the user's notebook or agent as a bug in tracekit)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hostile import EXTREMES, HOSTILE
from hypothesis import given, settings
from hypothesis import strategies as st
from trace_checks import load

import tracekit as tk
from tracekit.jsonl import import_jsonl, read_jsonl
from tracekit.store import TursoManager

BODY = load("openai_chat", "response_basic")

CALLS: dict[str, Callable[[Any], object]] = {
    "aggregate(items)": lambda v: tk.aggregate(v),
    "aggregate(by)": lambda v: tk.aggregate([], by=v),
    "aggregate(prices)": lambda v: tk.aggregate([], prices=v),
    "compute_aggregates_from_call_records": lambda v: tk.compute_aggregates_from_call_records(v),
    "estimate_cost(model_name)": lambda v: tk.estimate_cost(v, {"input_tokens": 1}),
    "estimate_cost(usage)": lambda v: tk.estimate_cost("gpt-4o", v),
    "estimate_cost(prices)": lambda v: tk.estimate_cost("gpt-4o", {"input_tokens": 1}, v),
    "load_prices": lambda v: tk.load_prices(v),
    "llm_metrics": lambda v: tk.llm_metrics(v),
    "turn_metrics": lambda v: tk.turn_metrics(v),
    "step_metrics": lambda v: tk.step_metrics(v),
    "read_ndjson": lambda v: tk.read_ndjson(v),
    "register_event_type": lambda v: tk.register_event_type(v),
    "record_from_response": lambda v: tk.record_from_response(v),
    "jsonl.read_jsonl(lines)": lambda v: read_jsonl(v),
    "jsonl.read_jsonl([line])": lambda v: read_jsonl([v]),
    "create_llm_call_record_from_response(request_params)": lambda v: tk.create_llm_call_record_from_response(
        BODY, "gpt-4o", "openai", [], request_params=v
    ),
    "create_llm_call_record_from_response(latency_ms)": lambda v: tk.create_llm_call_record_from_response(
        BODY, "gpt-4o", "openai", [], latency_ms=v
    ),
    "create_llm_call_record_from_streaming(chunks)": lambda v: tk.create_llm_call_record_from_streaming(
        v, "gpt-4o", "openai", []
    ),
    "create_llm_call_record_from_streaming(started_at)": lambda v: tk.create_llm_call_record_from_streaming(
        [], "gpt-4o", "openai", [], started_at=v
    ),
}


@settings(derandomize=True, deadline=None, max_examples=300)
@given(name=st.sampled_from(sorted(CALLS)), value=HOSTILE)
def test_only_tracekit_errors_leave(name: str, value: Any) -> None:
    """Each function answers or raises a TracekitError for any hostile argument."""
    with contextlib.suppress(tk.TracekitError):
        CALLS[name](value)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_extreme_value_is_answered_or_refused(name: str) -> None:
    """Each function, given each of the catalogued extreme values (NUL and lone-surrogate text,
    NaN, 2**64, naive datetimes, nested containers, ...), answers or raises a TracekitError."""
    for value in [*EXTREMES, "a\x00b.json", "a\ud800.json"]:
        with contextlib.suppress(tk.TracekitError):
            CALLS[name](value)


def test_export_sft_refuses_unwritable_paths(tmp_path: Path) -> None:
    """export_sft refuses an output path naming a directory, holding a NUL or a lone surrogate,
    or in a missing directory, before writing anything."""
    from tracekit.sft import export_sft

    db = f"file:{tmp_path / 'traces.db'}"
    for out in ["", tmp_path, "a\x00b.jsonl", "a\ud800.jsonl", tmp_path / "missing" / "x.jsonl"]:
        with pytest.raises(tk.InvalidArgumentError, match="out"):
            export_sft(db, out)
    assert list(tmp_path.iterdir()) == []  # refused before the store was even opened


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: tk.aggregate([], prices=True), tk.PricingError, "prices must be a PriceTable"),
        (lambda: tk.estimate_cost("gpt-4o", {"input_tokens": 1}, "x"), tk.PricingError, "prices must be"),
        (lambda: tk.compute_aggregates_from_call_records(None), tk.InvalidArgumentError, "takes an iterable"),
        (lambda: tk.load_prices(None), tk.PricingError, "must be a str or os.PathLike"),
        (lambda: tk.load_prices("prices-\ud800.json"), tk.PricingError, "cannot read price file"),
        (lambda: tk.read_ndjson("events-\ud800.ndjson"), tk.InvalidArgumentError, "lone surrogate"),
        (lambda: tk.NDJSONSink("events-\ud800.ndjson"), tk.InvalidArgumentError, "lone surrogate"),
        (lambda: tk.register_event_type(None), tk.InvalidArgumentError, "needs a BaseEvent subclass"),
        (lambda: tk.StreamRecorder(call_id=5), tk.InvalidArgumentError, "call_id must be a str"),
        (lambda: tk.record_from_response(BODY, call_id=5), tk.InvalidArgumentError, "call_id must be a str"),
        (lambda: tk.StreamRecorder(clock=5), tk.InvalidArgumentError, "clock and now must be functions"),
        (lambda: tk.record_from_response(BODY, started_at=5), tk.InvalidArgumentError, "started_at must be"),
        (
            lambda: tk.create_llm_call_record_from_streaming([], "gpt-4o", "openai", [], started_at=5),
            tk.InvalidArgumentError,
            "started_at must be an aware datetime",
        ),
    ],
)
def test_each_former_leak_names_the_argument(call: Callable[[], object], error: type, match: str) -> None:
    """The arguments that leaked TypeError, AttributeError or UnicodeEncodeError are refused with the
    TracekitError that names them."""
    with pytest.raises(error, match=match):
        call()


def test_a_non_utf8_price_file_is_a_pricing_error(tmp_path: Path) -> None:
    """A price file that is not UTF-8 text is refused as unreadable, naming the file."""
    path = tmp_path / "prices.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(tk.PricingError, match=r"prices\.json"):
        tk.load_prices(path)


def _tracer_subscribe(kinds: Any) -> object:
    tracer = tk.SessionTracer()
    return tracer.subscribe(lambda event: None, kinds).close()


CONSTRUCTORS: dict[str, Callable[[Any], object]] = {
    **{
        f"TursoManager({name})": (lambda value, name=name: TursoManager(**{name: value}))
        for name in (
            "url",
            "auth_token",
            "timeout_s",
            "retries",
            "retry_backoff_s",
            "spool_path",
            "cost",
            "max_batch_bytes",
            "max_inflight_saves",
        )
    },
    **{
        f"SessionTracer({name})": (lambda value, name=name: tk.SessionTracer(**{name: value}))
        for name in ("store", "hooks", "strict", "queue_size", "block_s", "exit_timeout_s")
    },
    "SessionTracer.subscribe(kinds)": _tracer_subscribe,
    "SessionTracer.hooks={name: value}": lambda value: tk.SessionTracer(hooks={"session_start": value}),
    "StreamRecorder(provider)": lambda value: tk.StreamRecorder(provider=value),
    "StreamRecorder(api_type)": lambda value: tk.StreamRecorder(api_type=value),
    "StreamRecorder(call_id)": lambda value: tk.StreamRecorder(call_id=value).finish().to_json(),
    "StreamRecorder(clock)": lambda value: tk.StreamRecorder(clock=value),
    "StreamRecorder(now)": lambda value: tk.StreamRecorder(now=value),
    "record_from_response(started_at)": lambda value: tk.record_from_response(BODY, started_at=value),
    "record_from_response(completed_at)": lambda value: tk.record_from_response(BODY, completed_at=value),
    "record_from_response(call_id)": lambda value: tk.record_from_response(BODY, call_id=value).to_json(),
}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_constructors_take_or_refuse_each_extreme_value(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Constructors and options are checked at once: each catalogued extreme value is taken or
    refused with a TracekitError (a None retry count or a non-path spool used to fail later, at a
    save, with a TypeError)."""
    monkeypatch.chdir(tmp_path)  # a text value may name a database file: keep it here
    for value in EXTREMES:
        with contextlib.suppress(tk.TracekitError):
            CONSTRUCTORS[name](value)


def test_import_jsonl_refuses_what_it_cannot_take(tmp_path: Path) -> None:
    """import_jsonl refuses a non-list of traces, a batch size that is not a positive int and a
    progress that is not callable, with a TracekitError, for each catalogued extreme value."""

    async def run() -> None:
        db = TursoManager(f"file:{tmp_path / 'traces.db'}")
        await db.open()
        try:
            for value in EXTREMES:
                for options in (
                    {"traces": value},
                    {"traces": [], "batch_size": value},
                    {"traces": [], "progress": value},
                ):
                    with contextlib.suppress(tk.TracekitError):
                        await import_jsonl(db, **options)
            with pytest.raises(tk.InvalidArgumentError, match="batch_size"):
                await import_jsonl(db, [], batch_size=0)
        finally:
            await db.close()

    asyncio.run(run())

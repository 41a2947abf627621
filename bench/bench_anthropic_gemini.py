"""Benchmark: StreamRecorder and record_from_response on Anthropic Messages and Gemini payloads
(targets as in bench_helpers.py: >= 200k chunks/s, >= 20k responses/s, overhead < 5 us/chunk).

Streams are the recorded fixtures with their text deltas repeated to 500 content chunks (Anthropic
text_delta events; Gemini answer chunks, each a partial response carrying cumulative usage).
Overhead per chunk = recorder time minus a bare loop that only reads each chunk, same run. The
same figures on the official anthropic and google-genai clients' own objects, got from them over the
fake HTTP transport of tests/sdk_transport.py.
Those SDK objects are built before the timed rounds and re-read every round (3.2 MB of Gemini chunks:
by then out of the CPU's caches), so one more line times `StreamRecorder.add` where it really runs:
inside live google-genai streams through `tk.instrument(client)`, each add on the chunk the SDK has
just built, timed with perf_counter_ns around it less the same timer around an empty call, beside
the same streams read through a bare client (the SDK's own chunk).
Run: .venv/bin/python bench/bench_anthropic_gemini.py [ROUNDS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench_helpers import HI, machine_factor, report_responses, report_stream  # same dir: on sys.path
from sdk_transport import (  # tests/ is on sys.path
    VendorServer,
    anthropic_client,
    gemini_client,
)

import tracekit as tk
from tracekit.helpers.recorder import StreamRecorder
from tracekit.tracer import SessionTracer

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def long_anthropic_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded tool-use stream with its text deltas repeated to `n_text` events."""
    recorded = load("anthropic", "stream_tool_use")
    deltas = [
        e for e in recorded if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
    ]
    first = recorded.index(deltas[0])
    rest = recorded[first + len(deltas) :]
    return [*recorded[:first], *(deltas[i % len(deltas)] for i in range(n_text)), *rest]


def long_gemini_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded thinking stream with its answer chunks repeated to `n_text` chunks."""
    recorded = load("gemini", "stream_thinking")
    answer = recorded[3]
    return [*recorded[:3], *(answer for _ in range(n_text - 1)), recorded[-1]]


def anthropic_events(events: list[dict[str, Any]]) -> list[Any]:
    """The anthropic client's own stream event objects for `events`, over the fake transport."""
    client = anthropic_client(VendorServer().reply_stream("anthropic", events))
    return list(client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI, stream=True))


def gemini_chunks(chunks: list[dict[str, Any]]) -> list[Any]:
    """The google-genai client's own GenerateContentResponse chunks for `chunks`."""
    client = gemini_client(VendorServer().reply_stream("gemini", chunks))
    return list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello."))


def live_gemini_add(chunks: list[dict[str, Any]], streams: int) -> tuple[float, float, float]:
    """(median, mean) us of `StreamRecorder.add` per chunk inside live google-genai streams read
    through `tk.instrument(client)` (the mean counts the GC collections an add triggers): each add
    timed with perf_counter_ns around it, less the median of the same timer around an empty call;
    and, the baseline, the same streams' wall us per chunk read through a bare client (the SDK's own
    chunk), measured just before."""
    clock = time.perf_counter_ns
    add = StreamRecorder.add
    times: list[int] = []
    empty: list[int] = []

    def timed_add(recorder: StreamRecorder, chunk: Any, received_at: float | None = None) -> None:
        t0 = clock()
        add(recorder, chunk, received_at)
        times.append(clock() - t0)

    def nothing(recorder: StreamRecorder, chunk: Any, received_at: float | None = None) -> None:
        return None

    for _ in range(len(chunks) * streams):  # the timer's own cost, the same calls around nothing
        t0 = clock()
        nothing(None, None, None)  # type: ignore[arg-type]
        empty.append(clock() - t0)
    server = VendorServer().reply_stream("gemini", chunks, repeat=True)
    bare = gemini_client(server)
    start = clock()
    for _ in range(streams):
        for _chunk in bare.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi."):
            pass
    bare_us = (clock() - start) / (len(chunks) * streams) / 1e3
    client = tk.instrument(gemini_client(server))
    StreamRecorder.add = timed_add  # type: ignore[method-assign]
    try:
        with SessionTracer().session():
            for _ in range(streams):
                for _chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents="Hi."):
                    pass
    finally:
        StreamRecorder.add = add  # type: ignore[method-assign]
    assert len(times) == len(chunks) * streams, "every chunk goes through StreamRecorder.add"
    base = statistics.median(empty)
    ordered = sorted(times)
    return (ordered[len(ordered) // 2] - base) / 1e3, (statistics.fmean(times) - base) / 1e3, bare_us


def anthropic_response(body: dict[str, Any]) -> Any:
    client = anthropic_client(VendorServer().reply_json(body))
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=HI)


def gemini_response(body: dict[str, Any]) -> Any:
    client = gemini_client(VendorServer().reply_json(body))
    return client.models.generate_content(model="gemini-2.5-flash", contents="Say hello.")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    machine_factor()  # first, in a process still as small as bench_decorators' (see its doc)
    anthropic = long_anthropic_stream(500)
    gemini = long_gemini_stream(500)
    report_stream("anthropic messages events, dicts", anthropic, rounds)
    report_stream("anthropic messages events, SDK objects", anthropic_events(anthropic), rounds)
    report_stream("gemini streamGenerateContent, dicts", gemini, rounds)
    report_stream("gemini streamGenerateContent, SDK objects", gemini_chunks(gemini), rounds)
    live = [live_gemini_add(gemini, 4) for _ in range(rounds)]
    medians = sorted(median for median, _mean, _bare in live)
    means = sorted(mean for _median, mean, _bare in live)
    bares = sorted(bare for _median, _mean, bare in live)
    print(
        "StreamRecorder [gemini streamGenerateContent, SDK objects, inside live streams]: add per chunk, "
        f"median {medians[0]:.2f} / {medians[len(medians) // 2]:.2f} us, mean {means[0]:.2f} / "
        f"{means[len(means) // 2]:.2f} us (min / median over {rounds} rounds; target <= 3 us) | baseline: "
        f"the SDK's own chunk, a bare client, {bares[0]:.1f} / {bares[len(bares) // 2]:.1f} us (the median "
        f"mean is {means[len(means) // 2] / bares[len(bares) // 2]:.3f}x of it)"
    )
    anthropic_names = ("response_text", "response_prompt_cached", "response_tool_use")
    gemini_names = ("response_implicit_caching", "response_url_context", "response_parallel_calls")
    anthropic_bodies = [load("anthropic", n) for n in anthropic_names]
    gemini_bodies = [load("gemini", n) for n in gemini_names]
    report_responses("anthropic, dicts", anthropic_bodies, rounds)
    report_responses("anthropic, SDK objects", [anthropic_response(b) for b in anthropic_bodies], rounds)
    report_responses("gemini, dicts", gemini_bodies, rounds)
    report_responses("gemini, SDK objects", [gemini_response(b) for b in gemini_bodies], rounds)


if __name__ == "__main__":
    main()

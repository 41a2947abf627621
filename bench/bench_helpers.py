"""Benchmark: the stream recorder and the response normaliser (targets: >= 200k chunks/s,
>= 20k responses/s, recorder overhead < 5 us per chunk on this machine).

Per chunk: recorded streams (Chat Completions with include_usage, and Responses API events) fed
through StreamRecorder.add(..., received_at=...), then finish(); CPU time of the calling thread,
best of several rounds. `add` alone is the arrival path the targets are about; `finish` (the fold,
storability checks, timing and chunk list, done once per stream) is shown spread over the chunks.
The baseline is a bare loop over the same chunks that only reads each chunk's type, same run.
record_from_response: CPU us per response over the recorded chat.completion and Responses fixtures
(one typical chat response alone, then all eight), min / median of the rounds, beside json.loads of
the same payloads (or the SDK object's own model_dump) timed in the same rounds. The
same figures on SDK objects: the official openai client's own chunk and response objects, got from
it over the fake HTTP transport of tests/sdk_transport.py (targets: add <= 2 us/chunk on dicts,
<= 3 us on SDK chunk objects, record_from_response <= 20 us).
Run: .venv/bin/python bench/bench_helpers.py [ROUNDS]
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_decorators import BARE_CHUNK_US, load, long_chat_stream  # same dir: on sys.path
from bench_decorators import HI as STREAM_HI
from sdk_transport import VendorServer, openai_client

import tracekit as tk

HI = [{"role": "user", "content": "Say hello."}]


def long_responses_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded Responses stream with its text-delta events repeated to `n_text`."""
    recorded = load("openai_responses", "stream_text")
    deltas = [e for e in recorded if e["type"] == "response.output_text.delta"]
    head = recorded[:4]
    tail = recorded[4 + len(deltas) :]
    return [*head, *(deltas[i % len(deltas)] for i in range(n_text)), *tail]


def time_recorder(chunks: list[Any], streams: int) -> tuple[float, float]:
    """CPU seconds to record `streams` copies of the stream: (all the add() calls, all the finish()
    calls). CPU time of this thread (time.thread_time), so other processes on a shared machine
    inflate it less than wall time."""
    times = [0.001 * (i + 1) for i in range(len(chunks))]
    clock = time.thread_time
    adding = finishing = 0.0
    for _ in range(streams):
        recorder = tk.StreamRecorder(clock=lambda: 0.0)
        add = recorder.add
        t0 = clock()
        for chunk, at in zip(chunks, times, strict=True):
            add(chunk, at)
        t1 = clock()
        recorder.finish()
        t2 = clock()
        adding += t1 - t0
        finishing += t2 - t1
    return adding, finishing


def time_bare_loop(chunks: list[Any], streams: int) -> float:
    """CPU seconds for the same iteration with only a minimal read of each chunk (the baseline)."""
    times = [0.001 * (i + 1) for i in range(len(chunks))]
    sink: list[Any] = []
    clock = time.thread_time
    start = clock()
    for _ in range(streams):
        for chunk, at in zip(chunks, times, strict=True):
            if type(chunk) is dict:
                sink.append((chunk.get("type") or chunk.get("choices"), at))
            else:
                fields = vars(chunk)  # an SDK object's fields, read without pydantic's __getattr__
                sink.append((fields.get("type") or fields.get("choices"), at))
        sink.clear()
    return clock() - start


def report_stream(label: str, chunks: list[Any], rounds: int, copies: int = 40) -> dict[str, float]:
    """Print the recorder's per-chunk cost (add alone, finish spread over the chunks, both) beside a
    bare loop over the same chunks, best of `rounds`; return the figures in us per chunk."""
    n = len(chunks) * copies
    runs = [time_recorder(chunks, copies) for _ in range(rounds)]
    add = min(r[0] for r in runs) / n * 1e6
    finish = min(r[1] for r in runs) / n * 1e6
    total = min(r[0] + r[1] for r in runs) / n * 1e6
    bare = min(time_bare_loop(chunks, copies) for _ in range(rounds)) / n * 1e6
    target = 2.0 if type(chunks[0]) is dict else 3.0
    print(
        f"StreamRecorder [{label}]: add {add:.2f} us/chunk (bare loop {bare:.2f}; x{add / bare:.1f}; "
        f"add - bare {add - bare:.2f}, target <= {target:.0f} us, <= {target * machine_factor():.1f} us "
        f"scaled to this machine); finish {finish:.2f} us/chunk; "
        f"add+finish {total:.2f} us/chunk ({1e6 / total:,.0f} chunks/s)"
    )
    return {"add": add, "finish": finish, "total": total, "bare": bare}


TARGET_US = 20.0


@functools.cache
def machine_factor(streams: int = 30) -> float:
    """How much slower this machine is than the one the issue's targets were set on, measured now: a
    bare openai SDK stream chunk (thread CPU, best of 5 rounds of `streams` streams of the recorded chat
    stream stretched to 100 text chunks, after one untimed round, over the fake HTTP transport) / the
    79 us it cost there (bench_decorators.BARE_CHUNK_US). Targets are shown as set and scaled by it.
    Measured at the start of a run: the same bare chunk costs more in a process holding many objects
    (its garbage collections walk them all), which is not this machine's speed."""
    chunks = long_chat_stream(100)
    client = openai_client(VendorServer().reply_stream("openai_chat", chunks, repeat=True))

    def bare_stream() -> None:
        for _ in client.chat.completions.create(model="gpt-4.1", messages=STREAM_HI, stream=True):
            pass

    time_calls([bare_stream], streams)  # warm-up: the first requests (connection, lazy imports, caches)
    per_chunk = min(time_calls([bare_stream], streams) for _ in range(5)) / (streams * len(chunks)) * 1e6
    return per_chunk / BARE_CHUNK_US


def _baseline(payload: Any) -> Any:
    """The in-run baseline for one payload: json.loads of its JSON text (a dict), or the SDK
    object's own JSON-mode model_dump (what any reader of the object pays at least)."""
    if type(payload) is dict:
        text = json.dumps(payload)
        return lambda: json.loads(text)
    return lambda: payload.model_dump(mode="json", by_alias=True, exclude_unset=True)


def report_responses(label: str, payloads: list[Any], rounds: int, per_round: int = 500) -> None:
    """Print record_from_response's CPU us per response (min / median of `rounds`, thread CPU time)
    beside the same rounds' baseline (json.loads of the same payloads, or the SDK objects' own
    model_dump) and the target, unscaled and scaled to this machine."""
    baselines = [_baseline(p) for p in payloads]
    count = len(payloads) * per_round
    runs: list[float] = []
    bases: list[float] = []
    for _ in range(rounds):
        runs.append(time_responses(payloads, per_round) / count * 1e6)
        bases.append(time_calls(baselines, per_round) / count * 1e6)
    runs.sort()
    bases.sort()
    best, median = runs[0], runs[len(runs) // 2]
    base_best, base_median = bases[0], bases[len(bases) // 2]
    what = "json.loads" if type(payloads[0]) is dict else "model_dump"
    print(
        f"record_from_response [{label}]: {best:.1f} / {median:.1f} us each (min / median; "
        f"{1e6 / best:,.0f} responses/s) | baseline {what} {base_best:.1f} / {base_median:.1f} us "
        f"| ratio {median / base_median:.1f}x (median) | target <= {TARGET_US:.0f} us "
        f"(<= {TARGET_US * machine_factor():.0f} us scaled to this machine, x{machine_factor():.2f})"
    )


def time_calls(calls: list[Any], rounds: int) -> float:
    """CPU seconds of this thread to run each zero-argument callable `rounds` times."""
    clock = time.thread_time
    start = clock()
    for _ in range(rounds):
        for call in calls:
            call()
    return clock() - start


def openai_chat_chunks(chunks: list[dict[str, Any]]) -> list[Any]:
    """The openai client's own ChatCompletionChunk objects for `chunks`, over the fake transport."""
    client = openai_client(VendorServer().reply_stream("openai_chat", chunks))
    return list(client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True))


def openai_responses_events(events: list[dict[str, Any]]) -> list[Any]:
    """The openai client's own Responses stream event objects for `events`."""
    client = openai_client(VendorServer().reply_stream("openai_responses", events))
    return list(client.responses.create(model="gpt-4.1", input="Say hello.", stream=True))


def openai_chat_response(body: dict[str, Any]) -> Any:
    """The openai client's own ChatCompletion object for `body`."""
    client = openai_client(VendorServer().reply_json(body))
    return client.chat.completions.create(model="gpt-4.1", messages=HI)


def openai_responses_response(body: dict[str, Any]) -> Any:
    """The openai client's own Response object for `body`."""
    client = openai_client(VendorServer().reply_json(body))
    return client.responses.create(model="gpt-4.1", input="Say hello.")


def time_responses(payloads: list[Any], rounds: int) -> float:
    """CPU seconds of this thread to record every payload `rounds` times."""
    record = tk.record_from_response
    clock = time.thread_time
    start = clock()
    for _ in range(rounds):
        for payload in payloads:
            record(payload)
    return clock() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    machine_factor()  # first, in a process still as small as bench_decorators' (see its doc)
    chat = long_chat_stream(500)
    events = long_responses_stream(500)
    report_stream("chat (include_usage), dicts", chat, rounds)
    report_stream("chat (include_usage), SDK objects", openai_chat_chunks(chat), rounds)
    report_stream("responses events, dicts", events, rounds)
    report_stream("responses events, SDK objects", openai_responses_events(events), rounds)
    chat_names = (
        "response_basic",
        "response_parallel_tools",
        "response_n3_refusal",
        "response_cached_reasoning",
    )
    resp_names = ("response_text", "response_function_call", "response_reasoning", "response_incomplete")
    chat_bodies = [load("openai_chat", name) for name in chat_names]
    resp_bodies = [load("openai_responses", name) for name in resp_names]
    report_responses("openai chat, one typical response (response_basic), dicts", chat_bodies[:1], rounds)
    report_responses("openai chat, the same as an SDK object", [openai_chat_response(chat_bodies[0])], rounds)
    report_responses("openai, 8 recorded payloads, dicts", chat_bodies + resp_bodies, rounds)
    sdk = [openai_chat_response(b) for b in chat_bodies] + [openai_responses_response(b) for b in resp_bodies]
    report_responses("openai, the same as SDK objects", sdk, rounds)


if __name__ == "__main__":
    main()

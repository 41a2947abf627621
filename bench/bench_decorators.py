"""Benchmark: what `instrument(client)` and `@trace_llm_call` add to a real SDK call (targets:
<= 50 us per non-streamed call on the caller's path, <= 3 us per streamed chunk).

Measured inside real calls of the official openai client over the fake HTTP transport of
tests/sdk_transport.py, inside a tracer session (in memory). The baseline is the same call on an
uninstrumented client over the same transport, interleaved call by call with the traced one in
the same run, so drift and noise hit both alike; times are the thread's CPU time
(time.thread_time: the SDK, the transport and tracekit all run on the calling thread), so other
processes on a shared machine do not inflate them. "Added" = traced - baseline. The breakdown shows
where the added time goes: normalisation (record_from_response / StreamRecorder.add on the same
SDK objects, timed alone; per chunk also StreamRecorder.add alone, its finish() spread over the
chunks, and a bare loop reading the same chunk objects as the baseline) and the rest (request
snapshot, proxy, event, record_event; the response's snapshot and the request's copy are also timed
alone), and tracekit's own frames inside the instrumented SDK call (the call minus the SDK method it
wraps, timed from inside; a timing wrapper alone on a bare client is its baseline). A complete
response is normalised off the caller's path
(the event is completed at its first use): that cost is timed on its own, at the first access of
each event recorded in the round, and printed as its own line beside the caller's figure, so
nothing is hidden. So is a stream's fold (finish(), done when its event is first read once the
stream reached its end): printed spread over the chunks beside the per-chunk figure. Each
per-call figure is printed beside its same-round baseline (the bare SDK call; for the
normaliser, the SDK's own model_dump of the same object), and the issue's targets scaled by
this machine's factor (a bare SDK chunk here / the 79 us it cost where the targets were set).
Per chunk, a diagnostic run of its own also times the proxy's per-chunk step inside the real SDK
stream (perf_counter_ns around it, wall time: median and 10th percentile): for an openai/anthropic
SDK stream the tap's step (RawChunks.take: the text of the chunk's server-sent event and its
arrival kept, see tracing/sse_tap.py; the chunk is folded through StreamRecorder.add when its
event is first read), else StreamRecorder.add (the chunk's snapshot); it counts the chunks kept as
their event's text; "the rest" is the per-chunk figure minus that step (the proxy's frame with its
clock read, the tap's generator, the stream's setup and end spread over its chunks, and the SDK's
own work slowed by tracekit's). A second diagnostic run splits a
stream step by step, bare and traced streams alternated (thread CPU): create() returning the stream,
the first chunk, each later chunk, the end, and the cyclic GC's runs during the streams. A third
stream, paired with the bare one like the first, has the per-chunk step made a no-op (and so no
tap): what tracekit costs beyond that step (setup, proxy, end), and by difference the step's whole
cost inside the stream, the tap included (its own time and what it makes the SDK's work cost).
Run: .venv/bin/python bench/bench_decorators.py [ROUNDS]
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from sdk_transport import VendorServer, openai_client

import tracekit as tk
from tracekit.helpers.recorder import StreamRecorder
from tracekit.tracer import SessionTracer
from tracekit.tracing import response_shapes
from tracekit.tracing.capture import snapshot
from tracekit.tracing.llm_call import LLMCall
from tracekit.tracing.sse_tap import RawChunks

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
HI = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello."}]
BARE_CHUNK_US = 79
"""A bare openai SDK stream chunk where the issue's figures (targets and peers) were measured."""
PEERS = (("Langfuse", 257, 7), ("OpenTelemetry+OpenInference", 320, 15), ("Logfire", 540, 77))


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def long_chat_stream(n_text: int) -> list[dict[str, Any]]:
    """The recorded chat stream with its text deltas repeated to `n_text` content chunks."""
    recorded = load("openai_chat", "stream_text_usage")
    content = [c for c in recorded if c["choices"] and c["choices"][0]["delta"].get("content")]
    return [recorded[0], *(content[i % len(content)] for i in range(n_text)), *recorded[-2:]]


def _no_add(chunk: Any, at: float) -> None:
    """The per-chunk step replaced by nothing (the beyond-the-step diagnostic)."""


def per_call(calls: int, bare: Any, traced: Any) -> tuple[float, float]:
    """Seconds per call of `bare` and the median extra seconds of `traced`, alternated call by call
    (the median of the paired differences shrugs off the odd GC pause or scheduler hiccup)."""
    clock = time.thread_time
    base: list[float] = []
    extra: list[float] = []
    for _ in range(calls):
        t0 = clock()
        bare()
        t1 = clock()
        traced()
        t2 = clock()
        base.append(t1 - t0)
        extra.append((t2 - t1) - (t1 - t0))
    return statistics.median(base), statistics.median(extra)


def cpu_per_call(calls: int, func: Any) -> float:
    """Median CPU seconds of one `func()`."""
    clock = time.thread_time
    times = []
    for _ in range(calls):
        t0 = clock()
        func()
        times.append(clock() - t0)
    return statistics.median(times)


def cpu_per_op(samples: int, func: Any, inner: int = 50) -> float:
    """Median CPU seconds of one `func()`, timed `inner` calls at a time (a step too short for the
    clock's own cost to vanish in one reading)."""
    clock = time.thread_time
    times = []
    for _ in range(samples):
        t0 = clock()
        for _ in range(inner):
            func()
        times.append((clock() - t0) / inner)
    return statistics.median(times)


def first_access(events: list[Any]) -> float:
    """Median CPU seconds of the first read of each event: the normalisation deferred to it."""
    clock = time.thread_time
    times = []
    for event in events:
        t0 = clock()
        _ = event.call_records
        times.append(clock() - t0)
    return statistics.median(times)


def inside_the_stream(client: Any, streams: int) -> tuple[float, float, float]:
    """Inside the real SDK stream: the median wall ns of the proxy's per-chunk step (the tap's
    `RawChunks.take`, or `StreamRecorder.add` for a chunk the tap has no text for; the proxy calls it
    with the arrival time it read), timed with perf_counter_ns around it (the stream read through
    next(), which calls the step; a for loop runs the same step written out in the proxy's
    generator), and the share of chunks kept as their event's text. A diagnostic run of its own:
    the figures above are measured without this timer."""
    clock = time.perf_counter_ns
    steps: list[int] = []
    mine: list[int] = []  # the steps taken while a stream ran (a fold's adds, at first use, left out)
    kept = chunks = 0
    take, add = RawChunks.take, StreamRecorder.add

    def timed_take(raw: RawChunks, chunk: Any, at: float) -> None:
        t0 = clock()
        take(raw, chunk, at)
        steps.append(clock() - t0)

    def timed_add(recorder: StreamRecorder, chunk: Any, received_at: float | None = None) -> None:
        t0 = clock()
        add(recorder, chunk, received_at)
        steps.append(clock() - t0)

    RawChunks.take = timed_take  # type: ignore[method-assign]  # bound by each proxy at its start
    StreamRecorder.add = timed_add  # type: ignore[method-assign]
    try:
        with SessionTracer().session():
            for _ in range(streams):
                stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
                before = len(steps)
                n = 0
                while True:  # next(): the step called as a function (a for loop runs it written out)
                    try:
                        next(stream)
                    except StopIteration:
                        break
                    n += 1
                mine.extend(steps[before:])
                raw = object.__getattribute__(stream, "_tk_call")._raw  # pending: not folded yet
                kept += 0 if raw is None else len(raw.texts)
                chunks += n
    finally:
        RawChunks.take = take  # type: ignore[method-assign]
        StreamRecorder.add = add  # type: ignore[method-assign]
    ordered = sorted(mine)
    return ordered[len(ordered) // 2] / 1e9, ordered[len(ordered) // 10] / 1e9, kept / chunks


def stream_steps(bare_client: Any, traced_client: Any, streams: int) -> dict[str, float]:
    """Where a traced stream's time goes, step by step (a diagnostic run of its own; thread CPU seconds,
    bare and traced streams alternated, medians over the streams): the call returning the stream
    (`create()`: under tracekit also the request's copy, the call, the recorder and the proxy), the
    first chunk, each later chunk (median; under tracekit the proxy's step and the recorder's add),
    and the end (the `next()` that raises StopIteration: under tracekit the record handed to its
    pending event); and the collections the cyclic GC ran while the streams ran, per stream, with
    their time (gc.callbacks), the per-chunk medians above leaving them out."""
    clock = time.thread_time_ns  # the calling thread's CPU: other processes' turns left out
    state = [0, 0, 0]  # collections, their ns, the running one's start

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            state[2] = clock()
        else:
            state[0] += 1
            state[1] += clock() - state[2]

    steps: dict[str, dict[str, list[int]]] = {
        name: {"create": [], "first": [], "chunk": [], "end": [], "gc_n": [], "gc_ns": []}
        for name in ("bare", "traced")
    }
    gc.callbacks.append(on_gc)
    try:
        with SessionTracer().session():
            for i in range(streams):
                order = (("bare", bare_client), ("traced", traced_client))
                for name, client in order if i % 2 == 0 else order[::-1]:
                    mine = steps[name]
                    collections, spent = state[0], state[1]
                    t0 = clock()
                    stream = client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True)
                    t1 = clock()
                    it = iter(stream)  # what a for loop reads
                    next(it)
                    t2 = clock()
                    mine["create"].append(t1 - t0)
                    mine["first"].append(t2 - t1)
                    chunk_ns = mine["chunk"]
                    while True:
                        t0 = clock()
                        try:
                            next(it)
                        except StopIteration:
                            mine["end"].append(clock() - t0)
                            break
                        chunk_ns.append(clock() - t0)
                    mine["gc_n"].append(state[0] - collections)
                    mine["gc_ns"].append(state[1] - spent)
                    del stream, it
    finally:
        gc.callbacks.remove(on_gc)
    out: dict[str, float] = {}
    for name, mine in steps.items():
        for step in ("create", "first", "chunk", "end"):
            out[f"steps_{name}_{step}"] = statistics.median(mine[step]) / 1e9
        out[f"steps_{name}_gc_n"] = statistics.mean(mine["gc_n"])
        out[f"steps_{name}_gc"] = statistics.mean(mine["gc_ns"]) / 1e9
    return out


def inside_sdk_call(calls: int, server: Any) -> tuple[float, float]:
    """Median CPU seconds of an instrumented call outside the SDK method it wraps (timed from
    inside by a wrapper set before `instrument`), and of the same wrapper on an uninstrumented
    client (its own cost, the baseline)."""
    clock = time.thread_time
    inner = [0.0]

    def timed(client: Any) -> Any:
        create = client.chat.completions.create

        def timed_create(**kwargs: Any) -> Any:
            t0 = clock()
            result = create(**kwargs)
            inner[0] += clock() - t0
            return result

        client.chat.completions.create = timed_create
        return client

    traced = tk.instrument(timed(openai_client(server)))
    plain = timed(openai_client(server))
    outside: dict[str, list[float]] = {"traced": [], "plain": []}
    for _ in range(calls):
        for name, client in (("traced", traced), ("plain", plain)):
            inner[0] = 0.0
            t0 = clock()
            client.chat.completions.create(model="gpt-4.1", messages=HI)
            outside[name].append(clock() - t0 - inner[0])
    return statistics.median(outside["traced"]), statistics.median(outside["plain"])


def round_once(calls: int, streams: int, chunks: list[dict[str, Any]]) -> dict[str, float]:
    body = load("openai_chat", "response_basic")
    server = VendorServer().reply_json(body, repeat=True)
    bare_client = openai_client(server)
    inst_client = tk.instrument(openai_client(server))
    deco = tk.trace_llm_call(agent="bench")(openai_client(server).chat.completions.create)
    stream_server = VendorServer().reply_stream("openai_chat", chunks, repeat=True)
    bare_stream_client = openai_client(stream_server)
    inst_stream_client = tk.instrument(openai_client(stream_server))

    def bare() -> Any:
        return bare_client.chat.completions.create(model="gpt-4.1", messages=HI)

    def inst() -> Any:
        return inst_client.chat.completions.create(model="gpt-4.1", messages=HI)

    def decorated() -> Any:
        return deco(model="gpt-4.1", messages=HI)

    def bare_stream() -> None:
        for _ in bare_stream_client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
            pass

    def inst_stream() -> None:
        for _ in inst_stream_client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True):
            pass

    def inst_stream_no_add() -> None:
        """The same traced stream with the per-chunk step a no-op and no tap (a diagnostic: what
        tracekit costs beyond that step: the request's copy, the call, the recorder, the proxy, the
        end; the record it leaves holds no chunks and is not the figure above's)."""
        taker = LLMCall.taker
        LLMCall.taker = lambda self, *args, **kwargs: _no_add  # type: ignore[method-assign]
        try:
            inst_stream()
        finally:
            LLMCall.taker = taker  # type: ignore[method-assign]

    out: dict[str, float] = {}
    tracer = SessionTracer()
    per_call(20, bare, inst)  # warm up connections, imports and caches
    per_call(2, bare_stream, inst_stream)
    _, out["no_session"] = per_call(calls, bare, inst)
    with tracer.session() as trace:
        out["bare"], out["inst"] = per_call(calls, bare, inst)
        out["inst_complete"] = first_access(trace.event_history[-calls:])
        _, out["deco"] = per_call(calls, bare, decorated)
        out["deco_complete"] = first_access(trace.event_history[-calls:])
        out["bare_stream"], out["inst_stream"] = per_call(streams, bare_stream, inst_stream)
        out["inst_stream_complete"] = first_access(trace.event_history[-streams:])
        # after the line above: these streams' events hold no chunks
        _, out["inst_stream_no_add"] = per_call(streams, bare_stream, inst_stream_no_add)
    out["step_median"], out["step_p10"], out["fast_share"] = inside_the_stream(inst_stream_client, streams)
    out.update(stream_steps(bare_stream_client, inst_stream_client, streams))

    # tracekit's own CPU time, without the SDK around it: the same response / chunk objects
    # returned by a decorated function, against the normalisers alone on the same objects
    resp = bare()
    request = {"model": "gpt-4.1", "messages": HI}
    sdk_chunks = list(bare_stream_client.chat.completions.create(model="gpt-4.1", messages=HI, stream=True))

    @tk.trace_llm_call(agent="bench")
    def answer(model: str, messages: list[dict[str, str]]) -> Any:
        return resp

    @tk.trace_llm_call(agent="bench", provider="openai")
    def stream(model: str, messages: list[dict[str, str]]) -> Any:
        yield from sdk_chunks

    def consume() -> None:
        for _ in stream("gpt-4.1", HI):
            pass

    def recorder_alone() -> None:
        recorder = tk.StreamRecorder(request, provider="openai", api_type="chat_completions")
        for chunk in sdk_chunks:
            recorder.add(chunk)
        recorder.finish()

    def recorder_add() -> float:
        """CPU seconds of the add() calls alone (the arrival path), finish() left out."""
        recorder = tk.StreamRecorder(request, provider="openai", api_type="chat_completions")
        add = recorder.add
        t0 = time.thread_time()
        for chunk in sdk_chunks:
            add(chunk)
        spent = time.thread_time() - t0
        recorder.finish()
        return spent

    def bare_loop() -> None:
        sink = []
        for chunk in sdk_chunks:
            sink.append((vars(chunk).get("choices"), time.perf_counter()))

    # tracekit's own CPU time inside the instrumented SDK call, where the SDK's work has just
    # cooled the caches: the traced call minus the SDK method it wraps, timed from inside it (the
    # same timing wrapper on an uninstrumented client is the baseline: its own cost)
    with tracer.session():
        out["own_inside"], out["own_inside_base"] = inside_sdk_call(calls, server)

    with tracer.session() as trace:
        out["own_call"] = cpu_per_call(calls, lambda: answer("gpt-4.1", HI))
        out["own_complete"] = first_access(trace.event_history[-calls:])
        out["own_stream"] = cpu_per_call(streams, consume)
        out["own_stream_complete"] = first_access(trace.event_history[-streams:])
    # the two copies the caller's path cannot avoid: the response's immutable snapshot (a shape
    # seen before: its values in a tuple; pydantic's own JSON writer, the SDK's code, is what it
    # replaces and what a response of a new shape still gets) and the request's (tracekit's)
    to_json = type(resp).__pydantic_serializer__.to_json
    if response_shapes.take(resp) is None:
        raise SystemExit("the bench's response shape was not learnt: the figures would not be the path's")
    out["snapshot"] = cpu_per_op(calls // 4, lambda: response_shapes.take(resp))
    out["snapshot_text"] = cpu_per_op(
        calls // 4, lambda: to_json(resp, by_alias=True, exclude_unset=True, warnings=False)
    )
    out["request_copy"] = cpu_per_op(calls // 4, lambda: snapshot(HI))
    out["normalise"] = cpu_per_call(calls, lambda: tk.record_from_response(resp, request=request))
    out["dump"] = cpu_per_call(calls, lambda: resp.model_dump(mode="json", by_alias=True, exclude_unset=True))
    out["normalise_stream"] = cpu_per_call(streams, recorder_alone)
    out["recorder_add"] = statistics.median(recorder_add() for _ in range(streams))
    out["bare_loop"] = cpu_per_call(streams, bare_loop)
    return out


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    calls, streams, n_text = 200, 30, 100  # 30 streams: a per-chunk median steady under load
    chunks = long_chat_stream(n_text)
    n_chunks = len(chunks)
    results = [round_once(calls, streams, chunks) for _ in range(rounds)]

    def fig(f: Any) -> str:
        values = [f(r) * 1e6 for r in results]
        return f"min {min(values):8.1f}  median {statistics.median(values):8.1f}"

    def ratio(f: Any, base: Any) -> str:
        return f"{statistics.median([f(r) / base(r) for r in results]):6.2f}x"

    def base_call(r: dict[str, float]) -> float:
        return r["bare"]

    def base_chunk(r: dict[str, float]) -> float:
        return r["bare_stream"] / n_chunks

    # the figures were taken where a bare SDK chunk costs ~79 us: this machine's factor
    factor = statistics.median([base_chunk(r) * 1e6 / BARE_CHUNK_US for r in results])
    print(f"openai client over the fake transport; {rounds} rounds, {calls} calls and {streams} streams")
    print(f"of {n_chunks} chunks per round; CPU us of the calling thread, min / median over rounds;")
    print("last column: median ratio to the figure's baseline in the same round")
    print("inside a real SDK call (added = traced - the same call undecorated, paired):")
    print(f"  SDK call, undecorated (baseline)        {fig(base_call)}")
    added = ratio(lambda r: r["inst"], base_call)
    print(f"  added by instrument(client)             {fig(lambda r: r['inst'])}  {added}")
    print(f"    completed at first use (off the path) {fig(lambda r: r['inst_complete'])}")
    print(f"    of it, tracekit's own frames          {fig(lambda r: r['own_inside'])}")
    print(f"      a timing wrapper alone (baseline)   {fig(lambda r: r['own_inside_base'])}")
    added = ratio(lambda r: r["deco"], base_call)
    print(f"  added by @trace_llm_call                {fig(lambda r: r['deco'])}  {added}")
    print(f"    completed at first use (off the path) {fig(lambda r: r['deco_complete'])}")
    print(f"  added outside a session                 {fig(lambda r: r['no_session'])}")
    print(f"  SDK stream, per chunk, undecorated      {fig(lambda r: r['bare_stream'] / n_chunks)}")
    print(f"  added per chunk by instrument(client)   {fig(lambda r: r['inst_stream'] / n_chunks)}")
    shares = [r["inst_stream"] / r["bare_stream"] for r in results]
    share = f"min {min(shares):8.3f}  median {statistics.median(shares):8.3f}"
    print(f"    as a share of the undecorated chunk   {share}")
    print(f"    completed at first use, spread        {fig(lambda r: r['inst_stream_complete'] / n_chunks)}")
    print(f"    the per-chunk step, wall, median      {fig(lambda r: r['step_median'])}")
    print(f"    the same, 10th percentile             {fig(lambda r: r['step_p10'])}")
    rest = fig(lambda r: r["inst_stream"] / n_chunks - r["step_median"])
    print(f"    the rest (setup, proxy frame, SDK)    {rest}")
    beyond = fig(lambda r: r["inst_stream_no_add"] / n_chunks)
    print(f"    beyond the step: it a no-op, no tap   {beyond}")
    add_all = fig(lambda r: (r["inst_stream"] - r["inst_stream_no_add"]) / n_chunks)
    print(f"    the step's whole cost, tap included   {add_all}")
    shares = [r["fast_share"] for r in results]
    share = f"min {min(shares):8.3f}  median {statistics.median(shares):8.3f}"
    print(f"    share of chunks kept as event text    {share}")
    print("  a stream step by step, thread CPU (traced - bare, medians over streams; diagnostic run):")
    for step, what in (
        ("create", "create() returning the stream"),
        ("first", "the first chunk"),
        ("chunk", "each later chunk (median)"),
        ("end", "the end (StopIteration)"),
    ):
        added = fig(lambda r, s=step: r[f"steps_traced_{s}"] - r[f"steps_bare_{s}"])
        print(f"    {what:<36}  {added}")
    print(f"    bare: each later chunk (baseline)     {fig(lambda r: r['steps_bare_chunk'])}")
    spread = fig(
        lambda r: (
            sum(r[f"steps_traced_{s}"] - r[f"steps_bare_{s}"] for s in ("create", "first", "end")) / n_chunks
        )
    )
    print(f"    setup, first chunk and end, spread    {spread}")
    for name in ("bare", "traced"):
        counts = [r[f"steps_{name}_gc_n"] for r in results]
        timed = fig(lambda r, n=name: r[f"steps_{n}_gc"])
        print(f"    GC during a stream, {name:<6} {statistics.median(counts):5.2f} runs, us {timed}")
    print("where it goes (tracekit alone, on the same SDK objects, no SDK call around it):")
    print(f"  per call, all of tracekit on the path   {fig(lambda r: r['own_call'])}")
    print(f"    completed at first use (off the path) {fig(lambda r: r['own_complete'])}")
    print(f"    of it: the response's snapshot        {fig(lambda r: r['snapshot'])}")
    print(f"    the text snapshot it replaces (hot)   {fig(lambda r: r['snapshot_text'])}")
    print(f"    of it: the request's copy             {fig(lambda r: r['request_copy'])}")
    print(f"    the SDK's own model_dump (baseline)   {fig(lambda r: r['dump'])}")
    norm = ratio(lambda r: r["normalise"], lambda r: r["dump"])
    print(f"    record_from_response (normaliser)     {fig(lambda r: r['normalise'])}  {norm}")
    print(f"  per chunk, all of tracekit on the path  {fig(lambda r: r['own_stream'] / n_chunks)}")
    print(f"    completed at first use, spread        {fig(lambda r: r['own_stream_complete'] / n_chunks)}")
    print(f"    StreamRecorder add + finish           {fig(lambda r: r['normalise_stream'] / n_chunks)}")
    print(f"    StreamRecorder.add alone (arrival)    {fig(lambda r: r['recorder_add'] / n_chunks)}")
    finish = fig(lambda r: (r["normalise_stream"] - r["recorder_add"]) / n_chunks)
    print(f"    StreamRecorder.finish, spread         {finish}")
    proxy = fig(lambda r: (r["own_stream"] - r["recorder_add"]) / n_chunks)
    print(f"    the proxy's own path (path - add)     {proxy}")
    print(f"  bare loop reading the same chunks       {fig(lambda r: r['bare_loop'] / n_chunks)}")
    print(f"targets scaled to this machine (bare chunk / {BARE_CHUNK_US} us = {factor:.1f}x slower):")
    print(f"  per call <= 50 us there -> <= {50 * factor:.0f} us here; record_from_response <= 20 us there")
    print(f"  -> <= {20 * factor:.0f} us here; per chunk <= 3 us there -> <= {3 * factor:.1f} us here")
    print("peers (the issue's figures, same kind of harness): per call / per chunk, us")
    for name, call_us, chunk_us in PEERS:
        print(f"  {name:<40} {call_us:6d} / {chunk_us:3d}")


if __name__ == "__main__":
    main()

"""Long fuzz run of from_dict/from_json (the suite runs 2,000 cases; this runs as many as asked).

Each case is a real record (the factory trace and call record, every vendor fixture's record) with
one to three seeded mutations, read through from_dict or through from_json after damaging the text
(tests/codec_fuzzing.py). Every accepted record must be of the requested class, written by to_json
and read back equal; a refusal must be an InvalidDataError; anything else is counted as a violation
and the first ones are shown, as is the slowest case. The baseline beside the timing is the same
cases only built and mutated (no reading), in the same run.
Run: .venv/bin/python bench/fuzz_codec.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from codec_fuzzing import CASE_LIMIT_S, SEEDS, Case, cases, check, mutate, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    drawn: list[Case] = []

    @hypothesis_seed(args.seed)
    @settings(max_examples=args.cases, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    start = time.perf_counter()
    for case in drawn:
        doc = json.loads(json.dumps(SEEDS[case.name][1]))
        for path, kind in case.mutations:
            mutate(doc, path, kind)
    baseline = time.perf_counter() - start

    refused = accepted = 0
    slowest = (0.0, "")
    violations: list[str] = []
    start = time.perf_counter()
    for case in drawn:
        case.applied.clear()
        try:
            record, seconds = timed(case)
            if seconds > slowest[0]:
                slowest = (seconds, f"{case.name} {case.mutations} via {case.via}/{case.text_kind}")
            if record is None:
                refused += 1
                continue
            accepted += 1
            check(case, record)
        except Exception as exc:  # counted and shown, never hidden
            violations.append(f"{type(exc).__name__}: {str(exc)[:200]} in {case}")
    elapsed = time.perf_counter() - start
    hangs = slowest[0] > CASE_LIMIT_S
    print(
        f"fuzz_codec: {len(drawn):,} cases (seed {args.seed}): {accepted:,} read back equal, "
        f"{refused:,} refused with InvalidDataError, {len(violations)} violation(s); {elapsed:.1f} s "
        f"({len(drawn) / elapsed:,.0f} cases/s; baseline build+mutate only {baseline:.2f} s)"
    )
    print(f"  slowest case {slowest[0] * 1000:.1f} ms (limit {CASE_LIMIT_S:g} s): {slowest[1][:160]}")
    for line in violations[:10]:
        print("  ", line)
    if violations or hangs:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Long fuzz run of the recording path (the suite runs 2,500 cases; this runs as many as asked).

Each case is a vendor fixture with one to three seeded mutations (tests/helpers/fuzzing.py)
through record_from_response, record_from_stream or a StreamRecorder. Every returned record must
serialise, read back equal, hold only finite floats and 64-bit integers, and name each replaced
value in `error`; anything else is counted as a violation and the first ones are shown. The
baseline beside the timing is the same cases only built and mutated (no recording), in the same run.
Run: .venv/bin/python bench/fuzz_helpers.py [--cases N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "helpers"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # doc_paths

from fuzzing import FIXTURE_TEXT, Case, cases, check, mutate, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every malformed case logs a warning by design
    drawn: list[Case] = []

    @hypothesis_seed(args.seed)
    @settings(
        max_examples=args.cases,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases())
    def collect(case: Case) -> None:
        drawn.append(case)

    collect()
    start = time.perf_counter()
    for case in drawn:
        doc = json.loads(FIXTURE_TEXT[case.name][2])
        for path, kind in case.mutations:
            mutate(doc, path, kind)
    baseline = time.perf_counter() - start

    refused = recorded = 0
    violations: list[str] = []
    start = time.perf_counter()
    for case in drawn:
        case.applied.clear()
        try:
            record = run(case)
            if record is None:
                refused += 1
                continue
            recorded += 1
            check(case, record)
        except Exception as exc:  # counted and shown, never hidden
            violations.append(f"{type(exc).__name__}: {str(exc)[:200]} in {case}")
    elapsed = time.perf_counter() - start
    print(
        f"fuzz_helpers: {len(drawn):,} cases (seed {args.seed}): {recorded:,} recorded, {refused:,} refused "
        f"with a TracekitError, {len(violations)} violation(s); {elapsed:.1f} s "
        f"({len(drawn) / elapsed:,.0f} cases/s; baseline build+mutate only {baseline:.2f} s)"
    )
    for line in violations[:10]:
        print("  ", line)
    if violations:
        sys.exit(1)


if __name__ == "__main__":
    main()

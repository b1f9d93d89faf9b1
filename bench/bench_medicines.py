"""Medicines review (issue 13): every rule of medicines_rules.yaml (PINCER, ACB, duplication,
polypharmacy, falls-risk medicines, the STOPP/START v3 subset) over a synthetic population on DuckDB.

Run: ``.venv/bin/python bench/bench_medicines.py [--people 100000 1000000] [--threads 2]``

The review's inputs (``careweave.population.medicines.synthetic``: the population extract's
synthetic people, about 10 + 9 prescriptions and 8 + 20 + 3 coded events a person) are generated
once per size into Parquet under ``/tmp/careweave-bench-medicines-<N>``. Each size then runs in its
own process, so the peak memory (maximum resident set) belongs to that run alone. Stages:

1. engine: the SQL steps on DuckDB over the Parquet files, the finding rows and the current
   medicines fetched as Arrow;
2. count: findings (person, rule, detail) counted by rule in Arrow (building a Python object per
   finding for printing, as the CLI does, is not part of the figure).

Goal: 1M people in under 30 s and 4 GB on 2 cores. The first size is the baseline printed beside
it in the same run. Wall and CPU seconds are both printed: on a shared machine CPU time is steadier.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

AS_OF = dt.date(2026, 6, 30)
GOAL_SECONDS = 30.0
GOAL_MB = 4096.0


def inputs_dir(people: int) -> Path:
    return Path(f"/tmp/careweave-bench-medicines-{people}")


def generate(people: int) -> dict[str, int]:
    from careweave.population.medicines.synthetic import synthetic_inputs

    directory = inputs_dir(people)
    marker = directory / "done.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    inputs = synthetic_inputs(people, seed=13, as_of=AS_OF).write(directory)
    counts = {name: table.count_rows() for name, table in inputs.tables.items()}  # type: ignore[union-attr]
    marker.write_text(json.dumps(counts))
    return counts


def run_one(people: int, threads: int | None) -> dict[str, float]:
    """In a fresh process: the review over the Parquet inputs, timed by stage."""
    import os

    import pyarrow.compute as pc

    if threads:
        os.environ["CAREWEAVE_DUCKDB_THREADS"] = str(threads)
    # DuckDB's own limit, under the 4 GB goal for the whole process (it spills to disk beyond it)
    os.environ.setdefault("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "3GB")
    from careweave.population.medicines import MedicinesReview, ReviewInputs, run

    question = MedicinesReview.of(AS_OF)
    started, cpu = time.perf_counter(), time.process_time()
    rows, current = run(ReviewInputs.open(inputs_dir(people)), question)
    engine_s = time.perf_counter() - started
    findings = rows.group_by(["person_id", "rule_id", "detail"]).aggregate([]).select(["rule_id"])
    by_rule = {str(c["values"]): int(c["counts"]) for c in pc.value_counts(findings["rule_id"]).to_pylist()}
    total = time.perf_counter() - started
    return {
        "engine_s": engine_s,
        "count_s": total - engine_s,
        "total_s": total,
        "cpu_s": time.process_time() - cpu,
        "rows": rows.num_rows,
        "current": current.num_rows,
        "findings": findings.num_rows,
        **{f"n_{k}": v for k, v in sorted(by_rule.items())},
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2: the goal's cores)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.threads)))
        return
    results: dict[int, dict[str, float]] = {}
    for people in args.people:
        started = time.perf_counter()
        counts = generate(people)
        print(
            f"inputs {people:>9,} people: {counts['medication']:,} prescriptions, {counts['event']:,} coded events "
            f"(generated or reused in {time.perf_counter() - started:.1f} s)"
        )
        command = [sys.executable, __file__, "--child", str(people), "--threads", str(args.threads)]
        child = subprocess.run(command, check=False, capture_output=True, text=True)
        if child.returncode:
            print(f"{people:,} people: the run failed: {child.stderr.strip().splitlines()[-1:]}")
            continue
        results[people] = json.loads(child.stdout.strip().splitlines()[-1])
    if args.people[0] not in results:
        return
    baseline_people = args.people[0]
    baseline = results[baseline_people]
    print(
        f"\nmedicines review on DuckDB ({args.threads} threads), as of {AS_OF} "
        f"(goal: 1M people in under {GOAL_SECONDS:.0f} s and {GOAL_MB / 1024:.0f} GB)"
    )
    print(
        f"{'people':>10} {'engine s':>9} {'count s':>8} {'total s':>8} {'cpu s':>7} {'findings':>10} "
        f"{'current':>10} {'peak MB':>8}  vs goal / baseline"
    )
    for people, r in results.items():
        if people >= 1_000_000:
            fits = r["total_s"] < GOAL_SECONDS * people / 1_000_000 and r["peak_mb"] < GOAL_MB
            goal = f"{'meets' if fits else 'MISSES'} the goal"
        else:
            goal = "baseline size"
        scale = r["total_s"] / baseline["total_s"] if baseline["total_s"] else float("nan")
        print(
            f"{people:>10,} {r['engine_s']:>9.2f} {r['count_s']:>8.2f} {r['total_s']:>8.2f} {r['cpu_s']:>7.2f} "
            f"{int(r['findings']):>10,} {int(r['current']):>10,} {r['peak_mb']:>8.0f}  {goal}; "
            f"{scale:.1f}x the {baseline_people:,}-person baseline"
        )
    for people, r in results.items():
        rules = ", ".join(f"{k[2:]} {int(v):,}" for k, v in r.items() if k.startswith("n_"))
        print(f"{people:>10,}: {rules}")


if __name__ == "__main__":
    main()

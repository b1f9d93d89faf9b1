"""Referral scan (issue 15): loops, people lost on lists, no outcome letter, validation due.

Run: ``.venv/bin/python bench/bench_referrals.py [--people 100000 1000000] [--threads N]``

A synthetic referral extract (``careweave.population.referrals.synthetic``: about three
ServiceRequests a person, nine in ten with a Task, three in five with an appointment, letters,
validations) is generated once per size into Parquet under ``/tmp/careweave-bench-referrals-<N>``.
Each size then runs in its own process, so the peak memory (the process's maximum resident set)
belongs to that run alone. Stages:

1. engine: the SQL steps on DuckDB over the Parquet files, the long-form rows fetched as Arrow;
2. findings: the rows grouped into findings and explained in words, as an Arrow table (printing
   them as JSON objects, as the CLI does, is not part of the figure).

Goal: 1M people's referrals (about 3M ServiceRequests and their Tasks) scanned in under 30 s on 2
cores. The first size is the baseline printed beside it in the same run. Wall and CPU seconds are
both printed: on a shared machine CPU time is the steadier figure.
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

AS_OF = dt.date(2025, 6, 30)
GOAL_SECONDS = 30.0


def extract_dir(people: int) -> Path:
    return Path(f"/tmp/careweave-bench-referrals-{people}")


def generate(people: int) -> dict[str, int]:
    from careweave.population.referrals import synthetic

    directory = extract_dir(people)
    marker = directory / "done.json"
    if marker.exists():
        return dict(json.loads(marker.read_text()))
    extract = synthetic.write(synthetic.generate(people, AS_OF, seed=15), directory)
    counts = {name: table.count_rows() for name, table in extract.tables.items()}
    marker.write_text(json.dumps(counts))
    return counts


def run_one(people: int, threads: int | None) -> dict[str, float]:
    """In a fresh process: the scan over the Parquet extract, timed by stage."""
    import pyarrow.compute as pc

    from careweave.population.referrals import ReferralExtract, ReferralScan
    from careweave.population.referrals.engines import run_duckdb
    from careweave.population.referrals.findings import findings_table

    question = ReferralScan.of(AS_OF)
    started, cpu = time.perf_counter(), time.process_time()
    extract = ReferralExtract.open(extract_dir(people))
    rows = run_duckdb(extract, question, threads=threads)
    engine_s = time.perf_counter() - started
    findings = findings_table(rows, question)
    total = time.perf_counter() - started
    by_kind = {str(c["values"]): int(c["counts"]) for c in pc.value_counts(findings["finding"]).to_pylist()}
    return {
        "engine_s": engine_s,
        "findings_s": total - engine_s,
        "total_s": total,
        "cpu_s": time.process_time() - cpu,
        "rows": rows.num_rows,
        "findings": findings.num_rows,
        **{f"n_{k}": v for k, v in sorted(by_kind.items())},
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
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
            f"extract {people:>9,} people: {counts['referral']:,} ServiceRequests, {counts['task']:,} Tasks, "
            f"{counts['appointment']:,} appointments, {counts['letter']:,} letters "
            f"(generated or reused in {time.perf_counter() - started:.1f} s)"
        )
        command = [sys.executable, __file__, "--child", str(people)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        child = subprocess.run(command, check=True, capture_output=True, text=True)
        results[people] = json.loads(child.stdout.strip().splitlines()[-1])
    baseline_people = args.people[0]
    baseline = results[baseline_people]
    print(f"\nreferral scan on DuckDB, as of {AS_OF} (goal: 1M people in under {GOAL_SECONDS:.0f} s)")
    print(
        f"{'people':>10} {'engine s':>9} {'findings s':>11} {'total s':>8} {'cpu s':>7} {'findings':>10} {'peak MB':>8}  vs goal / baseline"
    )
    for people, r in results.items():
        if people >= 1_000_000:
            goal = f"{'meets' if r['total_s'] < GOAL_SECONDS * people / 1_000_000 else 'MISSES'} the goal"
        else:
            goal = "baseline size"
        scale = r["total_s"] / baseline["total_s"] if baseline["total_s"] else float("nan")
        print(
            f"{people:>10,} {r['engine_s']:>9.2f} {r['findings_s']:>11.2f} {r['total_s']:>8.2f} {r['cpu_s']:>7.2f} "
            f"{int(r['findings']):>10,} {r['peak_mb']:>8.0f}  {goal}; "
            f"{scale:.1f}x the {baseline_people:,}-person baseline"
        )
    for people, r in results.items():
        kinds = ", ".join(f"{k[2:]} {int(v):,}" for k, v in r.items() if k.startswith("n_"))
        print(f"{people:>10,}: {kinds}")


if __name__ == "__main__":
    main()

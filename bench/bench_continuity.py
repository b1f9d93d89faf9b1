"""Continuity of care indices (issue 17): UPC, COC, HHI, MMCI and SECON per person.

Run: ``.venv/bin/python bench/bench_continuity.py [--people 1000000] [--baseline 100000] [--threads N]``

Synthetic contacts (``careweave.population.continuity.synthetic``: about 30 a person, with people at
practices of six GPs, each seeing their usual GP with a probability of their own, rows in no order)
are generated with numpy in batches of 100,000 people and written to Parquet in a temporary
directory, which is removed at the end. Each measurement runs in its own process, so the peak memory
(the process's maximum resident set) belongs to that run alone:

1. DuckDB over the Parquet file of all the people (the goal);
2. DuckDB over the first ``--baseline`` people only (the baseline size);
3. the formulas in plain Python (a dict per person, sorted in Python) on the first 20,000 people,
   scaled linearly to the full size: what the SQL saves over the obvious program.

Goal: 1M people from about 30M contacts in under 30 s on 2 cores. Wall and CPU seconds are both
printed: on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

GOAL_SECONDS = 30.0
GOAL_PEOPLE = 1_000_000
PYTHON_SAMPLE = 20_000


def generate(people: int, baseline: int, directory: Path) -> dict[str, int]:
    """``all.parquet`` (every person) and ``baseline.parquet`` (the first ``baseline`` people)."""
    import pyarrow.parquet as pq

    from careweave.population.continuity import CONTACT_SCHEMA, synthetic

    counts = {"all": 0, "baseline": 0}
    with (
        pq.ParquetWriter(directory / "all.parquet", CONTACT_SCHEMA) as everyone,
        pq.ParquetWriter(directory / "baseline.parquet", CONTACT_SCHEMA) as first,
    ):
        for number, batch in enumerate(synthetic.batches(people, batch=100_000, seed=17)):
            everyone.write_table(batch, row_group_size=1_000_000)
            counts["all"] += batch.num_rows
            if number * 100_000 < baseline:
                first.write_table(batch, row_group_size=1_000_000)
                counts["baseline"] += batch.num_rows
    return counts


def run_duckdb(path: Path, threads: int | None) -> dict[str, float]:
    import pyarrow.dataset as ds

    from careweave.population.continuity import ContinuityQuestion
    from careweave.population.continuity.engines import run_duckdb as engine

    question = ContinuityQuestion.of()
    started, cpu = time.perf_counter(), time.process_time()
    table = engine(ds.dataset(path), question, threads=threads)
    return {
        "people": table.num_rows,
        "seconds": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "mean_upc": float(sum(table["upc"].to_pylist()) / max(table.num_rows, 1)),
    }


def run_python(path: Path) -> dict[str, float]:
    """The obvious program: group the rows per person in dicts, sort each person's contacts, count."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    numbers = [f"P{n}" for n in range(PYTHON_SAMPLE)]
    rows = ds.dataset(path).to_table(filter=pc.field("person").isin(numbers)).to_pylist()
    started, cpu = time.perf_counter(), time.process_time()
    people: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        people.setdefault(row["person"], []).append((row["day"], row["clinician"]))
    upc_total = 0.0
    for visits in people.values():
        visits.sort()
        n, counts = len(visits), Counter(c for _, c in visits)
        s, squares = len(counts), sum(v * v for v in counts.values())
        same = sum(1 for a, b in itertools.pairwise(visits) if a[1] == b[1])
        upc_total += max(counts.values()) / n
        _ = (squares - n) / (n * (n - 1)) if n > 1 else None, squares / n / n
        _ = (1 - s / (n + 0.1)) / (1 - 1 / (n + 0.1)), same / (n - 1) if n > 1 else None
    return {
        "people": len(people),
        "contacts": len(rows),
        "seconds": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "mean_upc": upc_total / max(len(people), 1),
    }


def child(kind: str, path: Path, threads: int | None) -> None:
    result = run_python(path) if kind == "python" else run_duckdb(path, threads)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind: str, path: Path, threads: int | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", kind, "--path", str(path)]
    if threads:
        command += ["--threads", str(threads)]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(finished.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=GOAL_PEOPLE)
    parser.add_argument("--baseline", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--child", choices=("duckdb", "python"), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.threads)
        return
    with tempfile.TemporaryDirectory(prefix="careweave-bench-continuity-") as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        counts = generate(args.people, args.baseline, directory)
        print(
            f"synthetic contacts: {args.people:,} people, {counts['all']:,} contacts "
            f"({counts['baseline']:,} for the first {args.baseline:,}), generated and written to Parquet "
            f"in {time.perf_counter() - started:.1f} s"
        )
        full = measure("duckdb", directory / "all.parquet", args.threads)
        small = measure("duckdb", directory / "baseline.parquet", args.threads)
        python = measure("python", directory / "baseline.parquet", None)
    scale = args.people / python["people"]
    load = os.getloadavg()[0]
    print(
        f"\ncontinuity indices (goal: {GOAL_PEOPLE:,} people from about 30M contacts in under {GOAL_SECONDS:.0f} s)"
    )
    print(f"{'run':<34} {'people':>10} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}  vs goal")
    goal = GOAL_SECONDS * args.people / GOAL_PEOPLE
    verdict = "meets" if full["seconds"] < goal else "MISSES"
    print(
        f"{'DuckDB, all':<34} {int(full['people']):>10,} {full['seconds']:>8.2f} {full['cpu_s']:>8.2f} "
        f"{full['peak_mb']:>8.0f}  {verdict} the goal ({goal:.0f} s for this size)"
    )
    print(
        f"{'DuckDB, baseline size':<34} {int(small['people']):>10,} {small['seconds']:>8.2f} {small['cpu_s']:>8.2f} "
        f"{small['peak_mb']:>8.0f}  baseline: the full size took {full['seconds'] / small['seconds']:.1f}x "
        f"for {full['people'] / small['people']:.0f}x the people"
    )
    print(
        f"{'plain Python, ' + format(int(python['people']), ',') + ' people':<34} {int(python['people']):>10,} "
        f"{python['seconds']:>8.2f} {python['cpu_s']:>8.2f} {python['peak_mb']:>8.0f}  "
        f"scaled to {args.people:,} people: {python['seconds'] * scale:.0f} s "
        f"({python['seconds'] * scale / full['seconds']:.1f}x DuckDB; reading the rows not counted)"
    )
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} cores (shared machine); the full run used "
        f"{full['cpu_s']:.1f} CPU s, {full['cpu_s'] / (os.cpu_count() or 1):.1f} s a core if it had them to itself"
    )
    agree = abs(small["mean_upc"] - python["mean_upc"]) if python["people"] == small["people"] else None
    print(
        f"mean UPC: DuckDB {full['mean_upc']:.4f} (all), plain Python {python['mean_upc']:.4f} (sample)"
        + (f", same people differ by {agree:.1e}" if agree is not None else "")
    )


if __name__ == "__main__":
    main()

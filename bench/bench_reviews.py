"""Consolidated review planner (issue 14): how many visits and blood draws it saves, and how fast it plans.

Run: ``.venv/bin/python bench/bench_reviews.py [--people 100000 1000000] [--reduction-people 100000]``

The synthetic extract is the one ``bench_segment.py`` writes (generated once per size into Parquet
under ``/tmp/careweave-bench-extract-<N>``, codes drawn from the reviewed terminology). Each size runs
in its own process so its peak memory (maximum resident set) is its own.

1. Reduction (on ``--reduction-people``): a year of care simulated from the planning date, both ways,
   over the same monitoring items and intervals. *Separately* (today's practice): every condition and
   every drug has its own review when its first item falls due, taking that area's own items due
   within the tolerance window, with its own blood draw when any of them is a laboratory test.
   *Merged* (the planner): one review per person, taking every item due within the window, one draw.
   After a review each item done is next due one interval later; reviews and draws in the 365 days
   from the planning date are counted per person-year (months as 30.44 days in the simulation).
2. Planning time: ``plan_reviews`` on DuckDB over the Parquet extract, in stages (the engine's
   monitoring items and features; the usual clinician and reasonable adjustments; the merge over
   Arrow). Goal: 1M people in under 30 s on 2 cores; the first size is the baseline printed beside
   it. Wall and CPU seconds are both printed: on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_segment import AS_OF, extract_dir, generate  # noqa: E402  (the shared synthetic extract)

GOAL_SECONDS = 30.0
YEAR_DAYS = 365.0
MONTH_DAYS = 365.25 / 12


def simulate(
    groups: Any, interval_days: Any, first_due: Any, is_lab: Any, tolerance_days: float
) -> tuple[int, int]:
    """Reviews and blood draws in a year when each group (sorted ids) is reviewed on its own."""
    import numpy as np

    order = np.argsort(groups, kind="stable")
    groups, interval_days, due, is_lab = (
        groups[order],
        interval_days[order],
        first_due[order].copy(),
        is_lab[order],
    )
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[starts, len(groups)])
    owner = np.repeat(np.arange(len(starts)), counts)
    reviews = draws = 0
    while True:
        nxt = np.maximum(np.minimum.reduceat(due, starts), 0.0)
        active = nxt < YEAR_DAYS
        if not active.any():
            return reviews, draws
        done = active[owner] & (due <= (nxt + tolerance_days)[owner])
        reviews += int(active.sum())
        draws += int(np.count_nonzero(np.bincount(owner[done & is_lab], minlength=len(starts))))
        due = np.where(done, nxt[owner] + interval_days, due)


def reduction(people: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow.compute as pc

    from careweave.population.compute import compute_outputs
    from careweave.population.extract_schema import Extract
    from careweave.population.reviews.plan import due_dates
    from careweave.terminology.loading.reviews import load_review_planning

    planning = load_review_planning()
    extract = Extract.from_parquet_dir(extract_dir(people))
    due = compute_outputs(extract, AS_OF, ("monitoring_due",), "duckdb")["monitoring_due"]
    first_due = (due_dates(due, AS_OF) - np.datetime64(AS_OF, "D")).astype(np.int64).astype(float)
    count = due["interval_count"].to_numpy().astype(float)
    unit = due["interval_unit"].to_numpy(zero_copy_only=False)
    interval_days = count * np.where(unit == "month", MONTH_DAYS, np.where(unit == "week", 7.0, 1.0))
    is_lab = np.isin(due["check_id"].to_numpy(zero_copy_only=False), list(planning.test_of_check))
    person = due["person_id"].to_numpy()
    area = pc.dictionary_encode(
        pc.binary_join_element_wise(due["kind"], due["subject_id"], ":")
    ).combine_chunks()
    area_ids = area.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    tolerance = planning.tolerance_months * MONTH_DAYS
    separate = simulate(person * 1000 + area_ids, interval_days, first_due, is_lab, tolerance)
    merged = simulate(person, interval_days, first_due, is_lab, tolerance)
    return {
        "people": people,
        "with_items": int(len(np.unique(person))),
        "items": due.num_rows,
        "separate": separate,
        "merged": merged,
    }


def run_one(people: int) -> dict[str, Any]:
    os.environ.setdefault("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
    from careweave.population.compute import compute_outputs
    from careweave.population.extract_schema import Extract
    from careweave.population.reviews.plan import plan_from_tables, reasonable_adjustments, usual_clinicians
    from careweave.terminology.loading.reviews import load_review_planning

    planning = load_review_planning()
    stages: list[tuple[str, float, float]] = []
    total_wall, total_cpu = time.perf_counter(), time.process_time()

    def timed(name: str, work: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        stages.append((name, time.perf_counter() - wall, time.process_time() - cpu))
        return result

    extract = timed("extract open", lambda: Extract.from_parquet_dir(extract_dir(people)))
    outputs = timed(
        "monitoring + features",
        lambda: compute_outputs(extract, AS_OF, ("features", "monitoring_due"), "duckdb"),
    )
    usual = timed(
        "usual clinician", lambda: usual_clinicians(extract, AS_OF, planning.usual_clinician_months)
    )
    adjusted = timed("adjustments", lambda: reasonable_adjustments(extract, AS_OF))
    plan = timed(
        "merge (Arrow)",
        lambda: plan_from_tables(
            outputs["monitoring_due"], outputs["features"], as_of=AS_OF, planning=planning, usual=usual,
            adjustments=adjusted,
        ),
    )  # fmt: skip
    reviews = plan.reviews
    return {
        "people": people,
        "stages": stages,
        "wall": time.perf_counter() - total_wall,
        "cpu": time.process_time() - total_cpu,
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "items_in": outputs["monitoring_due"].num_rows,
        "reviews": reviews.num_rows,
        "items": plan.items.num_rows,
        "tests": plan.bloods.num_rows,
        "double": int(sum(1 for m in reviews["slot_minutes"].to_pylist() if m == planning.double_minutes)),
        "usual": reviews["usual_practitioner_id"].drop_null().__len__(),
    }


def _child(kind: str, people: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, f"--child-{kind}", str(people)], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--reduction-people", type=int, default=100_000)
    parser.add_argument("--child-plan", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-reduction", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plan:
        print(json.dumps(run_one(args.child_plan)))
        return
    if args.child_reduction:
        print(json.dumps(reduction(args.child_reduction)))
        return
    for size in sorted({*args.people, args.reduction_people}):
        generate(size)
    r = _child("reduction", args.reduction_people)
    per = r["people"]
    (sep_reviews, sep_draws), (mer_reviews, mer_draws) = r["separate"], r["merged"]
    print(
        f"Reduction on {per:,} synthetic people ({r['with_items']:,} with monitoring items, {r['items']:,} items), per person-year:"
    )
    print(f"  {'':<34}{'reviews':>10}{'blood draws':>13}")
    print(f"  {'separately (by condition, drug)':<34}{sep_reviews / per:>10.3f}{sep_draws / per:>13.3f}")
    print(f"  {'merged (one review, one draw)':<34}{mer_reviews / per:>10.3f}{mer_draws / per:>13.3f}")
    print(
        f"  reduction: reviews {1 - mer_reviews / sep_reviews:.1%} ({sep_reviews - mer_reviews:,} fewer a year), "
        f"blood draws {1 - mer_draws / sep_draws:.1%} ({sep_draws - mer_draws:,} fewer a year)"
    )
    results = [_child("plan", size) for size in args.people]
    for result in results:
        print(
            f"\nPlanning {result['people']:,} people (DuckDB, 2 cores shared; load average {os.getloadavg()[0]:.1f})"
        )
        print(f"  {'stage':<24}{'wall s':>9}{'cpu s':>9}")
        for name, wall, cpu in result["stages"]:
            print(f"  {name:<24}{wall:>9.2f}{cpu:>9.2f}")
        print(
            f"  {'total':<24}{result['wall']:>9.2f}{result['cpu']:>9.2f}   peak {result['peak_gib']:.2f} GiB"
        )
        print(
            f"  {result['items_in']:,} monitoring items -> {result['reviews']:,} reviews, {result['items']:,} merged "
            f"items, {result['tests']:,} laboratory tests; {result['double']:,} double slots; "
            f"{result['usual']:,} with a usual clinician"
        )
    baseline, largest = results[0], results[-1]
    if len(results) > 1:
        scale = largest["people"] / baseline["people"]
        print(
            f"\nBaseline {baseline['people']:,} people: {baseline['wall']:.1f} s; {largest['people']:,} people: "
            f"{largest['wall']:.1f} s ({largest['wall'] / baseline['wall']:.1f}x the time for {scale:.0f}x the people)"
        )
    verdict = "MET" if largest["wall"] < GOAL_SECONDS else "NOT MET"
    print(
        f"Goal: {largest['people']:,} people planned in under {GOAL_SECONDS:.0f} s: {largest['wall']:.1f} s wall, {verdict}"
    )


if __name__ == "__main__":
    main()

"""Consolidated review planner (issue 14): how many visits and blood draws it saves, and how fast it plans.

Run: ``.venv/bin/python bench/bench_reviews.py [--people 100000 1000000] [--baseline-people 100000]
[--reduction-people 100000]``

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
   monitoring items and slot inputs, only the steps those two outputs read; the usual clinician and
   reasonable adjustments; the merge over Arrow). Goal: 1M people in under 30 s on 2 cores.
   Baseline, in the same run, at the ``--baseline-people`` sizes (default: every size): the first
   planner's way, every compiled step created and the whole ``features`` table fetched beside
   ``monitoring_due``. Where both ways ran at a size, their plans (reviews, items, blood tests) are
   compared and must be identical. Wall and CPU seconds are both printed: on a shared machine CPU
   time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
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


def plan_dir(way: str, people: int) -> Path:
    return Path(f"/tmp/careweave-bench-reviews-{way}-{people}")


def full_pass(extract: Any) -> dict[str, Any]:
    """The baseline: every compiled step created, ``features`` and ``monitoring_due`` fetched."""
    from careweave.population.engines.duckdb_engine import DuckDBEngine
    from careweave.population.features import FeatureKnowledge, FeatureSpecification

    spec = FeatureSpecification(FeatureKnowledge.from_terminology(), AS_OF)
    with DuckDBEngine() as engine:
        engine.prepare(extract.validate(), spec)  # no outputs named: every step, as before pruning
        return {name: engine.fetch(name) for name in ("features", "monitoring_due")}


def run_one(people: int, way: str) -> dict[str, Any]:
    os.environ.setdefault("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
    import pyarrow.parquet as pq

    from careweave.population.compute import compute_outputs
    from careweave.population.extract_schema import Extract
    from careweave.population.reviews.plan import (
        PLAN_OUTPUTS,
        plan_from_tables,
        reasonable_adjustments,
        usual_clinicians,
    )
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
    if way == "pruned":
        outputs = timed(
            "monitoring + slot inputs", lambda: compute_outputs(extract, AS_OF, PLAN_OUTPUTS, "duckdb")
        )
        slot_inputs = outputs["slot_inputs"]
    else:
        outputs = timed("monitoring + features", lambda: full_pass(extract))
        slot_inputs = outputs["features"]
    usual = timed(
        "usual clinician", lambda: usual_clinicians(extract, AS_OF, planning.usual_clinician_months)
    )
    adjusted = timed("adjustments", lambda: reasonable_adjustments(extract, AS_OF))
    plan = timed(
        "merge (Arrow)",
        lambda: plan_from_tables(
            outputs["monitoring_due"], slot_inputs, as_of=AS_OF, planning=planning, usual=usual,
            adjustments=adjusted,
        ),
    )  # fmt: skip
    wall, cpu = time.perf_counter() - total_wall, time.process_time() - total_cpu
    saved = plan_dir(way, people)
    saved.mkdir(parents=True, exist_ok=True)
    for name in ("reviews", "items", "bloods"):
        pq.write_table(getattr(plan, name), saved / f"{name}.parquet")
    reviews = plan.reviews
    return {
        "people": people,
        "way": way,
        "stages": stages,
        "wall": wall,
        "cpu": cpu,
        "load": os.getloadavg()[0],
        "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        "items_in": outputs["monitoring_due"].num_rows,
        "reviews": reviews.num_rows,
        "items": plan.items.num_rows,
        "tests": plan.bloods.num_rows,
        "double": int(sum(1 for m in reviews["slot_minutes"].to_pylist() if m == planning.double_minutes)),
        "usual": reviews["usual_practitioner_id"].drop_null().__len__(),
    }


def same_plans(people: int) -> bool:
    """Both ways' saved plans at ``people`` are identical, table by table (then removed)."""
    import pyarrow.parquet as pq

    try:
        return all(
            pq.read_table(plan_dir("pruned", people) / f"{name}.parquet").equals(
                pq.read_table(plan_dir("full", people) / f"{name}.parquet")
            )
            for name in ("reviews", "items", "bloods")
        )
    finally:
        for way in ("pruned", "full"):
            shutil.rmtree(plan_dir(way, people), ignore_errors=True)


def _child(kind: str, people: int, *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, f"--child-{kind}", str(people), *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--baseline-people", type=int, nargs="*", help="sizes for the full-features baseline (default: all)"
    )
    parser.add_argument("--reduction-people", type=int, default=100_000, help="0 skips the reduction")
    parser.add_argument("--child-plan", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--way", choices=("pruned", "full"), default="pruned", help=argparse.SUPPRESS)
    parser.add_argument("--child-reduction", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_plan:
        print(json.dumps(run_one(args.child_plan, args.way)))
        return
    if args.child_reduction:
        print(json.dumps(reduction(args.child_reduction)))
        return
    baseline_sizes = args.people if args.baseline_people is None else args.baseline_people
    for size in sorted({*args.people, *baseline_sizes, args.reduction_people} - {0}):
        generate(size)
    if args.reduction_people:
        print_reduction(_child("reduction", args.reduction_people))
    results = [_child("plan", size, "--way", "pruned") for size in args.people]
    baselines = {size: _child("plan", size, "--way", "full") for size in baseline_sizes}
    for result in results:
        print_plan(result, "monitoring items and slot inputs, pruned steps")
        base = baselines.get(result["people"])
        if base is not None:
            print_plan(base, "baseline: every step, the whole features table")
            print(
                f"  pruned against baseline: {result['wall']:.1f} s against {base['wall']:.1f} s wall "
                f"({base['wall'] / result['wall']:.1f}x), {result['cpu']:.1f} against {base['cpu']:.1f} CPU s "
                f"({base['cpu'] / result['cpu']:.1f}x); plans identical: "
                f"{'yes' if same_plans(result['people']) else 'NO'}"
            )
    for size, base in baselines.items():
        if size not in args.people:
            print_plan(base, "baseline: every step, the whole features table")
    largest = results[-1]
    if largest["people"] not in baselines and baselines:
        size = max(baselines)
        print(
            f"\nBaseline run at {size:,} people only (the full pass at {largest['people']:,} takes minutes on "
            f"this shared machine): compare the two ways at {size:,} above."
        )
    verdict = "MET" if largest["wall"] < GOAL_SECONDS else "NOT MET"
    print(
        f"Goal: {largest['people']:,} people planned in under {GOAL_SECONDS:.0f} s: {largest['wall']:.1f} s wall "
        f"({largest['cpu']:.1f} CPU s), {verdict}"
    )


def print_reduction(r: dict[str, Any]) -> None:
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


def print_plan(result: dict[str, Any], way: str) -> None:
    print(
        f"\nPlanning {result['people']:,} people, {way} (DuckDB, 2 cores shared; "
        f"load average {result['load']:.1f})"
    )
    print(f"  {'stage':<26}{'wall s':>9}{'cpu s':>9}")
    for name, wall, cpu in result["stages"]:
        print(f"  {name:<26}{wall:>9.2f}{cpu:>9.2f}")
    print(f"  {'total':<26}{result['wall']:>9.2f}{result['cpu']:>9.2f}   peak {result['peak_gib']:.2f} GiB")
    print(
        f"  {result['items_in']:,} monitoring items -> {result['reviews']:,} reviews, {result['items']:,} merged "
        f"items, {result['tests']:,} laboratory tests; {result['double']:,} double slots; "
        f"{result['usual']:,} with a usual clinician"
    )


if __name__ == "__main__":
    main()

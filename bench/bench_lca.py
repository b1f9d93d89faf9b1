"""Latent class fitting on distinct patterns versus StepMix on every row.

Run: ``.venv/bin/python bench/bench_lca.py [--sizes 100000 1000000] [--stepmix-budget 300]``

Each population size runs in its own process so peak RSS belongs to that size alone. People are
simulated from a 6-class model of 14 long-term conditions and 6 social needs with prevalences of
the order seen in English primary care, tuned to give ~80k distinct patterns per 1M people. StepMix
(``measurement="binary"``, same K, starts, max_iter and tolerance, BLAS on one thread like ours)
runs on every row for 100k, and for 1M only if the 100k time scaled by 10 fits in the budget.
Wall and CPU seconds are both printed: on a shared machine CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from typing import Any

import numpy as np

from careweave.population.lca import distinct_patterns, fit_lca, select_classes

K, STARTS, SEED, MAX_ITER, TOL = 5, 5, 0, 1000, 1e-8

INDICATORS = [
    "hypertension", "diabetes", "copd", "asthma", "heart_failure", "atrial_fibrillation",
    "coronary_heart_disease", "chronic_kidney_disease", "depression", "anxiety", "dementia",
    "osteoarthritis", "chronic_pain", "cancer",
    "living_alone", "housebound", "is_carer", "financial_hardship", "social_isolation", "housing_problems",
]  # fmt: skip


def simulate(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = 1.4 * np.array(
        [.35, .14, .06, .12, .04, .06, .07, .08, .18, .14, .03, .20, .15, .05, .25, .05, .08, .12, .10, .06]
    )  # fmt: skip
    mult = np.ones((6, len(INDICATORS)))
    mult[0] *= 0.5  # fewer recorded conditions
    mult[1, [0, 1, 5, 6, 7]] = [2.0, 3.5, 2.0, 2.5, 2.5]  # cardiometabolic
    mult[2, [4, 5, 10, 11, 14, 15, 18]] = [5, 3, 6, 2, 2.5, 6, 3]  # frail, older, housebound
    mult[3, [8, 9, 12, 17, 18, 19]] = [3.5, 3.5, 2, 4, 2.5, 4]  # mental health and hardship
    mult[4, [2, 3, 4, 15]] = [6, 3, 2, 2]  # respiratory
    mult[5, [11, 12, 8, 16]] = [3, 4, 1.5, 2]  # pain and musculoskeletal
    theta = np.clip(base * mult, 0.005, 0.95)
    weights = np.array([0.38, 0.2, 0.1, 0.14, 0.08, 0.1])
    X = np.empty((n, len(INDICATORS)), dtype=np.int8)
    for a in range(0, n, 250_000):  # chunks keep the simulation's own memory out of peak RSS
        b = min(n, a + 250_000)
        z = rng.choice(len(weights), size=b - a, p=weights)
        X[a:b] = rng.random((b - a, len(INDICATORS))) < theta[z]
    return X


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def run_one(n: int, stepmix: bool) -> dict[str, Any]:
    X = simulate(n)
    out: dict[str, Any] = {"n": n, "indicators": X.shape[1], "rss_after_simulation_mb": peak_rss_mb()}
    t = time.perf_counter()
    patterns, counts, _ = distinct_patterns(X)
    out["patterns_s"] = time.perf_counter() - t
    out["n_patterns"] = len(patterns)
    t, cpu = time.perf_counter(), time.process_time()
    model = fit_lca(
        patterns, counts, [2] * X.shape[1], K, n_starts=STARTS, seed=SEED, max_iter=MAX_ITER, tol=TOL
    )
    out["fit_s"] = time.perf_counter() - t
    out["fit_cpu_s"] = time.process_time() - cpu  # all threads; robust to a busy machine
    out["loglik"] = model.loglik
    out["iterations"] = model.iterations
    out["converged"] = model.converged
    t, cpu = time.perf_counter(), time.process_time()
    best, table = select_classes(
        patterns, counts, [2] * X.shape[1], k_range=range(2, 8), n_starts=STARTS, seed=SEED
    )
    out["select_2_7_s"] = time.perf_counter() - t
    out["select_2_7_cpu_s"] = time.process_time() - cpu
    out["select_best_k"] = best.n_classes
    out["select_table"] = [
        {k: row[k] for k in ("n_classes", "bic", "entropy", "smallest_class_proportion")} for row in table
    ]
    out["peak_rss_ours_mb"] = peak_rss_mb()
    # Our EM on every row (counts of 1): separates the gain from patterns from the gain from the EM.
    t, cpu = time.perf_counter(), time.process_time()
    rows = fit_lca(X, np.ones(n), [2] * X.shape[1], K, n_starts=STARTS, seed=SEED, max_iter=MAX_ITER, tol=TOL)
    out["rows_fit_s"] = time.perf_counter() - t
    out["rows_fit_cpu_s"] = time.process_time() - cpu
    out["rows_loglik"] = rows.loglik
    if stepmix:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # StepMix's own SyntaxWarning / sklearn FutureWarnings
            from stepmix.stepmix import StepMix

            sm = StepMix(
                n_components=K,
                measurement="binary",
                n_init=STARTS,
                max_iter=MAX_ITER,
                abs_tol=TOL,  # same criterion as ours: change in mean log-likelihood per person
                random_state=SEED,
                progress_bar=0,
                verbose=0,
            )
            from threadpoolctl import threadpool_limits

            t, cpu = time.perf_counter(), time.process_time()
            with threadpool_limits(limits=1, user_api="blas"):  # same footing as our fit
                sm.fit(X)
            out["stepmix_s"] = time.perf_counter() - t
            out["stepmix_cpu_s"] = time.process_time() - cpu
        out["stepmix_loglik"] = float(sm.lower_bound_) * n
        out["peak_rss_with_stepmix_mb"] = peak_rss_mb()
    return out


def child(n: int, stepmix: bool) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", str(n)] + (["--stepmix"] if stepmix else [])
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(r: dict[str, Any]) -> None:
    n = r["n"]
    print(f"\n== {n:,} people, {r['indicators']} binary indicators ==")
    print(f"distinct patterns:            {r['n_patterns']:,}  ({r['patterns_s']:.3f} s)")
    print(
        f"fit K={K}, {STARTS} starts on patterns: {r['fit_s']:.2f} s wall, {r['fit_cpu_s']:.2f} s CPU  "
        f"(loglik {r['loglik']:.2f}, {r['iterations']} EM evaluations in the best start, converged={r['converged']})"
    )
    print(
        f"choose K in 2..7 by BIC:      {r['select_2_7_s']:.2f} s wall, {r['select_2_7_cpu_s']:.2f} s CPU  "
        f"(best K = {r['select_best_k']})"
    )
    for row in r["select_table"]:
        print(
            f"    K={row['n_classes']}  BIC {row['bic']:.1f}  entropy {row['entropy']:.3f}  "
            f"smallest class {row['smallest_class_proportion']:.1%}"
        )
    print(f"peak RSS (simulate + patterns + fits): {r['peak_rss_ours_mb']:.0f} MB")
    print(
        f"our EM on every row:          {r['rows_fit_s']:.2f} s wall, {r['rows_fit_cpu_s']:.2f} s CPU  "
        f"(loglik patterns - rows {r['loglik'] - r['rows_loglik']:+.2e})"
    )
    if "stepmix_s" in r:
        d = r["loglik"] - r["stepmix_loglik"]
        print(
            f"StepMix on every row:         {r['stepmix_s']:.2f} s wall, {r['stepmix_cpu_s']:.2f} s CPU  "
            f"(loglik {r['stepmix_loglik']:.2f})"
        )
        print(
            f"  time ratio StepMix / ours:  {r['stepmix_s'] / r['fit_s']:.1f}x wall, "
            f"{r['stepmix_cpu_s'] / r['fit_cpu_s']:.1f}x CPU"
        )
        print(f"  loglik ours - StepMix:      {d:+.4f}  ({d / n:+.2e} per person)")
        print(f"  peak RSS with StepMix:      {r['peak_rss_with_stepmix_mb']:.0f} MB")
    else:
        print(f"StepMix on every row:         skipped ({r.get('stepmix_skipped', 'not requested')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--stepmix-budget", type=float, default=300.0, help="seconds allowed for StepMix at 1M"
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--stepmix", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.stepmix)))
        return
    stepmix_per_person: float | None = None
    for n in sorted(args.sizes):
        if stepmix_per_person is None:
            run_stepmix, why = n <= 200_000, "run first at 100k to estimate its time"
        else:
            estimate = stepmix_per_person * n
            run_stepmix = estimate <= args.stepmix_budget
            why = f"estimated {estimate:.0f} s from the smaller run, over the {args.stepmix_budget:.0f} s budget"
        r = child(n, run_stepmix)
        if "stepmix_s" in r:
            stepmix_per_person = r["stepmix_s"] / n
        else:
            r["stepmix_skipped"] = why
        report(r)


if __name__ == "__main__":
    main()

"""Server time of the analysts' outcomes page (/population/outcomes/) for an ICB of 1M people, served
from its precomputed aggregates, against aggregating on every request as the baseline, in one run.

    uv run python bench/bench_outcomes_page.py [--people 1000000] [--requests 40]

It builds the per-person table the precompute reads (`web.outcomes_aggregate.PEOPLE_SCHEMA`: synthetic,
seeded: 8 clusters, age, sex, IMD quintile, ethnic group, admissions, A&E, deaths, PROM, UPC, medicines
findings, waits, contacts) and 24 months of events, times the aggregation (the precompute, run by the
task queue), stores the snapshot in a scratch SQLite database (DATABASE_URL if set), and requests the
page as an analyst, cycling through the five breakdowns. Server time is read from the `Server-Timing`
header (careweave.web.middleware). Goal (issue 17): p95 under 500 ms. Baseline: the same page if it
aggregated on each request (aggregation + the page's own time; the record extract it would also need
is left out, so the baseline is a lower bound). Single user, in process.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from typing import Any

import numpy as np
import pyarrow as pa

GOAL_P95_MS = 500.0
SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")
BREAKDOWNS = ("imd", "cluster", "age_band", "sex", "ethnicity")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def synthetic_tables(people: int, seed: int = 17) -> tuple[pa.Table, pa.Table, list[str]]:
    from careweave.web.outcomes_aggregate import AGE_ORDER, MONTHLY_SCHEMA, PEOPLE_SCHEMA, QUINTILES
    from careweave.web.outcomes_rules import ETHNIC_ORDER

    rng = np.random.default_rng(seed)
    quintile = rng.integers(0, 5, people)
    risk = 1.0 + 0.25 * (4 - quintile)  # more admissions in more deprived neighbourhoods

    def pick(names: tuple[str, ...] | list[str], p: list[float] | None = None) -> pa.Array:
        return pa.array(np.asarray(names, dtype=object)[rng.choice(len(names), people, p=p)])

    answered = rng.random(people) < 0.15
    gp = rng.random(people) < 0.8
    waiting = rng.random(people) < 0.1
    table = pa.table(
        {
            "cluster": pick([f"{n}: cluster {n}" for n in range(1, 9)]),
            "age_band": pick(AGE_ORDER[:4], [0.4, 0.3, 0.15, 0.15]),
            "sex": pick(("female", "male")),
            "imd": pa.array(np.asarray(QUINTILES[:5], dtype=object)[quintile]),
            "ethnicity": pick(ETHNIC_ORDER, [0.75, 0.03, 0.09, 0.04, 0.02, 0.07]),
            "emergency": pa.array(rng.poisson(0.08 * risk).astype(np.int32)),
            "ae": pa.array(rng.poisson(0.25 * risk).astype(np.int32)),
            "died": pa.array(rng.random(people) < 0.009),
            "prem": pa.array(np.where(answered, rng.integers(0, 13, people), np.nan), mask=~answered),
            "upc": pa.array(rng.random(people), mask=~gp),
            "medicines": pa.array(rng.poisson(0.3, people).astype(np.int32)),
            "wait_weeks": pa.array(rng.integers(0, 60, people).astype(float), mask=~waiting),
            "contacts": pa.array(rng.poisson(9, people).astype(np.int32)),
            "organisations": pa.array(rng.poisson(2, people).astype(np.int32)),
        },
        schema=PEOPLE_SCHEMA,
    )
    months = [f"{2024 + (m // 12)}-{m % 12 + 1:02d}" for m in range(24)]
    monthly = {"month": [], "imd": [], "emergency": [], "ae": []}
    for m in months:
        for q, name in enumerate(QUINTILES[:5]):
            share = people / 5
            monthly["month"].append(m)
            monthly["imd"].append(name)
            monthly["emergency"].append(int(rng.poisson(share * 0.08 * (1 + 0.25 * (4 - q)) / 12)))
            monthly["ae"].append(int(rng.poisson(share * 0.25 * (1 + 0.25 * (4 - q)) / 12)))
    return table, pa.table(monthly, schema=MONTHLY_SCHEMA), months


def _time_pages(client: Any, requests: int, before: Any = None) -> list[float]:
    times = []
    for n in range(requests):
        extra = before() if before is not None else 0.0
        response = client.get(f"/population/outcomes/?by={BREAKDOWNS[n % len(BREAKDOWNS)]}")
        assert response.status_code == 200, response.status_code
        match = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
        times.append((float(match.group(1)) if match else float("nan")) + extra)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--baseline-requests", type=int, default=5)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-outcomes-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    from careweave.cli import setup_django

    setup_django(migrate=True)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from careweave.governance.models import Role, StaffProfile
    from careweave.questionnaires.models import OutcomeSnapshot
    from careweave.web.outcomes_aggregate import aggregate

    started = time.perf_counter()
    people, monthly, months = synthetic_tables(args.people)
    print(
        f"synthetic per-person table: {people.num_rows:,} people ({time.perf_counter() - started:.1f} s to build)"
    )

    def precompute() -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        data = aggregate(people, monthly, months=months, medicines_available=True)
        return data, 1000 * (time.perf_counter() - t0)

    data, aggregate_ms = precompute()
    print(f"precompute (aggregate and suppress, DuckDB): {aggregate_ms:,.0f} ms")
    OutcomeSnapshot.objects.create(as_of=timezone.localdate(), people=people.num_rows, data=data)

    user, _ = get_user_model().objects.get_or_create(username="bench-outcomes-analyst")
    StaffProfile.objects.update_or_create(user=user, defaults={"role": Role.ANALYST, "organisation": None})
    client = Client()
    client.force_login(user)
    _time_pages(client, 3)  # warm: templates compiled, connections open

    served = _time_pages(client, args.requests)
    baseline = _time_pages(client, args.baseline_requests, before=lambda: precompute()[1])
    p95, base95 = _p95(served), _p95(baseline)
    print(
        f"outcomes page, precomputed: median {statistics.median(served):.1f} ms, p95 {p95:.1f} ms over {len(served)} requests"
    )
    print(
        f"baseline, aggregated on each request: median {statistics.median(baseline):.1f} ms, p95 {base95:.1f} ms over {len(baseline)} requests"
    )
    verdict = "meets" if p95 < GOAL_P95_MS else "MISSES"
    print(
        f"goal p95 < {GOAL_P95_MS:.0f} ms for {people.num_rows:,} people: {verdict} ({p95:.1f} ms; baseline {base95:.1f} ms)"
    )
    return 0 if p95 < GOAL_P95_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())

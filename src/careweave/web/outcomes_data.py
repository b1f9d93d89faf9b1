"""The outcomes page's precompute: the record read into one row per person (the planning population:
people with a national data opt-out are left out) and one row per month and deprivation quintile,
aggregated and suppressed (`outcomes_aggregate`), and kept as an `OutcomeSnapshot` the page serves.

Run by `refresh_outcomes_task` on the task queue (ADR 0015), which the page enqueues when its
snapshot is older than the current segmentation run, and by `refresh_outcomes` directly (tests,
bench, `careweave demo`). Audited as a system event with counts only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Final

import pyarrow as pa
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django_tasks import task

from careweave.governance.audit import record_system_event
from careweave.jobs.models import JobMark
from careweave.medicines.review import review_inputs
from careweave.population.features import EMERGENCY_CLASS, INPATIENT_CLASSES
from careweave.population.medicines import MedicinesReview, review
from careweave.questionnaires.models import OutcomeSnapshot, ResponseRecord
from careweave.record import models as rm
from careweave.segmentation.continuity import continuity_from_record
from careweave.segmentation.models import Cluster, PersonSegment, SegmentationRun
from careweave.segmentation.services import current_run
from careweave.web.outcomes_aggregate import MONTHLY_SCHEMA, PEOPLE_SCHEMA, QUINTILES, aggregate
from careweave.web.outcomes_rules import broad_ethnic_group
from careweave.web.population import AGE_BANDS, NOT_KNOWN
from careweave.web.referral_population import _waiting

REFRESH_OUTCOMES: Final = "refresh_outcomes"  # the JobMark that keeps one refresh waiting at most
PREM_URL: Final = "https://fhir.careweave.org/Questionnaire/coordination-prem"
MONTHS: Final = 24
PLANNING: Final = Q(person__national_data_opt_out=False)


def month_keys(as_of: dt.date, count: int = MONTHS) -> list[str]:
    """The `count` whole months before `as_of`'s month, oldest first (YYYY-MM)."""
    year, month = as_of.year, as_of.month
    keys = []
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        keys.append(f"{year:04d}-{month:02d}")
    return keys[::-1]


def _age_band(birth: dt.date | None, as_of: dt.date) -> str:
    if birth is None:
        return NOT_KNOWN
    age = as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))
    return next(label for label, low, high in AGE_BANDS if low <= age < high)


def _quintile(decile: int | None) -> str:
    return QUINTILES[(decile - 1) // 2] if decile else QUINTILES[-1]


def _medicines(as_of: dt.date) -> dict[int, int] | None:
    """Findings per person, or None if the review cannot run on this record."""
    try:
        found = review(review_inputs(), MedicinesReview.of(as_of), "duckdb")
    except (LookupError, ValueError) as problem:  # e.g. no medicines at all in the record
        record_system_event(
            "outcomes", "outcomes refresh", detail=f"medicines review unavailable: {type(problem).__name__}"
        )
        return None
    counts: dict[int, int] = defaultdict(int)
    for finding in found:
        counts[finding.person_id] += 1
    return counts


def person_table(as_of: dt.date, run: SegmentationRun | None) -> pa.Table:
    """One row per person in the planning population (PEOPLE_SCHEMA); never leaves the precompute."""
    start = as_of - dt.timedelta(days=365)
    window = Q(start__date__gt=start, start__date__lte=as_of)
    labels = {c.number: f"{c.number}: {c.label}" for c in Cluster.objects.filter(run=run)} if run else {}
    clusters = (
        dict(PersonSegment.objects.filter(PLANNING, run=run).values_list("person_id", "cluster"))
        if run
        else {}
    )
    encounters: dict[int, dict[str, Any]] = {
        row["person_id"]: dict(row)
        for row in rm.Encounter.objects.filter(PLANNING, window)
        .values("person_id")
        .annotate(
            emergency=Count("pk", filter=Q(unplanned=True, class_code__in=INPATIENT_CLASSES)),
            ae=Count("pk", filter=Q(class_code=EMERGENCY_CLASS)),
            contacts=Count("pk"),
            organisations=Count("organisation", distinct=True),
        )
    }
    prem: dict[int, float] = {}
    for person, score in (
        ResponseRecord.objects.filter(
            PLANNING, questionnaire_url=PREM_URL, authored__date__gt=start, score__isnull=False
        )
        .order_by("authored")
        .values_list("person_id", "score")
    ):
        if score is not None:
            prem[person] = float(score)  # the latest in the window
    upc = {int(c.person): c.upc for c in continuity_from_record(start=start, end=as_of)}
    medicines = _medicines(as_of)
    waits: dict[int, float] = {}
    for w in _waiting(as_of):
        waits[w.person_pk] = max(waits.get(w.person_pk, 0.0), float(w.weeks))
    columns: dict[str, list[Any]] = {name: [] for name in PEOPLE_SCHEMA.names}
    rows = rm.Person.objects.filter(national_data_opt_out=False).values_list(
        "pk", "birth_date", "sex", "imd_decile", "ethnicity_code", "deceased_date"
    )
    for pk, birth, sex, decile, ethnicity, died_on in rows.iterator(chunk_size=20_000):
        seen = encounters.get(pk, {})
        cluster = clusters.get(pk)
        columns["cluster"].append(
            labels.get(cluster, f"{cluster}") if cluster is not None else "Not in a cluster"
        )
        columns["age_band"].append(_age_band(birth, as_of))
        columns["sex"].append(sex or NOT_KNOWN)
        columns["imd"].append(_quintile(decile))
        columns["ethnicity"].append(broad_ethnic_group(ethnicity))
        columns["emergency"].append(seen.get("emergency", 0))
        columns["ae"].append(seen.get("ae", 0))
        columns["died"].append(died_on is not None and start < died_on <= as_of)
        columns["prem"].append(prem.get(pk))
        columns["upc"].append(upc.get(pk))
        columns["medicines"].append(medicines.get(pk, 0) if medicines is not None else None)
        columns["wait_weeks"].append(waits.get(pk))
        columns["contacts"].append(seen.get("contacts", 0))
        columns["organisations"].append(seen.get("organisations", 0))
    return pa.table(columns, schema=PEOPLE_SCHEMA)


def monthly_table(as_of: dt.date) -> pa.Table:
    """Emergency admissions and A&E attendances per month and deprivation quintile (counts only)."""
    months = month_keys(as_of)
    first = dt.date.fromisoformat(months[0] + "-01")
    end = dt.date(as_of.year, as_of.month, 1)
    counted = (
        rm.Encounter.objects.filter(PLANNING, start__date__gte=first, start__date__lt=end)
        .annotate(month=TruncMonth("start"))
        .values("month", "person__imd_decile")
        .annotate(
            emergency=Count("pk", filter=Q(unplanned=True, class_code__in=INPATIENT_CLASSES)),
            ae=Count("pk", filter=Q(class_code=EMERGENCY_CLASS)),
        )
    )
    columns: dict[str, list[Any]] = {name: [] for name in MONTHLY_SCHEMA.names}
    for row in counted:
        columns["month"].append(row["month"].strftime("%Y-%m"))
        columns["imd"].append(_quintile(row["person__imd_decile"]))
        columns["emergency"].append(row["emergency"])
        columns["ae"].append(row["ae"])
    return pa.table(columns, schema=MONTHLY_SCHEMA)


def refresh_outcomes(as_of: dt.date | None = None) -> OutcomeSnapshot:
    """Compute and keep the outcomes page's aggregates for `as_of` (default: the current run's date)."""
    run = current_run()
    when = as_of or (run.as_of if run is not None else timezone.localdate())
    people = person_table(when, run)
    data = aggregate(
        people,
        monthly_table(when),
        months=month_keys(when),
        medicines_available=people.column("medicines").null_count < people.num_rows or people.num_rows == 0,
    )
    snapshot = OutcomeSnapshot.objects.create(
        run_id=run.pk if run is not None else None, as_of=when, people=people.num_rows, data=data
    )
    record_system_event(
        "outcomes", "outcomes refresh", detail=f"{people.num_rows} people aggregated, as of {when}"
    )
    return snapshot


@task()
def refresh_outcomes_task() -> dict[str, Any]:
    # cleared when it starts (as the population refresh's mark): a run finished meanwhile asks again
    JobMark.objects.filter(key=REFRESH_OUTCOMES).update(pending_since=None)
    snapshot = refresh_outcomes()
    return {"snapshot": snapshot.pk, "people": snapshot.people}

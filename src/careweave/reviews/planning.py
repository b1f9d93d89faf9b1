"""``careweave reviews plan``: the extract built from the record (as ``careweave register`` builds it),
the Django-free planner run on it, and each review printed with the NHS number and the usual
clinician's name. Audited as a system event with counts only, never patient data."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from careweave.governance.audit import record_system_event
from careweave.population.reviews import Review, plan_reviews, requisition, reviews_from_plan
from careweave.record import models as rm
from careweave.segmentation.extract import build_extract, default_as_of
from careweave.terminology.loading.reviews import ReviewPlanning, load_review_planning


class UnknownPerson(ValueError):
    """The --person given is neither an NHS number nor a CareWeave person id in the record."""


def resolve_person(value: str) -> int:
    """The person whose NHS number (spaces allowed) or CareWeave person id is ``value``."""
    digits = value.replace(" ", "")
    found = rm.Person.objects.filter(nhs_number=digits).values_list("pk", flat=True).first()
    if found is None and digits.isdigit() and len(digits) < 10:
        found = rm.Person.objects.filter(pk=int(digits)).values_list("pk", flat=True).first()
    if found is None:
        raise UnknownPerson(f"--person {value!r}: no person in the record")
    return int(found)


def planned_reviews(
    when: dt.date, *, person: int | None = None, engine: Literal["duckdb", "spark"] = "duckdb"
) -> tuple[list[Review], ReviewPlanning]:
    """The planner's reviews on ``when`` (all, or ``person``'s), with the planning data they came from."""
    planning = load_review_planning()
    interpreter = rm.Person.objects.filter(interpreter_required=True).values_list("pk", flat=True)
    plan = plan_reviews(build_extract(), when, engine, planning=planning, interpreter=set(interpreter))
    return reviews_from_plan(plan, planning, None if person is None else [person]), planning


def review_plan(
    *, as_of: dt.date | None = None, person: int | None = None, engine: Literal["duckdb", "spark"] = "duckdb"
) -> list[dict[str, Any]]:
    """Every review due in the horizon on ``as_of`` (default today), or ``person``'s, as printed objects."""
    when = as_of or default_as_of()
    reviews, planning = planned_reviews(when, person=person, engine=engine)
    people = {
        pk: (nhs, logical_id)
        for pk, nhs, logical_id in rm.Person.objects.filter(
            pk__in=[r.person_id for r in reviews]
        ).values_list("pk", "nhs_number", "resource__logical_id")
    }
    practitioners = {
        pk: {"id": logical_id, "name": name or None}
        for pk, logical_id, name in rm.Practitioner.objects.filter(
            pk__in={r.usual_practitioner_id for r in reviews if r.usual_practitioner_id is not None}
        ).values_list("pk", "resource__logical_id", "name")
    }
    listing = [
        {
            **review.as_json(
                nhs_number=people[review.person_id][0] or None,
                usual_clinician=practitioners.get(review.usual_practitioner_id)
                if review.usual_practitioner_id is not None
                else None,
            ),
            "requisition": requisition(review, planning, patient=f"Patient/{people[review.person_id][1]}"),
        }
        for review in reviews
    ]
    record_system_event(
        "review-plan",
        "careweave reviews plan",
        detail=f"as of {when.isoformat()}: {len(listing)} reviews, "
        f"{sum(len(r.items) for r in reviews)} items, {sum(len(r.bloods) for r in reviews)} laboratory tests"
        + (" (one person)" if person is not None else ""),
    )
    return listing

"""The practice planner's writes (issue 14, items 4 and 6): the plan precomputed per practice, the
practice's settings and sessions, booking a review (FHIR Appointments and the blood requisition
written into the record through the importer, as any sender's are), and recording a review.

Each write is atomic and decided and audited through `governance.access.open_record`; a problem the
user can correct raises `PlannerError` naming the form field.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from careweave.fhir.importer import Importer, workspace_importer
from careweave.fhir.outcome import Refused
from careweave.governance.access import (
    Permission,
    RecordAccess,
    open_record,
)
from careweave.governance.audit import record_system_event
from careweave.population.reviews import requisition
from careweave.record import models as rm
from careweave.reviews.models import Booking, ClinicSession, PlannedReview, PlannerSettings, RecallMode
from careweave.reviews.planning import planned_reviews
from careweave.terminology.loading.reviews import CLINICIAN_TYPES

#: FHIR R4 Appointment.serviceType text for the two appointments a booking writes
REVIEW_SERVICE: Final = "Long-term conditions review"
PHLEBOTOMY_SERVICE: Final = "Blood test before the review"
#: A person who did not attend (FHIR Appointment status noshow) this many times in the look-back is
#: listed for a different approach rather than recalled again (issue 14, item 4).
MISSED_FOR_DIFFERENT_APPROACH: Final = 2
LOOK_BACK_DAYS: Final = 730
MAX_SESSIONS: Final = 20


class PlannerError(ValueError):
    """A problem the user can fix: `field` is the id of the form field it belongs to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# -- the precomputed plan ------------------------------------------------------------------------


def _different_approach(person_ids: Sequence[int], as_of: dt.date) -> dict[int, str]:
    since = dt.datetime.combine(as_of - dt.timedelta(days=LOOK_BACK_DAYS), dt.time(), dt.UTC)
    missed = (
        rm.Appointment.objects.filter(person_id__in=person_ids, start__gte=since)
        .values("person_id")
        .annotate(
            noshow=Count("pk", filter=Q(status="noshow")),
            declined=Count("pk", filter=Q(status="cancelled", description__icontains="declined")),
        )
    )
    found: dict[int, str] = {}
    for row in missed:
        if row["noshow"] >= MISSED_FOR_DIFFERENT_APPROACH:
            found[row["person_id"]] = f"Did not attend {row['noshow']} times in 2 years"
        elif row["noshow"] + row["declined"] >= MISSED_FOR_DIFFERENT_APPROACH:
            found[row["person_id"]] = "Declined or did not attend twice in 2 years"
    return found


def refresh_plans(*, as_of: dt.date, actor: str = "careweave reviews refresh") -> int:
    """Plan every review on ``as_of`` and keep it per registered practice, replacing the last plan."""
    reviews, _ = planned_reviews(as_of)
    people = {
        pk: (practice, born)
        for pk, practice, born in rm.Person.objects.filter(pk__in=[r.person_id for r in reviews]).values_list(
            "pk", "registered_practice_id", "birth_date"
        )
    }
    approach = _different_approach([r.person_id for r in reviews], as_of)
    rows = [
        PlannedReview(
            practice_id=people[r.person_id][0],
            person_id=r.person_id,
            planned_on=as_of,
            review_date=r.review_date,
            phlebotomy_date=r.phlebotomy_date,
            overdue=any(i.overdue for i in r.items),
            slot_minutes=r.slot_minutes,
            slot_reasons=list(r.slot_reasons),
            clinician_type=r.clinician_type,
            usual_practitioner_id=r.usual_practitioner_id,
            items=(printed := r.as_json(nhs_number=None, usual_clinician=None))["items"],
            bloods=printed["bloods"],
            birth_month=born.month if (born := people[r.person_id][1]) else None,
            different_approach=approach.get(r.person_id, ""),
        )
        for r in reviews
        if people.get(r.person_id, (None, None))[0] is not None
    ]
    with transaction.atomic():
        PlannedReview.objects.all().delete()
        PlannedReview.objects.bulk_create(rows, batch_size=2000)
    record_system_event(
        "review-plan-refresh", actor, detail=f"as of {as_of.isoformat()}: {len(rows)} reviews"
    )
    return len(rows)


# -- the practice's settings ---------------------------------------------------------------------


def settings_for(practice: rm.Organisation) -> PlannerSettings:
    return PlannerSettings.objects.filter(practice=practice).first() or PlannerSettings(practice=practice)


@dataclass(frozen=True)
class SessionData:
    clinician_type: str
    weekday: int
    minutes: int


def save_settings(
    *,
    user: Any,
    practice: rm.Organisation,
    recall: str,
    recall_month: int | None,
    weekly_cap: int | None,
    slot_minutes: int | None,
    sessions: Sequence[SessionData],
) -> PlannerSettings:
    """Replace the practice's planner settings and weekly sessions (staff of that practice only)."""
    if getattr(getattr(user, "staff_profile", None), "organisation_id", None) != practice.pk:
        raise PlannerError("Only staff of this practice can change its planner", "recall")
    if recall not in RecallMode.values:
        raise PlannerError("Choose when people are recalled", "recall")
    if recall == RecallMode.MONTH and not (recall_month and 1 <= recall_month <= 12):
        raise PlannerError("Choose the month people are recalled in", "recall_month")
    if weekly_cap is None or not 1 <= weekly_cap <= 2000:
        raise PlannerError("Enter the most reviews a week, a whole number from 1 to 2000", "weekly_cap")
    if slot_minutes is None or not 5 <= slot_minutes <= 60:
        raise PlannerError("Enter a standard slot length from 5 to 60 minutes", "slot_minutes")
    if len(sessions) > MAX_SESSIONS:
        raise PlannerError(f"Enter {MAX_SESSIONS} sessions or fewer", "sessions")
    for i, s in enumerate(sessions):
        if s.clinician_type not in CLINICIAN_TYPES or not 0 <= s.weekday <= 4 or not 15 <= s.minutes <= 600:
            raise PlannerError(
                f"Session {i + 1}: choose a clinician, a weekday and a length from 15 to 600 minutes",
                f"session-{i}-minutes",
            )
    with transaction.atomic():
        saved, _ = PlannerSettings.objects.update_or_create(
            practice=practice,
            defaults={
                "recall": recall,
                "recall_month": recall_month if recall == RecallMode.MONTH else None,
                "weekly_cap": weekly_cap,
                "slot_minutes": slot_minutes,
                "updated_by": user,
            },
        )
        ClinicSession.objects.filter(practice=practice).delete()
        ClinicSession.objects.bulk_create(
            ClinicSession(
                practice=practice, clinician_type=s.clinician_type, weekday=s.weekday, minutes=s.minutes
            )
            for s in sessions
        )
    return saved


# -- booking ---------------------------------------------------------------------------------------


def importer_for(user: Any) -> Importer:
    return workspace_importer(user)


def _open_for_write(user: Any, person: rm.Person, resource_type: str) -> RecordAccess:
    return open_record(
        user=user,
        person=person,
        action="create",
        resource_type=resource_type,
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )


def write_bundle(user: Any, resources: Sequence[dict[str, Any]], field: str) -> list[str]:
    """Write ``resources`` (``id``: a local urn:uuid) as one transaction: all or nothing; their new ids."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": {k: v for k, v in r.items() if k != "id"},
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in resources
        ],
    }
    try:
        entries = importer_for(user).import_bundle(bundle)
    except Refused as refused:  # our own resources refused: said plainly, nothing written
        raise PlannerError(f"The record refused this: {refused.issues[0].message}", field) from None
    return [str(e.logical_id) for e in entries]


def _appointment(
    person: rm.Person,
    start: dt.datetime,
    minutes: int,
    service: str,
    *,
    based_on: str | None,
    practitioner: str | None,
) -> dict[str, Any]:
    participant: list[dict[str, Any]] = [
        {"actor": {"reference": f"Patient/{person.resource.logical_id}"}, "status": "accepted"}
    ]
    if practitioner:
        participant.append({"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"})
    appointment: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [{"text": service}],
        "description": service,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(minutes=minutes)).isoformat(),
        "minutesDuration": minutes,
        "participant": participant,
    }
    if based_on:
        appointment["basedOn"] = [{"reference": f"urn:uuid:{based_on}"}]
    return appointment


def book_review(*, user: Any, planned: PlannedReview, start: dt.datetime) -> Booking:
    """Book ``planned``: the review Appointment, and when tests are due the requisition (one
    ServiceRequest, the tests as its orderDetail) and the phlebotomy Appointment before it, written
    into the record as one transaction; nothing is written if any part is refused."""
    person = rm.Person.objects.select_related("resource").get(pk=planned.person_id)
    access = _open_for_write(user, person, "Appointment")
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    if start.date() < timezone.localdate():
        raise PlannerError("Choose a date for the review that is not in the past", "start-day")
    practice_settings = settings_for(planned.practice)
    minutes = practice_settings.slot_minutes * max(1, round(planned.slot_minutes / 15))
    practitioner = (
        rm.Practitioner.objects.filter(pk=planned.usual_practitioner_id or 0)
        .values_list("resource__logical_id", flat=True)
        .first()
    )
    resources: list[dict[str, Any]] = []
    request_id = None
    if planned.bloods:
        lead = (planned.review_date - planned.phlebotomy_date).days if planned.phlebotomy_date else 7
        bleed_day = max(timezone.localdate(), start.date() - dt.timedelta(days=max(lead, 3)))
        while bleed_day.weekday() > 4 and bleed_day < start.date():
            bleed_day += dt.timedelta(days=1)
        bleed = timezone.make_aware(dt.datetime.combine(bleed_day, dt.time(9, 0)))
        request = _requisition(planned, person, bleed_day)
        request_id = request["id"]
        resources.append(request)
        resources.append(
            _appointment(person, bleed, 10, PHLEBOTOMY_SERVICE, based_on=request_id, practitioner=None)
        )
    review = _appointment(
        person, start, minutes, REVIEW_SERVICE, based_on=request_id, practitioner=practitioner
    )
    resources.append(review)
    with transaction.atomic():
        ids = write_bundle(user, resources, "start-day")
        booking = Booking.objects.create(
            person=person,
            practice=planned.practice,
            review_start=start,
            appointment_id=ids[-1],
            requisition_id=ids[0] if request_id else "",
            phlebotomy_id=ids[1] if request_id else "",
            items=planned.items,
            booked_by=user,
        )
        for kind, logical_id in zip([r["resourceType"] for r in resources], ids, strict=True):
            access.audit(action="create", resource_type=kind, resource_id=logical_id)
    return booking


def _requisition(planned: PlannedReview, person: rm.Person, bleed_day: dt.date) -> dict[str, Any]:
    from careweave.population.reviews import BloodTest, Review
    from careweave.terminology.loading.reviews import load_review_planning

    review = Review(
        person_id=person.pk,
        review_date=planned.review_date,
        phlebotomy_date=bleed_day,
        items=(),
        bloods=tuple(
            BloodTest(b["id"], b["test"], b["sample"], tuple((r["rule"], r["item"]) for r in b["reasons"]))
            for b in planned.bloods
        ),
        slot_minutes=planned.slot_minutes,
        slot_reasons=(),
        clinician_type=planned.clinician_type,
        usual_practitioner_id=None,
    )
    body = requisition(review, load_review_planning(), patient=f"Patient/{person.resource.logical_id}")
    assert body is not None  # bloods are due
    body.update(
        id=str(uuid.uuid4()), status="active", intent="order", authoredOn=timezone.localdate().isoformat()
    )
    return body


def bookings_for(practice: rm.Organisation, limit: int = 50) -> list[Booking]:
    return list(Booking.objects.filter(practice=practice, completed_at=None).select_related("person")[:limit])


def planned_for(practice: rm.Organisation, pks: Sequence[int]) -> Mapping[int, PlannedReview]:
    return PlannedReview.objects.filter(practice=practice, pk__in=pks).select_related("person").in_bulk()

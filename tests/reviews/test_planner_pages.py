"""The practice planner through its pages: the plan precomputed from the record, the practice's
settings, booking (the review and phlebotomy Appointments and the requisition written into the record
as one transaction, served at /fhir through governance), and the review template that records coded
Observations and moves the care plan's next review date in one save."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from django.test import Client
from django.utils import timezone

from careweave.care.models import CarePlan
from careweave.governance.models import ApiToken, AuditEntry, Role
from careweave.record import models as rm
from careweave.reviews import services
from careweave.reviews.models import Booking, ClinicSession, PlannedReview, PlannerSettings
from tests.factories import StaffFactory, StoredResourceFactory
from tests.reviews.test_reviews_cli import A, record  # noqa: F401

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2024, 3, 31)


@pytest.fixture
def planned(record: None) -> PlannedReview:  # noqa: F811
    assert services.refresh_plans(as_of=AS_OF) == 1
    return PlannedReview.objects.get()


@pytest.fixture
def practice() -> rm.Organisation:
    return rm.Organisation.objects.get(resource__logical_id="org-1")


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def nurse(practice: rm.Organisation) -> Any:
    return StaffFactory(role=Role.NURSE, organisation=practice)


def test_the_plan_is_precomputed_per_practice(planned: PlannedReview, practice: rm.Organisation) -> None:
    assert planned.practice == practice and planned.person.nhs_number == A
    assert planned.overdue and planned.slot_minutes == 30 and planned.clinician_type == "nurse"
    assert [b["id"] for b in planned.bloods] == ["lipids", "urine_acr"]
    assert planned.different_approach == ""


def test_planner_page_weeks_and_settings(planned: PlannedReview, nurse: Any) -> None:
    client = _client(nurse)
    page = client.get("/reviews/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Week 1, from 25 March 2024" in html and "pa Test" in html and "Overdue" in html
    assert AuditEntry.objects.filter(
        actor=nurse, action="review-planner-read", person_id=planned.person_id
    ).exists()
    saved = client.post("/reviews/settings/", {
        "recall": "birth-month", "recall_month": "", "weekly_cap": "40", "slot_minutes": "20", "session-count": "2",
        "session-0-clinician_type": "nurse", "session-0-weekday": "1", "session-0-minutes": "180",
        "session-1-clinician_type": "", "session-1-weekday": "0", "session-1-minutes": "",
    })  # fmt: skip
    assert saved.status_code == 302
    settings = PlannerSettings.objects.get()
    assert (settings.recall, settings.weekly_cap, settings.slot_minutes) == ("birth-month", 40, 20)
    assert list(ClinicSession.objects.values_list("clinician_type", "weekday", "minutes")) == [
        ("nurse", 1, 180)
    ]
    html = client.get("/reviews/").content.decode()
    assert "1 reviews, 40 of 180 minutes" in html  # a double slot of the practice's 20 minutes
    bad = client.post(
        "/reviews/settings/",
        {"recall": "month", "recall_month": "", "weekly_cap": "40", "slot_minutes": "20"},
    )
    assert bad.status_code == 400 and "Choose the month people are recalled in" in bad.content.decode()
    assert PlannerSettings.objects.get().recall == "birth-month"


def test_someone_who_missed_twice_gets_a_different_approach(record: None) -> None:  # noqa: F811
    person = rm.Person.objects.get(nhs_number=A)
    for day in (1, 2):
        rm.Appointment.objects.create(
            person=person, resource=StoredResourceFactory(resource_type="Appointment", person=person),
            status="noshow", start=timezone.make_aware(dt.datetime(2024, 1, day, 9)),
        )  # fmt: skip
    services.refresh_plans(as_of=AS_OF)
    assert "Did not attend 2 times" in PlannedReview.objects.get().different_approach


def test_staff_of_another_organisation_see_no_one(planned: PlannedReview) -> None:
    other = rm.Organisation.objects.create(
        resource=StoredResourceFactory(resource_type="Organization"), name="Elsewhere"
    )
    html = _client(StaffFactory(role=Role.GP, organisation=other)).get("/reviews/").content.decode()
    assert "pa Test" not in html
    assert (
        _client(StaffFactory(role=Role.GP, organisation=other))
        .get(f"/reviews/planned/{planned.pk}/book/")
        .status_code
        == 404
    )


def _book(client: Client, planned: PlannedReview, day: dt.date) -> Any:
    return client.post(f"/reviews/planned/{planned.pk}/book/", {
        "start-day": str(day.day), "start-month": str(day.month), "start-year": str(day.year), "time": "10:30",
    })  # fmt: skip


def test_booking_writes_appointments_and_requisition(planned: PlannedReview, nurse: Any) -> None:
    client = _client(nurse)
    assert client.get(f"/reviews/planned/{planned.pk}/book/").status_code == 200
    day = timezone.localdate() + dt.timedelta(days=14)
    assert _book(client, planned, day).status_code == 302
    booking = Booking.objects.get()
    appointments = {a.resource.logical_id: a for a in rm.Appointment.objects.filter(person=planned.person)}
    review, bleed = appointments[booking.appointment_id], appointments[booking.phlebotomy_id]
    assert review.status == "booked" and timezone.localtime(review.start).date() == day
    assert (
        review.practitioner is not None and review.practitioner.resource.logical_id == "gp-1"
    )  # the usual clinician
    assert bleed.start < review.start and (review.start - bleed.start).days >= 3
    request = orjson.loads(
        rm.StoredResource.objects.get(resource_type="ServiceRequest", logical_id=booking.requisition_id).body
    )
    assert request["intent"] == "order" and [d["coding"][0]["code"] for d in request["orderDetail"]] == [
        "lipids",
        "urine_acr",
    ]
    # served at /fhir through governance
    token = ApiToken.issue(nurse, "test")
    found = Client().get(
        f"/fhir/Appointment?patient={planned.person.resource.logical_id}",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert found.status_code == 200 and orjson.loads(found.content)["total"] == 2
    # on the person's summary
    assert "Long-term conditions review" in client.get(f"/people/{planned.person_id}/").content.decode()


def test_booking_in_the_past_writes_nothing(planned: PlannedReview, nurse: Any) -> None:
    response = _book(_client(nurse), planned, timezone.localdate() - dt.timedelta(days=1))
    assert response.status_code == 400 and "not in the past" in response.content.decode()
    assert not Booking.objects.exists() and not rm.Appointment.objects.exists()
    bad = _client(nurse).post(
        f"/reviews/planned/{planned.pk}/book/",
        {"start-day": "31", "start-month": "2", "start-year": "2030", "time": "x"},
    )
    assert bad.status_code == 400 and not rm.Appointment.objects.exists()


def test_review_template_records_observations_and_next_review(planned: PlannedReview, nurse: Any) -> None:
    client = _client(nurse)
    _book(client, planned, timezone.localdate() + dt.timedelta(days=7))
    booking = Booking.objects.get()
    page = client.get(f"/reviews/bookings/{booking.pk}/")
    assert page.status_code == 200 and "Urine albumin" in page.content.decode()
    before = rm.Observation.objects.filter(person=planned.person).count()
    next_review = timezone.localdate() + dt.timedelta(days=365)
    # an impossible next review date: nothing is written
    refused = client.post(
        f"/reviews/bookings/{booking.pk}/",
        {"item-0-done": "yes", "next-day": "40", "next-month": "1", "next-year": "2030"},
    )
    assert (
        refused.status_code == 400 and rm.Observation.objects.filter(person=planned.person).count() == before
    )
    saved = client.post(f"/reviews/bookings/{booking.pk}/", {
        "item-0-done": "yes", "item-0-value": "3.1", "item-2-value": "132/80",
        "next-day": str(next_review.day), "next-month": str(next_review.month), "next-year": str(next_review.year),
    })  # fmt: skip
    assert saved.status_code == 302
    new = rm.Observation.objects.filter(person=planned.person).count() - before
    assert new == 2
    plan = CarePlan.objects.get(person=planned.person, superseded_at=None)
    assert plan.review_date == next_review
    booking.refresh_from_db()
    assert booking.completed_at is not None
    assert rm.Appointment.objects.get(resource__logical_id=booking.appointment_id).status == "fulfilled"


def test_refresh_command_keeps_the_plan_per_practice(record: None) -> None:  # noqa: F811
    from typer.testing import CliRunner

    from careweave.cli import app

    result = CliRunner().invoke(app, ["reviews", "refresh", "--as-of", "2024-03-31"])
    assert result.exit_code == 0, result.output
    assert "1 reviews planned as of 2024-03-31" in result.output
    assert PlannedReview.objects.get().planned_on == AS_OF
    assert AuditEntry.objects.filter(action="review-plan-refresh").exists()

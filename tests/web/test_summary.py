"""The one-page holistic summary: everything together, charts with text alternatives, a fixed
number of queries however long the record, audited, and only for those caring for the person."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from careweave.governance.models import AuditEntry, CareTeamMember, Role
from careweave.huddles.models import Task
from careweave.record import models as rm
from tests.web.conftest import signed_in, staff, stored

pytestmark = pytest.mark.django_db


def _add(model: type, who: rm.Person, resource_type: str, **fields: Any) -> Any:
    return model.objects.create(resource=stored(resource_type, who), person=who, **fields)


def test_the_summary_brings_the_whole_person_onto_one_page(segmented: dict[str, Any]) -> None:
    alice, gp = segmented["alice"], segmented["gp_a"]
    nurse = staff("nurse.riverside", Role.NURSE, segmented["practice_a"])
    nurse.first_name, nurse.last_name = "Nia", "Jones"
    nurse.save()
    CareTeamMember.objects.create(
        person=alice, user=nurse, role_in_team="Community matron", is_coordinator=True
    )
    _add(
        rm.Appointment,
        alice,
        "Appointment",
        description="Memory clinic",
        organisation=segmented["hospital"],
        start=timezone.now() + timedelta(days=14),
        status="booked",
    )
    Task.objects.create(
        person=alice,
        description="Arrange a carer's assessment for Carys",
        owner=nurse,
        due_date=timezone.localdate() + timedelta(days=7),
        created_by=gp,
    )

    response = signed_in(gp).get(f"/people/{alice.pk}/", {"period": "all"})  # the world's contacts are from 2025
    assert response.status_code == 200
    page = response.content.decode()
    for expected in [
        # identity, communication and access
        "Alice Zephyrine",
        "943 476 5919",
        "15 June 1950",
        "Welsh",
        "Requires large print",
        "Phone only",
        # co-ordinator and carers
        "Nia Jones (Nurse), Community matron",
        "Carys Zephyrine",
        "Daughter; carer",
        "07700 900123",
        # conditions grouped by body system, medicines with their count
        "Endocrine",
        "Circulatory",
        "Type 2 diabetes mellitus",
        "Active medicines: 1",
        "Metformin 500mg tablets",
        # social circumstances, frailty, cluster in plain words
        "Lives alone",
        "Moderate (score 0.27)",
        "Diabetes, hypertension",
        "People with diabetes and high blood pressure",
        "People in this group often live with diabetes",
        # one timeline across organisations, sectors and kinds of contact
        "Contact: Emergency admission",
        "Appointment: Memory clinic",
        "Referral: Diabetic eye screening",
        "Acute hospital",
        "General practice",
        # open referrals and how long they have waited
        "10 weeks",
        # care plan, open tasks, worklists with their reasons
        "Arrange a carer&#39;s assessment for Carys",
        "Moderate frailty (eFI 0.27)",
        "Multidisciplinary team discussion",
        "Structured medication review",
    ]:
        assert expected in page, expected
    assert "Amoxicillin" not in page  # stopped medicines are not active
    # The timeline is one list, most recent first: the booked appointment before the admission.
    assert (
        page.index("Appointment: Memory clinic")
        < page.index("Contact: Emergency admission")
        < page.index("Contact: Diabetes review")
    )


def test_key_results_have_sparklines_with_a_text_alternative_and_a_table(segmented: dict[str, Any]) -> None:
    page = signed_in(segmented["gp_a"]).get(f"/people/{segmented['alice'].pk}/").content.decode()
    # Latest values, then a small server-drawn chart whose text says what it shows...
    assert "142/88 mmHg" in page and "58 mmol/mol" in page
    assert '<svg class="careweave-sparkline" role="img"' in page
    assert 'aria-label="HbA1c: 2 readings from 71 mmol/mol on ' in page
    # ...and the same readings as a table, for anyone who cannot see the chart (and for print).
    assert "HbA1c, oldest first" in page
    readings = page[page.index("HbA1c, oldest first") :]
    assert readings.index("71 mmol/mol</td>") < readings.index("58 mmol/mol</td>")
    assert "<script src=" not in page.split("htmx.min.js")[1]  # no chart library


def test_print_styles_hide_the_controls_and_keep_the_figures(segmented: dict[str, Any], client: Any) -> None:
    page = signed_in(segmented["gp_a"]).get(f"/people/{segmented['alice'].pk}/").content.decode()
    assert "Print this summary" in page and "careweave-print-open" in page
    css = client.get("/static/careweave.css")
    text = b"".join(css.streaming_content).decode() if css.status_code == 200 else ""
    if text:  # static files are served in tests only when DEBUG is on or the finder serves them
        assert "@media print" in text and ".careweave-no-print" in text


def _bulk_record(who: rm.Person, org: rm.Organisation, n: int) -> None:
    start = timezone.make_aware(datetime(2020, 1, 1, 9, 0))
    for i in range(n):
        when = start + timedelta(days=30 * i)
        _add(rm.Encounter, who, "Encounter", organisation=org, type_display=f"Review {i}", start=when)
        _add(rm.Appointment, who, "Appointment", organisation=org, description=f"Clinic {i}", start=when)
        _add(
            rm.Observation,
            who,
            "Observation",
            system="http://loinc.org",
            code="33914-3",
            effective=when,
            value=60 - i,
            unit="mL/min/{1.73_m2}",
        )
        _add(
            rm.Observation,
            who,
            "Observation",
            system="http://loinc.org",
            code="29463-7",
            effective=when,
            value=80 + i,
            unit="kg",
        )
        _add(
            rm.Medication,
            who,
            "MedicationRequest",
            kind="MedicationRequest",
            display=f"Medicine {i}",
            status="active",
        )
        _add(
            rm.Condition,
            who,
            "Condition",
            system="http://snomed.info/sct",
            code="13645005",
            display="Chronic obstructive lung disease",
            clinical_status="active",
        )
        _add(
            rm.Referral,
            who,
            "ServiceRequest",
            status="active",
            code_display=f"Service {i}",
            to_organisation=org,
            authored_on=timezone.localdate() - timedelta(days=i),
        )
        _add(rm.SocialCircumstance, who, "Observation", kind="housing", display=f"Note {i}")
        _add(rm.RelatedPerson, who, "RelatedPerson", name=f"Relative {i}", is_carer=True)


def _queries_for(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_the_record(
    segmented: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    alice, bob, gp_a = segmented["alice"], segmented["bob"], segmented["gp_a"]
    client = signed_in(gp_a)
    small = _queries_for(client, f"/people/{alice.pk}/")
    _bulk_record(alice, segmented["hospital"], 25)
    CareTeamMember.objects.create(person=alice, user=gp_a, is_coordinator=True)
    for i in range(5):
        Task.objects.create(
            person=alice, description=f"Task {i}", owner=gp_a, due_date=timezone.localdate(), created_by=gp_a
        )
    large = _queries_for(client, f"/people/{alice.pk}/")
    assert large <= small, (small, large)  # one query per section, never one per row
    # a ceiling for the whole page: about one query per section (home readings, communication needs,
    # contact prompts and sharing choices joined the summary in the same wave as the ceiling rose to 40)
    with django_assert_max_num_queries(40):
        client.get(f"/people/{alice.pk}/")
    assert "Chronic obstructive lung disease" in client.get(f"/people/{alice.pk}/").content.decode()
    assert bob  # Bob's record is untouched by Alice's


def test_each_view_of_the_summary_is_audited(segmented: dict[str, Any]) -> None:
    alice, gp = segmented["alice"], segmented["gp_a"]
    client = signed_in(gp)
    client.get(f"/people/{alice.pk}/")
    client.get(f"/people/{alice.pk}/")
    reads = AuditEntry.objects.filter(actor=gp, action="read", person_id=alice.pk, outcome="success")
    assert reads.count() == 2


def test_someone_outside_the_persons_care_sees_nothing_of_the_summary(segmented: dict[str, Any]) -> None:
    alice, gp_b = segmented["alice"], segmented["gp_b"]
    response = signed_in(gp_b).get(f"/people/{alice.pk}/")
    assert response.status_code == 403
    page = response.content.decode()
    for secret in ["Zephyrine", "Welsh", "Diabetes, hypertension", "Moderate frailty", "Metformin", "Carys"]:
        assert secret not in page, secret
    assert AuditEntry.objects.get(actor=gp_b, action="read").outcome == "denied"


def test_a_person_without_segmentation_or_care_plan_still_has_a_summary(world: dict[str, Any]) -> None:
    page = signed_in(world["gp_b"]).get(f"/people/{world['bob'].pk}/").content.decode()
    for expected in [
        "Bob Quillfeather",
        "Not assessed",
        "Not in a cluster",
        "No care plan yet",
        "No co-ordinator named",
        "Not on any worklist",
        "No open tasks.",
    ]:
        assert expected in page, expected


def test_the_summary_shows_the_care_plan_status_review_date_and_what_matters(
    segmented: dict[str, Any],
) -> None:
    from careweave.care.models import CarePlan, CarePlanAction

    alice, gp = segmented["alice"], segmented["gp_a"]
    plan = CarePlan.objects.create(
        person=alice,
        version=2,
        what_matters="Staying at home with my cat",
        review_date=timezone.localdate() - timedelta(days=1),
        updated_by=gp,
    )
    CarePlanAction.objects.create(care_plan=plan, description="Book the falls clinic", owner=gp)
    page = signed_in(gp).get(f"/people/{alice.pk}/").content.decode()
    for expected in [
        "Staying at home with my cat",
        "version 2",
        "Review overdue",
        f"/care/people/{alice.pk}/plan/",
        "Book the falls clinic",
    ]:
        assert expected in page, expected


def test_refuted_conditions_are_not_shown_and_a_missing_status_is_current(world: dict[str, Any]) -> None:
    """The summary treats conditions as the register does (terminology/data/exclusions.yaml)."""
    bob, sct = world["bob"], "http://snomed.info/sct"
    for display, clinical, verification in [
        ("Asthma never confirmed", "active", "refuted"),
        ("Typed into the wrong record", "active", "entered-in-error"),
        ("Chronic kidney disease stage 3", "", ""),
    ]:
        rm.Condition.objects.create(
            resource=stored("Condition", bob), person=bob, system=sct, code="195967001", display=display,
            clinical_status=clinical, verification_status=verification,
        )
    page = signed_in(world["gp_b"]).get(f"/people/{bob.pk}/").content.decode()
    assert "Asthma never confirmed" not in page and "Typed into the wrong record" not in page
    current, _, past = page.partition("Past conditions")
    assert "Chronic kidney disease stage 3" in current

"""Allergies and alerts come first on the holistic summary (issue 10, item 7): allergies with substance,
reaction and criticality (high criticality first and marked), active Flags with prominent kinds (DNACPR,
emergency care plans, safeguarding) as warnings, and "no known allergies" (a recorded code) told apart
from "allergies not recorded" (nothing sent). Everything arrives through the FHIR API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from careweave.web.presenters import (
    ALLERGIES_NOT_RECORDED,
    ALLERGIES_RECORDED,
    NO_KNOWN_ALLERGIES,
    allergies_and_alerts,
)
from tests.fhir.conftest import PATIENT_ID, patient, transaction_bundle

SCT = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
PEOPLE = {"allergic": ("9434765919", PATIENT_ID), "none_known": ("9000000017", "p-nka"),
          "unknown": ("9000000025", "p-unknown"), "conflict": ("9000000033", "p-conflict")}


def _entry(n: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{n}", "request": {"method": "POST", "url": resource["resourceType"]},
            "resource": resource}


def _allergy(n: str, who: str, code: str, display: str, *, criticality: str = "", reaction: str = "",
             verification: str = "confirmed", clinical: str = "active") -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "AllergyIntolerance",
        "patient": {"reference": f"urn:uuid:{who}"},
        "code": {"coding": [{"system": SCT, "code": code, "display": display}]},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
        "category": ["medication"],
        "recordedDate": "2024-02-01",
    }
    if verification == "entered-in-error":
        del resource["clinicalStatus"]  # ait-2: an entry made in error carries no clinical status
    if criticality:
        resource["criticality"] = criticality
    if reaction:
        resource["reaction"] = [{"manifestation": [{"coding": [{"system": SCT, "code": "39579001", "display": reaction}]}]}]
    return _entry(n, resource)


def _flag(n: str, who: str, code: str, display: str, *, status: str = "active", category: str = "",
          system: str = SCT, end: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Flag",
        "status": status,
        "subject": {"reference": f"urn:uuid:{who}"},
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
        "period": {"start": "2025-03-01", **({"end": end} if end else {})},
    }
    if category:
        resource["category"] = [{"coding": [{"system": FLAG_CATEGORY, "code": category}]}]
    return _entry(n, resource)


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    bundle = transaction_bundle()
    for key, (nhs, pid) in PEOPLE.items():
        if pid != PATIENT_ID:
            bundle["entry"].append(_entry(pid, {**patient(nhs, pid), "name": [{"family": key.title()}],
                                                 "generalPractitioner": [{"reference": "urn:uuid:org-1"}]}))
    bundle["entry"] += [
        _allergy("a1", PATIENT_ID, "227493005", "Cashew nuts", criticality="low", reaction="Hives"),
        _allergy("a2", PATIENT_ID, "764146007", "Penicillin", criticality="high", reaction="Anaphylaxis"),
        _allergy("a3", PATIENT_ID, "300916003", "Latex", verification="entered-in-error"),
        _allergy("a4", PATIENT_ID, "91936005", "Allergy to penicillin (old)", clinical="resolved"),
        _allergy("a5", "p-nka", "716186003", "No known allergy"),
        _allergy("a6", "p-conflict", "716186003", "No known allergy"),
        _allergy("a7", "p-conflict", "293586001", "Aspirin", criticality="unable-to-assess"),
        _flag("f1", PATIENT_ID, "1325321000000108", "Anxiety related to clinical environment"),
        _flag("f2", PATIENT_ID, "450476008", "Not for attempted cardiopulmonary resuscitation"),
        _flag("f3", PATIENT_ID, "respect", "ReSPECT form: for ward-based care", system="urn:local",
              category="advance-directive"),
        _flag("f4", PATIENT_ID, "bigdog", "Large dog at home", system="urn:local", status="inactive"),
        _flag("f5", PATIENT_ID, "766561000000109", "Adult safeguarding concern", end="2025-04-01"),
    ]
    integrator = get_user_model().objects.create_user(username="integrator", password="a-long-test-password")
    StaffProfile.objects.create(user=integrator, role=Role.INTEGRATOR)
    response = Client().post("/fhir", json.dumps(bundle), content_type="application/fhir+json",
                             HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(integrator, 'test')}")
    assert response.status_code == 200, response.content
    gp = get_user_model().objects.create_user(username="gp", password="a-long-test-password")
    StaffProfile.objects.create(user=gp, role=Role.GP, organisation=rm.Organisation.objects.get())
    client = Client()
    client.force_login(gp)
    found = {key: rm.Person.objects.get(nhs_number=nhs) for key, (nhs, _pid) in PEOPLE.items()}
    return {"client": client, **found}


def _page(people: dict[str, Any], who: str) -> str:
    response = people["client"].get(f"/people/{people[who].pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_allergies_show_substance_reaction_and_criticality_high_first(people: dict[str, Any]) -> None:
    shown = allergies_and_alerts(people["allergic"])
    assert shown.state == ALLERGIES_RECORDED and shown.heading == "2 allergies recorded"
    assert [(a.substance, a.reactions, a.criticality) for a in shown.allergies] == [
        ("Penicillin", "Anaphylaxis", "High criticality"),
        ("Cashew nuts", "Hives", "Low criticality"),
    ]  # entered in error: not shown; resolved: counted apart
    assert len(shown.past_allergies) == 1
    page = _page(people, "allergic")
    assert "nhsuk-tag--red" in page[page.index("Penicillin") : page.index("Cashew nuts")]


def test_allergies_and_alerts_come_before_anything_else(people: dict[str, Any]) -> None:
    page = _page(people, "allergic")
    top = page.index('<section aria-labelledby="allergies-alerts"')
    assert page.index("<section", page.index("<h1")) == top  # the first section under the person's name
    # Only the one-line identity (name, NHS number, date of birth: who this is) comes before them.
    assert page.index('class="careweave-identity-strip"') < top
    for later in ('id="communication"', 'id="problems"', 'id="medicines"', 'id="results"', 'id="timeline"'):
        assert top < page.index(later), later


def test_active_flags_are_shown_prominent_kinds_first_as_warnings(people: dict[str, Any]) -> None:
    flags = allergies_and_alerts(people["allergic"]).flags
    assert [(f["kind"], f["prominent"]) for f in flags] == [
        ("DNACPR: do not attempt cardiopulmonary resuscitation", True),
        ("Emergency care plan or advance decision (e.g. ReSPECT)", True),
        ("Reasonable adjustment", False),
    ]  # the inactive flag and the one that ended are not shown
    page = _page(people, "allergic")
    section = page[page.index('id="allergies-alerts"') : page.index('id="communication"')]
    assert section.count("nhsuk-card--warning") >= 2 and "ReSPECT form: for ward-based care" in section
    assert "Large dog at home" not in page and "Adult safeguarding concern" not in section


def test_no_known_allergies_is_not_the_same_as_not_recorded(people: dict[str, Any]) -> None:
    none_known, unknown = allergies_and_alerts(people["none_known"]), allergies_and_alerts(people["unknown"])
    assert (none_known.state, none_known.heading) == (NO_KNOWN_ALLERGIES, "No known allergies")
    assert (unknown.state, unknown.heading) == (ALLERGIES_NOT_RECORDED, "Allergies not recorded")
    nka_page, unknown_page = _page(people, "none_known"), _page(people, "unknown")
    assert "No known allergies" in nka_page and "Allergies not recorded" not in nka_page
    assert "Allergies not recorded" in unknown_page and "No known allergies</strong>" not in unknown_page


def test_an_allergy_recorded_beside_no_known_allergies_wins_and_asks_for_a_check(people: dict[str, Any]) -> None:
    shown = allergies_and_alerts(people["conflict"])
    assert shown.state == ALLERGIES_RECORDED and shown.conflict
    assert [(a.substance, a.criticality) for a in shown.allergies] == [("Aspirin", "Unable to assess")]
    page = _page(people, "conflict")
    assert "was also recorded" in page and "No known allergy" not in [a.substance for a in shown.allergies]

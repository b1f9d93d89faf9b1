"""Sharing choices recorded from the workspace, the national data opt-out as a Consent, and the
link worker's pages: no diagnosis on any of them (issue 18, items 5 and 6)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careweave.care.models import CarePlan, CarePlanAction
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry, CareTeamMember, Role, SharingConsent
from careweave.record import models as rm
from careweave.web.audit import access_report_rows
from tests.governance import sharing_world as sw

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(db: Any) -> rm.Person:
    return sw.load_record()


def _web(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_choice_recorded_in_the_workspace_holds_on_the_next_request(person: rm.Person) -> None:
    gp, _ = sw.staff(Role.GP, "general-practice")
    link, token = sw.staff(Role.LINK_WORKER, "voluntary-sector")
    assert sw.get(Client(), token, f"/fhir/MedicationRequest/{sw.MEDICINE[0]}").status_code == 404
    page = _web(gp).get(f"/people/{person.pk}/sharing/")
    assert page.status_code == 200 and b"No choices recorded" in page.content
    form = {
        "form": "sharing",
        "kind": "voluntary-sector",
        "part": "medicines",
        "shared": "yes",
        "method": "verbal",
    }
    answer = _web(gp).post(f"/people/{person.pk}/sharing/", form)
    assert answer.status_code == 302
    recorded = SharingConsent.objects.get(person=person)
    assert recorded.method == "verbal" and "GP" in recorded.recorded_by and recorded.given_on is not None
    stored = rm.StoredResource.objects.get(resource_type="Consent", person=person)
    assert stored.logical_id  # in the record, served at /fhir/Consent
    assert sw.get(Client(), token, f"/fhir/MedicationRequest/{sw.MEDICINE[0]}").status_code == 200
    assert sw.get(Client(), token, "/fhir/Condition/cond-summary").status_code == 404
    page = _web(link).get(f"/people/{person.pk}/")
    assert sw.WORDS_OF["medicines"].encode() in page.content
    assert sw.WORDS_OF["summary"].encode() not in page.content


def test_the_form_names_each_missing_answer(person: rm.Person) -> None:
    gp, _ = sw.staff(Role.GP, "general-practice")
    page = _web(gp).post(f"/people/{person.pk}/sharing/", {"form": "sharing", "kind": "hairdresser"})
    assert page.status_code == 200
    for words in (
        b"Choose a kind of organisation",
        b"Choose share or do not share",
        b"Choose how the person",
    ):
        assert words in page.content
    assert not SharingConsent.objects.exists()


def test_the_national_data_opt_out_comes_from_the_consent_not_direct_care(person: rm.Person) -> None:
    gp, token = sw.staff(Role.GP, "general-practice")
    answer = _web(gp).post(
        f"/people/{person.pk}/sharing/", {"form": "opt-out", "opt_out": "yes", "method": "online"}
    )
    assert answer.status_code == 302
    person.refresh_from_db()
    assert person.national_data_opt_out
    # the Patient sent again without the old extension: the Consent still says opted out
    Importer(source_system="urn:test:sharing").import_bundle(sw.record_bundle(), "again.json")
    person.refresh_from_db()
    assert person.national_data_opt_out
    # direct care is unaffected
    assert sw.get(Client(), token, "/fhir/Condition/cond-summary").status_code == 200
    later = {"form": "opt-out", "opt_out": "no", "method": "written"}
    assert _web(gp).post(f"/people/{person.pk}/sharing/", later).status_code == 302
    person.refresh_from_db()
    assert not person.national_data_opt_out


def test_the_link_worker_sees_no_diagnosis_on_any_page(person: rm.Person) -> None:
    link, token = sw.staff(Role.LINK_WORKER, "voluntary-sector")
    gp, _ = sw.staff(Role.GP, "general-practice")
    CareTeamMember.objects.create(person=person, user=link, role_in_team="Link worker")
    CarePlan.objects.create(person=person, version=1, what_matters="Getting to the allotment", updated_by=gp)
    diagnoses = [display.encode() for _, _, display in sw.CONDITIONS.values()] + [sw.MEDICINE[1].encode()]
    web = _web(link)
    pages = [
        f"/people/{person.pk}/",
        f"/people/{person.pk}/print/",
        f"/people/{person.pk}/sharing/",
        "/people/?q=Sharingperson",
        "/today/",
        "/worklists/",
        "/tasks/",
        f"/care/people/{person.pk}/plan/",
        f"/care/people/{person.pk}/plan/print/",
        "/huddles/",
    ]
    for url in pages:
        page = web.get(url)
        assert page.status_code == 200, url
        for words in diagnoses:
            assert words not in page.content, (url, words)
    pdf = web.get(f"/care/people/{person.pk}/plan.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for words in diagnoses:
        assert words not in pdf.content
    client = Client()
    for url in (
        f"/fhir/Condition?patient={sw.PATIENT}",
        "/fhir/Condition?code=370143000",
        "/fhir/Condition?_id=cond-mh",
        f"/fhir/MedicationRequest?patient={sw.PATIENT}",
        f"/fhir/DocumentReference?patient={sw.PATIENT}",
        f"/fhir/Patient/{sw.PATIENT}/$everything",
        "/fhir/Condition/cond-mh",
        "/fhir/Condition/cond-sh/_history/1",
        "/fhir/Condition?patient=Patient/nobody",
        f"/fhir/Condition?patient={sw.PATIENT}&_include=Condition:subject",
        f"/fhir/Patient?_id={sw.PATIENT}&_revinclude=Condition:subject",
        f"/fhir/CarePlan?patient={sw.PATIENT}&_include=CarePlan:goal",
    ):
        answer = sw.get(client, token, url)
        assert answer.status_code < 500, url
        for words in diagnoses:
            assert words not in answer.content, (url, words)
    refused = AuditEntry.objects.filter(actor=link, action="withheld", outcome="denied")
    assert refused.exists()


def test_a_link_worker_sees_only_the_care_plan_actions_they_own(person: rm.Person) -> None:
    link, token = sw.staff(Role.LINK_WORKER, "voluntary-sector")
    gp, gp_token = sw.staff(Role.GP, "general-practice")
    CareTeamMember.objects.create(person=person, user=link, role_in_team="Link worker")
    plan = CarePlan.objects.create(
        person=person, version=1, what_matters="Getting to the allotment", updated_by=gp
    )
    CarePlanAction.objects.create(care_plan=plan, description="Find a walking group", owner=link, position=1)
    CarePlanAction.objects.create(
        care_plan=plan, description="Titrate the insulin dose", owner=gp, position=2
    )
    for url in (
        f"/care/people/{person.pk}/plan/",
        f"/care/people/{person.pk}/plan/print/",
        f"/people/{person.pk}/",
    ):
        page = _web(link).get(url)
        assert b"Find a walking group" in page.content, url
        assert b"Titrate the insulin dose" not in page.content, url
        assert b"Getting to the allotment" in page.content, url  # what matters: every role sees it
    gp_page = _web(gp).get(f"/care/people/{person.pk}/plan/")
    assert b"Titrate the insulin dose" in gp_page.content and b"Find a walking group" in gp_page.content
    for who, sees_gp_action in ((token, False), (gp_token, True)):
        for url in (f"/fhir/CarePlan/careplan-{person.pk}", f"/fhir/CarePlan?patient={sw.PATIENT}"):
            answer = sw.get(Client(), who, url)
            assert answer.status_code == 200, url
            assert b"Find a walking group" in answer.content
            assert (b"Titrate the insulin dose" in answer.content) == sees_gp_action, url


def test_the_persons_access_report_says_what_was_not_shown(person: rm.Person) -> None:
    _, token = sw.staff(Role.LINK_WORKER, "voluntary-sector")
    assert sw.get(Client(), token, "/fhir/Condition/cond-sh").status_code == 404
    rows = [r for r in access_report_rows(person) if r.refused]
    assert [r.what for r in rows] == ["Was not shown part of your record: you have not shared it with them"]
    assert all("sexual" not in r.what and r.reason == "" for r in rows)

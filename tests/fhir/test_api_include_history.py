"""_include, _revinclude and _history (issue 11, item 4): included resources pass through the same
scoping as a search of their own type and are audited; one the caller may not see is left out, never
leaked; every version of a resource can be listed and read."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, patient
from tests.fhir.test_api_semantics import get, world

pytestmark = pytest.mark.django_db
__all__ = ["world"]  # the fixture, shared


def kinds(bundle: dict[str, Any], mode: str) -> list[str]:
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == mode
    )


def test_include_the_patient_of_each_condition(world: dict[str, dict[str, str]]) -> None:
    status, bundle = get(f"/fhir/Condition?patient={PATIENT_ID}&_include=Condition:patient", world["gp"])
    assert status == 200
    assert kinds(bundle, "match") == ["Condition/cond-1"]
    assert kinds(bundle, "include") == [f"Patient/{PATIENT_ID}"]
    # without _include, only the matches
    status, plain = get(f"/fhir/Condition?patient={PATIENT_ID}", world["gp"])
    assert kinds(plain, "include") == []


def test_include_with_a_target_type_and_of_reference_data(world: dict[str, dict[str, str]]) -> None:
    status, bundle = get(
        f"/fhir/Observation?patient={PATIENT_ID}&_include=Observation:subject:Patient", world["gp"]
    )
    assert status == 200 and kinds(bundle, "include") == [f"Patient/{PATIENT_ID}"]
    status, bundle = get(
        f"/fhir/Observation?patient={PATIENT_ID}&_include=Observation:subject:Group", world["gp"]
    )
    assert status == 200 and kinds(bundle, "include") == []


def test_revinclude_the_conditions_of_a_patient(world: dict[str, dict[str, str]]) -> None:
    status, bundle = get(f"/fhir/Patient?_id={PATIENT_ID}&_revinclude=Condition:patient", world["gp"])
    assert status == 200
    assert kinds(bundle, "match") == [f"Patient/{PATIENT_ID}"]
    assert kinds(bundle, "include") == ["Condition/cond-1"]


def test_an_included_resource_outside_care_is_left_out_and_said_so(world: dict[str, dict[str, str]]) -> None:
    """The integrator sees everyone; a GP of another practice sees only their own patients: a search
    they may run (reference data) must not bring in a person they may not see through _revinclude."""
    status, everyone = get("/fhir/Patient?_revinclude=Condition:patient", world["integrator"])
    assert status == 200
    assert {"Condition/cond-1", "Condition/neighbour-cond"} <= set(kinds(everyone, "include"))
    status, mine = get("/fhir/Patient?_revinclude=Condition:patient", world["other_gp"])
    assert status == 200
    assert kinds(mine, "match") == ["Patient/neighbour"]
    assert kinds(mine, "include") == ["Condition/neighbour-cond"]  # cond-1 is the first practice's
    # included data of a person outside care never appears, and an include a role may not run
    # leaves the page as it was with a warning
    status, theirs = get("/fhir/Condition?_id=neighbour-cond&_include=Condition:patient", world["gp"])
    assert status == 200
    assert kinds(theirs, "match") == [] and kinds(theirs, "include") == []


def test_included_people_are_audited(world: dict[str, dict[str, str]]) -> None:
    before = AuditEntry.objects.filter(action="search", resource_type="Condition").count()
    get(f"/fhir/Patient?_id={PATIENT_ID}&_revinclude=Condition:patient", world["gp"])
    person = rm.Person.objects.get(resource__logical_id=PATIENT_ID)
    audited = AuditEntry.objects.filter(action="search", resource_type="Condition", person=person)
    assert audited.count() == before + 1


@pytest.mark.parametrize(
    "query",
    [
        "_include=Condition:nothing",
        "_include=Observation:patient",  # another type's parameter
        "_include=Condition",
        "_include=*",
        "_revinclude=Condition:code",  # not a reference
        "_include=Condition:patient:Patient:x",
    ],
)
def test_unsupported_includes_are_an_operation_outcome(world: dict[str, dict[str, str]], query: str) -> None:
    status, body = get(f"/fhir/Condition?patient={PATIENT_ID}&{query}", world["gp"])
    assert status == 400 and body["resourceType"] == "OperationOutcome", body


# -- _history -------------------------------------------------------------------------------------


def update_patient(family: str) -> None:
    Importer(source_system="urn:test").import_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": f"urn:uuid:{PATIENT_ID}",
                    "resource": {
                        **patient(),
                        "name": [{"family": family, "given": ["Alex"]}],
                        "generalPractitioner": [{"reference": "Organization/org-1"}],  # still in care
                    },
                    "request": {"method": "PUT", "url": f"Patient/{PATIENT_ID}"},
                }
            ],
        },
        "update.json",
    )


def test_history_lists_every_version_newest_first(world: dict[str, dict[str, str]]) -> None:
    update_patient("Second")
    update_patient("Third")
    status, bundle = get(f"/fhir/Patient/{PATIENT_ID}/_history", world["gp"])
    assert status == 200 and bundle["type"] == "history" and bundle["total"] == 3
    families = [e["resource"]["name"][0]["family"] for e in bundle["entry"]]
    assert families == ["Third", "Second", "Testperson"]
    assert [e["resource"]["meta"]["versionId"] for e in bundle["entry"]] == ["3", "2", "1"]
    assert all(e["request"]["method"] and e["response"]["status"] for e in bundle["entry"])
    for version, family in (("1", "Testperson"), ("2", "Second"), ("3", "Third")):
        status, resource = get(f"/fhir/Patient/{PATIENT_ID}/_history/{version}", world["gp"])
        assert status == 200 and resource["name"][0]["family"] == family
    status, missing = get(f"/fhir/Patient/{PATIENT_ID}/_history/9", world["gp"])
    assert status == 404 and missing["resourceType"] == "OperationOutcome"


def test_history_of_a_person_outside_care_is_hidden_and_audited(world: dict[str, dict[str, str]]) -> None:
    update_patient("Second")
    for url in (f"/fhir/Patient/{PATIENT_ID}/_history", f"/fhir/Patient/{PATIENT_ID}/_history/1"):
        status, body = get(url, world["other_gp"])
        assert status in (403, 404) and body["resourceType"] == "OperationOutcome"
        assert "Testperson" not in str(body) and "Second" not in str(body)
    before = AuditEntry.objects.filter(action="read", resource_type="Patient").count()
    get(f"/fhir/Patient/{PATIENT_ID}/_history", world["gp"])
    assert AuditEntry.objects.filter(action="read", resource_type="Patient").count() == before + 1


def test_history_of_every_type_and_of_a_deleted_resource(world: dict[str, dict[str, str]]) -> None:
    status, bundle = get("/fhir/Condition/cond-1/_history", world["gp"])
    assert status == 200 and bundle["total"] == 1
    status, org = get("/fhir/Organization/org-1/_history", world["gp"])
    assert status == 200 and org["total"] == 1
    Importer(source_system="urn:test").import_bundle(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"request": {"method": "DELETE", "url": "Condition/cond-1"}}],
        },
        "delete.json",
    )
    status, bundle = get("/fhir/Condition/cond-1/_history", world["gp"])
    assert status == 200 and [e["request"]["method"] for e in bundle["entry"]] == ["DELETE", "POST"]
    status, gone = get("/fhir/Condition/cond-1/_history/2", world["gp"])
    assert status == 410
    status, unknown = get("/fhir/Condition/nothing/_history", world["gp"])
    assert status == 404
    response = Client().post(f"/fhir/Patient/{PATIENT_ID}/_history", headers=world["gp"])
    assert response.status_code == 405

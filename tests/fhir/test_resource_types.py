"""The resource registry drives import, search, $everything and the CapabilityStatement: shown with
AllergyIntolerance and Flag, added through it alone, on the official HL7 R4 examples."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
import requests
from fhirpy import SyncFHIRClient

from careweave.fhir import resource_types
from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.record import models as rm
from tests.conftest import shared_data_dir
from tests.fhir.test_api import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.shared_data]

EXAMPLES = (
    "Patient-example.json",
    "AllergyIntolerance-example.json",
    "AllergyIntolerance-medication.json",
    "AllergyIntolerance-fishallergy.json",
    "Flag-example.json",
    "Flag-example-encounter.json",
)


def _import_examples() -> Importer:
    folder = shared_data_dir("fhir-r4-examples")
    importer = Importer(source_system="urn:hl7-examples")
    for name in EXAMPLES:
        importer.import_resource(orjson.loads((folder / name).read_bytes()), name)
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]
    return importer


@pytest.fixture
def examples(live_server: Any) -> dict[str, Any]:
    _import_examples()
    base = f"{live_server.url}/fhir"
    token = make_user("integrator", Role.INTEGRATOR, None)
    return {"base": base, "token": token, "client": SyncFHIRClient(base, authorization=f"Bearer {token}")}


def test_allergies_and_flags_import_into_the_record_with_what_a_clinician_needs() -> None:
    importer = _import_examples()
    person = rm.Person.objects.get(resource__logical_id="example")
    cashew = rm.Allergy.objects.get(resource__logical_id="example")
    assert cashew.person == person
    assert (cashew.system, cashew.code, cashew.display) == (
        "http://snomed.info/sct",
        "227493005",
        "Cashew nuts",
    )
    assert (cashew.clinical_status, cashew.verification_status) == ("active", "confirmed")
    assert (cashew.criticality, cashew.category) == ("high", "food")
    assert (cashew.onset, cashew.recorded_date) == (date(2004, 1, 1), date(2014, 10, 9))
    assert cashew.reactions == "Anaphylactic reaction; Urticaria"  # two reactions, each manifestation once
    penicillin = rm.Allergy.objects.get(resource__logical_id="medication")
    assert (penicillin.category, penicillin.verification_status, penicillin.reactions) == (
        "medication",
        "unconfirmed",
        "Hives",
    )
    dog = rm.Flag.objects.get(resource__logical_id="example")
    assert (dog.code, dog.status, dog.category) == ("bigdog", "inactive", "safety")
    assert (dog.start, dog.end) == (date(2015, 1, 17), date(2016, 12, 1))
    assert rm.Flag.objects.get(resource__logical_id="example-encounter").status == "active"
    assert (
        rm.StoredResource.objects.filter(
            resource_type__in=("AllergyIntolerance", "Flag"), modelled=True
        ).count()
        == 5
    )
    # and again: recognised, unchanged
    again = _import_examples()
    assert again.summary.total("unchanged") == len(EXAMPLES) and again.summary.total("created") == 0
    assert rm.Allergy.objects.count() == 3 and importer.summary.counts["Flag"]["created"] == 2


def test_allergies_and_flags_are_searchable_as_fhir_defines_with_fhirpy(examples: dict[str, Any]) -> None:
    client = examples["client"]

    def ids(kind: str, **params: str) -> set[str]:
        return {r["id"] for r in client.resources(kind).search(**params).fetch_all()}

    assert ids("AllergyIntolerance", patient="example") == {"example", "medication", "fishallergy"}
    assert ids("AllergyIntolerance", patient="Patient/example", code="http://snomed.info/sct|227493005") == {
        "example"
    }
    assert ids("AllergyIntolerance", patient="example", code="7980") == {"medication"}
    assert ids("AllergyIntolerance", **{"clinical-status": "active", "date": "2015"}) == {"fishallergy"}
    assert ids("AllergyIntolerance", date="lt2012") == {"medication"}
    assert ids("AllergyIntolerance", criticality="high") == {"example", "medication"}
    assert ids("Flag", patient="example") == {"example", "example-encounter"}
    assert ids("Flag", subject="Patient/example", status="active") == {"example-encounter"}
    assert ids("Flag", code="http://example.org/local|bigdog", date="ge2015-01") == {"example"}
    refused = requests.get(
        f"{examples['base']}/Flag?severity=high",
        headers={"Authorization": f"Bearer {examples['token']}"},
        timeout=10,
    )
    assert refused.status_code == 400 and "not supported for Flag" in refused.text


def test_allergies_and_flags_appear_in_everything(examples: dict[str, Any]) -> None:
    response = requests.get(
        f"{examples['base']}/Patient/example/$everything",
        headers={"Authorization": f"Bearer {examples['token']}"},
        timeout=10,
    )
    kinds = [e["resource"]["resourceType"] for e in response.json()["entry"]]
    assert kinds.count("AllergyIntolerance") == 3 and kinds.count("Flag") == 2


def test_the_capability_statement_is_generated_from_the_registry(examples: dict[str, Any]) -> None:
    statement = requests.get(f"{examples['base']}/metadata", timeout=60).json()
    described = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for kind in resource_types.searchable():
        entry = resource_types.REGISTRY[kind]
        assert {p["name"]: p["type"] for p in described[kind]["searchParam"]} == {
            n: p.type for n, p in entry.search.items()
        }
        assert {"read", "search-type", "create", "update", "vread", "history-instance"} == {
            i["code"] for i in described[kind]["interaction"]
        }
    assert {"patient", "code", "clinical-status", "date"} <= {
        p["name"] for p in described["AllergyIntolerance"]["searchParam"]
    }
    assert {"patient", "code", "status", "date"} <= {p["name"] for p in described["Flag"]["searchParam"]}
    # the care app's types, registered by it as a provider, and the audit as read-only
    assert described["CarePlan"]["searchInclude"] == ["CarePlan:care-team", "CarePlan:goal"]
    assert {i["code"] for i in described["CarePlan"]["interaction"]} == {"read", "search-type", "vread"}
    assert {i["code"] for i in described["Goal"]["interaction"]} == {"read", "search-type"}
    assert {i["code"] for i in described["AuditEvent"]["interaction"]} == {"read", "search-type"}
    assert described["Patient"]["operation"][0]["name"] == "everything"
    # _include and _revinclude (ADR 0023), and Bulk Data $import
    assert "Condition:patient" in described["Condition"]["searchInclude"]
    assert "Condition:patient" in described["Patient"]["searchRevInclude"]
    assert statement["rest"][0]["operation"][0]["name"] == "import"


def test_a_hidden_care_plan_read_does_not_name_the_patient_behind_it(live_server: Any) -> None:
    """A refused read of CarePlan/careplan-<n> used to answer "Patient/<their id> is not known",
    giving away the Patient id of someone outside the caller's care."""
    _import_examples()
    person = rm.Person.objects.get(resource__logical_id="example")
    practice = Importer(source_system="urn:test")
    practice.import_resource({"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop Surgery"})
    token = make_user("other_gp", Role.GP, rm.Organisation.objects.get(resource__logical_id="elsewhere"))
    response = requests.get(
        f"{live_server.url}/fhir/CarePlan/careplan-{person.pk}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 404
    text = response.json()["issue"][0]["diagnostics"]
    assert f"CarePlan/careplan-{person.pk} is not known" in text and "Patient/example" not in text

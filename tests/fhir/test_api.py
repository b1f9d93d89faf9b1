"""The FHIR API driven by a real FHIR client library (fhirpy) against the running server."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, AuditEntry, Role, StaffProfile
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, transaction_bundle

pytestmark = pytest.mark.django_db(transaction=True)


def make_user(username: str, role: Role, organisation: rm.Organisation | None) -> str:
    user = get_user_model().objects.create_user(username=username, password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=role, organisation=organisation)
    return ApiToken.issue(user, "test")


@pytest.fixture
def world(live_server: Any) -> dict[str, Any]:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    practice = rm.Organisation.objects.get()
    other = Importer(source_system="urn:test")
    other.import_resource({"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop Surgery"})
    elsewhere = rm.Organisation.objects.get(resource__logical_id="elsewhere")
    base = f"{live_server.url}/fhir"
    tokens = {
        "gp": make_user("gp", Role.GP, practice),
        "other_gp": make_user("other_gp", Role.GP, elsewhere),
        "admin": make_user("admin", Role.ADMINISTRATOR, None),
        "analyst": make_user("analyst", Role.ANALYST, None),
        "integrator": make_user("integrator", Role.INTEGRATOR, None),
    }
    return {
        "base": base,
        "tokens": tokens,
        "client": lambda who: SyncFHIRClient(base, authorization=f"Bearer {tokens[who]}"),
    }


def test_metadata_is_a_capability_statement(world: dict[str, Any]) -> None:
    statement = requests.get(f"{world['base']}/metadata", timeout=10).json()
    assert statement["resourceType"] == "CapabilityStatement" and statement["fhirVersion"] == "4.0.1"
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "ServiceRequest",
        "AuditEvent",
    } <= types


def test_no_token_is_401_with_operation_outcome(world: dict[str, Any]) -> None:
    response = requests.get(f"{world['base']}/Patient", timeout=10)
    assert response.status_code == 401
    assert response.json()["resourceType"] == "OperationOutcome"
    assert (
        requests.get(
            f"{world['base']}/Patient", headers={"Authorization": "Bearer nope"}, timeout=10
        ).status_code
        == 401
    )


def test_read_search_and_everything_with_fhirpy(world: dict[str, Any]) -> None:
    client = world["client"]("gp")
    patient = client.reference("Patient", PATIENT_ID).to_resource()
    assert patient["identifier"][0]["value"] == "9434765919"
    found = (
        client.resources("Patient").search(identifier="https://fhir.nhs.uk/Id/nhs-number|9434765919").fetch()
    )
    assert [p["id"] for p in found] == [PATIENT_ID]
    assert client.resources("Patient").search(name="testp").fetch()[0]["id"] == PATIENT_ID
    assert client.resources("Patient").search(birthdate="1950").fetch()
    assert not client.resources("Patient").search(birthdate="gt1960").fetch()
    conditions = (
        client.resources("Condition")
        .search(patient=PATIENT_ID, code="http://snomed.info/sct|44054006")
        .fetch()
    )
    assert len(conditions) == 1 and conditions[0]["subject"]["reference"] == f"Patient/{PATIENT_ID}"
    assert not client.resources("Condition").search(patient=PATIENT_ID, code="84114007").fetch()
    observations = client.resources("Observation").search(patient=PATIENT_ID, date="ge2024-01-01").fetch()
    assert len(observations) == 1
    everything = client.execute(f"Patient/{PATIENT_ID}/$everything", method="get")
    types = sorted(e["resource"]["resourceType"] for e in everything["entry"])
    assert types == ["Condition", "Observation", "Organization", "Patient"]
    audited = AuditEntry.objects.filter(person__resource__logical_id=PATIENT_ID, actor__username="gp")
    assert {a.action for a in audited} >= {"read", "search", "export"}


def test_paging_links_follow_count(world: dict[str, Any]) -> None:
    integrator = world["client"]("integrator")
    for i in range(5):
        integrator.resource(
            "Condition",
            subject={"reference": f"Patient/{PATIENT_ID}"},
            code={"coding": [{"system": "http://snomed.info/sct", "code": str(38341003 + i)}]},
        ).save()
    response = requests.get(
        f"{world['base']}/Condition?patient={PATIENT_ID}&_count=2",
        headers={"Authorization": f"Bearer {world['tokens']['gp']}"},
        timeout=10,
    ).json()
    assert response["total"] == 6 and len(response["entry"]) == 2
    assert any(link["relation"] == "next" for link in response["link"])
    every = world["client"]("gp").resources("Condition").search(patient=PATIENT_ID).limit(2).fetch_all()
    assert len({c["id"] for c in every}) == 6


def test_person_outside_care_is_404_like_an_unknown_id_and_audited(world: dict[str, Any]) -> None:
    with pytest.raises(ResourceNotFound):
        world["client"]("other_gp").reference("Patient", PATIENT_ID).to_resource()
    headers = {"Authorization": f"Bearer {world['tokens']['other_gp']}"}
    response = requests.get(f"{world['base']}/Patient/{PATIENT_ID}", headers=headers, timeout=10)
    unknown = requests.get(f"{world['base']}/Patient/no-such-person", headers=headers, timeout=10)
    # the same answer for "not yours" and "no such id", so ids cannot be probed (issue 8, finding 9)
    assert response.status_code == unknown.status_code == 404
    assert response.json()["issue"][0]["diagnostics"].replace(PATIENT_ID, "x") == unknown.json()["issue"][0][
        "diagnostics"
    ].replace("no-such-person", "x")
    everything = requests.get(
        f"{world['base']}/Patient/{PATIENT_ID}/$everything", headers=headers, timeout=10
    )
    assert everything.status_code == 404
    assert AuditEntry.objects.filter(actor__username="other_gp", outcome="denied").exists()
    # a search about that person is answered as the read is (issue 11), never an empty Bundle
    with pytest.raises(ResourceNotFound):
        world["client"]("other_gp").resources("Condition").search(patient=PATIENT_ID).fetch()
    # break-glass with a stated reason opens it, and says so in the audit log
    glass = requests.get(
        f"{world['base']}/Patient/{PATIENT_ID}",
        timeout=10,
        headers={
            "Authorization": f"Bearer {world['tokens']['other_gp']}",
            "X-Break-Glass-Reason": "Unconscious in A&E, no other record available",
        },
    )
    assert glass.status_code == 200
    assert AuditEntry.objects.filter(actor__username="other_gp", break_glass=True, action="read").exists()


def test_analyst_never_sees_a_record(world: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {world['tokens']['analyst']}"}
    assert (
        requests.get(f"{world['base']}/Patient/{PATIENT_ID}", headers=headers, timeout=10).status_code == 403
    )
    assert requests.get(f"{world['base']}/Condition", headers=headers, timeout=10).status_code == 403


def test_create_update_and_validation_errors(world: dict[str, Any]) -> None:
    client = world["client"]("integrator")
    created = client.resource(
        "Observation",
        status="final",
        code={"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        subject={"reference": f"Patient/{PATIENT_ID}"},
        valueQuantity={"value": 58, "unit": "mmol/mol"},
    )
    created.save()
    assert rm.Observation.objects.filter(code="4548-4", value=58).exists()
    created["valueQuantity"] = {"value": 61, "unit": "mmol/mol"}
    created.save()
    assert rm.Observation.objects.get(code="4548-4").value == 61
    headers = {
        "Authorization": f"Bearer {world['tokens']['integrator']}",
        "Content-Type": "application/fhir+json",
    }
    bad = requests.post(
        f"{world['base']}/Observation",
        json={"resourceType": "Observation", "code": {"text": "x"}},
        headers=headers,
        timeout=10,
    )
    assert bad.status_code in (400, 422)
    issue = bad.json()["issue"][0]
    assert issue["expression"] == ["Observation.status"]
    dangling = requests.post(
        f"{world['base']}/Condition",
        headers=headers,
        timeout=10,
        json={"resourceType": "Condition", "subject": {"reference": "Patient/nobody"}},
    )
    assert dangling.status_code in (400, 422) and "dangling" in dangling.json()["issue"][0]["diagnostics"]
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", "no-such-person").to_resource()


def test_transaction_and_batch(world: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {world['tokens']['integrator']}"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:new-person",
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9000000009"}],
                    "name": [{"family": "Jones"}],
                },
            },
            {
                "fullUrl": "urn:uuid:c",
                "request": {"method": "POST", "url": "Condition"},
                "resource": {
                    "resourceType": "Condition",
                    "subject": {"reference": "urn:uuid:new-person"},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "13645005"}]},
                },
            },
        ],
    }
    response = requests.post(f"{world['base']}", json=bundle, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "transaction-response" and body["entry"][0]["response"]["status"].startswith("201")
    assert rm.Person.objects.get(nhs_number="9000000009").conditions.get().code == "13645005"
    bundle["entry"][1]["resource"]["subject"] = {"reference": "urn:uuid:missing"}
    bundle["entry"][0]["resource"]["identifier"][0]["value"] = "9434765870"
    refused = requests.post(f"{world['base']}", json=bundle, headers=headers, timeout=10)
    assert refused.status_code in (400, 422)
    assert not rm.Person.objects.filter(nhs_number="9434765870").exists()  # all or nothing
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "request": {"method": "POST", "url": "Organization"},
                "resource": {"resourceType": "Organization", "name": "Good"},
            },
            {
                "request": {"method": "POST", "url": "Observation"},
                "resource": {"resourceType": "Observation"},
            },
        ],
    }
    result = requests.post(f"{world['base']}", json=batch, headers=headers, timeout=10).json()
    assert result["type"] == "batch-response"
    assert result["entry"][0]["response"]["status"].startswith("201") and result["entry"][1]["response"][
        "status"
    ].startswith("422")


def test_audit_events_for_administrators(world: dict[str, Any]) -> None:
    world["client"]("gp").reference("Patient", PATIENT_ID).to_resource()
    headers = {"Authorization": f"Bearer {world['tokens']['admin']}"}
    events = requests.get(
        f"{world['base']}/AuditEvent?patient={PATIENT_ID}", headers=headers, timeout=10
    ).json()
    assert events["total"] >= 1
    event = events["entry"][0]["resource"]
    assert event["resourceType"] == "AuditEvent" and event["agent"][0]["who"]["display"] == "gp"
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    gp = {"Authorization": f"Bearer {world['tokens']['gp']}"}
    assert (
        requests.get(f"{world['base']}/AuditEvent?patient={PATIENT_ID}", headers=gp, timeout=10).status_code
        == 403
    )

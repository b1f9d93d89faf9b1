"""The materialised care relationships (organisation -> person) follow the record through creates,
updates and deletes, and always equal what the rows themselves say."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.fhir.importer import Importer
from careweave.fhir.outcome import Refused
from careweave.record import models as rm
from careweave.record.relationships import rebuild_care_relationships
from tests.fhir.conftest import PATIENT_ID, patient

pytestmark = pytest.mark.django_db

ODS = "https://fhir.nhs.uk/Id/ods-organization-code"


def organisation(oid: str, name: str) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": oid,
        "name": name,
        "identifier": [{"system": ODS, "value": oid}],
    }


def put(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"https://source.example/fhir/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def transaction(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def encounter(eid: str, org: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "serviceProvider": {"reference": f"Organization/{org}"},
    }


def referral(rid: str, to_org: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "performer": [{"reference": f"Organization/{to_org}"}],
    }


def appointment(aid: str, role: str) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "id": aid,
        "status": "booked",
        "start": "2026-12-01T09:00:00Z",
        "end": "2026-12-01T09:15:00Z",
        "participant": [
            {"actor": {"reference": f"Patient/{PATIENT_ID}"}, "status": "accepted"},
            {"actor": {"reference": f"PractitionerRole/{role}"}, "status": "accepted"},
        ],
    }


def relationships() -> set[tuple[str, str]]:
    """(organisation name, person NHS number) pairs as stored."""
    names = dict(rm.Organisation.objects.values_list("pk", "name"))
    nhs = dict(rm.Person.objects.values_list("pk", "nhs_number"))
    return {
        (names[o], nhs[p]) for o, p in rm.CareRelationship.objects.values_list("organisation_id", "person_id")
    }


def rebuilt() -> set[tuple[str, str]]:
    kept = relationships()
    rebuild_care_relationships()
    fresh = relationships()
    assert fresh == kept, "the maintained relationships differ from a rebuild from the rows"
    return fresh


def load(*entries: dict[str, Any]) -> None:
    Importer(source_system="https://source.example/fhir").import_bundle(
        transaction(*entries), "relationships.json"
    )


def test_relationships_follow_creates_updates_and_deletes() -> None:
    person = {**patient(), "generalPractitioner": [{"reference": "Organization/GP1"}]}
    load(
        put(organisation("GP1", "Riverside Surgery")),
        put(organisation("H1", "County Hospital")),
        put(organisation("C1", "Community Nursing")),
        put(organisation("V1", "Age Well Charity")),
        put({"resourceType": "Practitioner", "id": "pr-1", "name": [{"family": "Nurse"}]}),
        put(
            {
                "resourceType": "PractitionerRole",
                "id": "role-1",
                "practitioner": {"reference": "Practitioner/pr-1"},
                "organization": {"reference": "Organization/C1"},
            }
        ),
        put(person),
        put(encounter("enc-1", "H1")),
        put(referral("ref-1", "V1")),
        put(appointment("app-1", "role-1")),
    )
    nhs = "9434765919"
    assert rebuilt() == {
        ("Riverside Surgery", nhs),  # registered
        ("County Hospital", nhs),  # seen there
        ("Age Well Charity", nhs),  # referred to
        ("Community Nursing", nhs),  # booked with a practitioner working there
    }

    # the encounter turns out to have been with community nursing, not the hospital
    load(put(encounter("enc-1", "C1")))
    assert ("County Hospital", nhs) not in rebuilt()

    # the referral is withdrawn (deleted as entered in error)
    load({"request": {"method": "DELETE", "url": "ServiceRequest/ref-1"}})
    assert ("Age Well Charity", nhs) not in rebuilt()

    # the person registers with another practice
    load(put(organisation("GP2", "Hilltop Medical Centre")))
    load(put({**person, "generalPractitioner": [{"reference": "Organization/GP2"}]}))
    assert rebuilt() == {("Hilltop Medical Centre", nhs), ("Community Nursing", nhs)}


def test_a_refused_bundle_leaves_no_relationship() -> None:
    load(put(organisation("GP1", "Riverside Surgery")), put(patient()))
    bad = encounter("enc-2", "GP1")
    del bad["status"]  # required: the whole bundle is refused
    with pytest.raises(Refused, match="status"):
        load(put(organisation("H9", "Elsewhere Hospital")), put(encounter("enc-1", "GP1")), put(bad))
    assert relationships() == set()

"""A small world for the home-readings tests: a practice, a person in its care with a named
co-ordinator, a device sending readings for them, and Observations shaped as a device sends them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, CareTeamMember, Role, StaffProfile
from careweave.jobs.worker import run_worker
from careweave.monitoring.services import create_device
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, transaction_bundle

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
VITAL = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
    ]
}
HEART_FAILURE = {
    "resourceType": "Condition",
    "id": "cond-hf",
    "clinicalStatus": {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    },
    "code": {
        "coding": [{"system": "http://snomed.info/sct", "code": "84114007", "display": "Heart failure"}]
    },
    "subject": {"reference": f"Patient/{PATIENT_ID}"},
}


@dataclass
class World:
    person: rm.Person
    practice: rm.Organisation
    nurse: Any
    nurse_token: str
    outsider: Any
    device_token: str

    def post(self, resource: dict[str, Any], token: str | None = None) -> Any:
        return Client().post(
            "/fhir/Observation",
            data=resource,
            content_type="application/fhir+json",
            HTTP_AUTHORIZATION=f"Bearer {token or self.device_token}",
        )

    def tasks(self) -> list[dict[str, Any]]:
        """The Tasks the care team reads at /fhir/Task?patient= (the nurse's token)."""
        response = Client().get(
            f"/fhir/Task?patient={PATIENT_ID}", HTTP_AUTHORIZATION=f"Bearer {self.nurse_token}"
        )
        assert response.status_code == 200, response.content
        return [
            e["resource"] for e in response.json().get("entry", []) if e["resource"]["resourceType"] == "Task"
        ]


def staff(username: str, organisation: rm.Organisation | None, role: str = Role.NURSE) -> Any:
    user = get_user_model().objects.create_user(username=username, password="a-long-test-password")
    user.first_name, user.last_name = "Sam", username.title()
    user.save()
    StaffProfile.objects.create(user=user, role=role, organisation=organisation)
    return user


def build_world(*, heart_failure: bool = False) -> World:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    practice = rm.Organisation.objects.get(resource__logical_id="org-1")
    person = rm.Person.objects.select_related("resource").get(resource__logical_id=PATIENT_ID)
    if heart_failure:
        Importer(source_system="urn:test").import_resource(HEART_FAILURE)
    elsewhere = Importer(source_system="urn:test")
    elsewhere.import_resource({"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop Surgery"})
    nurse = staff("nurse", practice)
    CareTeamMember.objects.create(
        person=person, user=nurse, role_in_team="Practice nurse", is_coordinator=True
    )
    outsider = staff("outsider", rm.Organisation.objects.get(resource__logical_id="elsewhere"))
    _source, token = create_device(person=person, label="cuff-1")
    return World(person, practice, nurse, ApiToken.issue(nurse, "test"), outsider, token)


def _observation(code: str, name: str, when: dt.datetime) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [VITAL],
        "code": {"coding": [{"system": LOINC, "code": code, "display": name}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when.isoformat(),
        "device": {"identifier": {"system": "https://fhir.careweave.org/Id/home-device", "value": "cuff-1"}},
    }


def bp(
    systolic: float, diastolic: float, when: dt.datetime | None = None, unit: str = "mm[Hg]"
) -> dict[str, Any]:
    body = _observation("85354-9", "Blood pressure panel", when or timezone.now())
    body["component"] = [
        {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        }
        for code, value in (("8480-6", systolic), ("8462-4", diastolic))
    ]
    return body


def weight(kg: float, when: dt.datetime | None = None) -> dict[str, Any]:
    body = _observation("29463-7", "Body weight", when or timezone.now())
    body["valueQuantity"] = {"value": kg, "unit": "kg", "system": UCUM, "code": "kg"}
    return body


def run_queue() -> None:
    """What `careweave worker --once` does: run everything on the queue (no scheduling)."""
    run_worker(once=True, schedule=False)

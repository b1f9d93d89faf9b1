"""The demo's home readings: a heart-failure weight gain, a high blood pressure series and someone
gone quiet, each raising its one Task for the demo nurse (issue 16 item 6)."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.fhir.importer import Importer
from careweave.monitoring.demo import add_demo_home_readings
from careweave.monitoring.models import HomeReadingAlert
from tests.monitoring.world import build_world

pytestmark = pytest.mark.django_db


def _patient(pid: str, hypertension: bool) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": pid, "name": [{"family": pid}], "birthDate": "1955-01-01",
         "generalPractitioner": [{"reference": "Organization/org-1"}]},
    ]  # fmt: skip
    if hypertension:
        resources.append(
            {
                "resourceType": "Condition",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "59621000"}]},
                "subject": {"reference": f"Patient/{pid}"},
            }
        )
    return resources


def test_the_demo_raises_a_weight_gain_a_blood_pressure_series_and_a_check_in() -> None:
    world = build_world(heart_failure=True)
    importer = Importer(source_system="urn:test")
    for resource in [*_patient("bp-person", True), *_patient("quiet-person", False)]:
        importer.import_resource(resource)
    assert add_demo_home_readings() > 30
    alerts = {(a.person.resource.logical_id, a.measurement): a for a in HomeReadingAlert.objects.all()}
    assert alerts.keys() == {
        (world.person.resource.logical_id, "weight"),
        ("bp-person", "blood_pressure"),
        ("quiet-person", "check_in"),
    }
    assert alerts[(world.person.resource.logical_id, "weight")].rule == "hf_weight_gain"
    assert alerts[("bp-person", "blood_pressure")].breaches > 5  # one Task, updated by every repeat
    assert all(a.owner == world.nurse for a in alerts.values())
    assert add_demo_home_readings() == 0  # idempotent

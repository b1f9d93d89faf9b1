"""Home readings are validated on the way in (UCUM unit, plausible range), all or nothing, with an
OperationOutcome naming the element; a device's token writes home readings for its own person only;
the person's reading form goes through the same path (issue 16 item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from careweave.fhir.importer import Importer
from careweave.monitoring.models import HomeReading, ReadingSource
from careweave.monitoring.readings import is_home_reading
from careweave.monitoring.services import ReadingError, record_reading, register_reading_source
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID
from tests.monitoring.world import UCUM, bp, build_world, weight

pytestmark = pytest.mark.django_db


def _stored_readings() -> int:
    return rm.StoredResource.objects.filter(resource_type="Observation").exclude(logical_id="obs-1").count()


def _expressions(response: Any) -> list[str]:
    return [e for issue in response.json()["issue"] for e in issue.get("expression", [])]


def test_an_implausible_blood_pressure_is_refused_naming_the_field() -> None:
    world = build_world()
    response = world.post(bp(300, 200))
    assert response.status_code == 422
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Observation.component[0].valueQuantity.value" in _expressions(response)
    assert "Observation.component[1].valueQuantity.value" in _expressions(response)
    assert "not a plausible reading" in response.json()["issue"][0]["diagnostics"]
    assert _stored_readings() == 0
    assert not HomeReading.objects.exists()


def test_one_implausible_value_refuses_the_whole_reading() -> None:
    world = build_world()
    assert world.post(bp(130, 200)).status_code == 422  # the systolic is fine, the diastolic is not
    assert _stored_readings() == 0


def test_a_unit_other_than_ucum_is_refused() -> None:
    world = build_world()
    response = world.post(bp(16, 10, unit="kPa"))
    assert response.status_code == 422
    assert "Observation.component[0].valueQuantity.code" in _expressions(response)
    reading = weight(80)
    reading["valueQuantity"] = {
        "value": 176,
        "unit": "lb",
        "system": "http://unitsofmeasure.org",
        "code": "[lb_av]",
    }
    assert world.post(reading).status_code == 422
    assert _stored_readings() == 0


def test_plausible_readings_are_stored_and_indexed() -> None:
    world = build_world()
    response = world.post(bp(128, 82))
    assert response.status_code == 201
    assert {h.measurement: h.value for h in HomeReading.objects.all()} == {"systolic": 128, "diastolic": 82}


def test_a_clinic_reading_is_not_a_home_reading() -> None:
    clinic = bp(300, 200)
    del clinic["device"]
    clinic["performer"] = [{"reference": "Practitioner/someone"}]
    assert not is_home_reading(clinic)
    assert is_home_reading(bp(120, 80))


def test_a_device_token_writes_home_readings_for_its_own_person_only() -> None:
    world = build_world()
    Importer(source_system="urn:test").import_resource(
        {"resourceType": "Patient", "id": "someone-else", "name": [{"family": "Other"}]}
    )
    reading = bp(120, 80)
    reading["subject"] = {"reference": "Patient/someone-else"}
    response = world.post(reading)
    assert response.status_code == 403
    assert "its own person only" in response.json()["issue"][0]["diagnostics"]
    clinic = bp(120, 80)
    del clinic["device"]  # not a home reading: the device may not write it
    assert world.post(clinic).status_code == 403
    condition = {"resourceType": "Condition", "subject": {"reference": f"Patient/{PATIENT_ID}"}}
    from django.test import Client

    response = Client().post(
        "/fhir/Condition", data=condition, content_type="application/fhir+json",
        HTTP_AUTHORIZATION=f"Bearer {world.device_token}",
    )  # fmt: skip
    assert response.status_code == 403
    assert _stored_readings() == 0


def test_the_reading_form_goes_through_the_same_checks() -> None:
    world = build_world()
    person_user = get_user_model().objects.create_user(username="alex")
    register_reading_source(user=person_user, person=world.person, kind=ReadingSource.Kind.PERSON)
    with pytest.raises(ReadingError) as refused:
        record_reading(
            user=person_user,
            person=world.person,
            measurement="blood_pressure",
            values={"systolic": 300, "diastolic": 80},
        )
    assert refused.value.field == "systolic"
    assert _stored_readings() == 0

    recorded = record_reading(
        user=person_user, person=world.person, measurement="weight", values={"weight": 72.5}
    )
    stored = rm.StoredResource.objects.get(logical_id=recorded.observation_id)
    assert stored.person_id == world.person.pk
    assert HomeReading.objects.get().value == 72.5


def test_only_the_persons_own_accounts_use_the_reading_form() -> None:
    world = build_world()
    with pytest.raises(ReadingError):
        record_reading(user=world.nurse, person=world.person, measurement="weight", values={"weight": 72.5})


def test_a_personal_target_in_the_care_plan_replaces_the_default() -> None:
    from careweave.care.services import current_care_plan
    from careweave.monitoring.alerts import _breaches
    from careweave.monitoring.targets import set_reading_target
    from careweave.record import models as rm

    world = build_world()
    set_reading_target(user=world.nurse, person=world.person, measurement="systolic", at_or_above=150)
    plan = current_care_plan(world.person)
    assert plan is not None
    assert any("below 150" in g.description for g in plan.goals.all())
    from careweave.care.fhir_exchange import goal_resource

    (goal,) = [g for g in plan.goals.all() if "below 150" in g.description]
    (target,) = goal_resource(goal, world.person)["target"]
    assert target["measure"]["coding"][0]["code"] == "8480-6"
    assert target["detailRange"]["high"] == {"value": 150, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    response = world.post(bp(145, 80))  # above NICE's 135 default, below the person's own 150
    stored = rm.StoredResource.objects.get(logical_id=response.json()["id"])
    assert (
        _breaches(list(HomeReading.objects.filter(resource=stored).select_related("resource")), world.person)
        == {}
    )
    response = world.post(bp(152, 80))
    stored = rm.StoredResource.objects.get(logical_id=response.json()["id"])
    breach = _breaches(
        list(HomeReading.objects.filter(resource=stored).select_related("resource")), world.person
    )
    assert breach["blood_pressure"].rule == "personal_routine"

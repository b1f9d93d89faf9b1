"""A referral's Task moves only as the reviewed transition table allows (referral_rules.yaml): an
invalid move is refused with an OperationOutcome through the API, and an import holding one is
refused whole, naming the file, the entry and businessStatus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client

from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask
from tests.fhir.test_api import make_user
from tests.referrals import journeys

pytestmark = pytest.mark.django_db

FHIR_JSON = "application/fhir+json"


def _history() -> journeys.History:
    history = journeys.base()
    history.referral("sr-1", "p1", "gp", "hosp", "2024-01-08")
    history.task(
        "task-1",
        "sr-1",
        "p1",
        "hosp",
        ("received", "2024-01-09"),
        ("accepted", "2024-01-12"),
        ("completed", "2024-03-01"),
    )
    return history


@pytest.fixture
def api() -> tuple[Client, str]:
    return Client(), make_user("integrator", Role.INTEGRATOR, None)


def test_a_task_moves_forward_through_the_api_and_its_row_follows(api: tuple[Client, str]) -> None:
    client, token = api
    for resource in _history().api_writes():
        response = journeys.put(client, token, resource)
        assert response.status_code in (200, 201), response.content
    row = ReferralTask.objects.get(resource__logical_id="task-1")
    assert (row.business_status, row.focus_id, str(row.last_modified)) == ("completed", "sr-1", "2024-03-01")
    assert row.referral == rm.Referral.objects.get(resource__logical_id="sr-1")
    assert row.person == rm.Person.objects.get(nhs_number="9434765919")
    found = client.get(
        "/fhir/Task?focus=ServiceRequest/sr-1&business-status=completed", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert [e["resource"]["id"] for e in found.get("entry", [])] == ["task-1"]


@pytest.mark.parametrize(("stored", "proposed"), [("completed", "accepted"), ("rejected", "in-progress")])
def test_an_invalid_transition_is_refused_through_the_api(
    api: tuple[Client, str], stored: str, proposed: str
) -> None:
    client, token = api
    history = journeys.base()
    history.referral("sr-1", "p1", "gp", "hosp", "2024-01-08")
    history.task("task-1", "sr-1", "p1", "hosp", (stored, "2024-01-20"), (proposed, "2024-02-01"))
    writes = history.api_writes()
    for resource in writes[:-1]:
        assert journeys.put(client, token, resource).status_code in (200, 201)
    response = journeys.put(client, token, writes[-1])
    assert response.status_code == 409
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == "business-rule"
    assert f"{stored} cannot become {proposed}" in issue["diagnostics"]
    assert issue["expression"] == ["Task.businessStatus"]
    stored_row = ReferralTask.objects.get(resource__logical_id="task-1")
    assert stored_row.business_status == stored  # nothing of the refused version was written
    assert rm.StoredResource.objects.get(resource_type="Task", logical_id="task-1").version == 1


def test_an_unknown_business_status_is_refused(api: tuple[Client, str]) -> None:
    client, token = api
    history = _history()
    for resource in history.resources[:-1]:
        journeys.put(client, token, resource)
    task = history.task_versions["task-1"][0]
    task["businessStatus"] = {"coding": [{"code": "triaged"}]}
    response = journeys.put(client, token, task)
    assert response.status_code == 422
    assert "'triaged' is not a referral business status" in response.json()["issue"][0]["diagnostics"]
    assert not ReferralTask.objects.exists()


def test_an_import_with_an_invalid_transition_is_refused_whole(tmp_path: Path) -> None:
    history = _history()
    Importer(source_system="urn:test").import_bundle(history.bundle(), "first.json")
    assert ReferralTask.objects.get().business_status == "completed"
    # the hospital's next file re-opens the completed referral and adds an appointment
    later = journeys.History()
    later.appointment("appt-1", "sr-1", "p1", "booked", "2024-04-01")
    later.task("task-1", "sr-1", "p1", "hosp", ("accepted", "2024-04-02"))
    file = tmp_path / "hospital.json"
    file.write_text(json.dumps(later.bundle()))
    importer = Importer(source_system="urn:test")
    import_paths(importer, [file])
    assert not importer.summary.ok and importer.summary.units_refused == 1
    [error] = importer.summary.errors
    assert error.file == str(file) and error.entry == 1
    assert error.expression == "Bundle.entry[1].resource.businessStatus"
    assert "completed cannot become accepted" in error.message
    # all or nothing: the appointment in the same file was not written either
    assert not rm.Appointment.objects.exists()
    assert ReferralTask.objects.get().business_status == "completed"


def test_an_ndjson_file_with_an_invalid_transition_names_the_line(tmp_path: Path) -> None:
    Importer(source_system="urn:test").import_bundle(_history().bundle(), "first.json")
    rejected = journeys.History()
    rejected.task("task-1", "sr-1", "p1", "hosp", ("rejected", "2024-04-02"), reason="refer-elsewhere")
    file = tmp_path / "Task.ndjson"
    file.write_text("\n".join(json.dumps(r) for r in rejected.resources) + "\n")
    importer = Importer(source_system="urn:test")
    import_paths(importer, [file])
    [error] = importer.summary.errors
    assert (error.file, error.entry) == (str(file), 1)
    assert error.expression is not None and error.expression.endswith("businessStatus")
    assert "completed cannot become rejected" in error.message

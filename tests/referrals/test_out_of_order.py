"""A Task's history arriving out of order (issue 15, ADR 0012 as amended): versions are put in the
order of their own dates, so a late copy of an earlier version is kept in the history without
taking the referral back, a whole history in one bundle in any order is accepted, and only a
genuinely invalid sequence is refused. And `Patient/$merge` takes the referral rows with it."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.referrals.models import ReferralTask, ReferralTaskState
from careweave.referrals.scan import build_referral_extract, referral_findings
from tests.fhir.test_api import make_user
from tests.referrals import journeys

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json"
AS_OF = "2024-06-01"
STEPS = (
    ("received", "2024-01-09"),
    ("accepted", "2024-01-12"),
    ("in-progress", "2024-02-01"),
    ("completed", "2024-03-01"),
)


def _history() -> journeys.History:
    history = journeys.base()
    history.referral("sr-1", "p1", "gp", "hosp", "2024-01-08")
    history.task("task-1", "sr-1", "p1", "hosp", *STEPS)  # completed with no letter: a no-outcome finding
    return history


def _states() -> list[tuple[str, str]]:
    return [
        (s, str(on))
        for s, on in ReferralTaskState.objects.order_by("on").values_list("business_status", "on")
    ]


def _findings() -> list[dict[str, Any]]:
    import datetime as dt

    return referral_findings(as_of=dt.date.fromisoformat(AS_OF))


@pytest.fixture
def api() -> tuple[Client, str]:
    return Client(), make_user("integrator", Role.INTEGRATOR, None)


def _in_order_findings() -> list[dict[str, Any]]:
    for resource in _history().resources:
        Importer(source_system="urn:test").import_resource(copy.deepcopy(resource))
    found = _findings()
    ReferralTask.objects.all().delete()
    from careweave.record import models as rm

    rm.StoredResource.objects.all().delete()
    return found


def test_versions_sent_newest_first_through_the_api_end_where_the_referral_got_to(
    api: tuple[Client, str],
) -> None:
    expected = _in_order_findings()
    assert [f["finding"] for f in expected] == ["no-outcome"]
    client, token = api
    history = _history()
    for resource in history.resources[:-1]:
        assert journeys.put(client, token, resource).status_code in (200, 201)
    for version in reversed(history.task_versions["task-1"]):
        response = journeys.put(client, token, version)
        assert response.status_code in (200, 201), response.content
    row = ReferralTask.objects.get(resource__logical_id="task-1")
    assert (row.business_status, str(row.last_modified)) == ("completed", "2024-03-01")
    assert _states() == [(s, d) for s, d in STEPS]
    assert _findings() == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_whole_history_in_one_bundle_in_any_order_is_accepted(seed: int) -> None:
    history = _history()
    bundle = history.bundle()
    versions = [
        {"fullUrl": "Task/task-1", "resource": v, "request": {"method": "PUT", "url": "Task/task-1"}}
        for v in history.task_versions["task-1"]
    ]
    random.Random(seed).shuffle(versions)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Task"] + versions
    importer = Importer(source_system="urn:test")
    importer.import_bundle(bundle, "history.json")
    assert importer.summary.ok
    assert ReferralTask.objects.get().business_status == "completed"
    assert _states() == [(s, d) for s, d in STEPS]
    assert build_referral_extract().tables["task"].num_rows == 1


def test_a_whole_history_posted_as_one_api_transaction_is_accepted(api: tuple[Client, str]) -> None:
    client, token = api
    history = _history()
    bundle = history.bundle()
    versions = [
        {"fullUrl": "Task/task-1", "resource": v, "request": {"method": "PUT", "url": "Task/task-1"}}
        for v in reversed(history.task_versions["task-1"])
    ]
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Task"] + versions
    response = client.post(
        "/fhir", data=json.dumps(bundle), content_type=FHIR_JSON, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 200, response.content
    assert ReferralTask.objects.get().business_status == "completed"
    assert len(_states()) == 4


def test_a_genuinely_invalid_sequence_is_still_refused_whatever_the_order(api: tuple[Client, str]) -> None:
    client, token = api
    history = _history()
    for resource in history.resources:  # completed on 1 March
        assert journeys.put(client, token, resource).status_code in (200, 201)
    late = copy.deepcopy(history.task_versions["task-1"][0])
    late["businessStatus"]["coding"][0]["code"] = "rejected"
    late["status"] = "rejected"
    late["lastModified"] = "2024-01-20"  # rejected before it was completed: rejected is final
    response = journeys.put(client, token, late)
    assert response.status_code == 409
    assert "rejected cannot become completed" in response.json()["issue"][0]["diagnostics"]
    assert ReferralTask.objects.get().business_status == "completed"
    assert "rejected" not in dict(_states())


def test_merge_moves_the_referral_tasks_and_their_states(api: tuple[Client, str]) -> None:
    history = _history()
    history.add(journeys.patient("p2", "9434765870"))
    Importer(source_system="urn:test").import_bundle(history.bundle(), "seed.json")
    admin = make_user("admin", Role.ADMINISTRATOR, None)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "source-patient", "valueReference": {"reference": "Patient/p1"}},
            {"name": "target-patient", "valueReference": {"reference": "Patient/p2"}},
        ],
    }
    response = Client().post(
        "/fhir/Patient/$merge",
        data=json.dumps(body),
        content_type=FHIR_JSON,
        HTTP_AUTHORIZATION=f"Bearer {admin}",
    )
    assert response.status_code == 200, response.content
    task = ReferralTask.objects.select_related("person").get()
    assert task.person.nhs_number == "9434765870"
    assert set(ReferralTaskState.objects.values_list("person__nhs_number", flat=True)) == {"9434765870"}
    assert [f["nhs_number"] for f in _findings()] == ["9434765870"]

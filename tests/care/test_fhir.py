"""The care plan, goals and care team as FHIR R4, checked against the fhir.resources R4B models."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan as FhirCarePlan
from fhir.resources.R4B.careteam import CareTeam as FhirCareTeam
from fhir.resources.R4B.goal import Goal as FhirGoal

from careweave.care import fhir_exchange, services
from careweave.care.models import GoalStatus
from careweave.care.services import ActionData, GoalData, PlanData, PriorityData
from careweave.governance.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def planned(team_world: dict[str, Any]) -> dict[str, Any]:
    alice, gp, sw = team_world["alice"], team_world["gp_a"], team_world["social_worker"]
    services.add_team_member(user=gp, person=alice, member=gp, role_in_team="Named GP", as_coordinator=True)
    services.add_team_member(
        user=gp, person=alice, member=sw, role_in_team="Social worker", as_coordinator=True
    )
    data = PlanData(
        what_matters="Staying in my own home with my cat.",
        priorities=(PriorityData("Stay at home", 1, 2), PriorityData("Fewer falls", 2, 1)),
        goals=(
            GoalData("Walk to the shop with a frame", date(2026, 5, 1)),
            GoalData("Sleep through the night", None, GoalStatus.ACHIEVED),
        ),
        actions=(
            ActionData("Home safety assessment", sw, date(2026, 2, 1)),
            ActionData("Medicines review", gp, None, True),
        ),
        carer_involvement="Her daughter Carys is her main carer.",
        contingency="If she falls and cannot get up, press the pendant alarm; call 999 if hurt.",
        review_date=date(2026, 8, 1),
    )
    services.save_care_plan(user=gp, person=alice, data=data)
    services.save_care_plan(user=gp, person=alice, data=data)
    return team_world


def test_care_plan_goal_and_care_team_validate_as_r4(planned: dict[str, Any]) -> None:
    alice = planned["alice"]
    plan = services.current_care_plan(alice)
    resource = fhir_exchange.care_plan_resource(plan)
    parsed = FhirCarePlan.model_validate(resource)
    assert parsed.status == "active" and parsed.intent == "plan" and parsed.meta.versionId == "2"
    assert parsed.subject.reference == f"Patient/{alice.resource.logical_id}"
    assert [g.reference for g in parsed.goal] == [f"Goal/{g.key}" for g in plan.goals.all()]
    first, second = parsed.activity
    assert first.detail.performer[0].display == "sw.shire" and first.detail.status == "not-started"
    assert first.detail.scheduledPeriod.end.isoformat() == "2026-02-01"
    assert second.detail.status == "completed" and second.detail.performer[0].display == "Gwen Price"
    assert "press the pendant alarm" in parsed.note[0].text
    extensions = {e.url: e for e in parsed.extension}
    assert extensions[fhir_exchange.EXT_WHAT_MATTERS].valueString == "Staying in my own home with my cat."
    assert extensions[fhir_exchange.EXT_REVIEW_DATE].valueDate.isoformat() == "2026-08-01"
    priorities = [e for e in parsed.extension if e.url == fhir_exchange.EXT_PRIORITY]
    assert [{x.url: x.valueString or x.valuePositiveInt for x in p.extension} for p in priorities] == [
        {"text": "Stay at home", "rank": 1, "clinicianRank": 2},
        {"text": "Fewer falls", "rank": 2, "clinicianRank": 1},
    ]

    goals = [FhirGoal.model_validate(fhir_exchange.goal_resource(g, alice)) for g in plan.goals.all()]
    assert goals[0].lifecycleStatus == "active" and goals[0].target[0].dueDate.isoformat() == "2026-05-01"
    assert goals[1].lifecycleStatus == "completed" and goals[1].achievementStatus.coding[0].code == "achieved"

    team = FhirCareTeam.model_validate(fhir_exchange.care_team_resource(alice, services.care_team(alice)))
    coordinator, gp = team.participant
    assert coordinator.member.display == "sw.shire"
    assert [c.code for r in coordinator.role for c in (r.coding or [])] == ["coordinator"]
    assert coordinator.onBehalfOf.display == "Shire County Council Adult Social Care"
    assert gp.role[0].text == "Named GP" and len(gp.role) == 1


def _api(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)}")


def test_search_care_plans_by_patient_returns_a_valid_searchset(planned: dict[str, Any]) -> None:
    alice, gp = planned["alice"], planned["gp_a"]
    client = _api(gp)
    patient = alice.resource.logical_id
    response = client.get(
        f"/care/fhir/CarePlan?patient=Patient/{patient}&_include=CarePlan:goal&_include=CarePlan:care-team"
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(orjson.loads(response.content))
    assert bundle.type == "searchset" and bundle.total == 1
    kinds = [(e.resource.get_resource_type(), e.search.mode) for e in bundle.entry]
    assert kinds == [("CarePlan", "match"), ("Goal", "include"), ("Goal", "include"), ("CareTeam", "include")]

    goals = Bundle.model_validate(orjson.loads(client.get(f"/care/fhir/Goal?patient={patient}").content))
    assert goals.total == 2
    team = Bundle.model_validate(orjson.loads(client.get(f"/care/fhir/CareTeam?patient={patient}").content))
    assert team.total == 1

    old = client.get(f"/care/fhir/CarePlan/careplan-{alice.pk}/_history/1")
    assert old.status_code == 200 and old["ETag"] == 'W/"1"'
    assert FhirCarePlan.model_validate(orjson.loads(old.content)).meta.versionId == "1"
    current = client.get(f"/care/fhir/CarePlan/careplan-{alice.pk}")
    assert orjson.loads(current.content)["meta"]["versionId"] == "2"

    api_entries = AuditEntry.objects.filter(actor=gp, channel="api", person_id=alice.pk)
    assert list(api_entries.order_by("pk").values_list("action", "resource_type")) == [
        ("search", "CarePlan"),
        ("search", "Goal"),
        ("search", "CareTeam"),
        ("read", "CarePlan"),
        ("read", "CarePlan"),
    ]


def test_the_api_needs_a_token_and_a_relationship(planned: dict[str, Any]) -> None:
    alice, gp_b = planned["alice"], planned["gp_b"]
    url = f"/care/fhir/CarePlan?patient={alice.resource.logical_id}"
    assert Client().get(url).status_code == 401
    refused = _api(gp_b).get(url)
    # outside their care: the same empty searchset as for someone unknown, and the refusal audited
    assert refused.status_code == 200
    assert orjson.loads(refused.content)["total"] == 0
    assert orjson.loads(_api(gp_b).get("/care/fhir/CarePlan?patient=no-such-person").content)["total"] == 0
    assert b"cat" not in refused.content
    read = _api(gp_b).get(f"/care/fhir/CarePlan/careplan-{alice.pk}")
    assert read.status_code == 404 and orjson.loads(read.content)["resourceType"] == "OperationOutcome"
    assert AuditEntry.objects.filter(actor=gp_b, outcome="denied", person_id=alice.pk).exists()
    assert _api(planned["analyst"]).get(url).status_code == 403

    glass = _api(gp_b).get(url, HTTP_X_BREAK_GLASS_REASON="Unconscious in the emergency department")
    assert glass.status_code == 200
    assert AuditEntry.objects.filter(actor=gp_b, action="search", break_glass=True).exists()


def test_bad_searches_are_refused_with_an_operation_outcome(planned: dict[str, Any]) -> None:
    client = _api(planned["gp_a"])
    assert client.get("/care/fhir/CarePlan").status_code == 400
    assert client.get("/care/fhir/CarePlan?patient=x&status=active").status_code == 400
    assert client.get("/care/fhir/Goal?patient=x&_include=CarePlan:goal").status_code == 400
    unknown = client.get("/care/fhir/CarePlan?patient=no-such-patient")
    assert unknown.status_code == 200 and orjson.loads(unknown.content)["total"] == 0
    assert client.post("/care/fhir/CarePlan?patient=x").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_care_plans_are_exchanged_at_the_record_fhir_base_with_fhirpy(planned: dict[str, Any], live_server: Any) -> None:
    """A FHIR client pointed at /fhir finds the care plan, follows its Goal and CareTeam references, and
    also gets a plan another system sent; all of it valid R4, and read-only."""
    from fhirpy import SyncFHIRClient
    from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

    from careweave.fhir.importer import Importer

    alice, gp = planned["alice"], planned["gp_a"]
    patient = alice.resource.logical_id
    hospital_plan = {
        "resourceType": "CarePlan",
        "id": "hospital-discharge-plan",
        "status": "active",
        "intent": "plan",
        "title": "Discharge plan after hip fracture",
        "subject": {"reference": f"Patient/{patient}"},
    }
    Importer(source_system="https://hospital.example/fhir").import_resource(hospital_plan, "discharge.json")
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {ApiToken.issue(gp, 'test')}")

    capability = client.execute("metadata", method="get")
    kinds = {r["type"]: r for r in capability["rest"][0]["resource"]}
    assert {"read", "vread", "search-type"} == {i["code"] for i in kinds["CarePlan"]["interaction"]}
    assert "Goal" in kinds and "CareTeam" in kinds

    plans = client.resources("CarePlan").search(patient=patient).fetch_all()
    by_id = {p["id"]: p for p in plans}
    assert set(by_id) == {f"careplan-{alice.pk}", "hospital-discharge-plan"}
    ours = FhirCarePlan.model_validate(by_id[f"careplan-{alice.pk}"].serialize())
    assert ours.meta.versionId == "2"
    goals = [client.reference(reference=g.reference).to_resource() for g in ours.goal]
    assert {FhirGoal.model_validate(g.serialize()).description.text for g in goals} == {
        "Walk to the shop with a frame",
        "Sleep through the night",
    }
    team = client.reference(reference=ours.careTeam[0].reference).to_resource()
    assert len(FhirCareTeam.model_validate(team.serialize()).participant) == 2
    sent = client.reference("CarePlan", "hospital-discharge-plan").to_resource()
    assert sent["title"] == "Discharge plan after hip fracture"

    with pytest.raises(OperationOutcome):  # read-only: 405 with an OperationOutcome
        client.resource("CarePlan", subject={"reference": f"Patient/{patient}"}, status="active", intent="plan").save()
    outsider = SyncFHIRClient(
        f"{live_server.url}/fhir", authorization=f"Bearer {ApiToken.issue(planned['gp_b'], 'test')}"
    )
    assert outsider.resources("CarePlan").search(patient=patient).fetch_all() == []
    with pytest.raises(ResourceNotFound):  # as if unknown: no existence oracle
        outsider.reference("CarePlan", f"careplan-{alice.pk}").to_resource()
    assert AuditEntry.objects.filter(actor=gp, action="read", resource_type="Goal", person_id=alice.pk).count() == 2

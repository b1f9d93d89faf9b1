"""Findings as FHIR R4 DetectedIssue at /fhir: searched by patient and read by id through governance
(404 outside the caller's care, audited), the rule in CareWeave's code system with the v3 ActCode
where one fits, the prescriptions as implicated references; validated against the R4B models."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.detectedissue import DetectedIssue

from careweave.governance.models import ApiToken, AuditEntry
from careweave.medicines import fhir
from careweave.record import models as rm

pytestmark = pytest.mark.django_db


def _api(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiToken.issue(user)}")


def _search(user: Any, person: rm.Person) -> Any:
    return _api(user).get(f"/fhir/DetectedIssue?patient=Patient/{person.resource.logical_id}")


def test_search_by_patient_gives_valid_detected_issues(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    response = _search(gp, alice)
    assert response.status_code == 200, response.content
    bundle = Bundle.model_validate(orjson.loads(response.content))
    issues = {}
    for entry in bundle.entry or []:
        issue = DetectedIssue.model_validate(entry.resource.model_dump())
        rule = next(c.code for c in issue.code.coding if c.system == fhir.RULE_SYSTEM)
        issues[rule] = issue
    assert {"PINCER-a", "PINCER-d", "PINCER-e"} <= set(issues)
    d = issues["PINCER-d"]
    assert [(c.system, c.code) for c in d.code.coding][1] == (fhir.ACT_CODE, "DRG")
    assert d.severity == "high" and d.patient.reference == f"Patient/{alice.resource.logical_id}"
    implicated = {r.display: r.reference for r in d.implicated}
    naproxen = rm.Medication.objects.get(person=alice, code="329807003")
    assert implicated["Naproxen 500mg tablets"] == f"MedicationRequest/{naproxen.resource.logical_id}"
    assert set(implicated) == {"Apixaban 5mg tablets", "Naproxen 500mg tablets"}
    assert "PINCER" in d.detail and d.evidence[0].detail[0].display
    audit = AuditEntry.objects.filter(resource_type="DetectedIssue", action="search").last()
    assert audit is not None and audit.person_id == alice.pk


def test_read_by_id(on_three: dict[str, Any]) -> None:
    alice, gp = on_three["alice"], on_three["gp_a"]
    first = orjson.loads(_search(gp, alice).content)["entry"][0]["resource"]
    response = _api(gp).get(f"/fhir/DetectedIssue/{first['id']}")
    assert response.status_code == 200
    assert orjson.loads(response.content) == first
    gone = _api(gp).get(f"/fhir/DetectedIssue/medfinding-{alice.pk}-0000000000000000")
    assert gone.status_code == 404 and b"OperationOutcome" in gone.content


def test_outside_care_is_empty_or_not_found(on_three: dict[str, Any]) -> None:
    alice, gp_a, gp_b = on_three["alice"], on_three["gp_a"], on_three["gp_b"]
    bundle = orjson.loads(_search(gp_b, alice).content)
    assert bundle["total"] == 0 and bundle["entry"] == []
    first = orjson.loads(_search(gp_a, alice).content)["entry"][0]["resource"]
    assert _api(gp_b).get(f"/fhir/DetectedIssue/{first['id']}").status_code == 404


def test_search_needs_a_patient_and_refuses_unknown_parameters(on_three: dict[str, Any]) -> None:
    client = _api(on_three["gp_a"])
    assert client.get("/fhir/DetectedIssue").status_code == 400
    refused = client.get("/fhir/DetectedIssue?patient=Patient/x&code=DRG")
    assert refused.status_code == 400 and b"not supported" in refused.content


def test_in_the_capability_statement(on_three: dict[str, Any]) -> None:
    statement = orjson.loads(_api(on_three["gp_a"]).get("/fhir/metadata").content)
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert "DetectedIssue" in types


def test_one_persons_tables_give_the_population_reads_findings(on_three: dict[str, Any]) -> None:
    from careweave.medicines.findings import person_findings
    from careweave.medicines.review import medicines_findings

    alice = on_three["alice"]
    rm.Observation.objects.filter(person=alice).update(value_canonical=58.0)
    printed = medicines_findings(person=alice.nhs_number)
    assert sorted(p["rule"] for p in printed) == sorted(f.rule for f in person_findings(alice).open)

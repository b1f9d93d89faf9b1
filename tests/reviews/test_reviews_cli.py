"""`careweave reviews plan [--as-of] [--person] --json` on a small record imported through the Importer:
the record's rows, through the extract and the planner, printed with NHS numbers and audited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry
from careweave.record import models as rm
from tests.test_register_cli import DM, HTN, SCT, _condition, _entry, _patient

pytestmark = pytest.mark.django_db

A, B, C = "9434765803", "9434765811", "9434765838"
LOINC = "http://loinc.org"
INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"


def _observation(key: str, patient: str, code: str, on: str, value: float | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": key,
        "status": "final",
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": {"reference": f"urn:uuid:{patient}"},
        "effectiveDateTime": on,
    }
    if value is not None:
        resource["valueQuantity"] = {
            "value": value,
            "unit": "mmol/mol",
            "system": "http://unitsofmeasure.org",
            "code": "mmol/mol",
        }
    return resource


def _visit(key: str, patient: str, practitioner: str, on: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": key,
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"urn:uuid:{patient}"},
        "participant": [{"individual": {"reference": f"urn:uuid:{practitioner}"}}],
        "serviceProvider": {"reference": "urn:uuid:org-1"},
        "period": {"start": f"{on}T10:00:00Z", "end": f"{on}T10:15:00Z"},
    }


@pytest.fixture
def record() -> None:
    resources = [
        {
            "resourceType": "Organization",
            "id": "org-1",
            "name": "Riverside Surgery",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y00001"}],
        },
        {
            "resourceType": "Practitioner",
            "id": "gp-1",
            "name": [{"family": "Okafor", "given": ["Ada"], "prefix": ["Dr"]}],
        },
        {"resourceType": "Practitioner", "id": "nurse-1", "name": [{"family": "Shah", "given": ["Priya"]}]},
        _patient("pa", A, extension=[{"url": INTERPRETER, "valueBoolean": True}]),
        _condition("a1", "pa", HTN, "2015-03-01"),
        _condition("a2", "pa", DM, "2016-03-01"),
        _observation("a3", "pa", "999791000000106", "2024-01-20", 52.0),  # HbA1c: due 20 July
        _observation("a4", "pa", "75367002", "2023-04-02"),  # blood pressure: due 2 April
        _visit("a5", "pa", "nurse-1", "2023-05-01"),
        _visit("a6", "pa", "gp-1", "2023-09-01"),
        _visit("a7", "pa", "gp-1", "2024-02-01"),
        _patient("pb", B),
        _condition("b1", "pb", HTN, "2015-03-01"),
        _observation("b2", "pb", "75367002", "2024-02-01"),  # blood pressure done: nothing due
        _patient("pc", C),
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(r) for r in resources]}
    entries = Importer().import_bundle(bundle)
    assert all(e.outcome in ("created", "updated") for e in entries), [e.outcome for e in entries]


def _plan(*args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(app, ["reviews", "plan", "--as-of", "2024-03-31", *args, "--json"])
    assert result.exit_code == 0, result.output
    listing: list[dict[str, Any]] = json.loads(result.stdout)
    return listing


def test_one_review_with_items_bloods_slot_and_usual_clinician(record: None) -> None:
    listing = _plan()
    assert [r["nhs_number"] for r in listing] == [A]  # B has nothing due, C no schedule
    review = listing[0]
    assert set(review) >= {
        "nhs_number", "review_date", "phlebotomy_date", "items", "bloods", "slot_minutes", "clinician_type", "usual_clinician",
    }  # fmt: skip
    items = {i["rule"]: i for i in review["items"]}
    # Overdue (never recorded: due today) first; HbA1c due 20 July is beyond the window (30 June).
    assert set(items) == {"diabetes_acr", "diabetes_bp", "diabetes_cholesterol", "hypertension_bp"}
    assert items["diabetes_bp"]["last_done"] == "2023-04-02" and items["diabetes_bp"]["due"] == "2024-04-02"
    assert items["diabetes_acr"]["last_done"] is None and items["diabetes_acr"]["due"] == "2024-03-31"
    assert [i["overdue"] for i in review["items"]] == [True, True, False, False]
    assert review["review_date"] == "2024-03-31" and review["phlebotomy_date"] == "2024-03-31"
    assert [(b["id"], [r["rule"] for r in b["reasons"]]) for b in review["bloods"]] == [
        ("lipids", ["diabetes_cholesterol"]),
        ("urine_acr", ["diabetes_acr"]),
    ]
    # The blood set as one ServiceRequest (a valid FHIR R4 resource): each test an orderDetail, every reason.
    request = review["requisition"]
    ServiceRequest.model_validate(request)
    assert (request["intent"], request["subject"]["reference"], request["occurrenceDateTime"]) == (
        "proposal", "Patient/pa", "2024-03-31",
    )  # fmt: skip
    assert [d["coding"][0]["code"] for d in request["orderDetail"]] == ["lipids", "urine_acr"]
    assert len(request["reasonCode"]) == 2 and "(diabetes_acr)" in request["reasonCode"][1]["text"]
    # An interpreter is needed: a double slot; diabetes and hypertension are nurse reviews.
    assert (review["slot_minutes"], review["slot_reasons"], review["clinician_type"]) == (
        30,
        ["Needs an interpreter"],
        "nurse",
    )
    # Seen twice by the GP and once by the nurse in the two years.
    assert review["usual_clinician"]["id"] == "gp-1" and "Okafor" in review["usual_clinician"]["name"]
    entry = AuditEntry.objects.get(action="review-plan", system_actor="careweave reviews plan")
    assert "1 reviews" in entry.reason and A not in entry.reason


def test_person_by_nhs_number_or_id_and_as_of(record: None) -> None:
    pk = rm.Person.objects.get(nhs_number=A).pk
    assert [r["nhs_number"] for r in _plan("--person", A)] == [A]
    assert [r["nhs_number"] for r in _plan("--person", str(pk))] == [A]
    assert _plan("--person", B) == []
    # Planned on 1 February, A's blood pressure is not yet within 12 weeks... but never-recorded items are.
    early = CliRunner().invoke(app, ["reviews", "plan", "--as-of", "2024-02-01", "--person", A, "--json"])
    assert early.exit_code == 0 and json.loads(early.stdout)[0]["review_date"] == "2024-02-01"


def test_bad_arguments_exit_2_with_one_line() -> None:
    bad = CliRunner().invoke(app, ["reviews", "plan", "--as-of", "31/03/2024", "--json"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1


def test_unknown_person_exits_2(record: None) -> None:
    result = CliRunner().invoke(app, ["reviews", "plan", "--person", "9999999999", "--json"])
    assert (
        result.exit_code == 2
        and "no person in the record" in result.output
        and "Traceback" not in result.output
    )
    assert len(result.output.strip().splitlines()) == 1

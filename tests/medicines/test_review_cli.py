"""`careweave medicines review [--as-of] [--person] --json` on records imported as a FHIR bundle: one
JSON object per finding with the NHS number, rule, severity, explanation and the implicated
medicines as recorded; a bad date or an unknown person is a one-line error (exit 2); the run is
audited with counts only."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 6, 30)
A, B, C = "9434765803", "9434765811", "9434765838"
DMD = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"


def _patient(pid: str, nhs: str, born: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
        "name": [{"family": "Testperson", "given": [pid]}],
        "gender": "female",
        "birthDate": born,
    }


def _request(rid: str, pid: str, code: str, name: str, on: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": on,
        "medicationCodeableConcept": {"coding": [{"system": DMD, "code": code, "display": name}]},
        "courseOfTherapyType": {"coding": [{"code": "continuous"}]},
    }


def _bundle() -> dict[str, Any]:
    resources = [
        _patient("pa", A, "1934-02-01"),  # 92: apixaban, aspirin and naproxen
        _request("a1", "pa", "703908001", "Apixaban 5mg tablets", "2026-06-01"),
        _request("a2", "pa", "319773006", "Aspirin 75mg dispersible tablets", "2026-06-03"),
        _request("a3", "pa", "329807003", "Naproxen 500mg tablets", "2026-06-10"),
        _patient("pb", B, "1960-01-01"),  # two SSRIs
        _request("b1", "pb", "321987003", "Citalopram 20mg tablets", "2026-06-01"),
        _request("b2", "pb", "1040511000001102", "Sertraline 50mg tablets", "2026-06-05"),
        _patient("pc", C, "1950-01-01"),  # an NSAID entered in error: nothing
        _request("c1", "pc", "329807003", "Naproxen 500mg tablets", "2026-06-10", status="entered-in-error"),
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


@pytest.fixture
def imported() -> None:
    importer = Importer(source_system="urn:test")
    importer.import_bundle(_bundle(), "medicines.json")
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]


def _review(*args: str) -> Any:
    return CliRunner().invoke(app, ["medicines", "review", *args])


def test_findings_one_json_object_a_line(imported: None) -> None:
    result = _review("--as-of", AS_OF.isoformat(), "--json")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    rules = {(p["nhs_number"], p["rule"]) for p in printed}
    assert {(A, "PINCER-a"), (A, "PINCER-d"), (A, "PINCER-e"), (B, "DUPLICATE")} <= rules
    assert not any(nhs == C for nhs, _ in rules)
    d = next(p for p in printed if p["rule"] == "PINCER-d")
    assert {(m["code"], m["name"]) for m in d["medicines"]} == {
        ("703908001", "Apixaban 5mg tablets"),
        ("329807003", "Naproxen 500mg tablets"),
    }
    assert d["severity"] == "high" and "PINCER d" in d["explanation"]
    dup = next(p for p in printed if p["rule"] == "DUPLICATE")
    assert {m["name"] for m in dup["medicines"]} == {"Citalopram 20mg tablets", "Sertraline 50mg tablets"}
    assert dup["medicines"][0]["since"] in ("2026-06-01", "2026-06-05")
    audit = AuditEntry.objects.get(action="medicines-review")
    assert audit.system_actor == "careweave medicines review"
    assert all(number not in audit.reason for number in (A, B, C))


def test_one_person(imported: None) -> None:
    result = _review("--as-of", AS_OF.isoformat(), "--person", B, "--json")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert {p["nhs_number"] for p in printed} == {B}


def test_an_unknown_person_is_a_one_line_error(imported: None) -> None:
    result = _review("--person", "9999999999", "--json")
    assert result.exit_code == 2
    assert "--person" in result.output and len(result.output.strip().splitlines()) == 1


def test_a_bad_as_of_is_a_clear_error() -> None:
    result = _review("--as-of", "30/06/2026", "--json")
    assert result.exit_code == 2
    assert "--as-of must be a date YYYY-MM-DD" in result.output
    assert not AuditEntry.objects.filter(action="medicines-review").exists()


def test_an_interaction_is_printed_as_a_ddi_rule() -> None:
    d = "9434765846"
    resources = [
        _patient("pd", d, "1950-01-01"),
        _request("d1", "pd", "320000009", "Simvastatin 40mg tablets", "2026-06-01"),
        _request("d2", "pd", "324000002", "Clarithromycin 500mg tablets", "2026-06-20", status="completed"),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
    importer = Importer(source_system="urn:test")
    importer.import_bundle(bundle, "ddi.json")
    assert importer.summary.ok
    result = _review("--as-of", AS_OF.isoformat(), "--person", d, "--json")
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    ddi = next(p for p in printed if p["rule"].startswith("DDI-"))
    assert ddi["rule"] == "DDI-ONC-08-statin-cyp3a4-inhibitor" and ddi["severity"] == "high"
    assert {m["name"] for m in ddi["medicines"]} == {
        "Simvastatin 40mg tablets",
        "Clarithromycin 500mg tablets",
    }
    assert "Phansalkar" in ddi["source"] and set(ddi) >= {"nhs_number", "rule", "explanation", "medicines"}

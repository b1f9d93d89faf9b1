"""`careweave register [--as-of] --json` on a small hand-made record imported through the Importer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.importer import Importer
from careweave.governance.models import AuditEntry
from careweave.terminology import load_condition_library

pytestmark = pytest.mark.django_db

SCT = "http://snomed.info/sct"
HTN, DM = "38341003", "44054006"
A, B, C, D, E, F = "9434765803", "9434765811", "9434765838", "9434765846", "9434765854", "9434765862"


def _patient(key: str, nhs: str, *, registered: bool = True, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": key,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
        "name": [{"family": "Test", "given": [key]}],
        "gender": "female",
        "birthDate": "1950-06-01",
        **extra,
    }
    if registered:
        resource["generalPractitioner"] = [{"reference": "urn:uuid:org-1"}]
    return resource


def _condition(key: str, patient: str, code: str, onset: str, verification: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": key,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {"coding": [{"system": SCT, "code": code}]},
        "subject": {"reference": f"urn:uuid:{patient}"},
        "onsetDateTime": onset,
    }
    if verification:
        resource["verificationStatus"] = {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}
            ]
        }
    return resource


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:uuid:{resource['id']}",
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


@pytest.fixture
def record() -> None:
    organisation = {
        "resourceType": "Organization",
        "id": "org-1",
        "name": "Riverside Surgery",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y00001"}],
    }
    resources = [
        organisation,
        _patient("pa", A),
        _condition("a1", "pa", HTN, "2015-03-01"),
        _condition("a2", "pa", DM, "2024-06-01"),  # after the --as-of date of the as-of test
        _patient("pb", B),
        _condition("b1", "pb", HTN, "2015-03-01", verification="refuted"),
        _condition("b2", "pb", DM, "2016-03-01", verification="confirmed"),
        _patient("pc", C, registered=False),
        _condition("c1", "pc", HTN, "2015-03-01"),
        _condition("c2", "pc", DM, "2016-03-01"),
        _patient("pd", D, deceasedBoolean=True),
        _condition("d1", "pd", HTN, "2015-03-01"),
        _condition("d2", "pd", DM, "2016-03-01"),
        _patient("pe", E),
        _condition("e1", "pe", HTN, "2015-03-01"),
        _condition("e2", "pe", DM, "2016-03-01"),
        {
            "resourceType": "Observation",
            "id": "e3",
            "status": "final",
            "code": {"coding": [{"system": SCT, "code": "414937009"}]},  # gold standards framework
            "subject": {"reference": "urn:uuid:pe"},
            "effectiveDateTime": "2023-01-10",
        },
        _patient("pf", F),
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(r) for r in resources]}
    entries = Importer().import_bundle(bundle)
    assert all(e.outcome in ("created", "updated") for e in entries), [e.outcome for e in entries]


def _register(*args: str) -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(app, ["register", *args, "--json"])
    assert result.exit_code == 0, result.output
    return {entry["nhs_number"]: entry for entry in json.loads(result.stdout)}


def test_every_field_and_the_exclusions(record: None) -> None:
    people = _register()
    assert set(people) == {A, B, C, E}  # D died; F has no library condition
    weights = {c.id: c.cms_weight for c in load_condition_library().conditions}
    a = people[A]
    assert set(a) >= {
        "nhs_number", "on_register", "condition_count", "conditions", "cms", "efi_score", "efi_category", "excluded",
    }  # fmt: skip
    assert a["on_register"] is True and a["condition_count"] == 2 and a["excluded"] is None
    assert a["conditions"] == [
        {"id": "diabetes", "code": DM, "system": SCT, "date": "2024-06-01"},
        {"id": "hypertension", "code": HTN, "system": SCT, "date": "2015-03-01"},
    ]
    assert a["cms"] == pytest.approx((weights["diabetes"] or 0) + (weights["hypertension"] or 0))
    assert a["efi_category"] == "fit" and 0 <= a["efi_score"] < 0.12
    # A refuted diagnosis does not count.
    assert people[B]["condition_count"] == 1 and not people[B]["on_register"]
    assert [c["id"] for c in people[B]["conditions"]] == ["diabetes"]
    # No registered practice: conditions counted, set aside from the register, with the reason.
    assert people[C]["condition_count"] == 2 and people[C]["on_register"] is False
    assert people[C]["excluded"] == "deregistered"
    # The palliative care register keeps people on the MLTC register (its own flag).
    assert people[E]["on_register"] is True and people[E]["excluded"] is None and people[E]["palliative_care"]
    assert AuditEntry.objects.filter(action="register", system_actor="careweave register").exists()


def test_as_of_applies_to_everything(record: None) -> None:
    people = _register("--as-of", "2024-01-01")
    assert people[A]["condition_count"] == 1 and people[A]["on_register"] is False
    assert [c["id"] for c in people[A]["conditions"]] == ["hypertension"]
    # Before any condition was recorded nobody prints.
    assert _register("--as-of", "2010-01-01") == {}


def test_bad_as_of_and_engine_are_clear_errors() -> None:
    bad = CliRunner().invoke(app, ["register", "--as-of", "31/12/2024", "--json"])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output and "Traceback" not in bad.output
    engine = CliRunner().invoke(app, ["register", "--engine", "pandas"])
    assert engine.exit_code == 2 and "duckdb or spark" in engine.output

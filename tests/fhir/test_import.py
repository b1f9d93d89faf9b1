"""Import semantics: all-or-nothing, idempotent, clear errors that name file, entry and element."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.fhir.outcome import Refused
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, patient, transaction_bundle

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (rm.StoredResource, rm.Person, rm.Condition, rm.Observation, rm.Organisation)
    }


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(document))
    return path


def test_transaction_bundle_projects_the_record(good_bundle: dict[str, Any]) -> None:
    importer = Importer(source_system="urn:test")
    importer.import_bundle(good_bundle, "bundle.json")
    person = rm.Person.objects.get()
    assert person.nhs_number == "9434765919"
    assert person.registered_practice is not None and person.registered_practice.sector == "general-practice"
    assert person.conditions.get().code == "44054006"
    bp = {o.code: o.value for o in person.observations.all()}
    assert bp["8480-6"] == 150 and bp["8462-4"] == 92
    # references were rewritten to our ids, and each item keeps its provenance
    condition = rm.StoredResource.objects.get(resource_type="Condition")
    assert orjson.loads(condition.body)["subject"]["reference"] == f"Patient/{person.resource.logical_id}"
    assert condition.source_system == "urn:test" and condition.source_id == "cond-1"


def test_reimport_is_unchanged_and_creates_nothing(good_bundle: dict[str, Any]) -> None:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "a.json")
    before = counts()
    again = Importer(source_system="urn:test")
    again.import_bundle(good_bundle, "a.json")
    assert counts() == before
    assert again.summary.total("unchanged") == 4 and again.summary.total("created") == 0


def test_changed_resource_is_updated_with_a_new_version() -> None:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "a.json")
    changed = transaction_bundle()
    changed["entry"][2]["resource"]["clinicalStatus"]["coding"][0]["code"] = "resolved"
    importer = Importer(source_system="urn:test")
    importer.import_bundle(changed, "a.json")
    assert importer.summary.counts["Condition"]["updated"] == 1
    stored = rm.StoredResource.objects.get(resource_type="Condition")
    assert stored.version == 2
    assert rm.Condition.objects.get().clinical_status == "resolved"
    assert rm.Condition.objects.count() == 1


def test_same_nhs_number_from_another_source_is_the_same_person() -> None:
    Importer(source_system="urn:practice").import_bundle(transaction_bundle(), "gp.json")
    hospital = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:h-pat",
                "resource": patient(pid="hospital-123"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "fullUrl": "urn:uuid:h-cond",
                "resource": {
                    "resourceType": "Condition",
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "84114007"}]},
                    "subject": {"reference": "urn:uuid:h-pat"},
                },
                "request": {"method": "POST", "url": "Condition"},
            },
        ],
    }
    Importer(source_system="urn:hospital").import_bundle(hospital, "acute.json")
    assert rm.Person.objects.count() == 1
    assert sorted(rm.Condition.objects.values_list("code", flat=True)) == ["44054006", "84114007"]


def _refused(bundle: Any, name: str = "bad.json") -> Refused:
    with pytest.raises(Refused) as caught:
        Importer(source_system="urn:test").import_bundle(bundle, name)
    return caught.value


def test_missing_required_element_names_entry_and_element() -> None:
    bundle = transaction_bundle()
    del bundle["entry"][3]["resource"]["status"]
    refused = _refused(bundle)
    issue = refused.issues[0]
    assert issue.file == "bad.json" and issue.entry == 3
    assert issue.expression == "Bundle.entry[3].resource.status"
    assert counts() == {k: 0 for k in counts()}  # the valid entries before it were not written either


def test_value_outside_required_binding_is_refused() -> None:
    bundle = transaction_bundle()
    bundle["entry"][3]["resource"]["status"] = "done"
    issue = _refused(bundle).issues[0]
    assert issue.expression == "Bundle.entry[3].resource.status" and "required value set" in issue.message


def test_dangling_reference_is_refused() -> None:
    bundle = transaction_bundle()
    bundle["entry"][2]["resource"]["subject"] = {"reference": "urn:uuid:nobody"}
    issue = _refused(bundle).issues[0]
    assert issue.entry == 2 and issue.expression == "Bundle.entry[2].resource.subject.reference"
    assert "dangling" in issue.message
    assert rm.StoredResource.objects.count() == 0


def test_literal_reference_to_nothing_is_refused_when_strict_and_kept_unlinked_from_files() -> None:
    bundle = transaction_bundle()
    bundle["entry"][2]["resource"]["subject"] = {"reference": "Patient/does-not-exist"}
    with pytest.raises(Refused) as caught:
        Importer(source_system="urn:test", strict_references=True).import_bundle(bundle, "api")
    assert caught.value.issues[0].code == "not-found"
    assert rm.StoredResource.objects.count() == 0
    lenient = Importer(source_system="urn:test")
    lenient.import_bundle(bundle, "file.json")
    assert rm.Condition.objects.count() == 0  # not in anyone's record...
    assert (
        rm.StoredResource.objects.filter(resource_type="Condition", person=None).count() == 1
    )  # ...but kept
    assert any("does-not-exist" in w.message for w in lenient.summary.warnings)


def test_bad_nhs_number_is_refused() -> None:
    bundle = transaction_bundle()
    bundle["entry"][1]["resource"]["identifier"][0]["value"] = "9434765918"
    issue = _refused(bundle).issues[0]
    assert (
        issue.expression == "Bundle.entry[1].resource.identifier[0].value" and "NHS number" in issue.message
    )


def test_unknown_resource_type_is_refused() -> None:
    bundle = transaction_bundle()
    bundle["entry"][2]["resource"]["resourceType"] = "Conditoin"
    issue = _refused(bundle).issues[0]
    assert issue.expression == "Bundle.entry[2].resource.resourceType" and "Conditoin" in issue.message


def test_unmodelled_types_are_kept_raw() -> None:
    bundle = transaction_bundle(
        [
            {
                "fullUrl": "urn:uuid:procedure",
                "resource": {
                    "resourceType": "Procedure",
                    "status": "completed",
                    "subject": {"reference": f"urn:uuid:{PATIENT_ID}"},
                    "code": {"text": "Hip replacement"},
                },
                "request": {"method": "POST", "url": "Procedure"},
            }
        ]
    )
    importer = Importer(source_system="urn:test")
    importer.import_bundle(bundle, "x.json")
    raw = rm.StoredResource.objects.get(resource_type="Procedure")
    assert raw.modelled is False and raw.person is not None


def test_conditional_create_is_honoured() -> None:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "a.json")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:again",
                "resource": {
                    "resourceType": "Organization",
                    "name": "Riverside Surgery (copy)",
                    "identifier": [
                        {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y00001"}
                    ],
                },
                "request": {
                    "method": "POST",
                    "url": "Organization",
                    "ifNoneExist": "identifier=https://fhir.nhs.uk/Id/ods-organization-code|Y00001",
                },
            },
            {
                "fullUrl": "urn:uuid:p2",
                "resource": {
                    **patient("9000000009", "p2"),
                    "generalPractitioner": [{"reference": "urn:uuid:again"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
        ],
    }
    Importer(source_system="urn:other").import_bundle(bundle, "b.json")
    assert rm.Organisation.objects.count() == 1
    assert rm.Person.objects.get(nhs_number="9000000009").registered_practice.ods_code == "Y00001"


def test_cli_refuses_bad_files_names_them_and_exits_non_zero(tmp_path: Path) -> None:
    good = write(tmp_path, "good.json", transaction_bundle())
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceType": "Bundle", "type": ')
    wrong = write(tmp_path, "wrong.json", {"resourceType": "Patientt", "id": "x"})
    ndjson = tmp_path / "Condition.ndjson.gz"
    with gzip.open(ndjson, "wb") as handle:
        handle.write(orjson.dumps(patient(pid="zz")) + b"\n")
    result = CliRunner().invoke(app, ["import", str(good), str(broken), str(wrong), str(ndjson), "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.stdout)
    text = json.dumps(summary["errors"])
    assert "broken.json" in text and "broken JSON" in text
    assert "wrong.json" in text and "Patientt" in text
    assert "Condition.ndjson.gz" in text and "expected a Condition" in text
    assert summary["refused"] == 3
    assert summary["counts"]["Patient"]["created"] == 1  # the good file still went in
    assert rm.Person.objects.count() == 1


def test_ndjson_file_is_all_or_nothing(tmp_path: Path) -> None:
    lines = [
        orjson.dumps(patient(pid=f"p{i}", nhs=n))
        for i, n in enumerate(["9434765919", "9000000009", "9434765870"])
    ]
    lines[2] = lines[2].replace(b'"female"', b'"woman"')  # invalid gender on the third line
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(b"\n".join(lines))
    importer = Importer(source_system="urn:test")
    import_paths(importer, [path])
    assert rm.Person.objects.count() == 0
    assert importer.summary.errors[0].entry == 3 and importer.summary.errors[0].expression == "Patient.gender"
    assert importer.summary.total("created") == 0


def test_missing_paths_and_empty_folders_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        app, ["import", str(tmp_path / "empty"), str(tmp_path / "absent.json"), "--json"]
    )
    assert result.exit_code == 1
    text = json.dumps(json.loads(result.stdout)["errors"])
    assert "no FHIR files" in text and "absent.json" in text

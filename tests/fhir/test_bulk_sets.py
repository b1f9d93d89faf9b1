"""Bulk Data sets (issue 11, ADR 0016): NDJSON files whose references cross files in both directions,
in any order and including cycles, load whole; a reference that resolves nowhere refuses the set
before anything is written, naming file, line and element; loading again creates nothing."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.record import models as rm
from careweave.synth import generate

pytestmark = pytest.mark.django_db
SOURCE = "urn:test:other-system"


def with_cycles(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """The generator's NDJSON with the references a real $export has in both directions:
    Condition.encounter -> Encounter and Encounter.diagnosis -> Condition for the same person,
    MedicationRequest.reasonReference -> Condition, and Procedures whose reasonReference is a Condition."""
    kinds = {
        p.name.split(".")[0]: [orjson.loads(x) for x in p.read_bytes().splitlines() if x.strip()]
        for p in folder.glob("*.ndjson")
    }
    encounters: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for encounter in kinds["Encounter"]:
        encounters[encounter["subject"]["reference"]].append(encounter)
    first_condition: dict[str, str] = {}
    for condition in kinds["Condition"]:
        person = condition["subject"]["reference"]
        first_condition.setdefault(person, condition["id"])
        if encounters.get(person):
            encounter = encounters[person][0]
            condition["encounter"] = {"reference": f"Encounter/{encounter['id']}"}
            encounter.setdefault("diagnosis", []).append(
                {"condition": {"reference": f"Condition/{condition['id']}"}}
            )
    for request in kinds["MedicationRequest"]:
        reason = first_condition.get(request["subject"]["reference"])
        if reason:
            request["reasonReference"] = [{"reference": f"Condition/{reason}"}]
    source = kinds["Patient"][0]["meta"]["source"]
    kinds["Procedure"] = [
        {
            "resourceType": "Procedure",
            "id": f"proc-{i}",
            "meta": {"source": source},
            "status": "completed",
            "code": {"text": "Review"},
            "subject": {"reference": person},
            "reasonReference": [{"reference": f"Condition/{cid}"}],
        }
        for i, (person, cid) in enumerate(sorted(first_condition.items()))
    ]
    return kinds


def write_shuffled(kinds: dict[str, list[dict[str, Any]]], out: Path, seed: int) -> list[Path]:
    """Each type's lines in a file whose name says nothing of its type, in a shuffled order."""
    out.mkdir()
    rng = random.Random(seed)
    names = list(kinds)
    rng.shuffle(names)
    paths = []
    for i, kind in enumerate(names):
        lines = list(kinds[kind])
        rng.shuffle(lines)
        path = out / f"part-{i:02d}.ndjson"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in lines) + b"\n")
        paths.append(path)
    rng.shuffle(paths)
    return paths


def body(kind: str, lid: str) -> dict[str, Any]:
    return orjson.loads(rm.StoredResource.objects.get(resource_type=kind, logical_id=lid).body)


def test_an_export_with_cross_file_cycles_in_shuffled_order_loads_whole(tmp_path: Path) -> None:
    generate(25, 5, tmp_path / "synth")
    kinds = with_cycles(tmp_path / "synth")
    assert any("diagnosis" in e for e in kinds["Encounter"]) and kinds["Procedure"]
    paths = write_shuffled(kinds, tmp_path / "export", seed=11)
    result = CliRunner().invoke(app, ["import", *map(str, paths), "--json", "--batch-size", "150"])
    assert result.exit_code == 0, result.output[-2000:]
    summary = json.loads(result.stdout)
    # one resource per type and id: a referral's Task arrives as one line per version (its history)
    total = len({(kind, r["id"]) for kind, rows in kinds.items() for r in rows})
    assert summary["totals"]["created"] == total == rm.StoredResource.objects.count()
    assert rm.Person.objects.count() == len(kinds["Patient"])
    # every reference of the cycle points at a resource that is there
    condition = next(c for c in kinds["Condition"] if "encounter" in c)
    stored = body("Condition", condition["id"])
    encounter_id = stored["encounter"]["reference"].split("/")[1]
    diagnosis = body("Encounter", encounter_id)["diagnosis"]
    assert {"reference": f"Condition/{condition['id']}"} in [d["condition"] for d in diagnosis]
    for procedure in rm.StoredResource.objects.filter(resource_type="Procedure"):
        reason = orjson.loads(procedure.body)["reasonReference"][0]["reference"].split("/")
        assert rm.StoredResource.objects.filter(resource_type=reason[0], logical_id=reason[1]).exists()
        assert procedure.person_id is not None
    # the record's rows were projected as a file-ordered load would: conditions and encounters per person
    assert rm.Condition.objects.count() == len(kinds["Condition"])
    assert rm.Encounter.objects.count() == len(kinds["Encounter"])
    assert rm.Encounter.objects.exclude(organisation=None).exists()

    again = CliRunner().invoke(app, ["import", *map(str, reversed(paths)), "--json"])
    assert again.exit_code == 0, again.output[-2000:]
    totals = json.loads(again.stdout)["totals"]
    versions = sum(len(v) for v in kinds.values()) - total  # earlier versions of a Task, already held
    assert totals["created"] == 0 and totals["updated"] == 0 and totals["unchanged"] == total
    assert totals["skipped"] == versions
    assert rm.StoredResource.objects.count() == total


def cycle_set() -> list[dict[str, Any]]:
    """A hand-built cycle, written in the reverse of the order a file-by-file load would need."""
    subject = {"reference": "Patient/pat-1"}
    return [
        {
            "resourceType": "MedicationRequest",
            "id": "med-1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Metformin"},
            "subject": subject,
            "reasonReference": [{"reference": "Condition/cond-1"}],
        },
        {
            "resourceType": "Procedure",
            "id": "proc-1",
            "status": "completed",
            "subject": subject,
            "encounter": {"reference": "Encounter/enc-1"},
            "reasonReference": [{"reference": "Condition/cond-1"}],
        },
        {
            "resourceType": "Encounter",
            "id": "enc-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": subject,
            "diagnosis": [{"condition": {"reference": "Condition/cond-1"}}],
        },
        {
            "resourceType": "Condition",
            "id": "cond-1",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "subject": subject,
            "encounter": {"reference": "Encounter/enc-1"},
        },
        {
            "resourceType": "Patient",
            "id": "pat-1",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
            "gender": "female",
        },
    ]


def test_a_cycle_inside_one_mixed_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in cycle_set()))
    importer = Importer(source_system=SOURCE)
    import_paths(importer, [path])
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]
    person = rm.Person.objects.get()
    assert person.conditions.get().code == "44054006" and person.encounters.count() == 1
    assert body("Condition", "cond-1")["encounter"] == {"reference": "Encounter/enc-1"}
    assert rm.StoredResource.objects.get(resource_type="Procedure").person == person


def test_a_cycle_across_files_in_any_order_loads(tmp_path: Path) -> None:
    paths = []
    for resource in cycle_set():
        path = tmp_path / f"{resource['resourceType']}.ndjson"
        path.write_bytes(orjson.dumps(resource))
        paths.append(path)
    importer = Importer(source_system=SOURCE)
    import_paths(importer, paths)
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors]
    assert importer.summary.total("created") == 5


def test_a_dangling_reference_refuses_the_set_naming_file_line_and_element(tmp_path: Path) -> None:
    resources = cycle_set()
    resources[3]["encounter"] = {"reference": "Encounter/nowhere"}
    good = tmp_path / "Patient.ndjson"
    good.write_bytes(orjson.dumps(resources[4]))
    mixed = tmp_path / "clinical.ndjson"
    mixed.write_bytes(b"\n".join(orjson.dumps(r) for r in resources[:4]))
    importer = Importer(source_system=SOURCE)
    import_paths(importer, [good, mixed])
    assert not importer.summary.ok
    issue = importer.summary.errors[0]
    assert (issue.file, issue.entry, issue.expression) == (str(mixed), 4, "Condition.encounter.reference")
    assert "dangling reference Encounter/nowhere" in issue.message
    assert len(importer.summary.errors) == 1  # the cycle's own references resolved within the set
    assert rm.StoredResource.objects.count() == 0  # the whole set was refused, the good file too
    assert importer.summary.units_refused == 2 and importer.summary.total("created") == 0


def test_a_manifest_names_the_files_of_an_export(tmp_path: Path) -> None:
    resources = cycle_set()
    output = []
    for i, resource in enumerate(resources):
        path = tmp_path / "files" / f"{i}.ndjson"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(orjson.dumps(resource))
        url = path.as_uri() if i % 2 else f"files/{i}.ndjson"
        output.append({"type": resource["resourceType"], "url": url})
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(
        orjson.dumps({"transactionTime": "2026-12-01T00:00:00Z", "request": "x", "output": output})
    )
    result = CliRunner().invoke(app, ["import", str(manifest), "--json", "--source", SOURCE])
    assert result.exit_code == 0, result.output[-2000:]
    assert json.loads(result.stdout)["totals"]["created"] == 5

    # the manifest's type is checked against what each file holds
    output[0]["type"] = "Observation"
    manifest.write_bytes(orjson.dumps({"output": output}))
    wrong = CliRunner().invoke(app, ["import", str(manifest), "--json", "--source", SOURCE])
    assert wrong.exit_code == 1 and "expected a Observation" in wrong.stdout

    remote = tmp_path / "remote.json"
    remote.write_bytes(
        orjson.dumps({"output": [{"type": "Patient", "url": "https://example.org/Patient.ndjson"}]})
    )
    refused = CliRunner().invoke(app, ["import", str(remote), "--json"])
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)["errors"][0]
    assert error["expression"] == ["output[0].url"] and "remote.json" in error["diagnostics"]


def test_a_duplicate_across_files_is_refused(tmp_path: Path) -> None:
    patient = cycle_set()[4]
    for name in ("a.ndjson", "b.ndjson"):
        (tmp_path / name).write_bytes(orjson.dumps(patient))
    importer = Importer(source_system=SOURCE)
    import_paths(importer, [tmp_path])
    assert not importer.summary.ok and "appears twice" in importer.summary.errors[0].message
    assert rm.StoredResource.objects.count() == 0


def test_an_unreadable_file_refuses_the_set_naming_it(tmp_path: Path) -> None:
    (tmp_path / "Patient.ndjson").write_bytes(orjson.dumps(cycle_set()[4]))
    broken = tmp_path / "Condition.ndjson.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    importer = Importer(source_system=SOURCE)
    import_paths(importer, [tmp_path])
    assert [i.file for i in importer.summary.errors] == [str(broken)]
    assert "cannot read the file" in importer.summary.errors[0].message
    assert rm.StoredResource.objects.count() == 0

"""Bulk Data lines validated in worker processes (issue 11, item 3) give the same plan and the same
issues, naming file, line and element, as validation in-process."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.fhir.imports import parallel
from careweave.record import models as rm
from careweave.synth import generate

pytestmark = pytest.mark.django_db


def spoil(folder: Path) -> int:
    """Make one Condition deep in the file invalid (per-1 and a bad binding); its line number."""
    path = folder / "Condition.ndjson"
    lines = path.read_bytes().splitlines()
    target = len(lines) - 3
    bad = orjson.loads(lines[target])
    bad["onsetPeriod"] = {"start": "2020-02-01", "end": "2020-01-01"}
    bad.pop("onsetDateTime", None)
    bad["clinicalStatus"] = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "x"}]
    }
    lines[target] = orjson.dumps(bad)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return target + 1


def refusal(folder: Path) -> list[tuple[str | None, int | None, str | None, str]]:
    importer = Importer()
    import_paths(importer, [folder])
    assert not importer.summary.ok
    return sorted((i.file, i.entry, i.expression, i.message) for i in importer.summary.errors)


def test_workers_refuse_the_same_lines_as_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "synth"
    generate(30, 5, data)
    line = spoil(data)
    monkeypatch.setattr(parallel, "CHUNK", 20)  # many chunks, so the pool is used
    monkeypatch.setattr(parallel, "WORKERS", 2)
    in_workers = refusal(data)
    monkeypatch.setattr(parallel, "WORKERS", 1)
    in_process = refusal(data)
    assert in_workers == in_process
    where = {(Path(f or "").name, e, x) for f, e, x, _ in in_workers}
    assert ("Condition.ndjson", line, "Condition.onsetPeriod") in where
    assert ("Condition.ndjson", line, "Condition.clinicalStatus") in where
    assert rm.StoredResource.objects.count() == 0


def test_workers_load_a_valid_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "synth"
    generate(20, 6, data)
    monkeypatch.setattr(parallel, "CHUNK", 25)
    monkeypatch.setattr(parallel, "WORKERS", 2)
    importer = Importer()
    import_paths(importer, [data])
    assert importer.summary.ok, importer.summary.errors[:3]
    assert rm.Person.objects.count() == 20

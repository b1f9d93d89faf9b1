"""`POST /fhir/$import` (issue 11, item 1): an integration client names NDJSON files in the server's
import folder, the load runs on the task queue (`careweave worker`), and the status URL answers 202
while it waits, then the counts, or the OperationOutcome of a refused set (which wrote nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from typer.testing import CliRunner

from careweave.cli import app
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from careweave.synth import generate

# Committed: the worker closes its connection between tasks (see tests/jobs/test_refresh.py)
pytestmark = pytest.mark.django_db(transaction=True)


def token(username: str, role: Role) -> dict[str, str]:
    user = get_user_model().objects.create_user(username=username, password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=role)
    return {"Authorization": f"Bearer {ApiToken.issue(user, 'test')}"}


@pytest.fixture
def folder(tmp_path: Path, settings: Any) -> Path:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CAREWEAVE_IMPORT_DIR = tmp_path
    generate(8, 3, tmp_path / "export")
    return tmp_path


def kick_off(headers: dict[str, str], body: Any) -> Any:
    return Client().post(
        "/fhir/$import", orjson.dumps(body), content_type="application/json", headers=headers
    )


def manifest(folder: Path) -> dict[str, Any]:
    files = sorted((folder / "export").glob("*.ndjson"))
    return {
        "inputFormat": "application/fhir+ndjson",
        "input": [{"type": f.name.split(".")[0], "url": f.resolve().as_uri()} for f in files],
    }


def work() -> None:
    result = CliRunner().invoke(app, ["worker", "--once", "--no-schedule"])
    assert result.exit_code == 0, result.output


def test_import_runs_on_the_queue_and_reports_its_counts(folder: Path) -> None:
    integrator = token("feed", Role.INTEGRATOR)
    response = kick_off(integrator, manifest(folder))
    assert response.status_code == 202, response.content
    status_url = response["Content-Location"]
    assert "/fhir/$import-status/" in status_url
    waiting = Client().get(status_url, headers=integrator)
    assert waiting.status_code == 202 and waiting["X-Progress"] == "queued"
    work()
    done = Client().get(status_url, headers=integrator)
    assert done.status_code == 200, done.content
    body = orjson.loads(done.content)
    assert body["requiresAccessToken"] is False and body["error"] == []
    patients = next(o for o in body["output"] if o["type"] == "Patient")
    assert patients["created"] == 8
    assert rm.Person.objects.count() == 8
    # the status is the asker's only
    other = token("other-feed", Role.INTEGRATOR)
    assert Client().get(status_url, headers=other).status_code == 404


def test_a_refused_set_reports_file_line_and_element_and_writes_nothing(folder: Path) -> None:
    path = folder / "export" / "Patient.ndjson"
    lines = path.read_bytes().splitlines()
    bad = orjson.loads(lines[2])
    bad["gender"] = "boy"
    lines[2] = orjson.dumps(bad)
    path.write_bytes(b"\n".join(lines) + b"\n")
    integrator = token("feed", Role.INTEGRATOR)
    status_url = kick_off(integrator, manifest(folder))["Content-Location"]
    work()
    refused = Client().get(status_url, headers=integrator)
    assert refused.status_code == 400
    issues = orjson.loads(refused.content)["issue"]
    assert any("Patient.ndjson, line 3, Patient.gender" in i["diagnostics"] for i in issues), issues
    assert rm.StoredResource.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"input": [{"type": "Patient", "url": "file:///etc/passwd"}]},
        {"input": [{"type": "Patient", "url": "../outside.ndjson"}]},
        {"input": [{"type": "Patient", "url": "https://example.org/Patient.ndjson"}]},
        {"input": [{"type": "Patient", "url": "export/missing.ndjson"}]},
        {"input": []},
        {"nothing": True},
    ],
)
def test_only_ndjson_inside_the_import_folder_is_read(folder: Path, body: dict[str, Any]) -> None:
    response = kick_off(token("feed", Role.INTEGRATOR), body)
    assert response.status_code == 400
    assert orjson.loads(response.content)["resourceType"] == "OperationOutcome"


def test_only_integration_clients_start_an_import(folder: Path) -> None:
    response = kick_off(token("doctor", Role.GP), manifest(folder))
    assert response.status_code == 403
    assert rm.StoredResource.objects.count() == 0

"""The command-line contract that scripts and integrators rely on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record.models import Person

pytestmark = pytest.mark.django_db


def test_synth_writes_ndjson_per_type(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["synth", "--people", "50", "--seed", "4", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    files = {p.name for p in tmp_path.glob("*.ndjson")}
    assert {"Patient.ndjson", "Condition.ndjson", "Encounter.ndjson", "Organization.ndjson"} <= files
    assert sum(1 for _ in (tmp_path / "Patient.ndjson").open()) == 50


def test_demo_builds_accounts_for_every_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--people", "150", "--no-serve", "--json"])
    assert result.exit_code == 0, result.output
    accounts = json.loads(result.stdout[result.stdout.index("[") :])
    roles = {a["role"] for a in accounts}
    assert {r.value for r in Role} <= roles
    assert Person.objects.count() == 150
    gp = next(a for a in accounts if a["username"] == "gp")
    assert ApiToken.user_for(gp["api_token"]).username == "gp"
    assert StaffProfile.objects.get(user__username="gp").organisation.sector == "general-practice"
    # running it again reuses the population and still works
    again = CliRunner().invoke(app, ["demo", "--people", "150", "--no-serve", "--json"])
    assert again.exit_code == 0 and Person.objects.count() == 150


def test_token_create_for_unknown_user_fails() -> None:
    result = CliRunner().invoke(app, ["token", "create", "nobody"])
    assert result.exit_code == 1

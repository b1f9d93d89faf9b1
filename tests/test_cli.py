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


def _carcinoma_csv(path: Path) -> Path:
    from tests.population.carcinoma import CARCINOMA

    lines = ["A,B,C,D,E,F,G"]
    for pattern, count in CARCINOMA.items():
        lines += [",".join("yes" if c == "1" else "no" for c in pattern)] * count
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db(databases=[])
def test_lca_fit_reports_the_maximum_likelihood_fit_by_default(tmp_path: Path) -> None:
    """`careweave lca fit` gives poLCA's carcinoma log-likelihood (-317.2568); it gave -317.31 (MAP)."""
    csv = _carcinoma_csv(tmp_path / "carcinoma.csv")
    result = CliRunner().invoke(app, ["lca", "fit", str(csv), "--classes", "2", "--json"])
    assert result.exit_code == 0, result.output
    fit = json.loads(result.stdout)
    assert fit["n_obs"] == 118 and fit["smoothing"] == 0.0 and fit["estimator"] == "maximum likelihood"
    assert abs(fit["loglik"] - -317.2568) < 0.01
    smoothed = CliRunner().invoke(
        app, ["lca", "fit", str(csv), "--classes", "2", "--smoothing", "0.01", "--json"]
    )
    assert smoothed.exit_code == 0, smoothed.output
    assert json.loads(smoothed.stdout)["loglik"] < fit["loglik"] - 0.01
    negative = CliRunner().invoke(app, ["lca", "fit", str(csv), "--classes", "2", "--smoothing", "-1"])
    assert negative.exit_code == 2 and "smoothing" in negative.output

"""/fhir/Questionnaire: the shipped and loaded definitions served; a load without a licence refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from careweave.questionnaires.catalogue import DATA
from careweave.questionnaires.definitions import LICENCE_URL

pytestmark = pytest.mark.django_db


def test_the_shipped_questionnaires_are_served(fhir_world: dict[str, Any]) -> None:
    api = fhir_world["api"]["gp"]
    found = api.get("Questionnaire").json()
    assert {e["resource"]["id"] for e in found["entry"]} == {"coordination-prem", "carer-impact"}
    one = api.get("Questionnaire?url=https://fhir.careweave.org/Questionnaire/carer-impact").json()
    assert one["total"] == 1
    logical_id = one["entry"][0]["resource"]["id"]
    assert api.get(f"Questionnaire/{logical_id}").json()["url"].endswith("carer-impact")
    assert api.get("Questionnaire/nope").status_code == 404
    assert fhir_world["api"]["analyst"].get("Questionnaire").status_code == 403


def test_an_integration_client_loads_one_and_one_without_a_licence_is_refused(
    fhir_world: dict[str, Any],
) -> None:
    body = json.loads((DATA / "coordination-prem.json").read_text())
    body.update(url="https://example.org/Questionnaire/pacic", id="pacic", version="2")
    api = fhir_world["api"]["integrator"]
    assert api.post("Questionnaire", body).status_code == 201
    assert fhir_world["api"]["gp"].get("Questionnaire?_id=pacic").json()["total"] == 1
    body["extension"] = [e for e in body["extension"] if e["url"] != LICENCE_URL]
    refused = api.post("Questionnaire", {**body, "version": "3"})
    assert refused.status_code == 422
    assert "licence" in refused.json()["issue"][0]["diagnostics"]
    assert fhir_world["api"]["gp"].post("Questionnaire", body).status_code == 403


def test_the_capability_statement_lists_both_types(fhir_world: dict[str, Any]) -> None:
    statement = fhir_world["api"]["gp"].get("metadata").json()
    types = {r["type"] for r in statement["rest"][0]["resource"]}
    assert {"Questionnaire", "QuestionnaireResponse"} <= types

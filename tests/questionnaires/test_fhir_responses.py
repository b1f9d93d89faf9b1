"""QuestionnaireResponses at /fhir: refused as a whole with an OperationOutcome naming the item,
or scored and stored with coded Observations in the person's record."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from careweave.governance.models import AuditEntry
from careweave.questionnaires.models import ResponseRecord
from careweave.record import models as rm
from tests.questionnaires.conftest import AGREE, PREM, prem_response

pytestmark = pytest.mark.django_db


def _refused(response: Any, status: int, link_id: str) -> list[dict[str, Any]]:
    assert response.status_code == status, response.content
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    named = [i for i in outcome["issue"] if f"'{link_id}'" in i["diagnostics"]]
    assert named, outcome
    return named


def _nothing_stored() -> None:
    assert not rm.StoredResource.objects.filter(resource_type="QuestionnaireResponse").exists()
    assert not rm.Observation.objects.filter(category="survey").exists()
    assert not ResponseRecord.objects.exists()


def test_a_complete_response_is_scored_and_becomes_coded_observations(fhir_world: dict[str, Any]) -> None:
    response = fhir_world["api"]["gp"].post("QuestionnaireResponse", prem_response())
    assert response.status_code == 201, response.content
    stored = response.json()
    # definitely 3 + often 1 + to some extent 2 + no 0
    assert next(i for i in stored["item"] if i["linkId"] == "score")["answer"] == [{"valueInteger": 6}]
    observations = rm.Observation.objects.filter(person=fhir_world["person"], category="survey")
    codes = {o.code: o for o in observations}
    assert set(codes) == {
        "prem-knew-other-care",
        "prem-repeat-story",
        "prem-know-who-to-contact",
        "prem-priorities",
        "prem-coordination-score",
    }
    assert codes["prem-coordination-score"].value == 6
    assert codes["prem-priorities"].value_text == "No"
    body = orjson.loads(rm.StoredResource.objects.get(pk=codes["prem-priorities"].resource_id).body)
    assert body["derivedFrom"] == [{"reference": f"QuestionnaireResponse/{stored['id']}"}]
    record = ResponseRecord.objects.get()
    assert record.score == 6 and record.person == fhir_world["person"]
    assert AuditEntry.objects.filter(
        action="create", resource_type="QuestionnaireResponse", outcome="success"
    ).exists()


def test_a_wrong_answer_type_is_refused_naming_the_item(fhir_world: dict[str, Any]) -> None:
    bad = prem_response(priorities={"valueString": "quite"})
    issues = _refused(fhir_world["api"]["gp"].post("QuestionnaireResponse", bad), 422, "priorities")
    assert "valueCoding" in issues[0]["diagnostics"]
    assert issues[0]["expression"] == ["QuestionnaireResponse.item.where(linkId='priorities').answer[0]"]
    _nothing_stored()


def test_a_missing_required_item_is_refused(fhir_world: dict[str, Any]) -> None:
    issues = _refused(
        fhir_world["api"]["gp"].post("QuestionnaireResponse", prem_response(repeat_story=None)),
        422,
        "repeat-story",
    )
    assert issues[0]["code"] == "required"
    _nothing_stored()


def test_an_unknown_link_id_and_an_answer_not_in_the_options_are_both_named(
    fhir_world: dict[str, Any],
) -> None:
    bad = prem_response(priorities={"valueCoding": {"system": AGREE, "code": "maybe"}})
    bad["item"].append({"linkId": "favourite-colour", "answer": [{"valueString": "blue"}]})
    response = fhir_world["api"]["gp"].post("QuestionnaireResponse", bad)
    assert _refused(response, 422, "priorities")[0]["code"] == "value"
    assert any(
        "favourite-colour" in i["diagnostics"] and i["code"] == "not-found" for i in response.json()["issue"]
    )
    _nothing_stored()


def test_an_unknown_questionnaire_and_an_unfinished_response_are_refused(fhir_world: dict[str, Any]) -> None:
    api = fhir_world["api"]["gp"]
    unknown = {**prem_response(), "questionnaire": "https://example.org/Questionnaire/nope"}
    assert api.post("QuestionnaireResponse", unknown).status_code == 422
    unfinished = {**prem_response(), "status": "in-progress"}
    assert api.post("QuestionnaireResponse", unfinished).status_code == 422
    assert api.post("QuestionnaireResponse", ["not", "a", "resource"]).status_code == 400
    _nothing_stored()


def test_someone_outside_ones_care_is_not_known_and_analysts_cannot_write(fhir_world: dict[str, Any]) -> None:
    assert fhir_world["api"]["other_gp"].post("QuestionnaireResponse", prem_response()).status_code == 404
    assert fhir_world["api"]["analyst"].post("QuestionnaireResponse", prem_response()).status_code == 403
    _nothing_stored()
    assert AuditEntry.objects.filter(resource_type="QuestionnaireResponse", outcome="denied").count() == 2


def test_stored_responses_are_found_by_patient_and_not_replaced_by_put(fhir_world: dict[str, Any]) -> None:
    api = fhir_world["api"]["gp"]
    created = api.post("QuestionnaireResponse", prem_response()).json()
    found = api.get(f"QuestionnaireResponse?patient={fhir_world['person'].resource.logical_id}").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [created["id"]]
    assert api.get(f"QuestionnaireResponse/{created['id']}").json()["questionnaire"].startswith(PREM)
    put = api.client.put(
        f"/fhir/QuestionnaireResponse/{created['id']}", data=created, content_type="application/fhir+json"
    )
    assert put.status_code == 405
    other = fhir_world["api"]["other_gp"].get(
        f"QuestionnaireResponse?patient={fhir_world['person'].resource.logical_id}"
    )
    assert other.json()["total"] == 0

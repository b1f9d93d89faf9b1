"""Questionnaire definitions as data: the shipped ones are ours and openly licensed, marked not validated;
the licensed instruments are listed, not shipped; a definition without a licence or source is refused."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from careweave.questionnaires.catalogue import DATA, licensed_not_shipped, shipped
from careweave.questionnaires.definitions import LICENCE_URL, SOURCE_URL, DefinitionError, parse_questionnaire
from careweave.questionnaires.validation import scores
from tests.questionnaires.conftest import CARER, prem_response


def _prem() -> dict[str, Any]:
    return json.loads((DATA / "coordination-prem.json").read_text())


def test_the_shipped_instruments_are_ours_openly_licensed_and_marked_not_validated() -> None:
    found = {d.url: d for d in shipped()}
    assert set(found) == {
        "https://fhir.careweave.org/Questionnaire/coordination-prem",
        "https://fhir.careweave.org/Questionnaire/carer-impact",
    }
    for d in found.values():
        assert d.validated is False and "not a validated instrument" in d.body["description"].lower()
        assert "Apache-2.0" in d.licence and d.source
    prem = found["https://fhir.careweave.org/Questionnaire/coordination-prem"]
    assert [i.link_id for i in prem.walk() if i.type == "choice"] == [
        "knew-other-care",
        "repeat-story",
        "know-who-to-contact",
        "priorities",
    ]


def test_licensed_instruments_are_listed_with_their_loader_and_not_shipped() -> None:
    listed = {i["name"]: i for i in licensed_not_shipped()}
    assert set(listed) == {"MTBQ", "EQ-5D", "PACIC"}
    assert all(
        i["shipped"] is False and str(i["load"]).startswith("careweave questionnaires load")
        for i in listed.values()
    )
    shipped_names = {d.name.upper() for d in shipped()}
    assert not shipped_names & {"MTBQ", "EQ-5D", "EQ5D", "PACIC"}


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        (LICENCE_URL, "questionnaire-licence"),
        (SOURCE_URL, "questionnaire-source"),
    ],
)
def test_a_definition_without_a_licence_or_source_is_refused_naming_file_and_field(
    drop: str, field: str
) -> None:
    body = _prem()
    body["extension"] = [e for e in body["extension"] if e["url"] != drop]
    with pytest.raises(DefinitionError) as refused:
        parse_questionnaire(body, where="mtbq.json")
    assert refused.value.where == "mtbq.json" and field in refused.value.field


def test_scoring_we_cannot_evaluate_is_refused_at_load() -> None:
    body = _prem()
    body["item"][-1]["extension"][1]["valueExpression"]["expression"] = "%resource.item.count()"
    with pytest.raises(DefinitionError, match="only the sum of answer ordinals"):
        parse_questionnaire(body, where="odd.json")


def test_a_score_over_some_items_sums_only_their_ordinals() -> None:
    body = copy.deepcopy(_prem())
    body["item"][-1]["extension"][1]["valueExpression"]["expression"] = (
        "%resource.repeat(item).where(linkId in ('knew-other-care' | 'priorities')).answer.value.ordinal().sum()"
    )
    definition = parse_questionnaire(body, where="some.json")
    assert scores(definition, prem_response()) == {"score": 3.0}  # definitely 3 + no 0


def test_the_carer_impact_score() -> None:
    carer = next(d for d in shipped() if d.url == CARER)
    system = "https://fhir.careweave.org/CodeSystem/"
    response = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "item": [
            {"linkId": "carer-hours", "answer": [{"valueInteger": 35}]},
            {
                "linkId": "carer-appointments",
                "answer": [{"valueCoding": {"system": system + "carer-impact", "code": "a-lot"}}],
            },
            {
                "linkId": "carer-health",
                "answer": [{"valueCoding": {"system": system + "carer-impact", "code": "a-little"}}],
            },
            {
                "linkId": "carer-informed",
                "answer": [{"valueCoding": {"system": system + "carer-informed", "code": "never"}}],
            },
            {"linkId": "carer-break", "answer": [{"valueBoolean": False}]},
        ],
    }
    assert scores(carer, response) == {"score": 7.0}  # a lot 3 + a little 1 + never informed 3


@pytest.mark.django_db
def test_the_loader_command_loads_a_licensed_instrument_and_refuses_one_without_a_source(
    tmp_path: Path,
) -> None:
    from careweave.cli import app
    from careweave.questionnaires.catalogue import by_canonical

    body = _prem()
    body.update(url="https://example.org/Questionnaire/mtbq", id="mtbq", name="MTBQ", version="1")
    body["extension"] = [
        {**e, "valueString": "Licensed to Example ICB by the University of Bristol"}
        if e["url"] == LICENCE_URL
        else e
        for e in body["extension"]
    ]
    good = tmp_path / "mtbq.json"
    good.write_text(json.dumps(body))
    runner = CliRunner()
    loaded = runner.invoke(app, ["questionnaires", "load", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert "Loaded Questionnaire/mtbq" in loaded.output
    found = by_canonical("https://example.org/Questionnaire/mtbq|1")
    assert found is not None and found.licence.startswith("Licensed to Example ICB")

    body["extension"] = [e for e in body["extension"] if e["url"] != SOURCE_URL]
    bad = tmp_path / "eq5d.json"
    bad.write_text(json.dumps(body))
    refused = runner.invoke(app, ["questionnaires", "load", str(bad)])
    assert refused.exit_code == 2
    assert "eq5d.json" in refused.output and "questionnaire-source" in refused.output

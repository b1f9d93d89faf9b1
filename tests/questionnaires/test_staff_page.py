"""The staff page: complete a questionnaire with the person on the phone, through governance."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careweave.governance.models import AuditEntry
from careweave.questionnaires.models import ResponseRecord
from careweave.questionnaires.services import questionnaires_due
from careweave.record import models as rm

pytestmark = pytest.mark.django_db

URL = "/questionnaires/people/{pk}/coordination-prem/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _answers(**overrides: str) -> dict[str, str]:
    form = {
        "mode": "phone",
        "q-knew-other-care": "to-some-extent",
        "q-repeat-story": "never",
        "q-know-who-to-contact": "definitely",
        "q-priorities": "definitely",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v}


def test_a_gp_completes_the_prem_on_the_phone(fhir_world: dict[str, Any]) -> None:
    person = fhir_world["person"]
    client = _client(fhir_world["users"]["gp"])
    assert {d.logical_id for d in questionnaires_due(person)} == {"carer-impact", "coordination-prem"}
    page = client.get(URL.format(pk=person.pk))
    assert page.status_code == 200 and b"not a validated instrument" in page.content
    saved = client.post(URL.format(pk=person.pk), _answers())
    assert saved.status_code == 302
    record = ResponseRecord.objects.get()
    assert record.mode == "phone" and record.score == 11  # 2 + 3 + 3 + 3
    assert rm.Observation.objects.filter(person=person, code="prem-coordination-score", value=11).exists()
    assert {d.logical_id for d in questionnaires_due(person)} == {"carer-impact"}
    listing = client.get(f"/questionnaires/people/{person.pk}/")
    assert b"Completed with the person on the phone" in listing.content


def test_a_missing_answer_is_shown_beside_the_question_and_nothing_is_saved(
    fhir_world: dict[str, Any],
) -> None:
    person = fhir_world["person"]
    page = _client(fhir_world["users"]["gp"]).post(URL.format(pk=person.pk), _answers(**{"q-priorities": ""}))
    assert page.status_code == 400
    assert b"Answer this question" in page.content and b'href="#q-priorities"' in page.content
    assert not ResponseRecord.objects.exists()


def test_someone_outside_ones_care_and_analysts_are_refused_and_audited(fhir_world: dict[str, Any]) -> None:
    person = fhir_world["person"]
    assert _client(fhir_world["users"]["other_gp"]).get(URL.format(pk=person.pk)).status_code == 403
    assert (
        _client(fhir_world["users"]["analyst"]).post(URL.format(pk=person.pk), _answers()).status_code == 403
    )
    assert not ResponseRecord.objects.exists()
    assert AuditEntry.objects.filter(resource_type="Questionnaire", outcome="denied").exists()


def test_the_summary_links_to_the_persons_questionnaires(fhir_world: dict[str, Any]) -> None:
    person = fhir_world["person"]
    page = _client(fhir_world["users"]["gp"]).get(f"/people/{person.pk}/")
    assert page.status_code == 200
    assert f'href="/questionnaires/people/{person.pk}/"'.encode() in page.content

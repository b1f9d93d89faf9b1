"""A practice, one person registered there (imported, so their Patient is a real stored resource),
and API tokens for a GP there, a GP elsewhere, an analyst and an integration client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, transaction_bundle

PREM = "https://fhir.careweave.org/Questionnaire/coordination-prem"
CARER = "https://fhir.careweave.org/Questionnaire/carer-impact"
AGREE = "https://fhir.careweave.org/CodeSystem/prem-agree"
FREQUENCY = "https://fhir.careweave.org/CodeSystem/prem-frequency"


def make_user(username: str, role: Role, organisation: rm.Organisation | None) -> Any:
    user = get_user_model().objects.create_user(username=username, password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=role, organisation=organisation)
    return user


class Api:
    """The test client with a bearer token, speaking FHIR JSON."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str) -> Any:
        return self.client.get(f"/fhir/{path}")

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(f"/fhir/{path}", data=body, content_type="application/fhir+json")


@pytest.fixture
def fhir_world(db: Any) -> dict[str, Any]:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    practice = rm.Organisation.objects.get()
    Importer(source_system="urn:test").import_resource(
        {"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop"}
    )
    elsewhere = rm.Organisation.objects.get(resource__logical_id="elsewhere")
    users = {
        "gp": make_user("gp", Role.GP, practice),
        "other_gp": make_user("other_gp", Role.GP, elsewhere),
        "analyst": make_user("analyst", Role.ANALYST, None),
        "integrator": make_user("integrator", Role.INTEGRATOR, None),
    }
    return {
        "person": rm.Person.objects.get(resource__logical_id=PATIENT_ID),
        "users": users,
        "api": {name: Api(ApiToken.issue(user, "test")) for name, user in users.items()},
    }


def prem_response(**answers: Any) -> dict[str, Any]:
    """A co-ordination PREM response; `answers` override or (with None) leave out an item."""
    chosen: dict[str, Any] = {
        "knew-other-care": {"valueCoding": {"system": AGREE, "code": "definitely"}},
        "repeat-story": {"valueCoding": {"system": FREQUENCY, "code": "often"}},
        "know-who-to-contact": {"valueCoding": {"system": AGREE, "code": "to-some-extent"}},
        "priorities": {"valueCoding": {"system": AGREE, "code": "no"}},
    }
    chosen.update({k.replace("_", "-"): v for k, v in answers.items()})
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": PREM,
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authored": "2026-11-30T10:00:00+00:00",
        "item": [{"linkId": k, "answer": [v]} for k, v in chosen.items() if v is not None],
    }

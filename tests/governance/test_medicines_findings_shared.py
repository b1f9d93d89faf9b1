"""Medicines findings (DetectedIssue, the summary's findings section, the medication review) are the
medicines part of the record: a link worker, who sees no medicines unless the person shared them
(ADR 0021), gets none of them, through the API or the workspace, and the withholding is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from careweave.governance.models import AuditEntry, Role
from careweave.record import models as rm
from tests.governance import sharing_world as world

pytestmark = pytest.mark.django_db


@pytest.fixture
def person() -> rm.Person:
    return world.load_record()


def test_a_gp_can_search_findings_and_a_link_worker_gets_an_empty_result(person: rm.Person) -> None:
    client = Client()
    _gp, gp_token = world.staff(Role.GP, "general-practice")
    gp = world.get(client, gp_token, f"/fhir/DetectedIssue?patient={world.PATIENT}")
    assert gp.status_code == 200
    _lw, lw_token = world.staff(Role.LINK_WORKER, "voluntary-sector")
    linked = world.get(client, lw_token, f"/fhir/DetectedIssue?patient={world.PATIENT}")
    assert linked.status_code == 200
    assert linked.json()["total"] == 0
    assert AuditEntry.objects.filter(action="withheld", resource_type="DetectedIssue").exists()


def test_the_link_worker_gets_no_findings_fragment_and_cannot_open_the_review(person: rm.Person) -> None:
    user, _token = world.staff(Role.LINK_WORKER, "voluntary-sector")
    client = Client()
    client.force_login(user)
    fragment = client.get(f"/medicines/people/{person.pk}/summary-findings/")
    assert fragment.status_code == 200
    assert fragment.content.decode().strip() == ""
    assert AuditEntry.objects.filter(action="withheld", resource_type="DetectedIssue", actor=user).exists()
    review = client.get(f"/medicines/people/{person.pk}/review/")
    assert review.status_code in (403, 404)
    assert "Metformin" not in review.content.decode()

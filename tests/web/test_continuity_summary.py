"""Continuity from the record: only GP consultations count (the classes, statuses and GP role of
continuity.yaml), they feed the same core as a CSV does, and the summary says it in words."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import AuditEntry
from careweave.record import models as rm
from careweave.segmentation.continuity import continuity_from_record, person_gp_contacts
from tests.web.conftest import signed_in, stored

pytestmark = pytest.mark.django_db

START = timezone.make_aware(datetime(2025, 2, 3, 9, 30))


def clinician(role_code: str, organisation: rm.Organisation) -> rm.Practitioner:
    practitioner = rm.Practitioner.objects.create(resource=stored("Practitioner"), name="Dr Test")
    rm.PractitionerRole.objects.create(
        resource=stored("PractitionerRole"),
        practitioner=practitioner,
        organisation=organisation,
        role_code=role_code,
    )
    return practitioner


def contact(who: rm.Person, practitioner: rm.Practitioner, day: int, **fields: Any) -> rm.Encounter:
    values: dict[str, Any] = {"class_code": "AMB", "status": "finished", **fields}
    return rm.Encounter.objects.create(
        resource=stored("Encounter", who), person=who, practitioner=practitioner,
        start=START + timedelta(days=day), **values,
    )  # fmt: skip


@pytest.fixture
def gp_contacts(world: dict[str, Any]) -> dict[str, Any]:
    alice, bob, practice = world["alice"], world["bob"], world["practice_a"]
    usual, locum, nurse = (
        clinician("62247001", practice),
        clinician("62247001", practice),
        clinician("224535009", practice),
    )
    # Alice: ten GP contacts (7 with her usual GP, by phone and at home too), and contacts that do not count
    for day, gp in enumerate([usual, usual, locum, usual, usual, locum, usual, locum, usual, usual]):
        contact(alice, gp, day, class_code=("AMB", "VR", "HH")[day % 3])
    contact(alice, nurse, 20)  # not a GP
    contact(alice, locum, 21, class_code="EMER")  # not a GP consultation
    contact(alice, locum, 22, status="cancelled")  # did not take place
    contact(bob, locum, 1)
    return {**world, "usual": usual, "locum": locum}


def test_only_gp_consultations_that_took_place_count(gp_contacts: dict[str, Any]) -> None:
    found = person_gp_contacts(gp_contacts["alice"])
    assert len(found) == 10
    assert {clinician for _, clinician in found} == {
        str(gp_contacts["usual"].pk),
        str(gp_contacts["locum"].pk),
    }
    assert found[0][0] == (START + timedelta(days=9)).date()  # most recent first


def test_the_record_feeds_the_same_core(gp_contacts: dict[str, Any]) -> None:
    by_person = {p.person: p for p in continuity_from_record()}
    alice, bob = by_person[str(gp_contacts["alice"].pk)], by_person[str(gp_contacts["bob"].pk)]
    assert (alice.visits, alice.clinicians, alice.upc) == (10, 2, pytest.approx(0.7))
    assert alice.secon == pytest.approx(3 / 9)  # U U L U U L U L U U: three same-GP pairs of nine
    assert (bob.visits, bob.coc, bob.secon) == (1, None, None)
    entry = AuditEntry.objects.filter(action="continuity").get()
    assert (entry.system_actor, entry.reason) == (
        "measures",
        "11 GP contacts, 2 people, engine duckdb",
    )  # counts only


def test_the_summary_says_it_in_words(gp_contacts: dict[str, Any]) -> None:
    page = signed_in(gp_contacts["gp_a"]).get(f"/people/{gp_contacts['alice'].pk}/").content.decode()
    assert "Continuity with their GP" in page
    assert "Saw their usual GP at 7 of their last 10 appointments" in page


def test_without_gp_contacts_the_summary_says_so(world: dict[str, Any]) -> None:
    page = signed_in(world["gp_a"]).get(f"/people/{world['alice'].pk}/").content.decode()
    assert "Too few GP appointments recorded to say" in page

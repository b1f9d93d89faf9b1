"""The summary read in a 10-minute consultation (issue 12, item 1): labels in words, the address, one
timeline row per contact, filters and a 12-month default, and a printable version without JavaScript."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import AuditEntry
from careweave.record import models as rm
from tests.web.conftest import person, signed_in, stored

pytestmark = pytest.mark.django_db


def _add(model: type, who: rm.Person, resource_type: str, **fields: Any) -> Any:
    return model.objects.create(resource=stored(resource_type, who), person=who, **fields)


def _page(client: Any, who: rm.Person, **params: str) -> str:
    response = client.get(f"/people/{who.pk}/", params)
    assert response.status_code == 200
    return str(response.content.decode())


def test_labels_are_words_not_codes(world: dict[str, Any]) -> None:
    someone = person("Gwen", "Words", None, world["practice_a"], preferred_language="en-GB",
                     address_text="1 Mill Lane, Riverside", postcode="RV1 2AB")
    _add(rm.SocialCircumstance, someone, "Observation", kind="lives_alone", display="Lives_alone")
    _add(rm.SocialCircumstance, someone, "Observation", kind="financial-hardship", display="financial_hardship")
    _add(rm.RelatedPerson, someone, "RelatedPerson", name="Tom Words", relationship_display="Next-of-Kin",
         is_next_of_kin=True)
    page = _page(signed_in(world["gp_a"]), someone)
    assert "Speaks British English" in page and "Speaks en-GB" not in page
    assert "Lives alone" in page and "Lives_alone" not in page
    assert "Financial hardship" in page and "financial_hardship" not in page.lower()
    assert "Tom Words (Next of kin)" in page and "Next-of-Kin" not in page
    assert "1 Mill Lane, Riverside, RV1 2AB" in page


def test_an_appointment_and_the_encounter_it_became_are_one_row(world: dict[str, Any]) -> None:
    alice, practice = world["alice"], world["practice_a"]
    when = timezone.now() - timedelta(days=20)
    _add(rm.Appointment, alice, "Appointment", description="Asthma review", organisation=practice, start=when,
         status="fulfilled")
    _add(rm.Encounter, alice, "Encounter", type_display="Asthma review", organisation=practice, start=when)
    _add(rm.Appointment, alice, "Appointment", description="Foot check", organisation=practice,
         start=when - timedelta(days=5), status="noshow")
    page = _page(signed_in(world["gp_a"]), alice)
    timeline = page[page.index('id="timeline"'):]
    assert timeline.count("Asthma review") == 1 and "Contact: Asthma review" in timeline
    assert "Appointment: Foot check (did not attend)" in timeline


def test_the_timeline_shows_12_months_unless_asked_and_filters_by_sector_and_organisation(world: dict[str, Any]) -> None:
    alice = world["alice"]  # the world's admission (hospital) and review (practice) are from January 2025
    _add(rm.Encounter, alice, "Encounter", type_display="Leg ulcer dressing", organisation=world["practice_a"],
         start=timezone.now() - timedelta(days=40))
    client = signed_in(world["gp_a"])
    recent = _page(client, alice)
    timeline = recent[recent.index('id="timeline"'):]
    assert "Leg ulcer dressing" in timeline and "Emergency admission" not in timeline
    assert "older or filtered contacts not shown" in timeline

    everything = _page(client, alice, period="all")
    assert "Emergency admission" in everything[everything.index('id="timeline"'):]
    hospital_only = _page(client, alice, period="all", sector="Acute hospital")
    timeline = hospital_only[hospital_only.index('id="timeline"'):]
    assert "Emergency admission" in timeline and "Diabetes review" not in timeline
    by_organisation = _page(client, alice, period="all", organisation="Riverside Surgery")
    timeline = by_organisation[by_organisation.index('id="timeline"'):]
    assert "Diabetes review" in timeline and "Emergency admission" not in timeline
    # an unknown period is the default, not an error
    assert "Leg ulcer dressing" in _page(client, alice, period="forever")


def test_the_printable_version_needs_no_javascript_and_says_who_printed_it(world: dict[str, Any]) -> None:
    alice, gp = world["alice"], world["gp_a"]
    gp.first_name, gp.last_name = "Gwen", "Price"
    gp.save()
    response = signed_in(gp).get(f"/people/{alice.pk}/print/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Printed by Gwen Price on " in page and "CONFIDENTIAL" in page
    assert "nhsuk-header__navigation" not in page and "<form" not in page
    assert "Type 2 diabetes mellitus" in page and "Metformin 500mg tablets" in page
    assert AuditEntry.objects.filter(actor=gp, person=alice, action="print").count() == 1
    # the screen summary links to it, so printing never depends on the script
    assert f'href="/people/{alice.pk}/print/"' in _page(signed_in(gp), alice)


def test_the_printable_version_is_refused_outside_ones_care(world: dict[str, Any]) -> None:
    response = signed_in(world["gp_b"]).get(f"/people/{world['alice'].pk}/print/")
    assert response.status_code == 403
    assert "Zephyrine" not in response.content.decode()

"""An MDT crosses organisations: the social worker, the community nurse and the GP in one huddle.
Members are offered from the user's organisation and from the care teams they share; anyone else is
found by name or organisation; the agenda still shows each member only the people in their own care."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import CareTeamMember, Role
from careweave.huddles.models import AgendaItem, Huddle
from careweave.record import models as rm
from tests.web.conftest import organisation, signed_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def mdt(segmented: dict[str, Any]) -> dict[str, Any]:
    council = segmented["council"]
    social_worker = staff("sw.shire", Role.SOCIAL_WORKER, council)
    community = organisation("Shire Community Health", rm.Sector.COMMUNITY, "RCH")
    district_nurse = staff("dn.shire", Role.NURSE, community)
    hospital_geriatrician = staff("geri.county", Role.GP, segmented["hospital"])
    return {**segmented, "social_worker": social_worker, "district_nurse": district_nurse,
            "geriatrician": hospital_geriatrician}


def _schedule(client: Any, members: list[int]) -> Any:
    when = timezone.localdate() + timedelta(days=2)
    return client.post("/huddles/", {
        "team_name": "Neighbourhood MDT", "when-day": str(when.day), "when-month": str(when.month),
        "when-year": str(when.year), "time": "12:30", "members": [str(m) for m in members],
    })


def test_colleagues_who_share_a_care_team_are_offered_from_other_organisations(mdt: dict[str, Any]) -> None:
    social_worker, gp = mdt["social_worker"], mdt["gp_a"]
    page = signed_in(social_worker).get("/huddles/").content.decode()
    assert "gp.riverside" not in page  # no shared care team yet, and another organisation
    assert "No other clinical staff in your organisation or your care teams yet" in page

    for member in (social_worker, gp):
        CareTeamMember.objects.create(person=mdt["alice"], user=member)
    page = signed_in(social_worker).get("/huddles/").content.decode()
    assert "gp.riverside (GP)" in page and "Riverside Surgery" in page
    assert "dn.shire" not in page  # not in a shared team: found by searching


def test_staff_anywhere_are_found_by_name_or_organisation(mdt: dict[str, Any]) -> None:
    client = signed_in(mdt["social_worker"])
    page = client.get("/huddles/", {"find": "Shire Community"}).content.decode()
    assert "dn.shire (Nurse)" in page and "Shire Community Health" in page
    assert "geri.county" not in page
    page = client.get("/huddles/", {"find": "nobody-like-this"}).content.decode()
    assert "No clinical staff match" in page


def test_a_huddle_with_members_from_three_organisations(mdt: dict[str, Any]) -> None:
    social_worker, nurse, gp = mdt["social_worker"], mdt["district_nurse"], mdt["gp_a"]
    response = _schedule(signed_in(social_worker), [nurse.pk, gp.pk])
    huddle = Huddle.objects.get()
    assert response.status_code == 302
    assert set(huddle.members.all()) == {social_worker, nurse, gp}
    assert huddle.organisation == mdt["council"]
    # Every member sees it; the GP nominates Alice, in their care; the social worker sees her only as a
    # record number unless she is in their care too.
    assert "Neighbourhood MDT" in signed_in(gp).get("/huddles/").content.decode()
    signed_in(gp).post(f"/huddles/{huddle.pk}/nominations/", {"nhs_number": "943 476 5919",
                                                              "reason": "Falls and carer strain"})
    assert AgendaItem.objects.filter(huddle=huddle, person=mdt["alice"]).exists()
    seen_by_social_worker = signed_in(social_worker).get(f"/huddles/{huddle.pk}/").content.decode()
    assert "Alice Zephyrine" not in seen_by_social_worker
    CareTeamMember.objects.create(person=mdt["alice"], user=social_worker)
    assert "Alice Zephyrine" in signed_in(social_worker).get(f"/huddles/{huddle.pk}/").content.decode()


def test_staff_who_cannot_hold_huddles_are_refused_as_members(mdt: dict[str, Any]) -> None:
    analyst = mdt["analyst"]
    response = _schedule(signed_in(mdt["social_worker"]), [analyst.pk])
    assert response.status_code == 302  # the analyst is simply not a candidate: not added
    assert analyst not in Huddle.objects.get().members.all()

"""The care team beyond CareWeave's staff (issue 12, item 4): the person themselves, their carer from
the record and professionals elsewhere as members; the co-ordinator named explicitly, never implied,
with how to reach them, printed on the plan and sent as the CareTeam's telecom."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.careteam import CareTeam as FhirCareTeam

from careweave.care import contacts, fhir_exchange, services
from careweave.care.models import CareTeamContact
from careweave.governance.models import AuditEntry, CareTeamMember
from careweave.governance.permissions import AccessRefused
from careweave.record import models as rm
from tests.web.conftest import person, signed_in, stored

pytestmark = pytest.mark.django_db


def _carer(alice: rm.Person) -> rm.RelatedPerson:
    return rm.RelatedPerson.objects.get(person=alice, name="Carys Zephyrine")


def test_the_person_their_carer_and_a_professional_elsewhere_join_the_team(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True, contact="01632 960 001 ext 12")
    client = signed_in(gp)
    url = f"/care/people/{alice.pk}/team/contacts/add/"
    assert client.post(url, {"kind": "patient"}).status_code == 302
    assert client.post(url, {"kind": "related-person", "related_person": str(_carer(alice).pk)}).status_code == 302
    assert client.post(url, {"kind": "practitioner", "name": "Sam Okafor", "role_in_team": "Community pharmacist",
                             "organisation": "High Street Pharmacy", "contact": "01632 960 777"}).status_code == 302

    page = client.get(f"/care/people/{alice.pk}/team/").content.decode()
    for expected in ("The person themselves", "Carys Zephyrine", "07700 900123", "Sam Okafor",
                     "Community pharmacist", "High Street Pharmacy", "01632 960 777",
                     "How to reach them: <strong>01632 960 001 ext 12</strong>"):
        assert expected in page, expected
    assert "No other carers or family are recorded" in page  # Carys is in the team already

    assert AuditEntry.objects.filter(actor=gp, resource_type="CareTeam", action="update").count() == 3
    services.save_care_plan(user=gp, person=alice, data=services.PlanData(what_matters="Staying at home."))
    printed = client.get(f"/care/people/{alice.pk}/plan/print/").content.decode()
    who = printed[printed.index("Who to contact"):]
    assert "Phone: <strong>01632 960 001 ext 12</strong>" in who
    assert "Sam Okafor, Community pharmacist, High Street Pharmacy: 01632 960 777" in who
    assert "Carys Zephyrine, Carer: 07700 900123" in who


def test_the_care_team_as_fhir_names_every_kind_of_member(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True, contact="01632 960 001")
    contacts.add_contact(user=gp, person=alice, kind="patient")
    contacts.add_contact(user=gp, person=alice, kind="related-person", related_person=_carer(alice))
    contacts.add_contact(user=gp, person=alice, kind="practitioner", name="Sam Okafor", organisation="High Street Pharmacy")
    resource = fhir_exchange.care_team_resource(alice, services.care_team(alice), contacts.contacts(alice))
    parsed = FhirCareTeam.model_validate(resource)
    members = [(p.member.type, p.member.reference, p.member.display) for p in parsed.participant]
    assert members[1:] == [
        ("Patient", f"Patient/{alice.resource.logical_id}", "Alice Zephyrine"),
        ("RelatedPerson", f"RelatedPerson/{_carer(alice).resource.logical_id}", "Carys Zephyrine"),
        ("Practitioner", None, "Sam Okafor"),
    ]
    assert parsed.participant[3].onBehalfOf.display == "High Street Pharmacy"
    assert [(t.system, t.value) for t in parsed.telecom] == [("phone", "01632 960 001")]


def test_the_coordinator_is_never_implied(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    client = signed_in(gp)
    client.post(f"/care/people/{alice.pk}/team/add/", {"member": str(gp.pk)})
    assert not CareTeamMember.objects.get(person=alice, user=gp).is_coordinator
    page = client.get(f"/care/people/{alice.pk}/team/").content.decode()
    assert "No named co-ordinator" in page
    summary = client.get(f"/people/{alice.pk}/").content.decode()
    assert "No co-ordinator named" in summary


def test_how_to_reach_a_member_is_set_and_printed(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    member = services.add_team_member(user=gp, person=alice, member=gp)
    client = signed_in(gp)
    client.post(f"/care/people/{alice.pk}/team/{member.pk}/coordinator/")
    response = client.post(f"/care/people/{alice.pk}/team/{member.pk}/contact/", {"contact": "  07700 900 555 "})
    assert response.status_code == 302
    assert CareTeamMember.objects.get(pk=member.pk).contact == "07700 900 555"
    too_long = client.post(f"/care/people/{alice.pk}/team/{member.pk}/contact/", {"contact": "9" * 300})
    assert too_long.status_code == 400 and "255 characters or fewer" in too_long.content.decode()


@pytest.mark.parametrize(
    "form, message",
    [
        ({"kind": "practitioner", "name": "  "}, "Enter their name"),
        ({"kind": "stranger", "name": "X"}, "Choose who to add"),
        ({"kind": "related-person", "related_person": "999999"}, "Choose a carer or family member recorded for them"),
    ],
)
def test_bad_additions_are_refused_with_a_clear_error(team_world: dict[str, Any], form: dict[str, str], message: str) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    response = signed_in(gp).post(f"/care/people/{alice.pk}/team/contacts/add/", form)
    assert response.status_code == 400 and message in response.content.decode()
    assert not CareTeamContact.objects.exists()


def test_someone_elses_carer_and_the_person_twice_are_refused(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    other = person("Olwen", "Other", None, team_world["practice_a"])
    theirs = rm.RelatedPerson.objects.create(resource=stored("RelatedPerson", other), person=other, name="Not Alices")
    with pytest.raises(services.CareTeamError, match="recorded for this person"):
        contacts.add_contact(user=gp, person=alice, kind="related-person", related_person=theirs)
    contacts.add_contact(user=gp, person=alice, kind="patient")
    with pytest.raises(services.CareTeamError, match="already in their care team"):
        contacts.add_contact(user=gp, person=alice, kind="patient")


def test_only_those_with_a_relationship_change_the_team(team_world: dict[str, Any]) -> None:
    alice = team_world["alice"]
    with pytest.raises(AccessRefused):
        contacts.add_contact(user=team_world["gp_b"], person=alice, kind="patient")
    response = signed_in(team_world["gp_b"]).post(f"/care/people/{alice.pk}/team/contacts/add/", {"kind": "patient"})
    assert response.status_code == 403
    assert not CareTeamContact.objects.exists()


def test_a_contact_is_removed(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    added = contacts.add_contact(user=gp, person=alice, kind="practitioner", name="Sam Okafor")
    response = signed_in(gp).post(f"/care/people/{alice.pk}/team/contacts/{added.pk}/remove/")
    assert response.status_code == 302 and not CareTeamContact.objects.exists()


def test_the_pdf_says_how_to_reach_the_coordinator_and_the_others(team_world: dict[str, Any]) -> None:
    import io

    from pypdf import PdfReader

    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True, contact="01632 960 001")
    contacts.add_contact(user=gp, person=alice, kind="related-person", related_person=_carer(alice))
    services.save_care_plan(user=gp, person=alice, data=services.PlanData(what_matters="Staying at home."))
    pdf = signed_in(gp).get(f"/care/people/{alice.pk}/plan.pdf").content
    text = " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(text.split())
    assert "Phone: 01632 960 001." in text
    assert "Carys Zephyrine, Carer: 07700 900123" in text

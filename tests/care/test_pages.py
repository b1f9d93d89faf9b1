"""The care plan and care team pages: shown to those caring for the person, audited, refused to others,
and working as plain forms (POST-redirect-GET) without JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.care import services
from careweave.governance.models import AuditEntry, CareTeamMember
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db


def _form(owner_pk: int, **overrides: str) -> dict[str, str]:
    form = {
        "status": "active",
        "what_matters": "I want to walk my dog, Bracken, every morning.",
        "priority-count": "2",
        "priority-0-text": "Less breathless",
        "priority-0-rank": "2",
        "priority-0-clinician_rank": "1",
        "priority-1-text": "Stay at home",
        "priority-1-rank": "1",
        "priority-1-clinician_rank": "",
        "goal-count": "2",
        "goal-0-description": "Walk to the park and back",
        "goal-0-key": "",
        "goal-0-status": "active",
        "goal-0-target[day]": "1",
        "goal-0-target[month]": "6",
        "goal-0-target[year]": "2026",
        "goal-1-description": "",
        "goal-1-status": "active",
        "action-count": "1",
        "action-0-description": "Refer to pulmonary rehabilitation",
        "action-0-owner": str(owner_pk),
        "action-0-due[day]": "1",
        "action-0-due[month]": "2",
        "action-0-due[year]": "2026",
        "carer_involvement": "Carys visits daily.",
        "contingency": "If more breathless, start the rescue pack; call 999 if you cannot speak in sentences.",
        "review[day]": "1",
        "review[month]": "9",
        "review[year]": "2026",
    }
    form.update(overrides)
    return form


@pytest.fixture
def gp_in_team(team_world: dict[str, Any]) -> Any:
    gp = team_world["gp_a"]
    services.add_team_member(user=gp, person=team_world["alice"], member=gp, role_in_team="Named GP", as_coordinator=True)
    return gp


def test_write_a_plan_then_change_it_keeps_both_versions(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)

    empty = client.get(f"/care/people/{alice.pk}/plan/")
    assert empty.status_code == 200 and "does not have a care plan yet" in empty.content.decode()

    form_page = client.get(f"/care/people/{alice.pk}/plan/edit/")
    assert form_page.status_code == 200
    page = form_page.content.decode()
    assert "Gwen Price, GP, Riverside Surgery" in page  # owners are chosen from the care team

    saved = client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    assert saved.status_code == 302 and saved["Location"] == f"/care/people/{alice.pk}/plan/"
    page = client.get(saved["Location"]).content.decode()
    assert "Care plan saved as version 1" in page
    for expected in [
        "Bracken",
        "Stay at home",
        "Walk to the park and back",
        "1 June 2026",
        "Refer to pulmonary",
        "Carys visits daily.",
        "call 999",
        "1 September 2026",
        "Differs",
    ]:
        assert expected in page, expected
    assert "Gwen Price, GP, Riverside Surgery</strong> is the single point of contact" in page
    assert "&lt;p&gt;" not in page  # callouts render their HTML, not escaped tags
    # The person's ranking comes first; the clinician ranked it differently.
    assert page.index("Stay at home") < page.index("Less breathless")

    client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk, what_matters="Gardening again."))
    page = client.get(f"/care/people/{alice.pk}/plan/").content.decode()
    assert "Gardening again." in page and "Version 2" in page
    assert f'href="/care/people/{alice.pk}/plan/?version=1"' in page
    old = client.get(f"/care/people/{alice.pk}/plan/?version=1").content.decode()
    assert "Bracken" in old and "This is an earlier version" in old


def test_the_edit_form_starts_from_the_current_version(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    page = client.get(f"/care/people/{alice.pk}/plan/edit/").content.decode()
    assert "Bracken" in page and 'value="Walk to the park and back"' in page
    assert "Saving makes version 2" in page


def test_validation_errors_use_the_error_summary(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    bad = _form(
        gp_in_team.pk,
        what_matters="",
        **{
            "action-0-owner": str(team_world["gp_b"].pk),  # not in the team
            "goal-0-target[day]": "31",
            "goal-0-target[month]": "2",
            "priority-0-rank": "1",  # same rank as the other priority
            "review[year]": "",
        },
    )
    response = client.post(f"/care/people/{alice.pk}/plan/edit/", bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "<title>Error: " in page and "nhsuk-error-summary" in page
    for anchor, message in [
        ("#what_matters", "Enter what matters to the person in their own words"),
        ("#priority-1-rank", "same rank"),
        ("#goal-0-target-day", "must be a real date"),
        ("#action-0-owner", "Select who owns action 1 from the care team"),
        ("#review-day", "The review date must include a year"),
    ]:
        assert f'href="{anchor}"' in page and message in page, anchor
    # What was typed is kept.
    assert "Refer to pulmonary rehabilitation" in page
    assert services.current_care_plan(alice) is None


def test_add_more_rows_without_javascript_saves_nothing(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    response = signed_in(gp_in_team).post(
        f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk, add_rows="1")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="action-2-description"' in page and "Bracken" in page
    assert services.current_care_plan(alice) is None


def test_mark_an_action_done(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    assert services.open_actions_for(gp_in_team).count() == 1
    done = client.post(f"/care/people/{alice.pk}/plan/actions/0/done/")
    assert done.status_code == 302
    assert services.open_actions_for(gp_in_team).count() == 0
    assert services.current_care_plan(alice).version == 2


def test_people_outside_care_are_refused_with_the_break_glass_route(
    team_world: dict[str, Any], gp_in_team: Any
) -> None:
    alice, gp_b = team_world["alice"], team_world["gp_b"]
    signed_in(gp_in_team).post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    client = signed_in(gp_b)
    for url in ["plan/", "plan/edit/", "plan/print/", "plan.pdf", "team/", "plan/?version=1"]:
        response = client.get(f"/care/people/{alice.pk}/{url}")
        assert response.status_code == 403, url
        page = response.content.decode()
        assert "Bracken" not in page and "Zephyrine" not in page
        assert f'action="/people/{alice.pk}/break-glass/"' in page
    for url, data in [
        ("plan/edit/", _form(gp_b.pk)),
        ("team/add/", {"member": str(gp_b.pk)}),
        ("handover/", {"note": "sneaky"}),
        ("plan/actions/0/done/", {}),
    ]:
        assert client.post(f"/care/people/{alice.pk}/{url}", data).status_code == 403, url
    assert services.current_care_plan(alice).version == 1
    assert not CareTeamMember.objects.filter(user=gp_b).exists()
    refused = AuditEntry.objects.filter(actor=gp_b, outcome="denied")
    assert refused.count() == 10 and set(refused.values_list("person_id", flat=True)) == {alice.pk}

    # Analysts and administrators are refused outright (no break-glass).
    for user in (team_world["analyst"], team_world["admin"]):
        assert signed_in(user).get(f"/care/people/{alice.pk}/plan/").status_code == 403


def test_break_glass_opens_the_plan_and_is_flagged(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice, gp_b = team_world["alice"], team_world["gp_b"]
    signed_in(gp_in_team).post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    client = signed_in(gp_b)
    client.post(
        f"/people/{alice.pk}/break-glass/", {"reason": "Seen in out-of-hours clinic, very breathless"}
    )
    page = client.get(f"/care/people/{alice.pk}/plan/")
    assert page.status_code == 200 and "You are using break-glass access" in page.content.decode()
    entry = AuditEntry.objects.filter(actor=gp_b, resource_type="CarePlan").latest("pk")
    assert entry.break_glass and entry.outcome == "success"


def test_every_view_is_audited(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    before = AuditEntry.objects.count()
    for url in ["plan/", "plan/edit/", "plan/print/", "plan/print/?large=1", "plan.pdf", "team/"]:
        assert client.get(f"/care/people/{alice.pk}/{url}").status_code == 200, url
    entries = list(
        AuditEntry.objects.order_by("pk")[before:].values_list(
            "action", "resource_type", "person_id", "channel"
        )
    )
    assert entries == [
        ("read", "CarePlan", alice.pk, "web"),
        ("read", "CarePlan", alice.pk, "web"),
        ("print", "CarePlan", alice.pk, "web"),
        ("print", "CarePlan", alice.pk, "web"),
        ("export", "CarePlan", alice.pk, "web"),
        ("read", "CareTeam", alice.pk, "web"),
    ]


def test_care_team_page_add_coordinator_remove(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice, nurse, sw = team_world["alice"], team_world["nurse_hospital"], team_world["social_worker"]
    client = signed_in(gp_in_team)
    page = client.get(f"/care/people/{alice.pk}/team/").content.decode()
    assert "Gwen Price" in page and "Named co-ordinator" in page
    assert "<strong>Gwen Price</strong> (Named GP, Riverside Surgery) is the named co-ordinator" in page
    assert "nurse.county, Nurse, County General Hospital" in page  # staff from other organisations

    added = client.post(
        f"/care/people/{alice.pk}/team/add/", {"member": str(nurse.pk), "role_in_team": "Respiratory nurse"}
    )
    assert added.status_code == 302
    client.post(f"/care/people/{alice.pk}/team/add/", {"member": str(sw.pk), "coordinator": "yes"})
    assert services.coordinator(alice).user == sw
    page = client.get(f"/care/people/{alice.pk}/team/").content.decode()
    assert "sw.shire added to the care team as the named co-ordinator" in page
    assert "Respiratory nurse" in page and "Shire County Council Adult Social Care" in page

    nurse_member = CareTeamMember.objects.get(person=alice, user=nurse)
    client.post(f"/care/people/{alice.pk}/team/{nurse_member.pk}/coordinator/")
    assert services.coordinator(alice).user == nurse

    # The co-ordinator cannot just be removed: the error is shown beside them and in the summary.
    refused = client.post(f"/care/people/{alice.pk}/team/{nurse_member.pk}/remove/")
    assert refused.status_code == 400
    assert f'href="#member-{nurse_member.pk}"' in refused.content.decode()
    sw_member = CareTeamMember.objects.get(person=alice, user=sw)
    assert client.post(f"/care/people/{alice.pk}/team/{sw_member.pk}/remove/").status_code == 302
    assert not CareTeamMember.objects.filter(pk=sw_member.pk).exists()

    missing = client.post(f"/care/people/{alice.pk}/team/add/", {"member": ""})
    assert missing.status_code == 400 and "Select who to add to the care team" in missing.content.decode()


def test_handover_notes_with_and_without_htmx(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    plain = client.post(f"/care/people/{alice.pk}/handover/", {"note": "Discharged home on Monday."})
    assert plain.status_code == 302 and plain["Location"] == f"/care/people/{alice.pk}/team/"
    partial = client.post(
        f"/care/people/{alice.pk}/handover/", {"note": "District nurse visit booked."}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200
    section = partial.content.decode()
    assert section.lstrip().startswith("{#") is False and "<html" not in section
    assert section.index("District nurse visit booked.") < section.index("Discharged home on Monday.")
    assert "Handover note added" in section
    # Showing the notes is a view of the record, audited like the full page.
    assert AuditEntry.objects.filter(action="read", resource_type="CareTeam", person_id=alice.pk).count() == 1

    empty = client.post(f"/care/people/{alice.pk}/handover/", {"note": " "})
    assert empty.status_code == 400 and 'href="#note"' in empty.content.decode()
    empty_htmx = client.post(f"/care/people/{alice.pk}/handover/", {"note": ""}, HTTP_HX_REQUEST="true")
    assert empty_htmx.status_code == 200 and "Enter the handover note" in empty_htmx.content.decode()


def test_print_view_is_plain_language_with_large_print(team_world: dict[str, Any], gp_in_team: Any) -> None:
    alice = team_world["alice"]
    client = signed_in(gp_in_team)
    client.post(f"/care/people/{alice.pk}/plan/edit/", _form(gp_in_team.pk))
    page = client.get(f"/care/people/{alice.pk}/plan/print/").content.decode()
    for expected in [
        "My care and support plan",
        "What matters to me",
        "If things get worse",
        "Bracken",
        "My named contact is <strong>Gwen Price</strong>",
    ]:
        assert expected in page, expected
    assert "careweave-large-print" not in page
    large = client.get(f"/care/people/{alice.pk}/plan/print/?large=1").content.decode()
    assert "careweave-large-print" in large and "<title>Large print: " in large


def test_staff_to_add_are_offered_from_the_services_caring_for_the_person_or_found_by_search(
    team_world: dict[str, Any], gp_in_team: Any
) -> None:
    from tests.web.conftest import staff

    alice, sw = team_world["alice"], team_world["social_worker"]
    for n in range(30):  # more staff than one list should hold
        staff(f"zz.bank{n:02d}", "nurse", team_world["hospital"])
    client = signed_in(gp_in_team)
    page = client.get(f"/care/people/{alice.pk}/team/").content.decode()
    offered = page[page.index("Staff at the services that care for"):]
    # the hospital saw her, the council has not: its social worker is found by searching
    assert "nurse.county, Nurse, County General Hospital" in offered and "sw.shire" not in offered
    assert offered.count('name="member"') == 25 and "Add more words to narrow the search" in offered

    found = client.get(f"/care/people/{alice.pk}/team/", {"staff": "social shire"}).content.decode()
    matching = found[found.index("Staff matching"):]
    assert matching.count('name="member"') == 1 and f'value="{sw.pk}"' in matching
    assert '<input type="hidden" name="staff" value="social shire">' in found  # kept if the add is refused

    none = client.get(f"/care/people/{alice.pk}/team/", {"staff": "nobody-by-this-name"}).content.decode()
    assert "No one who can join matches" in none and "Add to care team" not in none

    assert client.post(f"/care/people/{alice.pk}/team/add/", {"member": str(sw.pk)}).status_code == 302
    assert CareTeamMember.objects.filter(person=alice, user=sw).exists()

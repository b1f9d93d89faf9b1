"""Care plan versions, the care team's one named co-ordinator, owners from the team, access and audit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from careweave.care import services
from careweave.care.models import CarePlan, ImmutableVersionError
from careweave.care.services import ActionData, GoalData, PlanData, PriorityData
from careweave.governance.access import AccessRefused, decide
from careweave.governance.models import AuditEntry, CareTeamMember

pytestmark = pytest.mark.django_db


def _plan(owner: Any, what_matters: str = "Getting back to my allotment.", **changes: Any) -> PlanData:
    data = PlanData(
        what_matters=what_matters,
        priorities=(
            PriorityData("Less breathless on the hill", 2, 1),
            PriorityData("See my grandchildren", 1),
        ),
        goals=(GoalData("Walk to the allotment twice a week", date(2026, 6, 1)),),
        actions=(ActionData("Refer to pulmonary rehabilitation", owner, date(2026, 2, 1)),),
        carer_involvement="Carys, her daughter, visits daily.",
        contingency="If more breathless than usual, start the rescue pack and call the practice.",
        review_date=date(2026, 9, 1),
    )
    return PlanData(**{**data.__dict__, **changes})


def test_every_save_is_a_new_version_and_earlier_ones_are_kept(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp)
    assert services.current_care_plan(alice) is None

    first = services.save_care_plan(user=gp, person=alice, data=_plan(gp))
    second = services.save_care_plan(user=gp, person=alice, data=_plan(gp, what_matters="Walking my dog."))

    assert (first.version, second.version) == (1, 2)
    current = services.current_care_plan(alice)
    assert current is not None and current.pk == second.pk and current.what_matters == "Walking my dog."
    old = services.care_plan_version(alice, 1)
    assert (
        old is not None
        and old.what_matters == "Getting back to my allotment."
        and old.superseded_at is not None
    )
    # Each version has its own rows: the old one still reads back whole.
    assert [p.text for p in old.priorities.all()] == ["See my grandchildren", "Less breathless on the hill"]
    assert [(p.rank, p.clinician_rank) for p in old.priorities.all()] == [(1, None), (2, 1)]
    assert old.goals.get().target_date == date(2026, 6, 1)
    assert [p.version for p in services.care_plan_versions(alice)] == [2, 1]
    # The same goal keeps its identity across versions (one FHIR Goal with a history).
    assert old.goals.get().key != current.goals.get().key  # not passed back in: a new goal
    third = services.save_care_plan(user=gp, person=alice, data=services.plan_data_from(current))
    assert third.goals.get().key == current.goals.get().key


def test_a_saved_version_cannot_be_changed(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp)
    plan = services.save_care_plan(user=gp, person=alice, data=_plan(gp))
    plan.what_matters = "rewritten history"
    with pytest.raises(ImmutableVersionError):
        plan.save()
    assert CarePlan.objects.get(pk=plan.pk).what_matters == "Getting back to my allotment."


def test_action_owners_must_be_in_the_care_team(team_world: dict[str, Any]) -> None:
    alice, gp, nurse = team_world["alice"], team_world["gp_a"], team_world["nurse_hospital"]
    services.add_team_member(user=gp, person=alice, member=gp)
    with pytest.raises(services.CarePlanError) as refused:
        services.save_care_plan(user=gp, person=alice, data=_plan(nurse))
    assert "care team" in str(refused.value)
    assert not CarePlan.objects.exists()

    services.add_team_member(user=gp, person=alice, member=nurse, role_in_team="Respiratory nurse")
    plan = services.save_care_plan(user=gp, person=alice, data=_plan(nurse))
    assert plan.actions.get().owner == nurse


def test_open_actions_for_a_user_come_from_current_plans_only(team_world: dict[str, Any]) -> None:
    alice, gp, nurse = team_world["alice"], team_world["gp_a"], team_world["nurse_hospital"]
    services.add_team_member(user=gp, person=alice, member=gp)
    services.add_team_member(user=gp, person=alice, member=nurse)
    services.save_care_plan(user=gp, person=alice, data=_plan(nurse))
    services.save_care_plan(user=gp, person=alice, data=_plan(nurse, what_matters="v2"))
    assert services.open_actions_for(nurse).count() == 1  # not one per version
    assert services.open_actions_for(gp).count() == 0

    services.complete_action(user=nurse, person=alice, position=0)
    assert services.open_actions_for(nurse).count() == 0
    assert services.current_care_plan(alice).version == 3  # marking done is a change: a new version


def test_one_named_coordinator(team_world: dict[str, Any]) -> None:
    alice, gp, nurse, sw = (team_world[k] for k in ("alice", "gp_a", "nurse_hospital", "social_worker"))
    first = services.add_team_member(user=gp, person=alice, member=gp)
    assert not first.is_coordinator  # never implied: the co-ordinator is chosen
    assert services.coordinator(alice) is None
    second = services.add_team_member(user=gp, person=alice, member=nurse)
    assert not second.is_coordinator
    third = services.add_team_member(user=gp, person=alice, member=sw, as_coordinator=True)
    assert third.is_coordinator
    assert CareTeamMember.objects.filter(person=alice, is_coordinator=True).count() == 1
    assert services.coordinator(alice).user == sw
    assert [m.user for m in services.care_team(alice)][0] == sw  # co-ordinator first

    services.set_coordinator(user=gp, person=alice, member=second)
    assert CareTeamMember.objects.filter(person=alice, is_coordinator=True).get().user == nurse

    with pytest.raises(services.CareTeamError, match="Name another co-ordinator"):
        services.remove_team_member(user=gp, person=alice, member=services.coordinator(alice))
    with pytest.raises(services.CareTeamError, match="already"):
        services.add_team_member(user=gp, person=alice, member=nurse)


def test_someone_with_open_actions_cannot_leave_the_team(team_world: dict[str, Any]) -> None:
    alice, gp, nurse = team_world["alice"], team_world["gp_a"], team_world["nurse_hospital"]
    services.add_team_member(user=gp, person=alice, member=gp)
    member = services.add_team_member(user=gp, person=alice, member=nurse)
    services.save_care_plan(user=gp, person=alice, data=_plan(nurse))
    with pytest.raises(services.CareTeamError, match="1 open action"):
        services.remove_team_member(user=gp, person=alice, member=member)
    services.complete_action(user=gp, person=alice, position=0)
    services.remove_team_member(user=gp, person=alice, member=member)
    # The done action keeps its owner in later versions, though they have left the team.
    later = services.save_care_plan(
        user=gp, person=alice, data=services.plan_data_from(services.current_care_plan(alice))
    )
    assert later.actions.get().owner == nurse


def test_people_outside_care_and_non_clinical_roles_cannot_change_anything(
    team_world: dict[str, Any],
) -> None:
    alice, gp_b, analyst = team_world["alice"], team_world["gp_b"], team_world["analyst"]
    for outsider in (gp_b, analyst):
        with pytest.raises(AccessRefused):
            services.save_care_plan(user=outsider, person=alice, data=PlanData(what_matters="x"))
        with pytest.raises(AccessRefused):
            services.add_team_member(user=outsider, person=alice, member=outsider)
        with pytest.raises(AccessRefused):
            services.add_handover_note(user=outsider, person=alice, text="hello")
    assert not CarePlan.objects.exists() and not CareTeamMember.objects.exists()


def test_a_care_team_member_from_another_organisation_gains_access(team_world: dict[str, Any]) -> None:
    # The council's social worker has no other relationship with Alice (she has been seen at the hospital).
    alice, gp, social_worker = team_world["alice"], team_world["gp_a"], team_world["social_worker"]
    assert not decide(social_worker, alice).allowed
    services.add_team_member(user=gp, person=alice, member=social_worker)
    assert decide(social_worker, alice).allowed


def test_every_change_is_audited(team_world: dict[str, Any]) -> None:
    alice, gp, nurse = team_world["alice"], team_world["gp_a"], team_world["nurse_hospital"]
    member = services.add_team_member(user=gp, person=alice, member=gp)
    nurse_member = services.add_team_member(user=gp, person=alice, member=nurse)
    services.set_coordinator(user=gp, person=alice, member=nurse_member)
    services.save_care_plan(user=gp, person=alice, data=_plan(gp))
    services.save_care_plan(user=gp, person=alice, data=_plan(gp))
    services.add_handover_note(user=gp, person=alice, text="Seen today; rescue pack explained.")
    services.set_coordinator(user=gp, person=alice, member=member)
    services.remove_team_member(user=gp, person=alice, member=nurse_member)

    rows = list(
        AuditEntry.objects.filter(person_id=alice.pk)
        .order_by("pk")
        .values_list("actor", "action", "resource_type", "resource_id")
    )
    plan_id = f"careplan-{alice.pk}"
    team_id = f"careteam-{alice.pk}"
    assert rows[:6] == [
        (gp.pk, "create", "CareTeam", team_id),
        (gp.pk, "create", "CareTeam", team_id),
        (gp.pk, "update", "CareTeam", team_id),
        (gp.pk, "create", "CarePlan", f"{plan_id}/_history/1"),
        (gp.pk, "update", "CarePlan", f"{plan_id}/_history/2"),
        (gp.pk, "create", "HandoverNote", rows[5][3]),
    ]
    assert [r[1:3] for r in rows[6:]] == [("update", "CareTeam"), ("update", "CareTeam")]
    # No free text in the audit log: the note's words stay in the note.
    assert not AuditEntry.objects.filter(reason__contains="rescue").exists()


def test_handover_notes_need_text_and_cannot_be_edited(team_world: dict[str, Any]) -> None:
    alice, gp = team_world["alice"], team_world["gp_a"]
    with pytest.raises(ValueError, match="Enter the handover note"):
        services.add_handover_note(user=gp, person=alice, text="   ")
    note = services.add_handover_note(user=gp, person=alice, text="Discharged yesterday.")
    note.text = "changed"
    with pytest.raises(ImmutableVersionError):
        note.save()


def test_the_care_teams_history_is_kept_and_shown(team_world: dict[str, Any]) -> None:
    from tests.web.conftest import signed_in

    alice, gp, nurse = team_world["alice"], team_world["gp_a"], team_world["nurse_hospital"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    joined = services.add_team_member(user=gp, person=alice, member=nurse, role_in_team="Diabetes specialist nurse")
    services.set_coordinator(user=gp, person=alice, member=joined)
    services.set_coordinator(user=gp, person=alice, member=joined)  # already: not a change
    services.remove_team_member(user=gp, person=alice, member=CareTeamMember.objects.get(person=alice, user=gp))

    history = services.care_team_history(alice)
    assert [(c.kind, c.member) for c in reversed(history)] == [
        ("joined", gp),
        ("coordinator", gp),
        ("joined", nurse),
        ("coordinator", nurse),
        ("left", gp),
    ]
    assert {c.changed_by for c in history} == {gp} and history[1].role_in_team == "Diabetes specialist nurse"
    with pytest.raises(ImmutableVersionError):
        history[0].save()

    page = signed_in(nurse).get(f"/care/people/{alice.pk}/team/").content.decode()
    section = page[page.index("Changes to the care team"):]
    assert "Left the team" in section and "Diabetes specialist nurse" in section

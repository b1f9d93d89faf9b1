"""MDT huddles: schedule, an agenda suggested from the worklists, nominations with reasons, outcomes
whose actions become owned, dated tasks on the owner's task list; members only, all audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import AuditEntry, Role
from careweave.governance.permissions import AccessRefused
from careweave.huddles import services
from careweave.huddles.models import AgendaItem, Huddle, Outcome, Task
from tests.web.conftest import signed_in, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(segmented: dict[str, Any]) -> dict[str, Any]:
    nurse = staff("nurse.riverside", Role.NURSE, segmented["practice_a"])
    return {**segmented, "nurse": nurse}


def _schedule(client: Any, members: list[int], **fields: str) -> Any:
    when = timezone.localdate() + timedelta(days=2)
    data = {
        "team_name": "Riverside MDT",
        "when-day": str(when.day),
        "when-month": str(when.month),
        "when-year": str(when.year),
        "time": "12:30",
        "members": [str(m) for m in members],
        **fields,
    }
    return client.post("/huddles/", data)


def test_schedule_a_huddle_for_a_team(team: dict[str, Any]) -> None:
    gp, nurse = team["gp_a"], team["nurse"]
    client = signed_in(gp)
    form = client.get("/huddles/").content.decode()
    assert "Schedule a huddle" in form and "nurse.riverside (Nurse)" in form
    response = _schedule(client, [nurse.pk])
    huddle = Huddle.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/huddles/{huddle.pk}/"
    assert set(huddle.members.all()) == {gp, nurse} and huddle.organisation == team["practice_a"]
    assert "Riverside MDT" in signed_in(nurse).get("/huddles/").content.decode()
    assert AuditEntry.objects.filter(action="huddle-schedule", actor=gp).exists()


def test_scheduling_errors_are_summarised_and_linked_to_the_field(team: dict[str, Any]) -> None:
    response = _schedule(
        signed_in(team["gp_a"]), [], **{"team_name": "", "when-day": "31", "when-month": "2"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "There is a problem" in page
    assert 'href="#team_name"' in page and "Enter the name of the team" in page
    assert not Huddle.objects.exists()


def test_the_agenda_is_suggested_from_the_worklists_for_people_in_care(team: dict[str, Any]) -> None:
    gp, alice = team["gp_a"], team["alice"]
    huddle = services.schedule_huddle(
        user=gp, team_name="Riverside MDT", scheduled_for=timezone.now(), members=[team["nurse"]]
    )
    page = signed_in(gp).get(f"/huddles/{huddle.pk}/").content.decode()
    suggestions = page[page.index('id="suggestions"') : page.index('id="nominate"')]
    assert "Alice Zephyrine" in suggestions and "Moderate frailty (eFI 0.27)" in suggestions
    assert "Quillfeather" not in suggestions  # on a list, but not in this GP's care

    response = signed_in(gp).post(
        f"/huddles/{huddle.pk}/suggestions/", {"person": alice.pk, "list_id": "mdt_discussion"}
    )
    assert response.status_code == 302
    item = AgendaItem.objects.get(huddle=huddle)
    assert (item.person, item.suggested_from, item.nominated_by) == (alice, "mdt_discussion", None)
    assert "Moderate frailty" in item.reason
    page = signed_in(gp).get(f"/huddles/{huddle.pk}/").content.decode()
    assert "Suggested from Multidisciplinary team discussion" in page
    assert AuditEntry.objects.filter(action="huddle-agenda", person_id=alice.pk).exists()


def test_any_member_nominates_a_person_in_their_care_with_a_reason(team: dict[str, Any]) -> None:
    gp, nurse, alice, bob = team["gp_a"], team["nurse"], team["alice"], team["bob"]
    huddle = services.schedule_huddle(user=gp, team_name="MDT", scheduled_for=timezone.now(), members=[nurse])
    client = signed_in(nurse)
    no_reason = client.post(
        f"/huddles/{huddle.pk}/nominations/", {"nhs_number": "943 476 5919", "reason": ""}
    )
    assert no_reason.status_code == 400 and 'href="#reason"' in no_reason.content.decode()
    # Someone outside the nurse's care cannot be found, so cannot be nominated (or revealed).
    outside = client.post(
        f"/huddles/{huddle.pk}/nominations/", {"nhs_number": bob.nhs_number, "reason": "Worried about him"}
    )
    assert outside.status_code == 400 and "Quillfeather" not in outside.content.decode()
    done = client.post(
        f"/huddles/{huddle.pk}/nominations/", {"nhs_number": "943 476 5919", "reason": "Carer is exhausted"}
    )
    assert done.status_code == 302
    item = AgendaItem.objects.get()
    assert (item.person, item.nominated_by, item.reason) == (alice, nurse, "Carer is exhausted")
    assert AuditEntry.objects.filter(action="huddle-nominate", actor=nurse, person_id=alice.pk).exists()


def test_the_outcome_and_its_action_become_a_task_on_the_owners_list(team: dict[str, Any]) -> None:
    gp, nurse, alice = team["gp_a"], team["nurse"], team["alice"]
    huddle = services.schedule_huddle(user=gp, team_name="MDT", scheduled_for=timezone.now(), members=[nurse])
    item = services.nominate(user=gp, huddle=huddle, person=alice, reason="Falls at home")
    due = timezone.localdate() + timedelta(days=14)
    response = signed_in(gp).post(
        f"/huddles/{huddle.pk}/agenda/{item.pk}/outcome/",
        {
            "discussion": "Agreed a falls assessment and a carer's assessment",
            "description": "Refer to falls clinic",
            "owner": str(nurse.pk),
            "due-day": str(due.day),
            "due-month": str(due.month),
            "due-year": str(due.year),
        },
    )
    assert response.status_code == 302
    outcome = Outcome.objects.get(agenda_item=item)
    assert outcome.discussion == "Agreed a falls assessment and a carer's assessment"
    task = Task.objects.get()
    assert (task.person, task.owner, task.due_date, task.status, task.source_huddle) == (
        alice,
        nurse,
        due,
        "open",
        huddle,
    )
    assert AuditEntry.objects.filter(action="huddle-outcome", person_id=alice.pk).exists()

    tasks = signed_in(nurse).get("/tasks/").content.decode()
    assert "Refer to falls clinic" in tasks and "Alice Zephyrine" in tasks
    assert "Refer to falls clinic" not in signed_in(gp).get("/tasks/").content.decode()
    # It is on the person's summary too.
    assert "Refer to falls clinic" in signed_in(gp).get(f"/people/{alice.pk}/").content.decode()

    # Only the owner marks it done.
    assert signed_in(gp).post(f"/tasks/{task.pk}/done/").status_code == 403
    assert signed_in(nurse).post(f"/tasks/{task.pk}/done/").status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.completed_at is not None
    assert "You have no open tasks" in signed_in(nurse).get("/tasks/").content.decode()
    assert AuditEntry.objects.filter(action="task-done", actor=nurse).exists()


def test_an_action_needs_an_owner_from_the_huddle_and_a_real_future_date(team: dict[str, Any]) -> None:
    gp, alice = team["gp_a"], team["alice"]
    huddle = services.schedule_huddle(user=gp, team_name="MDT", scheduled_for=timezone.now())
    item = services.nominate(user=gp, huddle=huddle, person=alice, reason="Falls at home")
    url = f"/huddles/{huddle.pk}/agenda/{item.pk}/outcome/"
    client = signed_in(gp)
    base = {"discussion": "Discussed", "description": "Refer to falls clinic", "owner": str(gp.pk)}
    no_owner = client.post(
        url, {**base, "owner": str(team["gp_b"].pk), "due-day": "1", "due-month": "1", "due-year": "2099"}
    )
    assert no_owner.status_code == 400 and f'href="#owner-{item.pk}"' in no_owner.content.decode()
    bad_date = client.post(url, {**base, "due-day": "31", "due-month": "2", "due-year": "2099"})
    assert bad_date.status_code == 400 and "Enter a real due date" in bad_date.content.decode()
    # What was typed is kept.
    assert "Refer to falls clinic" in bad_date.content.decode()
    past = client.post(url, {**base, "due-day": "1", "due-month": "1", "due-year": "2000"})
    assert past.status_code == 400 and not Task.objects.exists() and not Outcome.objects.exists()


def test_only_members_see_a_huddle(team: dict[str, Any]) -> None:
    huddle = services.schedule_huddle(user=team["gp_a"], team_name="MDT", scheduled_for=timezone.now())
    other = staff("gp.other", Role.GP, team["practice_a"])
    assert signed_in(other).get(f"/huddles/{huddle.pk}/").status_code == 403
    assert signed_in(team["analyst"]).get("/huddles/").status_code == 403
    with pytest.raises(AccessRefused):
        services.nominate(user=other, huddle=huddle, person=team["alice"], reason="Not a member")


def test_a_member_sees_only_the_names_of_people_in_their_own_care(team: dict[str, Any]) -> None:
    gp_a, gp_b = team["gp_a"], team["gp_b"]
    huddle = services.schedule_huddle(
        user=gp_a, team_name="PCN MDT", scheduled_for=timezone.now(), members=[gp_b]
    )
    services.nominate(user=gp_a, huddle=huddle, person=team["alice"], reason="Falls at home")
    page = signed_in(gp_b).get(f"/huddles/{huddle.pk}/").content.decode()
    assert "Zephyrine" not in page and "Falls at home" not in page and "not in your care" in page


def _seen(action: str) -> list[int | None]:
    return sorted(AuditEntry.objects.filter(action=action).values_list("person_id", flat=True))


def test_each_person_named_on_a_huddle_page_is_audited(team: dict[str, Any]) -> None:
    gp_a, gp_b, alice = team["gp_a"], team["gp_b"], team["alice"]
    huddle = services.schedule_huddle(user=gp_a, team_name="PCN MDT", scheduled_for=timezone.now(), members=[gp_b])
    signed_in(gp_a).get(f"/huddles/{huddle.pk}/")
    assert _seen("huddle-read") == [alice.pk]  # suggested from the worklists
    services.nominate(user=gp_a, huddle=huddle, person=alice, reason="Falls at home")
    signed_in(gp_a).get(f"/huddles/{huddle.pk}/")
    assert _seen("huddle-read") == [alice.pk, alice.pk]  # now on the agenda
    signed_in(gp_b).get(f"/huddles/{huddle.pk}/")  # Alice shown as a record number only; Bob suggested
    assert _seen("huddle-read") == sorted([alice.pk, alice.pk, team["bob"].pk])
    assert AuditEntry.objects.filter(action="huddle-read", actor=gp_b).get().person_id == team["bob"].pk
    entry = AuditEntry.objects.filter(action="huddle-read").first()
    assert entry is not None and (entry.actor, entry.resource_id) == (gp_a, str(huddle.pk))
    report = signed_in(team["admin"]).get(f"/audit/people/{alice.pk}/report/").content.decode()
    assert "Saw your name on the list for a meeting of your care team" in report


def test_each_person_named_on_my_tasks_is_audited(team: dict[str, Any]) -> None:
    gp, nurse, alice = team["gp_a"], team["nurse"], team["alice"]
    signed_in(nurse).get("/tasks/")
    assert _seen("tasks-read") == []
    huddle = services.schedule_huddle(user=gp, team_name="MDT", scheduled_for=timezone.now(), members=[nurse])
    item = services.nominate(user=gp, huddle=huddle, person=alice, reason="Falls at home")
    action = services.Action(description="Refer to falls clinic", owner_id=nurse.pk,
                             due_date=timezone.localdate() + timedelta(days=7))
    services.record_outcome(user=gp, item=item, discussion="Agreed a referral", actions=[action])
    signed_in(nurse).get("/tasks/")
    assert _seen("tasks-read") == [alice.pk]
    signed_in(gp).get("/tasks/")  # the GP owns no task: no one shown
    assert _seen("tasks-read") == [alice.pk]
    report = signed_in(team["admin"]).get(f"/audit/people/{alice.pk}/report/").content.decode()
    assert "Saw your name on their list of tasks" in report


def test_services_take_keyword_arguments_only() -> None:
    with pytest.raises(TypeError):
        services.schedule_huddle(None, "MDT", timezone.now())  # type: ignore[misc]

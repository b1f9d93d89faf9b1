"""The today page: the landing page after sign-in, with what needs this clinician now."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careweave.governance.models import AuditEntry, CareTeamMember
from careweave.huddles.models import Huddle, Task
from careweave.record import models as rm
from careweave.segmentation.models import SegmentationRun, WorklistEntry
from tests.web.conftest import PASSWORD, on_worklist, person, signed_in, stored

pytestmark = pytest.mark.django_db


def _task(owner: Any, who: rm.Person, description: str, due_in_days: int) -> Task:
    return Task.objects.create(person=who, description=description, owner=owner, created_by=owner,
                               due_date=timezone.localdate() + timedelta(days=due_in_days))


def _section(page: str, heading_id: str) -> str:
    start = page.index(f'id="{heading_id}"')
    end = page.find("</section>", start)
    return page[start:end]


def test_clinicians_land_on_today_after_signing_in(world: dict[str, Any]) -> None:
    response = Client().post("/login/", {"username": "gp.riverside", "password": PASSWORD})
    assert response["Location"] == "/today/"
    page = signed_in(world["gp_a"]).get("/today/").content.decode()
    assert re.search(r"<h1>.*Today</h1>", page, re.S)
    assert 'href="/today/"' in page  # and it is in the navigation


def test_my_tasks_due_this_week_overdue_first_and_nobody_elses(world: dict[str, Any]) -> None:
    gp, alice = world["gp_a"], world["alice"]
    _task(gp, alice, "Phone Alice about her bloods", -2)
    _task(gp, alice, "Check the home BP diary", 0)
    _task(gp, alice, "Arrange the annual review", 30)  # beyond this week
    _task(world["gp_b"], world["bob"], "Someone else's task", 0)
    tasks = _section(signed_in(gp).get("/today/").content.decode(), "my-tasks")
    assert tasks.index("Phone Alice about her bloods") < tasks.index("Check the home BP diary")
    assert "Overdue" in tasks and "Due today" in tasks
    assert "Arrange the annual review" not in tasks and "Someone else" not in tasks
    assert f'href="/people/{alice.pk}/"' in tasks


def test_my_huddles_this_week(world: dict[str, Any]) -> None:
    gp = world["gp_a"]
    soon = Huddle.objects.create(team_name="Riverside frailty MDT", organisation=world["practice_a"],
                                 scheduled_for=timezone.now() + timedelta(days=2), created_by=gp)
    soon.members.add(gp)
    later = Huddle.objects.create(team_name="Next month's MDT", organisation=world["practice_a"],
                                  scheduled_for=timezone.now() + timedelta(days=40), created_by=gp)
    later.members.add(gp)
    not_mine = Huddle.objects.create(team_name="Hilltop MDT", organisation=world["practice_b"],
                                     scheduled_for=timezone.now() + timedelta(days=1), created_by=world["gp_b"])
    not_mine.members.add(world["gp_b"])
    huddles = _section(signed_in(gp).get("/today/").content.decode(), "my-huddles")
    assert "Riverside frailty MDT" in huddles and f'href="/huddles/{soon.pk}/"' in huddles
    assert "Next month" not in huddles and "Hilltop" not in huddles


def test_new_results_only_for_people_whose_care_team_i_am_in(world: dict[str, Any]) -> None:
    gp, alice = world["gp_a"], world["alice"]
    other = person("Olive", "Nottheirs", None, world["practice_a"])
    for who in (alice, other):
        rm.Observation.objects.create(resource=stored("Observation", who), person=who, system="http://loinc.org",
                                      code="4548-4", display="HbA1c", effective=timezone.now() - timedelta(days=3),
                                      value=61, unit="mmol/mol")
    client = signed_in(gp)
    results = _section(client.get("/today/").content.decode(), "new-results")
    assert "not in anyone's care team" in results

    CareTeamMember.objects.create(person=alice, user=gp, is_coordinator=True)
    results = _section(client.get("/today/").content.decode(), "new-results")
    assert "HbA1c" in results and "61 mmol/mol" in results and "Alice Zephyrine" in results
    assert "Olive" not in results


def test_top_of_my_worklists_ranked_by_priority(segmented: dict[str, Any]) -> None:
    run = segmented["run"]
    WorklistEntry.objects.filter(run=run, list_id="medicines_review").update(priority=9.5)
    WorklistEntry.objects.filter(run=run, list_id="mdt_discussion").update(priority=2.0)
    low = person("Lowen", "Priority", None, segmented["practice_a"])
    WorklistEntry.objects.filter(pk=on_worklist(run, low, "care_coordination", "Two conditions").pk).update(priority=1.0)
    lists = _section(signed_in(segmented["gp_a"]).get("/today/").content.decode(), "top-of-worklists")
    assert lists.index("10 regular medicines") < lists.index("Moderate frailty") < lists.index("Two conditions")
    assert "Quillfeather" not in lists  # Bob is on a list, but not in this GP's care
    assert "may be out of date" not in lists and "Computed" in lists


def test_lists_older_than_a_day_carry_a_warning(segmented: dict[str, Any]) -> None:
    SegmentationRun.objects.filter(pk=segmented["run"].pk).update(created_at=timezone.now() - timedelta(days=56))
    lists = _section(signed_in(segmented["gp_a"]).get("/today/").content.decode(), "top-of-worklists")
    assert "These lists may be out of date" in lists and "56 days ago" in lists


def test_everyone_named_is_audited_once(segmented: dict[str, Any]) -> None:
    gp, alice = segmented["gp_a"], segmented["alice"]
    _task(gp, alice, "Phone Alice", 1)
    signed_in(gp).get("/today/")
    seen = list(AuditEntry.objects.filter(action="today-read").values_list("person_id", flat=True))
    assert seen == [alice.pk]


@pytest.mark.parametrize("role_user", ["analyst", "admin"])
def test_staff_without_the_workspace_are_refused(world: dict[str, Any], role_user: str) -> None:
    assert signed_in(world[role_user]).get("/today/").status_code == 403

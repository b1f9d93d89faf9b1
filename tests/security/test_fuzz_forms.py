"""Property-based fuzz of every POST form in the web app: hostile field values and ids never give a
500 (issue 8, finding 10). Signed in as a GP whose practice cares for the person, so the forms get
past access checks and their validation is what is exercised."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import fast_password_hashing, world  # noqa: F401  (fixtures, re-exported)

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    "1.5",
    "9" * 30,
    "99999999999999999999",
    "abc",
    "\x00",
    "a\x00b",
    "x" * 20000,
    "é😀",
    "<script>alert(1)</script>",
    "yes",
    "on",
    "31",
    "13",
    "2024",
    "9999",
    "http://evil.example/",
    "//evil.example",
]
value = st.sampled_from(HOSTILE) | st.text(max_size=40)
# path ids: one that exists is put in by the test; these are the hostile ones
path_id = st.sampled_from(["{pk}", "{pk}", "0", "999999", "9" * 19, "9" * 40])

PLAN_FIELDS = [
    "status",
    "what_matters",
    "carer_involvement",
    "contingency",
    "review[day]",
    "review[month]",
    "review[year]",
    "priority-count",
    "goal-count",
    "action-count",
    "add_rows",
    *(f"priority-0-{f}" for f in ("text", "rank", "clinician_rank")),
    *(f"goal-0-{f}" for f in ("description", "key", "status", "target[day]", "target[month]", "target[year]")),
    *(f"action-0-{f}" for f in ("description", "owner", "done", "due[day]", "due[month]", "due[year]")),
]
FORMS: dict[str, tuple[str, list[str]]] = {
    "sign-in": ("/login/", ["username", "password", "next"]),
    "break-glass": ("/people/{person}/break-glass/", ["reason", "next"]),
    "worklist-change": ("/people/{person}/worklists/", ["action", "list_id", "reason"]),
    "break-glass-review": ("/audit/break-glass/{id}/", ["review_note"]),
    "task-done": ("/tasks/{id}/done/", ["next"]),
    "huddle-schedule": (
        "/huddles/",
        ["team_name", "when-day", "when-month", "when-year", "time", "members", "members"],
    ),
    "huddle-suggestion": ("/huddles/{id}/suggestions/", ["person", "list_id"]),
    "huddle-nomination": ("/huddles/{id}/nominations/", ["nhs_number", "reason"]),
    "huddle-outcome": (
        "/huddles/{id}/agenda/{id}/outcome/",
        ["discussion", "description", "owner", "due-day", "due-month", "due-year", "action"],
    ),
    "plan-edit": ("/care/people/{person}/plan/edit/", PLAN_FIELDS),
    "plan-action-done": ("/care/people/{person}/plan/actions/{id}/done/", ["done", "next"]),
    "team-add": ("/care/people/{person}/team/add/", ["member", "role_in_team", "coordinator", "staff"]),
    "team-coordinator": ("/care/people/{person}/team/{id}/coordinator/", ["next"]),
    "team-remove": ("/care/people/{person}/team/{id}/remove/", ["next"]),
    "handover": ("/care/people/{person}/handover/", ["note"]),
}


@st.composite
def form_post(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], str, str]:
    name = draw(st.sampled_from(sorted(FORMS)))
    url, fields = FORMS[name]
    chosen = draw(st.lists(st.sampled_from(fields), unique=True, max_size=len(fields)))
    data: dict[str, Any] = {}
    for field in chosen:
        data[field] = draw(st.lists(value, min_size=1, max_size=2)) if field == "members" else draw(value)
    return name, url, data, draw(path_id), draw(path_id)


@pytest.fixture
def forms_world(world: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """A huddle with Alice on the agenda and a task from it, so the huddle forms have real ids."""
    from datetime import timedelta

    from django.utils import timezone

    from careweave.huddles import services

    gp = world["gp_a"]
    huddle = services.schedule_huddle(
        user=gp, team_name="Riverside MDT", scheduled_for=timezone.now() + timedelta(days=1)
    )
    item = services.nominate(user=gp, huddle=huddle, person=world["alice"], reason="fuzzing the forms")
    services.record_outcome(
        user=gp,
        item=item,
        discussion="agreed",
        actions=[services.Action(description="ring", owner_id=gp.pk, due_date=timezone.localdate() + timedelta(days=7))],
    )
    return {**world, "ids": {"huddle": huddle.pk, "item": item.pk}}


@FUZZ
@given(post=form_post())
def test_no_form_input_gives_a_500(
    forms_world: dict[str, Any], post: tuple[str, str, dict[str, Any], str, str]
) -> None:
    name, url, data, person, other = post
    alice = forms_world["alice"].pk
    # {id} is a real huddle, then agenda item (tasks, team members and plan actions share small ids)
    real = [str(forms_world["ids"]["huddle"]), str(forms_world["ids"]["item"])]
    path = url.replace("{person}", person.replace("{pk}", str(alice)), 1)
    while "{id}" in path:
        path = path.replace("{id}", other.replace("{pk}", real.pop(0) if real else "1"), 1)
    client = Client()
    client.force_login(forms_world["gp_a"])
    response = client.post(path, data)
    assert response.status_code < 500, f"{name} {path}: {response.status_code}"

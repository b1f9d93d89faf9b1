"""The today page: what needs this clinician now, on one page after sign-in.

Their tasks due or overdue, their huddles this week, new results for the people whose care team they
are in, and the top of their worklists ranked by priority, with the lists' age in words (a warning
when they are more than a day old). Every person named is audited by the view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from careweave.governance.access import in_care, people_in_care
from careweave.governance.models import CareTeamMember
from careweave.huddles.models import Huddle, Task
from careweave.record import models as rm
from careweave.referrals.scan import cached_findings_for
from careweave.segmentation.freshness import Freshness, freshness
from careweave.segmentation.models import SegmentationRun
from careweave.segmentation.services import current_run, worklist_titles
from careweave.ui.format import format_date
from careweave.web import referral_worklist
from careweave.web.worklists import entries_in_care

#: How far ahead the page looks for tasks and huddles, and back for new results.
TASKS_AHEAD = dt.timedelta(days=7)
HUDDLES_AHEAD = dt.timedelta(days=7)
RESULTS_SINCE = dt.timedelta(days=14)
#: Rows in each section before the "see all" link.
TOP = 10
@dataclass
class TodayPage:
    today: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    tasks_more: int = 0
    huddles: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    my_people: int = 0
    worklist: list[dict[str, Any]] = field(default_factory=list)
    freshness: Freshness | None = None
    referrals: list[dict[str, Any]] = field(default_factory=list)
    referrals_more: int = 0

    @property
    def person_ids(self) -> list[int]:
        """Everyone named on the page, for the audit."""
        named = [row["person_pk"] for row in (*self.tasks, *self.results, *self.worklist, *self.referrals)]
        return list(dict.fromkeys(named))


def _tasks(user: Any, today: dt.date) -> tuple[list[dict[str, Any]], int]:
    due = (
        Task.objects.filter(owner=user, status=Task.Status.OPEN, due_date__lte=today + TASKS_AHEAD)
        .select_related("person")
        .order_by("due_date", "pk")
    )
    visible = set(people_in_care(user).filter(pk__in=due.values("person_id")).values_list("pk", flat=True))
    rows = [
        {
            "description": task.description,
            "person_pk": task.person_id,
            "person": task.person.display_name if task.person_id in visible else f"Record {task.person_id}",
            "visible": task.person_id in visible,
            "due": format_date(task.due_date),
            "overdue": task.due_date < today,
            "due_today": task.due_date == today,
        }
        for task in due[: TOP + 1]
    ]
    return rows[:TOP], max(0, due.count() - TOP)


def _huddles(user: Any, now: dt.datetime) -> list[dict[str, Any]]:
    start = now - dt.timedelta(hours=2)  # one that started a little while ago is still "today"
    found = (
        Huddle.objects.filter(members=user, scheduled_for__gte=start, scheduled_for__lte=now + HUDDLES_AHEAD)
        .order_by("scheduled_for", "pk")
        .distinct()[:TOP]
    )
    return [
        {
            "pk": h.pk,
            "team": h.team_name,
            "when": f"{format_date(timezone.localtime(h.scheduled_for))} at {timezone.localtime(h.scheduled_for):%H:%M}",
            "people": h.agenda.count(),
        }
        for h in found
    ]


def _results(user: Any, now: dt.datetime) -> tuple[list[dict[str, Any]], int]:
    """Results recorded in the last fortnight for the people whose care team the user is in (and still in
    their care: a team they left does not count)."""
    mine = CareTeamMember.objects.filter(user=user).values("person_id")
    people = people_in_care(user).filter(pk__in=mine)
    observations = (
        rm.Observation.objects.filter(
            person__in=people, effective__gte=now - RESULTS_SINCE, effective__lte=now, component_of=""
        )
        .exclude(value=None)
        .select_related("person")
        .order_by("-effective", "-pk")[:TOP]
    )
    rows = [
        {
            "person_pk": o.person_id,
            "person": o.person.display_name,
            "what": o.display or o.code,
            "value": _value(o),
            "when": format_date(timezone.localtime(o.effective)) if o.effective else "",
        }
        for o in observations
    ]
    return rows, people.count()


def _value(observation: rm.Observation) -> str:
    value = observation.value_canonical if observation.value_canonical is not None else observation.value
    unit = observation.unit_canonical or observation.unit or ""
    if value is None:
        return ""
    number = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{number} {unit}".strip()


def _worklist(user: Any, run: SegmentationRun) -> list[dict[str, Any]]:
    titles = worklist_titles()
    entries = (
        entries_in_care(run, user)
        .select_related("person")
        .order_by("-priority", "person__family_name", "pk")[:TOP]
    )
    return [
        {
            "person_pk": e.person_id,
            "person": e.person.display_name,
            "list": titles.get(e.list_id, e.list_id),
            "list_id": e.list_id,
            "reason": e.reasons[0] if e.reasons else "",
            "priority": f"{e.priority:.1f}" if e.priority is not None else "",
        }
        for e in entries
    ]


def today_page(user: Any, now: dt.datetime | None = None, *, worklists: bool = True) -> TodayPage:
    now = now or timezone.now()
    today = timezone.localdate(now)
    page = TodayPage(today=format_date(today))
    page.tasks, page.tasks_more = _tasks(user, today)
    page.huddles = _huddles(user, now)
    page.results, page.my_people = _results(user, now)
    run = current_run() if worklists else None
    if run is not None:
        page.worklist = _worklist(user, run)
        page.freshness = freshness(run, now)
    if worklists:
        page.referrals, page.referrals_more = _referrals(user, run)
    return page


def _referrals(user: Any, run: SegmentationRun | None) -> tuple[list[dict[str, Any]], int]:
    """The top of the referrals worklist (the same scan and ranking by harm, from its cache)."""
    rows = referral_worklist.worklist_rows(cached_findings_for(in_care(user, "person_id"), key=user.pk), run)
    top = [
        {
            "person_pk": row.person_pk,
            "person": row.name,
            "finding": row.findings[0].title if row.findings else "",
            "next_step": row.findings[0].next_step if row.findings else "",
        }
        for row in rows[:TOP]
    ]
    return top, max(0, len(rows) - TOP)

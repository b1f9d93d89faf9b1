"""Shape huddles, agendas and tasks for the templates; parse the forms' fields."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from careweave.care import links as care_link
from careweave.contact.needs import needs_interpreter
from careweave.governance import consent
from careweave.governance.access import in_care, people_in_care
from careweave.huddles.models import AgendaItem, Huddle, Task
from careweave.huddles.services import Action
from careweave.segmentation.models import WorklistEntry
from careweave.segmentation.services import current_run, worklist_titles
from careweave.ui.format import format_date, format_nhs_number, staff_name_and_role

# Lists whose people an MDT huddle is for (NICE NG56; BGS Fit for Frailty), in the order suggested.
SUGGESTED_LISTS = (
    "mdt_discussion",
    "mdt_discussion_unplanned_care",
    "care_coordination",
    "recently_discharged",
)
MAX_SUGGESTIONS = 20
OUTCOME_FIELDS = ("discussion", "description", "owner", "due-day", "due-month", "due-year")


def when_text(value: datetime) -> str:
    local = timezone.localtime(value)
    return f"{format_date(local)} at {local:%H:%M}"


def _date(day: str, month: str, year: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 20-digit year
        return None


def form_id(value: str) -> int | None:
    """A primary key from a form field: ASCII digits that fit a 64-bit column, else None
    ("²".isdigit() is true, and a 30-digit id overflows the database driver)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@dataclass
class ScheduleForm:
    team_name: str = ""
    day: str = ""
    month: str = ""
    year: str = ""
    time: str = ""
    member_ids: set[int] = field(default_factory=set)

    @classmethod
    def empty(cls) -> ScheduleForm:
        return cls(time="12:30")

    @classmethod
    def from_post(cls, post: Any) -> ScheduleForm:
        ids = {pk for v in post.getlist("members") if (pk := form_id(v)) is not None}
        return cls(
            post.get("team_name", ""),
            post.get("when-day", "").strip(),
            post.get("when-month", "").strip(),
            post.get("when-year", "").strip(),
            post.get("time", "").strip(),
            ids,
        )

    def when(self) -> datetime | None:
        day = _date(self.day, self.month, self.year)
        try:
            hours, minutes = (int(p) for p in self.time.replace(".", ":").split(":"))
            moment = datetime(day.year, day.month, day.day, hours, minutes) if day else None
        except (ValueError, OverflowError):
            return None
        return timezone.make_aware(moment) if moment else None


def action_from_post(post: Any, item_pk: int) -> Action:
    owner = post.get("owner", "")
    due = _date(post.get("due-day", ""), post.get("due-month", ""), post.get("due-year", ""))
    filled = any(post.get(f"due-{part}", "").strip() for part in ("day", "month", "year"))
    # A half-typed date is an error (None with a description); no date at all is fine without an action.
    return Action(
        description=post.get("description", ""),
        owner_id=form_id(owner),
        due_date=due if filled else None,
    )


def huddle_rows(huddles: QuerySet[Huddle]) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {
            "pk": h.pk,
            "team": h.team_name,
            "when": when_text(h.scheduled_for),
            "upcoming": h.scheduled_for >= now,
            "members": h.member_count,
            "agenda": h.agenda_count,
        }
        for h in huddles.annotate(
            member_count=Count("members", distinct=True), agenda_count=Count("agenda", distinct=True)
        )
    ]


@dataclass
class HuddlePage:
    huddle: Huddle
    title: str
    when: str
    members: list[dict[str, Any]]
    agenda: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]
    outcome_form: dict[str, str]


def huddle_page(huddle: Huddle, user: Any, outcome_form: dict[str, str] | None = None) -> HuddlePage:
    titles = worklist_titles()
    members = list(huddle.members.select_related("staff_profile").order_by("username"))
    items = list(
        AgendaItem.objects.filter(huddle=huddle)
        .select_related("person", "nominated_by", "outcome")
        .order_by("added_at", "pk")
    )
    # A member sees the names of the people in their own care only: access is still decided per person.
    visible = set(
        people_in_care(user).filter(pk__in=[i.person_id for i in items]).values_list("pk", flat=True)
    )
    tasks: dict[int, list[Task]] = defaultdict(list)
    for task in (
        Task.objects.filter(source_huddle=huddle)
        .select_related("owner", "owner__staff_profile")
        .order_by("pk")
    ):
        tasks[task.person_id].append(task)
    agenda = []
    for item in items:
        outcome = getattr(item, "outcome", None)
        shown = item.person_id in visible
        agenda.append(
            {
                "pk": item.pk,
                "person_pk": item.person_id,
                "visible": shown,
                "name": item.person.display_name if shown else f"Record {item.person_id} (not in your care)",
                "nhs_number": format_nhs_number(item.person.nhs_number) if shown else "",
                "source": (
                    f"Suggested from {titles.get(item.suggested_from, item.suggested_from)}"
                    if item.suggested_from
                    else f"Nominated by {staff_name_and_role(item.nominated_by)}"
                    if item.nominated_by
                    else ""
                ),
                "reason": item.reason if shown else "",
                # issue 18: flagged on every agenda ("interpreter" or "BSL interpreter"), for booking a slot
                "interpreter": needs_interpreter(item.person) if shown else "",
                "outcome": outcome.discussion if outcome is not None and shown else "",
                "tasks": [
                    {
                        "description": t.description,
                        "owner": staff_name_and_role(t.owner),
                        "due": format_date(t.due_date),
                        "done": t.status == Task.Status.DONE,
                    }
                    for t in tasks.get(item.person_id, [])
                ]
                if shown
                else [],
            }
        )
    return HuddlePage(
        huddle=huddle,
        title=huddle.team_name,
        when=when_text(huddle.scheduled_for),
        members=[{"pk": m.pk, "name": staff_name_and_role(m)} for m in members],
        agenda=agenda,
        suggestions=suggestions(user, exclude={i.person_id for i in items}),
        outcome_form=outcome_form or {},
    )


def suggestions(user: Any, exclude: set[int]) -> list[dict[str, Any]]:
    """People in the user's care on the MDT-related lists of the current run, not yet on the agenda."""
    run = current_run()
    if run is None:
        return []
    titles = worklist_titles()
    entries = (
        WorklistEntry.objects.filter(run=run, list_id__in=SUGGESTED_LISTS)
        .filter(in_care(user, "person_id"))
        .filter(consent.person_shows(user, "summary"))  # lists made from diagnoses (ADR 0021)
        .exclude(person_id__in=exclude)
        .select_related("person")
        .order_by("person__family_name", "person__given_name", "person_id")[
            : MAX_SUGGESTIONS * len(SUGGESTED_LISTS)
        ]
    )
    people: dict[int, dict[str, Any]] = {}
    for entry in entries:
        row = people.setdefault(
            entry.person_id,
            {
                "person_pk": entry.person_id,
                "name": entry.person.display_name,
                "nhs_number": format_nhs_number(entry.person.nhs_number),
                "lists": [],
            },
        )
        row["lists"].append(
            {"id": entry.list_id, "title": titles.get(entry.list_id, entry.list_id), "reasons": entry.reasons}
        )
    ranked = sorted(
        people.values(),
        key=lambda r: (-len(r["lists"]), min(SUGGESTED_LISTS.index(x["id"]) for x in r["lists"])),
    )
    for row in ranked:
        row["lists"].sort(key=lambda x: SUGGESTED_LISTS.index(x["id"]))
    return ranked[:MAX_SUGGESTIONS]


@dataclass
class TaskList:
    open: list[dict[str, Any]]
    done: list[dict[str, Any]]
    care_actions: list[dict[str, Any]]


def task_rows(user: Any) -> TaskList:
    today = timezone.localdate()
    tasks = list(
        Task.objects.filter(owner=user).select_related("person", "source_huddle").order_by("due_date", "pk")
    )
    visible = set(
        people_in_care(user).filter(pk__in=[t.person_id for t in tasks]).values_list("pk", flat=True)
    )

    def row(task: Task) -> dict[str, Any]:
        shown = task.person_id in visible
        return {
            "pk": task.pk,
            "description": task.description,
            "person_pk": task.person_id,
            "person": task.person.display_name if shown else f"Record {task.person_id}",
            "visible": shown,
            "due": format_date(task.due_date),
            "overdue": task.status == Task.Status.OPEN and task.due_date < today,
            "huddle": task.source_huddle.team_name if task.source_huddle else "",
            "huddle_pk": task.source_huddle_id,
        }

    open_tasks = [row(t) for t in tasks if t.status == Task.Status.OPEN]
    done = [
        row(t)
        for t in sorted(
            (t for t in tasks if t.status == Task.Status.DONE),
            key=lambda t: t.completed_at or timezone.now(),
            reverse=True,
        )[:10]
    ]
    actions = care_link.open_actions_for(user)
    visible |= set(
        people_in_care(user)
        .filter(pk__in=[a.care_plan.person_id for a in actions])
        .values_list("pk", flat=True)
    )
    care_actions = [
        {
            "description": a.description,
            "due": format_date(a.due_date) if a.due_date else "No date set",
            "overdue": bool(a.due_date and a.due_date < today),
            "person_pk": a.care_plan.person_id,
            "person": a.care_plan.person.display_name
            if a.care_plan.person_id in visible
            else f"Record {a.care_plan.person_id}",
            "visible": a.care_plan.person_id in visible,
        }
        for a in actions
    ]
    return TaskList(open=open_tasks, done=done, care_actions=care_actions)

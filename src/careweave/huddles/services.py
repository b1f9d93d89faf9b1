"""Writes for huddles: each is atomic, checks access through `governance.access`, and is audited.

Errors a user can correct raise `HuddleError` naming the form field, so a view can show an NHS.UK
error summary that links to it; attempts the user is not allowed to make raise `AccessRefused`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from careweave.governance.access import AccessRefused, Permission, decide
from careweave.governance.audit import record_access
from careweave.governance.models import CareTeamMember
from careweave.governance.permissions import has, require, roles_with
from careweave.governance.staff import staff_matching
from careweave.huddles.models import AgendaItem, Huddle, Outcome, Task
from careweave.record.models import Organisation, Person
from careweave.segmentation.models import WorklistEntry
from careweave.segmentation.services import current_run

MIN_REASON = 5


class HuddleError(ValueError):
    """A problem the user can fix: `field` is the id of the form field it belongs to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Action:
    """An action agreed at the huddle: becomes a task."""

    description: str
    owner_id: int | None
    due_date: date | None


def huddles_for(user: Any) -> QuerySet[Huddle]:
    return Huddle.objects.filter(members=user)


def is_member(user: Any, huddle: Huddle) -> bool:
    return huddle.members.filter(pk=user.pk).exists()


def _require_clinician(user: Any) -> None:
    require(user, Permission.HUDDLES, "only clinical staff take part in huddles")


def _require_member(user: Any, huddle: Huddle) -> None:
    _require_clinician(user)
    if not is_member(user, huddle):
        raise AccessRefused("only members of this huddle can change it")


def _require_access(user: Any, person: Person) -> None:
    if not decide(user, person).allowed:
        raise AccessRefused("this person is not in your care")


def _audit(user: Any, action: str, person: Person | None, huddle: Huddle, detail: str = "") -> None:
    record_access(
        actor=user,
        action=action,
        resource_type="Patient" if person is not None else "Huddle",
        resource_id=person.resource.logical_id if person is not None else str(huddle.pk),
        person_id=person.pk if person is not None else None,
        purpose="direct-care",
        reason=f"huddle {huddle.pk}" + (f": {detail}" if detail else ""),
    )


@transaction.atomic
def schedule_huddle(
    *,
    user: Any,
    team_name: str,
    scheduled_for: datetime | None,
    members: Iterable[Any] = (),
    organisation: Organisation | None = None,
) -> Huddle:
    """Schedule a huddle; the person scheduling it is always a member."""
    _require_clinician(user)
    team_name = team_name.strip()
    if not team_name:
        raise HuddleError("Enter the name of the team", "team_name")
    if scheduled_for is None:
        raise HuddleError("Enter the date and time of the huddle, for example 17 5 2026 at 12:30", "when-day")
    member_list = [m for m in members if m.pk != user.pk]
    if not all(has(m, Permission.HUDDLES) for m in member_list):
        raise HuddleError("Choose members from clinical staff only", "members")
    huddle = Huddle.objects.create(
        team_name=team_name[:255],
        organisation=organisation if organisation is not None else user.staff_profile.organisation,
        scheduled_for=scheduled_for,
        created_by=user,
    )
    huddle.members.add(user, *member_list)
    _audit(user, "huddle-schedule", None, huddle, f"{len(member_list) + 1} members")
    return huddle


@transaction.atomic
def add_suggestion(*, user: Any, huddle: Huddle, person: Person, list_id: str) -> AgendaItem:
    """Put a person suggested by a worklist of the current run on the agenda."""
    _require_member(user, huddle)
    _require_access(user, person)
    entry = WorklistEntry.objects.filter(run=current_run(), person=person, list_id=list_id).first()
    if entry is None:
        raise HuddleError("This person is no longer on that worklist", "suggestions")
    reason = "; ".join(entry.reasons) or list_id
    item, _ = AgendaItem.objects.get_or_create(
        huddle=huddle, person=person, defaults={"suggested_from": list_id, "reason": reason}
    )
    _audit(user, "huddle-agenda", person, huddle, f"suggested from {list_id}")
    return item


@transaction.atomic
def nominate(*, user: Any, huddle: Huddle, person: Person | None, reason: str) -> AgendaItem:
    """Any member can put a person in their care on the agenda, saying why."""
    _require_member(user, huddle)
    if person is None:
        raise HuddleError("Enter the NHS number of a person in your care", "nhs_number")
    _require_access(user, person)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise HuddleError(
            f"Give a reason for discussing this person (at least {MIN_REASON} characters)", "reason"
        )
    if AgendaItem.objects.filter(huddle=huddle, person=person).exists():
        raise HuddleError("This person is already on the agenda", "nhs_number")
    item = AgendaItem.objects.create(huddle=huddle, person=person, nominated_by=user, reason=reason)
    _audit(user, "huddle-nominate", person, huddle)
    return item


@transaction.atomic
def record_outcome(
    *, user: Any, item: AgendaItem, discussion: str, actions: Sequence[Action] = ()
) -> Outcome:
    """Record (or update) what was decided about one person; each action becomes a task."""
    huddle = item.huddle
    _require_member(user, huddle)
    _require_access(user, item.person)
    discussion = discussion.strip()
    if not discussion:
        raise HuddleError("Enter what the team discussed and decided", f"discussion-{item.pk}")
    wanted = [a for a in actions if a.description.strip() or a.owner_id or a.due_date]
    members = {m.pk: m for m in huddle.members.all()}
    for action in wanted:
        if not action.description.strip():
            raise HuddleError("Enter what needs to be done", f"action-{item.pk}")
        if action.owner_id not in members:
            raise HuddleError("Choose who will do this action from the huddle's members", f"owner-{item.pk}")
        if action.due_date is None:
            raise HuddleError("Enter a real due date, for example 17 5 2026", f"due-{item.pk}-day")
        if action.due_date < timezone.localdate():
            raise HuddleError("The due date must be today or in the future", f"due-{item.pk}-day")
    outcome, _ = Outcome.objects.update_or_create(
        agenda_item=item, defaults={"discussion": discussion, "recorded_by": user}
    )
    for action in wanted:
        assert action.owner_id is not None and action.due_date is not None  # checked above
        Task.objects.create(
            person=item.person,
            description=action.description.strip(),
            owner=members[action.owner_id],
            due_date=action.due_date,
            source_huddle=huddle,
            outcome=outcome,
            created_by=user,
        )
    _audit(user, "huddle-outcome", item.person, huddle, f"{len(wanted)} actions")
    return outcome


@transaction.atomic
def complete_task(*, user: Any, task: Task) -> Task:
    """Only the owner marks their task done."""
    if task.owner_id != user.pk:
        raise AccessRefused("only the owner of a task can mark it done")
    if task.status != Task.Status.DONE:
        task.status = Task.Status.DONE
        task.completed_at = timezone.now()
        task.save(update_fields=["status", "completed_at"])
        record_access(
            actor=user,
            action="task-done",
            resource_type="Task",
            resource_id=str(task.pk),
            person_id=task.person_id,
            purpose="direct-care",
        )
    return task


def clinical_staff(organisation_id: int | None) -> QuerySet[Any]:
    """Staff who can be members of a huddle: clinical roles, the organisation's first."""
    users = get_user_model().objects.filter(staff_profile__role__in=roles_with(Permission.HUDDLES), is_active=True)
    if organisation_id is not None:
        users = users.filter(staff_profile__organisation_id=organisation_id)
    return users.select_related("staff_profile").order_by("username")


#: At most this many people found by a search for staff elsewhere: an ICB has thousands.
STAFF_FOUND = 25


def huddle_candidates(user: Any, find: str = "") -> list[Any]:
    """Who may be asked to a huddle, across organisations, as an MDT is held: the user's own
    organisation's clinical staff; the staff of any organisation who share a care team with the user
    (the social worker, the community nurse, the hospital's frailty team); and, when the user searches,
    clinical staff anywhere whose name, role or organisation holds every word. Never the user."""
    every = clinical_staff(None).exclude(pk=user.pk).select_related("staff_profile__organisation")
    own = Q(staff_profile__organisation_id=user.staff_profile.organisation_id)
    my_people = CareTeamMember.objects.filter(user=user).values("person_id")
    colleagues = Q(pk__in=CareTeamMember.objects.filter(person_id__in=my_people).values("user_id"))
    usual = list(every.filter(own | colleagues))
    found: list[Any] = []
    if find.split():
        matching = staff_matching(every, find, roles=False)
        known = {u.pk for u in usual}
        found = [u for u in matching.order_by("last_name", "first_name", "username")[:STAFF_FOUND] if u.pk not in known]
    return sorted(usual, key=_staff_order(user)) + found


def _staff_order(user: Any) -> Any:
    own = user.staff_profile.organisation_id

    def key(member: Any) -> tuple[bool, str, str]:
        org = member.staff_profile.organisation
        return (org is None or org.pk != own, org.name if org else "", member.get_full_name() or member.username)

    return key

"""Care plans, the care team and handover notes: every read helper and every write lives here.

Writes take keyword-only arguments, run inside `transaction.atomic`, and open the person's record
once through `careweave.governance.access.open_record` (clinical staff with a legitimate
relationship, or break-glass; a care team change needs a relationship of one's own), which refuses
with `AccessRefused` and audits the refusal; the change is audited on the same decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from careweave.care.models import (
    CarePlan,
    CarePlanAction,
    CarePlanStatus,
    CareTeamChange,
    Goal,
    GoalStatus,
    HandoverNote,
    Priority,
)
from careweave.governance.access import Permission, RecordAccess, open_record
from careweave.governance.models import CareTeamMember
from careweave.governance.permissions import has, roles_with
from careweave.governance.staff import staff_matching
from careweave.record import models as rm

MAX_HANDOVER_NOTE = 5000


class CareTeamError(ValueError):
    """A change that would break the care team's rules (e.g. leave it without a co-ordinator)."""


class CarePlanError(ValueError):
    """A care plan that cannot be saved as given; `problems` maps a field to what is wrong."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        super().__init__("; ".join(self.problems.values()))


# -- identifiers shared by the audit log and the FHIR exchange --------------------------------------


def care_plan_id(person: rm.Person) -> str:
    """The FHIR logical id of a person's care plan: one CarePlan, each version a FHIR version."""
    return f"careplan-{person.pk}"


def care_team_id(person: rm.Person) -> str:
    return f"careteam-{person.pk}"


# -- reading ------------------------------------------------------------------------------------------


def _plan_with_contents(**version: Any) -> CarePlan | None:
    """One version of a plan with who saved it and everything in it, in three queries."""
    return (
        CarePlan.objects.filter(**version)
        .select_related("updated_by")
        .prefetch_related("priorities", "goals", "actions__owner")
        .first()
    )


def current_care_plan(person: rm.Person) -> CarePlan | None:
    """The latest version of the person's plan, or None if they have none yet."""
    return _plan_with_contents(person=person, superseded_at=None)


def care_plan_versions(person: rm.Person) -> QuerySet[CarePlan]:
    """Every version, newest first."""
    return CarePlan.objects.filter(person=person).select_related("updated_by").order_by("-version")


def care_plan_version(person: rm.Person, version: int) -> CarePlan | None:
    return _plan_with_contents(person=person, version=version)


def care_team(person: rm.Person) -> list[CareTeamMember]:
    """The person's care team across organisations, the named co-ordinator first."""
    return list(
        CareTeamMember.objects.filter(person=person)
        .select_related("user", "user__staff_profile", "user__staff_profile__organisation__resource")
        .order_by("-is_coordinator", "added_at", "pk")
    )


def coordinator(person: rm.Person) -> CareTeamMember | None:
    """The named co-ordinator: the person's single point of contact."""
    return (
        CareTeamMember.objects.filter(person=person, is_coordinator=True)
        .select_related("user", "user__staff_profile", "user__staff_profile__organisation")
        .first()
    )


def open_actions_for(user: Any) -> QuerySet[CarePlanAction]:
    """Actions in people's current care plans that this user owns and has not done, soonest due first."""
    return (
        CarePlanAction.objects.filter(owner=user, done=False, care_plan__superseded_at=None)
        .select_related("care_plan", "care_plan__person")
        .order_by("due_date", "care_plan__person_id", "position")
    )


def handover_notes(person: rm.Person) -> QuerySet[HandoverNote]:
    return HandoverNote.objects.filter(person=person).select_related(
        "author", "author__staff_profile", "author__staff_profile__organisation"
    )


STAFF_CHOICES = 25


def staff_who_can_join(person: rm.Person, query: str = "", limit: int = STAFF_CHOICES) -> list[Any]:
    """Active clinical staff in any organisation who are not yet in this person's care team.

    With a query, those whose name, username, role or organisation holds every word of it; without
    one, the staff of the services that already care for the person (registered practice, where they
    were seen or referred), so the usual choices are offered first. At most `limit`: an ICB has
    thousands of staff, too many for one list.
    """
    staff = (
        get_user_model()
        .objects.filter(is_active=True, staff_profile__role__in=roles_with(Permission.CARE_PLANNING))
        .exclude(care_teams__person=person)
        .select_related("staff_profile", "staff_profile__organisation")
    )
    if query.split():
        staff = staff_matching(staff, query)
    else:
        services_caring = rm.CareRelationship.objects.filter(person=person).values("organisation_id")
        staff = staff.filter(staff_profile__organisation_id__in=services_caring)
    return list(staff.order_by("staff_profile__organisation__name", "last_name", "first_name", "username")[:limit])


# -- access -------------------------------------------------------------------------------------------


def open_care_record(
    *, user: Any, person: rm.Person, action: str, resource_type: str, resource_id: str = "", audit: bool = True
) -> RecordAccess:
    """A person's care plan, care team or handover notes, opened for clinical staff with a legitimate
    relationship (or break-glass). Refused with `AccessRefused`; the allow and the deny are audited."""
    return open_record(
        user=user,
        person=person,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id or care_plan_id(person),
        permission=Permission.CARE_PLANNING,
        audit=audit,
    )


def _open_for_change(user: Any, person: rm.Person, resource_type: str, resource_id: str = "") -> RecordAccess:
    # the change itself is audited once it is made (with its version); a refusal is audited here
    return open_care_record(
        user=user, person=person, action="update", resource_type=resource_type, resource_id=resource_id, audit=False
    )


def open_for_team_change(user: Any, person: rm.Person) -> RecordAccess:
    return open_record(
        user=user,
        person=person,
        action="update",
        resource_type="CareTeam",
        resource_id=care_team_id(person),
        permission=Permission.CARE_PLANNING,
        audit=False,
        care_team_change=True,
    )


# -- the care plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityData:
    text: str
    rank: int
    clinician_rank: int | None = None


@dataclass(frozen=True)
class GoalData:
    description: str
    target_date: date | None = None
    status: str = GoalStatus.ACTIVE
    key: uuid.UUID | None = None  # the goal's key in the previous version, when it is the same goal


@dataclass(frozen=True)
class ActionData:
    description: str
    owner: Any  # a user, or a user's primary key
    due_date: date | None = None
    done: bool = False


@dataclass(frozen=True)
class PlanData:
    what_matters: str = ""
    status: str = CarePlanStatus.ACTIVE
    priorities: Sequence[PriorityData] = field(default_factory=tuple)
    goals: Sequence[GoalData] = field(default_factory=tuple)
    actions: Sequence[ActionData] = field(default_factory=tuple)
    carer_involvement: str = ""
    contingency: str = ""
    review_date: date | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PlanData:
        def rows(name: str, kind: type[Any]) -> tuple[Any, ...]:
            return tuple(row if isinstance(row, kind) else kind(**row) for row in data.get(name, ()))

        return cls(
            what_matters=data.get("what_matters", ""),
            status=data.get("status", CarePlanStatus.ACTIVE),
            priorities=rows("priorities", PriorityData),
            goals=rows("goals", GoalData),
            actions=rows("actions", ActionData),
            carer_involvement=data.get("carer_involvement", ""),
            contingency=data.get("contingency", ""),
            review_date=data.get("review_date"),
        )


def plan_data_from(plan: CarePlan | None) -> PlanData:
    """A saved version as PlanData: the starting point for the next version."""
    if plan is None:
        return PlanData()
    return PlanData(
        what_matters=plan.what_matters,
        status=plan.status,
        priorities=tuple(PriorityData(p.text, p.rank, p.clinician_rank) for p in plan.priorities.all()),
        goals=tuple(GoalData(g.description, g.target_date, g.status, g.key) for g in plan.goals.all()),
        actions=tuple(ActionData(a.description, a.owner, a.due_date, a.done) for a in plan.actions.all()),
        carer_involvement=plan.carer_involvement,
        contingency=plan.contingency,
        review_date=plan.review_date,
    )


def _check_plan(person: rm.Person, data: PlanData) -> dict[int, Any]:
    """Refuse a plan that breaks the rules; return the action owners as users, by action index."""
    problems: dict[str, str] = {}
    if data.status not in CarePlanStatus.values:
        problems["status"] = "Choose whether the plan is a draft, active or completed"
    ranks = [p.rank for p in data.priorities]
    if any(r < 1 for r in ranks) or len(set(ranks)) != len(ranks):
        problems["priorities"] = "Give each of the person's priorities a different rank, starting at 1"
    clinician_ranks = [p.clinician_rank for p in data.priorities if p.clinician_rank is not None]
    if any(r < 1 for r in clinician_ranks) or len(set(clinician_ranks)) != len(clinician_ranks):
        problems["clinician_ranks"] = "Give each clinician's ranking a different number, starting at 1"
    if any(g.status not in GoalStatus.values for g in data.goals):
        problems["goals"] = "Choose a status for each goal"
    # Owners must be in the care team: owning an action needs sight of the plan (a legitimate
    # relationship), and the person and co-ordinator must be able to see who is doing what.
    team = {m.user_id: m.user for m in CareTeamMember.objects.filter(person=person).select_related("user")}
    # A done action keeps its owner even if they have since left the team: that is its history.
    owners: dict[int, Any] = {}
    user_model = get_user_model()
    for i, action in enumerate(data.actions):
        owner_id = getattr(action.owner, "pk", action.owner)
        if owner_id in team:
            owners[i] = team[owner_id]
        elif action.done and (past := user_model.objects.filter(pk=owner_id).first()) is not None:
            owners[i] = past
        else:
            problems[f"action-{i}-owner"] = "Choose an owner for each action from the person's care team"
    if problems:
        raise CarePlanError(problems)
    return owners


def save_care_plan(*, user: Any, person: rm.Person, data: PlanData | Mapping[str, Any]) -> CarePlan:
    """Save the plan as a new version; the previous version is kept, marked superseded."""
    if not isinstance(data, PlanData):
        data = PlanData.from_mapping(data)
    return _save_plan(_open_for_change(user, person, "CarePlan", care_plan_id(person)), data)


def _save_plan(access: RecordAccess, data: PlanData) -> CarePlan:
    user, person = access.user, access.person
    with transaction.atomic():
        # Lock the person's row so two saves at once cannot both become version N+1.
        rm.Person.objects.select_for_update().filter(pk=person.pk).first()
        owners = _check_plan(person, data)
        now = timezone.now()
        previous = CarePlan.objects.filter(person=person, superseded_at=None).first()
        if previous is not None:
            previous.superseded_at = now
            previous.save(update_fields=["superseded_at"])
        latest = CarePlan.objects.filter(person=person).order_by("-version").values_list("version", flat=True)
        plan = CarePlan.objects.create(
            person=person,
            version=(latest.first() or 0) + 1,
            status=data.status,
            what_matters=data.what_matters.strip(),
            carer_involvement=data.carer_involvement.strip(),
            contingency=data.contingency.strip(),
            review_date=data.review_date,
            updated_at=now,
            updated_by=user,
        )
        # Ranks are stored 1..n in the person's order, whatever numbers were typed.
        by_rank = sorted(data.priorities, key=lambda p: p.rank)
        by_clinician = sorted(
            (p for p in by_rank if p.clinician_rank is not None),
            key=lambda p: p.clinician_rank or 0,  # never None here
        )
        clinician_rank = {id(p): n for n, p in enumerate(by_clinician, start=1)}
        Priority.objects.bulk_create(
            Priority(care_plan=plan, text=p.text.strip(), rank=n, clinician_rank=clinician_rank.get(id(p)))
            for n, p in enumerate(by_rank, start=1)
        )
        Goal.objects.bulk_create(
            Goal(
                care_plan=plan,
                key=g.key or uuid.uuid4(),
                description=g.description.strip(),
                target_date=g.target_date,
                status=g.status,
                position=i,
            )
            for i, g in enumerate(data.goals)
        )
        CarePlanAction.objects.bulk_create(
            CarePlanAction(
                care_plan=plan,
                description=a.description.strip(),
                owner=owners[i],
                due_date=a.due_date,
                done=a.done,
                position=i,
            )
            for i, a in enumerate(data.actions)
        )
        access.audit(
            action="create" if plan.version == 1 else "update",
            resource_type="CarePlan",
            resource_id=f"{care_plan_id(person)}/_history/{plan.version}",
        )
    return plan


def complete_action(*, user: Any, person: rm.Person, position: int) -> CarePlan:
    """Mark one action of the current plan done; that is a change to the plan, so a new version."""
    access = _open_for_change(user, person, "CarePlan", care_plan_id(person))
    plan = current_care_plan(person)
    if plan is None:
        raise CarePlanError({"action": "This person has no care plan yet"})
    data = plan_data_from(plan)
    if not 0 <= position < len(data.actions):
        raise CarePlanError({"action": "That action is not in the current care plan"})
    actions = list(data.actions)
    actions[position] = replace(actions[position], done=True)
    return _save_plan(access, replace(data, actions=tuple(actions)))


# -- the care team ------------------------------------------------------------------------------------


def _team_for_update(person: rm.Person) -> list[CareTeamMember]:
    return list(CareTeamMember.objects.select_for_update().filter(person=person).order_by("pk"))


def add_team_member(
    *, user: Any, person: rm.Person, member: Any, role_in_team: str = "", as_coordinator: bool = False,
    contact: str = "",
) -> CareTeamMember:
    """Add a member of staff from any organisation. The named co-ordinator is always chosen, never
    implied: only `as_coordinator` makes them one (replacing the current one)."""
    access = open_for_team_change(user, person)
    if not has(member, Permission.CARE_PLANNING) or not member.is_active:
        raise CareTeamError("Only active clinical staff can join a care team")
    with transaction.atomic():
        team = _team_for_update(person)
        if any(m.user_id == member.pk for m in team):
            raise CareTeamError("They are already in this person's care team")
        make_coordinator = as_coordinator
        if make_coordinator:
            CareTeamMember.objects.filter(person=person, is_coordinator=True).update(is_coordinator=False)
        added = CareTeamMember.objects.create(
            person=person,
            user=member,
            role_in_team=(role_in_team.strip() or member.staff_profile.get_role_display())[:128],
            is_coordinator=make_coordinator,
            contact=contact.strip()[:255],
        )
        _team_history(user, person, added, CareTeamChange.Kind.JOINED)
        if make_coordinator:
            _team_history(user, person, added, CareTeamChange.Kind.COORDINATOR)
        access.audit(action="create", resource_type="CareTeam", resource_id=care_team_id(person))
    return added


def remove_team_member(*, user: Any, person: rm.Person, member: CareTeamMember) -> None:
    """Remove a member. The co-ordinator stays until another is named, and no one leaves while they
    still own open actions in the current plan: nothing agreed with the person is dropped."""
    access = open_for_team_change(user, person)
    with transaction.atomic():
        team = _team_for_update(person)
        leaving = _in_team(team, member)
        if leaving.is_coordinator and len(team) > 1:
            raise CareTeamError("Name another co-ordinator before removing the current one")
        open_actions = CarePlanAction.objects.filter(
            care_plan__person=person, care_plan__superseded_at=None, owner_id=leaving.user_id, done=False
        ).count()
        if open_actions:
            raise CareTeamError(
                f"They own {open_actions} open action{'s' if open_actions != 1 else ''} in the care plan: "
                "give the action to someone else first"
            )
        _team_history(user, person, leaving, CareTeamChange.Kind.LEFT)
        leaving.delete()
        access.audit(action="update", resource_type="CareTeam", resource_id=care_team_id(person))


def set_coordinator(*, user: Any, person: rm.Person, member: CareTeamMember) -> CareTeamMember:
    """Name this member as the single point of contact; whoever was co-ordinator stays in the team."""
    access = open_for_team_change(user, person)
    with transaction.atomic():
        chosen = _in_team(_team_for_update(person), member)
        CareTeamMember.objects.filter(person=person).exclude(pk=chosen.pk).update(is_coordinator=False)
        if not chosen.is_coordinator:
            chosen.is_coordinator = True
            chosen.save(update_fields=["is_coordinator"])
            _team_history(user, person, chosen, CareTeamChange.Kind.COORDINATOR)
        access.audit(action="update", resource_type="CareTeam", resource_id=care_team_id(person))
    return chosen


def _in_team(team: Sequence[CareTeamMember], member: CareTeamMember) -> CareTeamMember:
    """The member as the locked team holds them, or a refusal if they have left it meanwhile."""
    found = next((m for m in team if m.pk == member.pk), None)
    if found is None:
        raise CareTeamError("They are not in this person's care team")
    return found


def _team_history(user: Any, person: rm.Person, member: CareTeamMember, kind: str) -> None:
    CareTeamChange.objects.create(
        person=person, kind=kind, member_id=member.user_id, role_in_team=member.role_in_team, changed_by=user
    )


def care_team_history(person: rm.Person, limit: int = 50) -> list[CareTeamChange]:
    """The team's changes, most recent first."""
    return list(
        CareTeamChange.objects.filter(person=person)
        .select_related("member", "member__staff_profile__organisation", "changed_by")
        .order_by("-changed_at", "-pk")[:limit]
    )


# -- handover notes -----------------------------------------------------------------------------------


def add_handover_note(*, user: Any, person: rm.Person, text: str) -> HandoverNote:
    access = _open_for_change(user, person, "HandoverNote", care_team_id(person))
    text = text.strip()
    if not text:
        raise ValueError("Enter the handover note")
    if len(text) > MAX_HANDOVER_NOTE:
        raise ValueError(f"Handover note must be {MAX_HANDOVER_NOTE:,} characters or fewer")
    with transaction.atomic():
        note = HandoverNote.objects.create(person=person, author=user, text=text)
        access.audit(action="create", resource_type="HandoverNote", resource_id=str(note.pk))
    return note

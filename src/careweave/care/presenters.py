"""Shape care plans, care teams and handover notes for the pages, the print view and the PDF."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.utils import timezone

from careweave.care.models import CarePlan, CarePlanStatus, CareTeamContact, GoalStatus
from careweave.governance.access import RecordAccess
from careweave.governance.models import CareTeamMember
from careweave.record import models as rm
from careweave.terminology.loading.medicine_information import why_taking
from careweave.ui.format import NOT_RECORDED, age_in_years, format_date, format_nhs_number
from careweave.ui.format import staff_name as staff_name
from careweave.ui.format import staff_organisation as staff_organisation
from careweave.ui.format import staff_role as staff_role

GOAL_TAG = {
    GoalStatus.ACTIVE: "nhsuk-tag--blue",
    GoalStatus.ACHIEVED: "nhsuk-tag--green",
    GoalStatus.ON_HOLD: "nhsuk-tag--yellow",
    GoalStatus.CANCELLED: "nhsuk-tag--grey",
}
PLAN_TAG = {
    CarePlanStatus.DRAFT: "nhsuk-tag--yellow",
    CarePlanStatus.ACTIVE: "nhsuk-tag--green",
    CarePlanStatus.COMPLETED: "nhsuk-tag--grey",
}


def staff_label(user: Any) -> str:
    """'Name, role, organisation': enough to tell two people with the same name apart."""
    organisation = staff_organisation(user)
    parts = [staff_name(user), staff_role(user)]
    if organisation is not None:
        parts.append(organisation.name)
    return ", ".join(parts)


def _when(value: Any) -> str:
    return f"{format_date(value)} at {timezone.localtime(value):%H:%M}"


@dataclass(frozen=True)
class PersonHeading:
    pk: int
    name: str
    nhs_number: str
    birth: str


def person_heading(person: rm.Person) -> PersonHeading:
    birth = format_date(person.birth_date)
    if person.birth_date and not person.deceased:
        birth += f" (age {age_in_years(person.birth_date)})"
    return PersonHeading(person.pk, person.display_name, format_nhs_number(person.nhs_number), birth)


@dataclass
class PlanView:
    version: int
    is_current: bool
    status: str
    status_tag: str
    updated: str
    updated_by: str
    superseded: str
    what_matters: str
    carer_involvement: str
    contingency: str
    review_date: str
    review_overdue: bool
    priorities: list[dict[str, Any]] = field(default_factory=list)
    clinician_ranked: bool = False
    goals: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)


def plan_view(plan: CarePlan, today: date | None = None) -> PlanView:
    today = today or timezone.localdate()
    priorities = [
        {
            "text": p.text,
            "rank": p.rank,
            "clinician_rank": p.clinician_rank,
            # Worth pointing out: the person and the clinician see this one differently.
            "differs": p.clinician_rank is not None and p.clinician_rank != p.rank,
        }
        for p in plan.priorities.all()
    ]
    return PlanView(
        version=plan.version,
        is_current=plan.superseded_at is None,
        status=plan.get_status_display(),
        status_tag=PLAN_TAG.get(CarePlanStatus(plan.status), ""),
        updated=_when(plan.updated_at),
        updated_by=staff_label(plan.updated_by),
        superseded=_when(plan.superseded_at) if plan.superseded_at else "",
        what_matters=plan.what_matters,
        carer_involvement=plan.carer_involvement,
        contingency=plan.contingency,
        review_date=format_date(plan.review_date),
        review_overdue=plan.review_date is not None and plan.review_date < today,
        priorities=priorities,
        clinician_ranked=any(p["clinician_rank"] is not None for p in priorities),
        goals=[
            {
                "description": g.description,
                "target": format_date(g.target_date) if g.target_date else "No target date",
                "status": g.get_status_display(),
                "status_tag": GOAL_TAG.get(GoalStatus(g.status), ""),
            }
            for g in plan.goals.all()
        ],
        actions=[
            {
                "position": a.position,
                "owner_id": a.owner_id,
                "description": a.description,
                "owner": staff_name(a.owner),
                "owner_label": staff_label(a.owner),
                "due": format_date(a.due_date) if a.due_date else "No date set",
                "overdue": not a.done and a.due_date is not None and a.due_date < today,
                "done": a.done,
            }
            for a in plan.actions.all()
        ],
    )


def version_rows(plans: Any) -> list[dict[str, Any]]:
    return [
        {
            "version": p.version,
            "updated": _when(p.updated_at),
            "updated_by": staff_label(p.updated_by),
            "status": p.get_status_display(),
            "current": p.superseded_at is None,
        }
        for p in plans
    ]


def team_rows(members: list[CareTeamMember]) -> list[dict[str, Any]]:
    rows = []
    for m in members:
        organisation = staff_organisation(m.user)
        rows.append(
            {
                "pk": m.pk,
                "name": staff_name(m.user),
                "role_in_team": m.role_in_team or staff_role(m.user),
                "staff_role": staff_role(m.user),
                "organisation": organisation.name if organisation else NOT_RECORDED,
                "sector": organisation.get_sector_display() if organisation else "",
                "coordinator": m.is_coordinator,
                "added": format_date(m.added_at),
                "email": m.user.email,
                "contact": m.contact,
            }
        )
    return rows


def related_person_label(related: Any) -> str:
    """'Carys Zephyrine (Daughter; carer), 07700 900123': a carer or family member to choose from."""
    roles = [r for r in (related.relationship_display, "carer" if related.is_carer else "") if r]
    label = related.name or NOT_RECORDED
    if roles:
        label += f" ({'; '.join(roles)})"
    return label + (f", {related.telecom}" if related.telecom else "")


def contact_rows(contacts: list[CareTeamContact]) -> list[dict[str, Any]]:
    """Team members without a CareWeave account, in the shape of `team_rows` (never the co-ordinator)."""
    return [
        {
            "contact_pk": c.pk,
            "name": c.name,
            "role_in_team": c.role_in_team or c.get_kind_display(),
            "kind": c.get_kind_display(),
            "organisation": c.organisation or ("" if c.kind != CareTeamContact.Kind.PRACTITIONER else NOT_RECORDED),
            "coordinator": False,
            "contact": c.contact,
            "added": format_date(c.added_at),
        }
        for c in contacts
    ]


def team_history_rows(changes: Any) -> list[dict[str, Any]]:
    return [
        {
            "when": _when(c.changed_at),
            "change": c.get_kind_display(),
            "member": staff_label(c.member),
            "role_in_team": c.role_in_team,
            "changed_by": staff_name(c.changed_by),
        }
        for c in changes
    ]


def note_rows(notes: Any) -> list[dict[str, Any]]:
    return [{"author": staff_label(n.author), "when": _when(n.created_at), "text": n.text} for n in notes]


def as_seen_by(plan: PlanView, access: RecordAccess) -> PlanView:
    """The plan as this user may see it: a role that sees only the actions it owns (social workers,
    link workers: terminology/data/record_sharing.yaml, ADR 0021) gets only those."""
    if not access.view.own_care_plan_actions_only:
        return plan
    return replace(plan, actions=[a for a in plan.actions if a["owner_id"] == access.user.pk])
def my_medicines(person: rm.Person, access: RecordAccess) -> list[dict[str, str]]:
    """The person's active medicines, each with "why am I taking this?" where we have written it
    (issue 13; the notes are reviewed data, ``terminology/data/medicine_information.yaml``); none for a
    user whose view of the record leaves medicines out (ADR 0021), the withholding audited."""
    if not access.view.shows("medicines"):
        access.withhold(["medicines"], resource_type="CarePlan")
        return []
    rows = person.medications.filter(status="active").exclude(display="").order_by("display", "pk")
    seen: dict[str, dict[str, str]] = {}
    for medicine in rows:
        why = why_taking(medicine) or "Ask your pharmacist what this medicine is for."
        seen.setdefault(medicine.display, {"name": medicine.display, "why": why})
    return list(seen.values())

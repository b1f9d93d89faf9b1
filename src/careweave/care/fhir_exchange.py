"""The care plan and care team as FHIR R4 CarePlan, Goal and CareTeam.

Where R4 has an element we use it; what it lacks (what matters to the person, their ranked
priorities beside the clinician's, carer involvement, the review date, the named co-ordinator) is
carried in CareWeave extensions and codes under https://fhir.careweave.org/, as
docs/fhir-conventions.md does for the record. Staff are not Practitioner resources in CareWeave, so
owners and team members are references by identifier (the CareWeave user) with a display name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from careweave.care.models import CarePlan, CarePlanAction, CareTeamContact, Goal, GoalStatus
from careweave.care.presenters import staff_name
from careweave.care.services import care_plan_id, care_team_id
from careweave.governance.models import CareTeamMember
from careweave.record import models as rm

CW = "https://fhir.careweave.org"
EXT_WHAT_MATTERS = f"{CW}/StructureDefinition/what-matters-to-me"
EXT_PRIORITY = f"{CW}/StructureDefinition/person-priority"
EXT_CARER = f"{CW}/StructureDefinition/carer-involvement"
EXT_REVIEW_DATE = f"{CW}/StructureDefinition/care-plan-review-date"
CARE_TEAM_ROLE = f"{CW}/CodeSystem/care-team-role"
USER_ID_SYSTEM = f"{CW}/Id/user"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"

# GoalStatus -> (Goal.lifecycleStatus, Goal.achievementStatus code or None)
GOAL_STATUS = {
    GoalStatus.ACTIVE: ("active", "in-progress"),
    GoalStatus.ACHIEVED: ("completed", "achieved"),
    GoalStatus.ON_HOLD: ("on-hold", None),
    GoalStatus.CANCELLED: ("cancelled", None),
}


def _patient(person: rm.Person) -> dict[str, str]:
    return {"reference": f"Patient/{person.resource.logical_id}"}


def staff_reference(user: Any) -> dict[str, Any]:
    return {
        "identifier": {"system": USER_ID_SYSTEM, "value": user.get_username()},
        "display": staff_name(user),
    }


def goal_resource(goal: Goal, person: rm.Person) -> dict[str, Any]:
    lifecycle, achievement = GOAL_STATUS[GoalStatus(goal.status)]
    resource: dict[str, Any] = {
        "resourceType": "Goal",
        "id": str(goal.key),
        "meta": {
            "versionId": str(goal.care_plan.version),
            "lastUpdated": goal.care_plan.updated_at.isoformat(),
        },
        "lifecycleStatus": lifecycle,
        "description": {"text": goal.description},
        "subject": _patient(person),
        # The goals in a personalised care and support plan are agreed with the person.
        "expressedBy": _patient(person),
    }
    if achievement:
        resource["achievementStatus"] = {"coding": [{"system": GOAL_ACHIEVEMENT, "code": achievement}]}
    targets = [target for hook in GOAL_TARGETS for target in hook(goal)]  # e.g. home-reading thresholds
    if goal.target_date:
        targets.append({"dueDate": goal.target_date.isoformat()})
    if targets:
        resource["target"] = targets
    return resource


#: Goal targets other apps keep for a goal (careweave.monitoring: a person's home-reading thresholds,
#: ADR 0018), registered at start; each answers Goal.target elements for one goal.
GOAL_TARGETS: list[Callable[[Goal], list[dict[str, Any]]]] = []


def _activity(action: CarePlanAction) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "status": "completed" if action.done else "not-started",
        "description": action.description,
        "performer": [staff_reference(action.owner)],
    }
    if action.due_date:
        detail["scheduledPeriod"] = {"end": action.due_date.isoformat()}
    return {"detail": detail}


def _priority_extension(text: str, rank: int, clinician_rank: int | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "text", "valueString": text},
        {"url": "rank", "valuePositiveInt": rank},
    ]
    if clinician_rank is not None:
        parts.append({"url": "clinicianRank", "valuePositiveInt": clinician_rank})
    return {"url": EXT_PRIORITY, "extension": parts}


def care_plan_resource(plan: CarePlan, first_version_at: Any = None) -> dict[str, Any]:
    """One version of the plan as a FHIR CarePlan (meta.versionId is the plan's version)."""
    person = plan.person
    extensions: list[dict[str, Any]] = []
    if plan.what_matters:
        extensions.append({"url": EXT_WHAT_MATTERS, "valueString": plan.what_matters})
    extensions += [_priority_extension(p.text, p.rank, p.clinician_rank) for p in plan.priorities.all()]
    if plan.carer_involvement:
        extensions.append({"url": EXT_CARER, "valueString": plan.carer_involvement})
    if plan.review_date:
        extensions.append({"url": EXT_REVIEW_DATE, "valueDate": plan.review_date.isoformat()})
    started = first_version_at or plan.updated_at
    resource: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": care_plan_id(person),
        "meta": {"versionId": str(plan.version), "lastUpdated": plan.updated_at.isoformat()},
        "status": plan.status,
        "intent": "plan",
        "title": "Personalised care and support plan",
        "subject": _patient(person),
        "period": {"start": started.date().isoformat()},
        "created": started.isoformat(),
        "author": staff_reference(plan.updated_by),
        "careTeam": [{"reference": f"CareTeam/{care_team_id(person)}"}],
        "goal": [{"reference": f"Goal/{g.key}"} for g in plan.goals.all()],
        "activity": [_activity(a) for a in plan.actions.all()],
    }
    if extensions:
        resource["extension"] = extensions
    if plan.contingency:
        resource["note"] = [{"text": f"Contingency and escalation plan: {plan.contingency}"}]
    return {k: v for k, v in resource.items() if v != []}


def _contact_participant(person: rm.Person, contact: CareTeamContact) -> dict[str, Any]:
    """Someone without a CareWeave account: the Patient, their RelatedPerson from the record, or a
    professional elsewhere named by display (a Reference may be display alone)."""
    member: dict[str, Any] = {"display": contact.name}
    if contact.kind == CareTeamContact.Kind.PATIENT:
        member = {**_patient(person), "type": "Patient", "display": contact.name}
    elif contact.related_person is not None:
        member = {"reference": f"RelatedPerson/{contact.related_person.resource.logical_id}",
                  "type": "RelatedPerson", "display": contact.name}
    elif contact.kind == CareTeamContact.Kind.RELATED_PERSON:
        member = {"type": "RelatedPerson", "display": contact.name}
    else:
        member = {"type": "Practitioner", "display": contact.name}
    participant: dict[str, Any] = {
        "role": [{"text": contact.role_in_team or contact.get_kind_display()}],
        "member": member,
        "period": {"start": contact.added_at.isoformat()},
    }
    if contact.organisation:
        participant["onBehalfOf"] = {"display": contact.organisation}
    return participant


def care_team_resource(
    person: rm.Person, members: list[CareTeamMember], contacts: Sequence[CareTeamContact] = ()
) -> dict[str, Any]:
    participants = []
    for member in members:
        roles: list[dict[str, Any]] = [{"text": member.role_in_team or "Care team member"}]
        if member.is_coordinator:
            roles.append(
                {
                    "coding": [
                        {
                            "system": CARE_TEAM_ROLE,
                            "code": "coordinator",
                            "display": "Named care co-ordinator",
                        }
                    ]
                }
            )
        participant: dict[str, Any] = {"role": roles, "member": staff_reference(member.user)}
        profile = getattr(member.user, "staff_profile", None)
        organisation = profile.organisation if profile else None
        if organisation is not None:
            participant["onBehalfOf"] = {
                "reference": f"Organization/{organisation.resource.logical_id}",
                "display": organisation.name,
            }
        participant["period"] = {"start": member.added_at.isoformat()}
        participants.append(participant)
    participants += [_contact_participant(person, contact) for contact in contacts]
    resource: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": care_team_id(person),
        "status": "active",
        "name": "Care team",
        "subject": _patient(person),
    }
    if participants:
        resource["participant"] = participants
    # The team's contact point is its named co-ordinator: how the person and other services reach it.
    reach = next((m.contact for m in members if m.is_coordinator and m.contact), "")
    if reach:
        resource["telecom"] = [{"system": "phone", "value": reach, "use": "work"}]
    return resource

"""Access is decided here and only here.

A user may see a person's record when they have a legitimate relationship with that person:
- the person is registered at the user's organisation, or has had contact with it (an encounter,
  an appointment, a referral to or from it), or
- the user is a member of the person's care team, or
- the user has opened break-glass access for that person, with a reason, within its time limit.
Analysts never see identifiable records (aggregates only). Integration clients act for the systems
that feed the record and may read and write all of it; every such access is still audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from careweave.governance.audit import record_access
from careweave.governance.models import CLINICAL_ROLES, BreakGlass, CareTeamMember, Role
from careweave.record import models as rm

BREAK_GLASS_DURATION = timedelta(hours=4)


def role_of(user: Any) -> str | None:
    profile = getattr(user, "staff_profile", None)
    return profile.role if profile is not None else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    break_glass: bool = False


def in_care(user: Any, field: str = "pk") -> Q:
    """A filter on `field` (a person key) for the people this user has a legitimate relationship with,
    or has opened break-glass access to. Applied to another table's `person_id` it avoids a join through Person."""
    role = role_of(user)
    if role == Role.INTEGRATOR:
        return Q()
    if role not in CLINICAL_ROLES:
        return Q(pk__in=[])
    # One set, `field IN (a UNION b UNION c)`, rather than three ORed IN-lists: the database can then
    # join it (semi-join) and drive from the smaller side, instead of probing three hashes per row.
    # The organisation's people come from the materialised CareRelationship (one index range).
    people = (
        CareTeamMember.objects.filter(user=user)
        .values("person_id")
        .union(BreakGlass.objects.filter(user=user, expires_at__gt=timezone.now()).values("person_id"))
    )
    org = user.staff_profile.organisation_id
    if org is not None:
        people = people.union(rm.CareRelationship.objects.filter(organisation_id=org).values("person_id"))
    return Q(**{f"{field}__in": people})


def people_in_care(user: Any) -> QuerySet[rm.Person]:
    """The people this user may see: a legitimate relationship, or break-glass open for them."""
    return rm.Person.objects.filter(in_care(user))


def decide(user: Any, person: rm.Person) -> Decision:
    role = role_of(user)
    if role is None:
        return Decision(False, "no role: this account is not set up for patient records")
    if role == Role.ANALYST:
        return Decision(False, "analysts see aggregate figures only, never a person's record")
    if role == Role.ADMINISTRATOR:
        return Decision(False, "administrators manage accounts and audit, not clinical records")
    if role == Role.INTEGRATOR:
        return Decision(True, "integration client")
    # Three index lookups for one person, rather than the whole set of people in care.
    org = user.staff_profile.organisation_id
    if (
        org is not None and rm.CareRelationship.objects.filter(organisation_id=org, person=person).exists()
    ) or CareTeamMember.objects.filter(user=user, person=person).exists():
        return Decision(True, "legitimate relationship")
    if BreakGlass.objects.filter(person=person, user=user, expires_at__gt=timezone.now()).exists():
        return Decision(True, "break-glass", break_glass=True)
    return Decision(
        False,
        "this person is not in your organisation's or care team's care; use break-glass with a reason if you must",
    )


def open_break_glass(*, user: Any, person: rm.Person, reason: str, channel: str = "web") -> BreakGlass:
    """Emergency access outside the user's care: needs a stated reason; logged and listed for review."""
    reason = reason.strip()
    if len(reason) < 10:
        raise ValueError("give a reason of at least 10 characters for break-glass access")
    if role_of(user) not in CLINICAL_ROLES:
        raise PermissionError("only clinical staff can use break-glass access")
    glass = BreakGlass.objects.create(
        user=user, person=person, reason=reason, expires_at=timezone.now() + BREAK_GLASS_DURATION
    )
    record_access(
        actor=user,
        action="break-glass",
        resource_type="Patient",
        resource_id=person.resource.logical_id,
        person_id=person.pk,
        purpose="emergency",
        break_glass=True,
        reason=reason,
        channel=channel,
    )
    return glass


def review_break_glass(*, reviewer: Any, glass: BreakGlass, note: str) -> BreakGlass:
    """An administrator records that a break-glass access was looked at, and what they found."""
    if role_of(reviewer) != Role.ADMINISTRATOR:
        raise PermissionError("only administrators review break-glass access")
    note = note.strip()
    if len(note) < 10:
        raise ValueError("say what you found, in at least 10 characters")
    # one review per access: a second reviewer must not overwrite the first
    claimed = BreakGlass.objects.filter(pk=glass.pk, reviewed_at=None).update(
        reviewed_by=reviewer, reviewed_at=timezone.now(), review_note=note
    )
    if not claimed:
        raise ValueError("this break-glass access has already been reviewed")
    glass.refresh_from_db()
    record_access(
        actor=reviewer,
        action="break-glass-review",
        resource_type="Patient",
        resource_id=glass.person.resource.logical_id,
        person_id=glass.person_id,
        purpose="audit",
        reason=note,
    )
    return glass

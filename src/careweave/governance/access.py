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

from careweave.governance import consent
from careweave.governance.audit import record_access
from careweave.governance.models import BreakGlass, CareTeamMember
from careweave.governance.permissions import (
    AccessRefused,
    Permission,
    has,
    is_clinical,
    refusal_for,
    require,
    role_of,
    sees_everyone,
)
from careweave.record import models as rm

__all__ = ["AccessRefused", "Decision", "Permission", "RecordAccess", "decide", "decide_own", "in_care", "open_record", "role_of"]

BREAK_GLASS_DURATION = timedelta(hours=4)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    break_glass: bool = False
    #: "self" when the person opens their own record, "proxy" when a carer opens it for them (ADR 0019)
    on_behalf: str = ""


def in_care(user: Any, field: str = "pk") -> Q:
    """A filter on `field` (a person key) for the people this user has a legitimate relationship with,
    or has opened break-glass access to. Applied to another table's `person_id` it avoids a join through Person."""
    if sees_everyone(user):
        return Q()
    if not is_clinical(user):
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
    if not has(user, Permission.READ_RECORDS):
        return Decision(False, refusal_for(user, Permission.READ_RECORDS))
    if sees_everyone(user):
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


def decide_own(user: Any, person: rm.Person, share: str = "") -> Decision:
    """May this person-facing account see this person's record (ADR 0019)? Their own, once activated;
    a carer's, for the person who agreed (or whose lasting power of attorney for health is recorded),
    and only the parts (`share`) the person agreed to share. Staff accounts never reach this path."""
    account = getattr(user, "person_account", None)
    if (
        account is None
        or getattr(user, "staff_profile", None) is not None
        or not getattr(user, "is_active", False)
        or account.activated_at is None
    ):
        return Decision(False, "this account cannot see records in the person's view")
    if account.person_id is not None:
        if account.person_id == person.pk:
            return Decision(True, "the person's own record", on_behalf="self")
        return Decision(False, "you can only see your own record")
    grant = account.proxy_grants.filter(person=person, revoked_at=None).first()
    if grant is None:
        return Decision(False, "this person has not agreed to share their record with you")
    if share and share not in grant.shares:
        return Decision(False, "this person has not agreed to share this part of their record with you")
    return Decision(True, f"proxy access: {grant.basis}", on_behalf="proxy")


def decide_write(user: Any, person: rm.Person | None) -> Decision:
    """May this user write a resource that belongs to this person (None: a resource about nobody)?

    Integration clients write for everyone; clinical staff for the people they may see, break-glass
    included (emergency care gets recorded), which the returned decision says."""
    if not has(user, Permission.WRITE_RECORDS):
        return Decision(False, "this role cannot write to people's records")
    if sees_everyone(user):
        return Decision(True, "integration client")
    if person is None:
        return Decision(False, "a clinical write must belong to a person in your care")
    return decide(user, person)


def writing_organisation(user: Any) -> int | None:
    """The organisation a member of staff's writes speak for, so the relationships they would create
    for it grant nothing (ADR 0006); None for integration clients, which speak for their systems."""
    profile = getattr(user, "staff_profile", None)
    if profile is None or sees_everyone(user):
        return None
    organisation: int | None = profile.organisation_id
    return organisation


def may_change_care_team(user: Any, person: rm.Person) -> Decision:
    """Changing a care team gives its members access, so it needs a relationship of one's own: not
    break-glass, which would otherwise become permanent by adding oneself (ADR 0006)."""
    decision = decide(user, person)
    if decision.allowed and decision.break_glass:
        return Decision(
            False,
            "emergency (break-glass) access does not let you change the care team: ask a member of the team",
            break_glass=True,
        )
    return decision


@dataclass(frozen=True)
class RecordAccess:
    """An opened record, kept by the caller for the request: who, whom, and on what basis."""

    user: Any
    person: rm.Person
    decision: Decision
    #: the parts of the record this user sees (role, sector and the person's sharing choices; ADR 0021)
    view: consent.RecordView = consent.RecordView(parts=frozenset())

    @property
    def break_glass(self) -> bool:
        return self.decision.break_glass

    def withhold(
        self,
        parts: list[str] | None = None,
        *,
        resource_type: str = "Patient",
        resource_id: str = "",
        purpose: str = "direct-care",
        channel: str = "web",
    ) -> list[str]:
        """Audit each part of the record left out of what the user was shown (default: every part the
        view does not show), naming the part, never its content; returns the parts."""
        withheld = self.view.withheld() if parts is None else sorted(set(parts))
        for part in withheld:
            record_access(
                actor=self.user,
                action="withheld",
                resource_type=resource_type,
                resource_id=resource_id or self.person.resource.logical_id,
                person_id=self.person.pk,
                purpose=purpose,
                reason=f"record part not shared with this role or organisation: {part}",
                outcome="denied",
                channel=channel,
            )
        return withheld

    def audit(
        self,
        *,
        action: str,
        resource_type: str = "Patient",
        resource_id: str = "",
        reason: str = "",
        purpose: str = "direct-care",
        channel: str = "web",
    ) -> None:
        """Record what was done with the opened record (a change, once its id is known), on the same basis;
        for a refused decision, the refusal (without the break-glass basis it did not get). The person's
        own and a carer's accesses say so in the purpose, so the access report shows who acted for whom."""
        if self.decision.on_behalf == "proxy":
            purpose, reason = "proxy", reason or "carer acting for the person"
        elif self.decision.on_behalf == "self":
            purpose = "self-service"
        record_access(
            actor=self.user,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id or self.person.resource.logical_id,
            person_id=self.person.pk,
            purpose=purpose,
            break_glass=self.decision.allowed and self.decision.break_glass,
            reason=reason,
            channel=channel,
            outcome="success" if self.decision.allowed else "denied",
        )


def open_record(
    *,
    user: Any,
    person: rm.Person,
    action: str,
    purpose: str = "direct-care",
    channel: str = "web",
    resource_type: str = "Patient",
    resource_id: str = "",
    break_glass_reason: str | None = None,
    permission: Permission = Permission.READ_RECORDS,
    audit: bool = True,
    reason: str = "",
    care_team_change: bool = False,
    share: str = "",
) -> RecordAccess:
    """The one way in to a person's record: decides (role, legitimate relationship, break-glass,
    and which parts the role and the person's sharing choices show: `RecordAccess.view`), audits the
    allow AND the deny through the auditor, and returns the decision, or raises
    `AccessRefused` (with `hide` where a refusal would reveal that the record exists).

    `break_glass_reason` opens emergency access first (clinical staff only). `audit=False` is for a
    caller that audits the allowed access itself in bulk or with more detail; a denial is always audited.
    `care_team_change` decides by `may_change_care_team` (break-glass is not enough).
    `Permission.OWN_RECORD` decides by `decide_own` for the person's own and carers' accounts, `share`
    naming the part of the record (ADR 0019); a refusal there is hidden (answered as not found)."""
    if break_glass_reason:
        try:
            open_break_glass(user=user, person=person, reason=break_glass_reason, channel=channel)
        except ValueError as error:
            raise AccessRefused(str(error)) from None
    decide_for = may_change_care_team if care_team_change else decide
    if permission is Permission.OWN_RECORD:
        decision = decide_own(user, person, share)
    elif has(user, permission):
        decision = decide_for(user, person)
    else:
        decision = Decision(False, refusal_for(user, permission))
    if not decision.allowed:
        view = consent.RecordView(parts=frozenset())
    elif decision.on_behalf:
        # the person's own view and a carer's: what a carer may see is the proxy grant's `share`,
        # decided above; the staff role and sector scopes do not apply to them
        view = consent.full_view()
    else:
        view = consent.view_for(user, person, break_glass=decision.break_glass)
    opened = RecordAccess(user=user, person=person, decision=decision, view=view)
    if not decision.allowed:
        opened.audit(
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            purpose=purpose,
            channel=channel,
        )
        # clinical staff could use an id to learn that someone exists; other roles are refused whoever it is
        clinical = is_clinical(user)
        raise AccessRefused(
            decision.reason,
            hide=clinical or permission is Permission.OWN_RECORD,
            # break-glass can open a record outside one's care, never a change to the care team
            person_pk=person.pk if clinical and has(user, permission) and not decision.break_glass else None,
        )
    if audit:
        opened.audit(
            action=action, resource_type=resource_type, resource_id=resource_id, reason=reason, purpose=purpose, channel=channel
        )
    return opened


def open_break_glass(*, user: Any, person: rm.Person, reason: str, channel: str = "web") -> BreakGlass:
    """Emergency access outside the user's care: needs a stated reason; logged and listed for review."""
    reason = reason.strip()
    if len(reason) < 10:
        raise ValueError("give a reason of at least 10 characters for break-glass access")
    require(user, Permission.BREAK_GLASS, "only clinical staff can use break-glass access")
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
    require(reviewer, Permission.REVIEW_BREAK_GLASS, "only administrators review break-glass access")
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
        resource_id=glass.person_ref,
        person_id=glass.person_id,
        person_ref=glass.person_ref,
        purpose="audit",
        reason=note,
    )
    return glass

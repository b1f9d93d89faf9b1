"""Shape the audit for its pages: who saw a person's record (for administrators), the break-glass
reviews, and the access report a person is given, in plain words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from careweave.governance.models import AuditEntry, BreakGlass
from careweave.record import models as rm
from careweave.segmentation.services import worklist_titles
from careweave.ui.format import (
    NOT_RECORDED,
    format_date,
    format_nhs_number,
    staff_name,
    staff_organisation,
    staff_role,
)


@dataclass(frozen=True)
class AuditRow:
    when: str
    user: str
    role: str
    action: str
    purpose: str
    break_glass: bool
    outcome: str
    reason: str


def _user_label(user: Any) -> tuple[str, str]:
    if user is None:
        return "System", ""
    return user.get_username(), staff_role(user)


def _when(value: datetime) -> str:
    return f"{format_date(value)} {timezone.localtime(value):%H:%M}"


def removed_label(person_ref: str) -> str:
    """How the audit names a person whose record has since been removed (their audit is kept)."""
    return f"Patient/{person_ref or 'unknown'}, record since removed"


@dataclass(frozen=True)
class AuditSubject:
    """Whose access the audit page shows: a person in the record, or one whose record was removed."""

    pk: int
    person: rm.Person | None
    person_ref: str

    @property
    def label(self) -> str:
        if self.person is None:
            return removed_label(self.person_ref)
        return f"NHS number {format_nhs_number(self.person.nhs_number)}"


def audit_subject(given: str) -> AuditSubject | None:
    """A record number (the person's pk), or a Patient id: also found once the record is removed."""
    given = given.strip().removeprefix("Patient/")
    people = rm.Person.objects.select_related("resource")
    if given.isdigit() and len(given) < 19:
        pk = int(given)
        found = people.filter(pk=pk).first()
        if found is not None:
            return AuditSubject(pk, found, found.resource.logical_id)
        refs = AuditEntry.objects.filter(person_id=pk).values_list("person_ref", flat=True).order_by("-person_ref")
        ref = refs.first()
        return AuditSubject(pk, None, ref) if ref is not None else None
    found = people.filter(resource__logical_id=given, resource__resource_type="Patient").first()
    if found is not None:
        return AuditSubject(found.pk, found, given)
    pk_seen = AuditEntry.objects.filter(person_ref=given).exclude(person=None).values_list("person_id", flat=True)
    seen = pk_seen.first()
    return AuditSubject(seen, None, given) if seen is not None else None


@dataclass(frozen=True)
class Candidate:
    """A person whose name matched the administrator's search: enough to tell two namesakes apart."""

    pk: int
    name: str
    date_of_birth: str
    nhs_number: str


#: More matches than this and the administrator is asked for a fuller name or the NHS number.
MOST_CANDIDATES = 20


def find_subjects(given: str) -> tuple[AuditSubject | None, list[Candidate]]:
    """What an administrator typed: a record number or Patient id (as ``audit_subject``), an NHS number
    (spaces allowed), or a name (every word must match). One match is the subject; several are
    candidates to choose from."""
    subject = audit_subject(given)
    if subject is not None:
        return subject, []
    digits = given.replace(" ", "").replace("-", "")
    people = rm.Person.objects.select_related("resource")
    if len(digits) == 10 and digits.isdigit():
        found = people.filter(nhs_number=digits).first()
        return (AuditSubject(found.pk, found, found.resource.logical_id), []) if found else (None, [])
    words = [w for w in given.split() if any(ch.isalpha() for ch in w)]
    if not words:
        return None, []
    for word in words:
        people = people.filter(Q(given_name__icontains=word) | Q(family_name__icontains=word))
    matches = list(people.order_by("family_name", "given_name", "birth_date", "pk")[: MOST_CANDIDATES + 1])
    if len(matches) == 1:
        only = matches[0]
        return AuditSubject(only.pk, only, only.resource.logical_id), []
    return None, [
        Candidate(p.pk, p.display_name, format_date(p.birth_date), format_nhs_number(p.nhs_number))
        for p in matches
    ]


def audit_rows(person: rm.Person | int, limit: int = 500) -> list[AuditRow]:
    entries = (
        AuditEntry.objects.filter(person=person)
        .select_related("actor", "actor__staff_profile")
        .order_by("-recorded_at", "-pk")[:limit]
    )
    rows = []
    for entry in entries:
        user, role = _user_label(entry.actor) if entry.actor_id else (entry.system_actor or "System", "")
        rows.append(
            AuditRow(
                when=_when(entry.recorded_at),
                user=user,
                role=role,
                action=entry.action,
                purpose=entry.purpose,
                break_glass=entry.break_glass,
                outcome=entry.outcome,
                reason=entry.reason,
            )
        )
    return rows


def break_glass_row(glass: BreakGlass) -> dict[str, Any]:
    """Loaded with select_related("person"): a removed person then reads as None."""
    user, role = _user_label(glass.user)
    row = {
        "pk": glass.pk,
        "started": _when(glass.started_at),
        "user": user,
        "role": role,
        "person_pk": glass.person_id,
        "nhs_number": format_nhs_number(glass.person.nhs_number) if glass.person is not None else "",
        "removed": removed_label(glass.person_ref) if glass.person is None else "",
        "reason": glass.reason,
        "expires": _when(glass.expires_at),
    }
    if glass.reviewed_at is not None:
        row["reviewed"] = _when(glass.reviewed_at)
        row["reviewer"] = _user_label(glass.reviewed_by)[0] if glass.reviewed_by_id else ""
        row["review_note"] = glass.review_note
    return row


def break_glass_awaiting_review() -> list[dict[str, Any]]:
    awaiting = BreakGlass.objects.filter(reviewed_at=None).select_related("user", "user__staff_profile", "person")
    return [break_glass_row(g) for g in awaiting.order_by("-started_at")]


def break_glass_recently_reviewed(limit: int = 20) -> list[dict[str, Any]]:
    reviewed = BreakGlass.objects.exclude(reviewed_at=None).select_related(
        "user", "user__staff_profile", "person", "reviewed_by", "reviewed_by__staff_profile"
    )
    return [break_glass_row(g) for g in reviewed.order_by("-reviewed_at")[:limit]]


# -- the access report a person is given: who looked at their record, in plain words ----------------

_THINGS = {"Consent": "your choices about sharing your record", "CarePlan": "your care plan", "Goal": "your care plan", "CareTeam": "your care team",
           "HandoverNote": "the notes your care team shares", "AuditEvent": "who has seen your record"}
_DID = {
    "read": "Looked at {thing}",
    "search": "Looked at {thing}",
    "create": "Added to {thing}",
    "update": "Changed {thing}",
    "delete": "Removed something from {thing}",
    "export": "Copied {thing} for another system",
    "import": "Added information to your record from another service",
    "break-glass": "Opened your record in an emergency, without being part of your care",
    "break-glass-review": "Checked that an emergency opening of your record was justified",
    "audit-read": "Looked at who has seen your record",
    "worklist-add": "Added you to a list of people to follow up",
    "worklist-remove": "Took you off a list of people to follow up",
    "task-done": "Completed a task agreed about your care",
    # pages listing several people: each person shown has an entry of their own
    "people-list": "Saw your name on a list of people in their care",
    "worklist-read": "Saw your name on a list of people to follow up{list}",
    "worklist-form": "Opened the form to add you to or take you off a list of people to follow up",
    "huddle-read": "Saw your name on the list for a meeting of your care team",
    "tasks-read": "Saw your name on their list of tasks",
}
_TRIED = {
    "read": "Tried to look at {thing}, and was refused",
    "search": "Tried to look at {thing}, and was refused",
    "create": "Tried to add to {thing}, and was refused",
    "update": "Tried to change {thing}, and was refused",
    "export": "Tried to copy {thing}, and was refused",
    # a part of the record left out because the person did not share it with them (ADR 0021)
    "withheld": "Was not shown part of {thing}: you have not shared it with them",
}


@dataclass(frozen=True)
class AccessReportRow:
    when: str
    who: str
    organisation: str
    what: str
    reason: str
    refused: bool


def access_report_rows(person: rm.Person | int, limit: int = 2000) -> list[AccessReportRow]:
    """The person's copy of the audit trail: every access and change, newest first, in plain words,
    with each member of staff's name, role and organisation (UK GDPR Article 15: the recipients)."""
    entries = (
        AuditEntry.objects.filter(person=person)
        .select_related("actor", "actor__staff_profile", "actor__staff_profile__organisation")
        .order_by("-recorded_at", "-pk")[:limit]
    )
    titles = worklist_titles()
    rows = []
    for entry in entries:
        actor = entry.actor
        if actor is None:
            who, organisation = (entry.system_actor or "An automatic process"), ""
        else:
            has_role = getattr(actor, "staff_profile", None) is not None
            who = f"{staff_name(actor)}, {staff_role(actor)}" if has_role else staff_name(actor)
            place = staff_organisation(actor)
            organisation = place.name if place is not None else ""
        thing = _THINGS.get(entry.resource_type, "your record")
        refused = entry.outcome != "success"
        wording = (
            _TRIED.get(entry.action, "Tried to open {thing}, and was refused")
            if refused
            else _DID.get(entry.action, entry.action.replace("-", " ").capitalize())
        )
        title = titles.get(entry.resource_id) if entry.action == "worklist-read" else None
        what = wording.format(thing=thing, list=f": {title}" if title else "")
        rows.append(
            AccessReportRow(
                when=_when(entry.recorded_at),
                who=who,
                organisation=organisation or NOT_RECORDED,
                what=what,
                reason=entry.reason if entry.action in ("break-glass", "break-glass-review") else "",
                refused=refused,
            )
        )
    return rows

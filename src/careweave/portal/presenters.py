"""Shape one person's record for the person's own view, in plain words: the plan in their words,
their team, medicines, appointments and reviews, referrals and waits, home readings, and who has
looked at their record. For a carer, items hidden from proxies (``sharing``) are left out.

Reads only: the caller has opened the record through ``governance.access.open_record``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from careweave.care import services as care
from careweave.care.presenters import plan_view
from careweave.portal import sharing
from careweave.portal.models import PersonMessage
from careweave.record import models as rm
from careweave.terminology.loading.medicine_information import why_taking
from careweave.ui.format import NOT_RECORDED, format_date, staff_name, staff_organisation, staff_role
from careweave.web import referral_detail
from careweave.web.audit import access_report_rows
from careweave.web.timeline import APPOINTMENT_STATES

UPCOMING = frozenset({"proposed", "pending", "booked", "arrived", "waitlist"})
ACTIVE_MEDICINES = frozenset({"active", "on-hold", "intended", ""})


@dataclass(frozen=True)
class Contact:
    name: str
    role: str
    organisation: str
    how: str


def team(person: rm.Person) -> dict[str, Any]:
    """The named co-ordinator and how to reach them, then the rest of the team."""
    members = care.care_team(person)
    rows = [
        Contact(
            name=staff_name(m.user),
            role=m.role_in_team or staff_role(m.user),
            organisation=(org.name if (org := staff_organisation(m.user)) is not None else ""),
            how=m.contact or "Through your GP practice",
        )
        for m in members
    ]
    lead = next((rows[i] for i, m in enumerate(members) if m.is_coordinator), None)
    return {
        "coordinator": lead,
        "others": [r for r, m in zip(rows, members, strict=True) if not m.is_coordinator],
    }


def plan(person: rm.Person) -> dict[str, Any]:
    current = care.current_care_plan(person)
    added = [
        {"text": m.text, "when": format_date(m.created_at), "by_proxy": m.by_proxy}
        for m in PersonMessage.objects.filter(person=person, kind=PersonMessage.Kind.WHAT_MATTERS)[:20]
    ]
    return {"plan": plan_view(current) if current is not None else None, "added": added}


def medicines(person: rm.Person, *, proxy: bool) -> list[dict[str, str]]:
    marked = sharing.marked_resources(person) if proxy else set()
    rows = []
    for m in person.medications.filter(status__in=ACTIVE_MEDICINES).order_by("display", "pk"):
        if proxy and sharing.hidden_from_proxy(
            resource_id=m.resource_id, system=m.system, code=m.code, marked=marked
        ):
            continue
        rows.append(
            {
                "name": m.display or NOT_RECORDED,
                "dose": m.dose_text or "Ask your pharmacist",
                "since": format_date(m.authored_on) if m.authored_on else "",
                "why": why_taking(m) or "",  # the reviewed sentences of issue 13; none: ask the pharmacist
            }
        )
    return rows


def appointments(person: rm.Person, *, proxy: bool) -> dict[str, Any]:
    marked = sharing.marked_resources(person) if proxy else set()
    now = timezone.now()
    rows = [
        {
            "when": f"{format_date(a.start)} at {timezone.localtime(a.start):%H:%M}"
            if a.start
            else NOT_RECORDED,
            "what": a.description or "Appointment",
            "where": a.organisation.name if a.organisation else "",
            "status": APPOINTMENT_STATES.get(a.status, a.status).capitalize() if a.status else "",
        }
        for a in person.appointments.select_related("organisation")
        .filter(status__in=UPCOMING, start__gte=now)
        .order_by("start", "pk")
        if not (proxy and a.resource_id in marked)
    ]
    current = care.current_care_plan(person)
    review = format_date(current.review_date) if current is not None and current.review_date else ""
    return {"rows": rows, "plan_review": review}


def referrals(person: rm.Person, *, proxy: bool) -> list[dict[str, Any]]:
    rows = referral_detail.person_referrals(person)
    if not proxy:
        return rows
    marked = sharing.marked_resources(person)
    hidden = {
        r.pk
        for r in person.referrals.filter(is_referral=True)
        if r.resource_id in marked or sharing.sensitive_code("", r.reason_code)
    }
    return [row for row in rows if row["pk"] not in hidden]


def messages(person: rm.Person) -> list[dict[str, str]]:
    """The person's questions, newest first, each with the team's answer once there is one."""
    found = PersonMessage.objects.filter(person=person, kind=PersonMessage.Kind.QUESTION).select_related(
        "task", "replied_by", "replied_by__staff_profile"
    )[:20]
    rows = []
    for m in found:
        if m.reply and m.replied_by is not None and m.replied_at is not None:
            status = f"{staff_name(m.replied_by)}, {staff_role(m.replied_by)}, replied on {format_date(m.replied_at)}"
        elif m.task is not None and m.task.status == "done":
            status = "Your team has dealt with this"
        else:
            status = "Waiting for your team"
        rows.append({"text": m.text, "when": format_date(m.created_at), "status": status, "reply": m.reply})
    return rows


def access(person: rm.Person) -> list[Any]:
    return access_report_rows(person, limit=200)

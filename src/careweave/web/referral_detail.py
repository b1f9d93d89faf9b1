"""One referral's timeline (issue 15): sent, then each business state its Task has been in (received,
accepted ...), appointments booked on it, checks with the person, chases, the outcome letter, and
the referral that replaced it, in date order; and each of a person's referrals with its state and
weeks waited, for the holistic summary."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from django.utils import timezone

from careweave.record import models as rm
from careweave.referrals.models import ReferralTask, ReferralTaskState
from careweave.referrals.services import ANSWERS
from careweave.terminology.referrals import load_referral_rules
from careweave.ui.format import NOT_RECORDED, format_date
from careweave.web.referral_worklist import STATE_WORDS, answer_of, latest_states, service_name, state_text

APPOINTMENT_WORDS = {
    "booked": "First appointment booked",
    "fulfilled": "Seen at the appointment",
    "noshow": "Did not attend the appointment",
    "cancelled": "Appointment cancelled",
}
#: the states in which a referral is still waiting to be seen
WAITING = frozenset({"requested", "received", "accepted"})


@dataclass(frozen=True)
class Event:
    on: dt.date | None
    when: str
    what: str


def _body(resource: rm.StoredResource) -> dict[str, Any]:
    try:
        body = orjson.loads(resource.body or "{}")
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _mentions(body: dict[str, Any], key: str, reference: str) -> bool:
    return any(isinstance(r, dict) and r.get("reference") == reference for r in body.get(key) or [])


def _day(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def timeline(referral: rm.Referral) -> list[Event]:
    """Everything that happened to this referral, oldest first."""
    rules = load_referral_rules()
    lid = referral.resource.logical_id
    reference = f"ServiceRequest/{lid}"
    to = service_name(referral.to_organisation)
    events = [
        Event(
            referral.authored_on,
            "",
            f"Referred to {to}"
            + (f" by {referral.from_organisation.name}" if referral.from_organisation else ""),
        )
    ]
    if referral.replaces is not None:
        events.append(
            Event(
                referral.authored_on,
                "",
                f"Replaces the referral to {service_name(referral.replaces.to_organisation)}",
            )
        )
    states = ReferralTaskState.objects.filter(person=referral.person, focus_id=lid).order_by("on", "pk")
    seen = set()
    for state in states:
        reason = f" ({state.status_reason_display})" if state.status_reason_display else ""
        events.append(
            Event(
                state.on,
                "",
                f"{STATE_WORDS.get(state.business_status, state.business_status)}{reason}".capitalize(),
            )
        )
        seen.add(state.business_status)
    tasks = ReferralTask.objects.filter(person=referral.person, focus_id=lid).select_related(
        "resource", "owner_organisation"
    )
    for task in tasks:
        if task.is_validation:
            answer = ANSWERS.get(answer_of(task), "")
            said = f": {answer.lower()}" if answer else ""
            events.append(Event(task.last_modified, "", f"Checked with the person{said}"))
        elif task.code_system == rules.chase_system and task.code == rules.chase_code:
            events.append(Event(task.authored_on, "", f"Chased {service_name(task.owner_organisation)}"))
        elif task.business_status and task.business_status not in seen:
            events.append(Event(task.last_modified, "", state_text(task, referral).capitalize()))
    for stored in rm.StoredResource.objects.filter(
        person=referral.person, resource_type__in=("Appointment", "DocumentReference", "Composition")
    ):
        body = _body(stored)
        if stored.resource_type == "Appointment" and _mentions(body, "basedOn", reference):
            status = str(body.get("status") or "")
            events.append(
                Event(_day(body.get("start")), "", APPOINTMENT_WORDS.get(status, f"Appointment {status}"))
            )
        elif _mentions(body.get("context") or {}, "related", reference):
            events.append(Event(_day(body.get("date")), "", "Outcome letter received"))
    for newer in rm.Referral.objects.filter(replaces=referral).select_related("to_organisation"):
        events.append(Event(newer.authored_on, "", f"Re-referred to {service_name(newer.to_organisation)}"))
    events.sort(key=lambda e: e.on or dt.date.min)
    return [Event(e.on, format_date(e.on) if e.on else NOT_RECORDED, e.what) for e in events]


def weeks_waited(referral: rm.Referral, task: ReferralTask | None, today: dt.date | None = None) -> str:
    """Weeks from the referral to today while it waits, or to the day it stopped waiting."""
    if referral.authored_on is None:
        return NOT_RECORDED
    end = today or timezone.localdate()
    if task is not None and task.business_status not in WAITING and task.last_modified:
        end = task.last_modified
    weeks = max(0, (end - referral.authored_on).days) // 7
    return f"{weeks} week{'s' if weeks != 1 else ''}"


def person_referrals(person: rm.Person) -> list[dict[str, Any]]:
    """Every referral of the person, newest first, with its state and weeks waited."""
    referrals = list(person.referrals.filter(is_referral=True).select_related("to_organisation").order_by("-authored_on", "-pk"))
    states = latest_states(r.pk for r in referrals)
    # a referral replaced by another (re-referred elsewhere) stopped waiting when it was replaced
    replaced = {r.replaces_id: r for r in referrals if r.replaces_id is not None}
    rows = []
    for r in referrals:
        newer = replaced.get(r.pk)
        state = states.get(r.pk)
        waiting = state is None or state.business_status in WAITING
        rows.append(
            {
                "pk": r.pk,
                "service": r.code_display or r.reason_display or NOT_RECORDED,
                "to": service_name(r.to_organisation),
                "referred": format_date(r.authored_on),
                "state": f"replaced by a referral to {service_name(newer.to_organisation)}"
                if newer is not None and waiting
                else state_text(state, r),
                "waited": weeks_waited(
                    r, state, newer.authored_on if newer is not None and waiting else None
                ),
            }
        )
    return rows

"""Shape the practice planner and the review template for their pages; parse their forms' fields.

The planner page reads the precomputed plan (`PlannedReview`, one indexed range per practice): the
twelve weeks from the columns the week arithmetic needs, and names only for the week shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from careweave.governance.access import in_care
from careweave.record import models as rm
from careweave.reviews import weeks as wk
from careweave.reviews.models import ClinicianType, ClinicSession, PlannedReview, PlannerSettings, RecallMode
from careweave.reviews.services import SessionData
from careweave.ui.format import format_date, format_nhs_number

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
TYPE_NAMES: Mapping[str, str] = dict(ClinicianType.choices)
SESSION_ROWS = 6
#: people named for the week shown (most urgent first): the page stays fast for a large practice
MAX_NAMED = 50
WEEKS_CACHE_SECONDS = 3600  # blank session rows offered by the form (no JavaScript to add more)


def form_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def form_date(day: str, month: str, year: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except (TypeError, ValueError, OverflowError):
        return None


def form_time(value: str) -> dt.time | None:
    try:
        return dt.time.fromisoformat((value or "").strip())
    except ValueError:
        return None


@dataclass
class SettingsForm:
    recall: str = RecallMode.DUE
    recall_month: str = ""
    weekly_cap: str = "60"
    slot_minutes: str = "15"
    sessions: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_saved(cls, saved: PlannerSettings, sessions: QuerySet[ClinicSession]) -> SettingsForm:
        rows = [
            {"clinician_type": s.clinician_type, "weekday": str(s.weekday), "minutes": str(s.minutes)}
            for s in sessions
        ]
        return cls(
            recall=saved.recall,
            recall_month=str(saved.recall_month or ""),
            weekly_cap=str(saved.weekly_cap),
            slot_minutes=str(saved.slot_minutes),
            sessions=rows
            + [{"clinician_type": "", "weekday": "", "minutes": ""}] * max(1, SESSION_ROWS - len(rows)),
        )

    @classmethod
    def from_post(cls, post: Mapping[str, str]) -> SettingsForm:
        sessions = [
            {k: post.get(f"session-{i}-{k}", "") for k in ("clinician_type", "weekday", "minutes")}
            for i in range(
                int(post.get("session-count", "0") or 0)
                if str(post.get("session-count", "")).isdigit()
                else 0
            )
        ][:50]
        return cls(
            recall=post.get("recall", ""),
            recall_month=post.get("recall_month", ""),
            weekly_cap=post.get("weekly_cap", ""),
            slot_minutes=post.get("slot_minutes", ""),
            sessions=sessions,
        )

    def session_data(self) -> list[SessionData]:
        """The filled-in rows (a row with no clinician type is left out)."""
        return [
            SessionData(s["clinician_type"], _or(form_int(s["weekday"]), -1), _or(form_int(s["minutes"]), 0))
            for s in self.sessions
            if s.get("clinician_type")
        ]


@dataclass(frozen=True)
class PlannerPage:
    practice: rm.Organisation
    planned_on: dt.date | None
    settings: PlannerSettings
    weeks: list[dict[str, Any]]
    week: dict[str, Any] | None
    people: list[dict[str, Any]]
    different_approach: list[dict[str, Any]]
    clinician_types: list[str]
    recall_text: str


def _recall_text(saved: PlannerSettings) -> str:
    if saved.recall == RecallMode.BIRTH_MONTH:
        return "in each person's birth month (never later than their first item falls due)"
    if saved.recall == RecallMode.MONTH and saved.recall_month:
        return f"in {MONTHS[saved.recall_month - 1]} (never later than their first item falls due)"
    return "as their first item falls due"


def person_row(p: PlannedReview, standard_slot: int, names: Mapping[int, str]) -> dict[str, Any]:
    person = p.person
    return {
        "planned_pk": p.pk,
        "person_pk": person.pk,
        "name": person.display_name,
        "nhs_number": format_nhs_number(person.nhs_number),
        "due": format_date(p.review_date),
        "due_iso": p.review_date.isoformat(),
        "overdue": p.overdue,
        "items": len(p.items),
        "bloods": ", ".join(b["test"] for b in p.bloods) or "None",
        "minutes": wk.slot_minutes(p.slot_minutes, standard_slot),
        "slot_reasons": "; ".join(p.slot_reasons),
        "clinician": TYPE_NAMES.get(p.clinician_type, p.clinician_type),
        "usual_clinician": names.get(p.usual_practitioner_id or 0, "None recorded"),
        "different_approach": p.different_approach,
    }


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _dues(practice_pk: int) -> list[wk.Due]:
    """The practice's planned reviews as the week arithmetic needs them: one indexed range, read with
    the driver's own types (the ORM's per-value converters cost more than the planning on 6k rows)."""
    table = PlannedReview._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, review_date, overdue, birth_month, slot_minutes, clinician_type FROM {table} "  # noqa: S608
            "WHERE practice_id = %s AND different_approach = ''",
            [practice_pk],
        )
        rows = cursor.fetchall()
    return [
        wk.Due(pk, _day(day), bool(overdue), born, slot, kind) for pk, day, overdue, born, slot, kind in rows
    ]


def _weeks(
    practice_pk: int, as_of: dt.date, saved: PlannerSettings, capacity: Mapping[str, int]
) -> list[wk.Week]:
    """The twelve weeks, kept in the cache while the plan, the settings and the sessions are unchanged
    (the key holds the plan's newest row and size, the settings' time and the sessions' minutes)."""
    newest = PlannedReview.objects.filter(practice_id=practice_pk).aggregate(last=Max("pk"), n=Count("pk"))
    key = "reviews:weeks:" + ":".join(
        str(v)
        for v in (
            practice_pk,
            as_of,
            newest["last"],
            newest["n"],
            saved.pk,
            saved.updated_at,
            sorted(capacity.items()),
        )
    )
    key = "reviews:weeks:" + hashlib.sha256(key.encode()).hexdigest()
    found: list[wk.Week] | None = cache.get(key)
    if found is None:
        found = wk.plan_weeks(
            _dues(practice_pk),
            as_of=as_of,
            recall=saved.recall,
            recall_month=saved.recall_month,
            weekly_cap=saved.weekly_cap,
            standard_slot=saved.slot_minutes,
            capacity=capacity,
        )
        cache.set(key, found, timeout=WEEKS_CACHE_SECONDS)
    return found


def planner_page(
    user: Any, practice: rm.Organisation, saved: PlannerSettings, chosen_week: int | None
) -> PlannerPage:
    rows = PlannedReview.objects.filter(practice=practice)
    planned_on = rows.values_list("planned_on", flat=True).first()
    as_of = planned_on or timezone.localdate()
    capacity: Counter[str] = Counter()
    for kind, minutes in ClinicSession.objects.filter(practice=practice).values_list(
        "clinician_type", "minutes"
    ):
        capacity[kind] += minutes
    plan = _weeks(practice.pk, as_of, saved, capacity)
    types = sorted(
        {t for w in plan for t in w.clinics},
        key=lambda t: list(TYPE_NAMES).index(t) if t in TYPE_NAMES else 9,
    )
    weeks = [
        {
            "number": w.number,
            "start": format_date(w.start),
            "reviews": len(w.keys),
            "over_cap": w.over_cap,
            "clinics": [
                {
                    "type": TYPE_NAMES.get(t, t),
                    "reviews": w.clinics[t].reviews if t in w.clinics else 0,
                    "minutes": w.clinics[t].minutes if t in w.clinics else 0,
                    "capacity": w.clinics[t].capacity if t in w.clinics else 0,
                    "over": w.clinics[t].over if t in w.clinics else False,
                }
                for t in types
            ],
        }
        for w in plan
    ]
    number = (
        chosen_week
        if chosen_week and 1 <= chosen_week <= len(plan)
        else next((w.number for w in plan if w.keys), 1)
    )
    shown = plan[number - 1]
    visible = rows.filter(in_care(user, "person_id"))
    named = shown.keys[:MAX_NAMED]  # the most urgent first; the rest are booked as these are done
    chosen = visible.filter(pk__in=named).select_related("person").in_bulk()
    approach = list(
        visible.exclude(different_approach="").select_related("person").order_by("review_date", "pk")[:100]
    )
    practitioners = {
        p.usual_practitioner_id for p in [*chosen.values(), *approach] if p.usual_practitioner_id is not None
    }
    names = dict(rm.Practitioner.objects.filter(pk__in=practitioners).values_list("pk", "name"))
    people = [person_row(chosen[k], saved.slot_minutes, names) for k in named if k in chosen]
    for row in people:
        clinic = row["clinician"]
        row["clinic"] = clinic
    return PlannerPage(
        practice=practice,
        planned_on=planned_on,
        settings=saved,
        weeks=weeks,
        week={
            **weeks[number - 1],
            "first_day": shown.start.isoformat(),
            "more": max(0, len(shown.keys) - MAX_NAMED),
        },
        people=people,
        different_approach=[person_row(p, saved.slot_minutes, names) for p in approach],
        clinician_types=[TYPE_NAMES.get(t, t) for t in types],
        recall_text=_recall_text(saved),
    )

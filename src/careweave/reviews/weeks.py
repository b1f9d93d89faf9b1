"""The practice planner's week arithmetic (issue 14, item 4), on plain values so it is tested alone:
when a review is recalled (as it falls due, in the birth month or a chosen month), the week it goes
in, the weekly cap, and the clinics each week needs by clinician type against the sessions set.

Two safety rules hold throughout: a recall month or the cap only ever brings a review FORWARD (never
later than the date its first item falls due), and an overdue review goes in the first week. The cap
moves a full week's least urgent reviews into the nearest earlier week with room; a week still over the
cap is flagged (more sessions are needed), never emptied into a later week.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

WEEKS = 12


@dataclass(frozen=True)
class Due:
    """One person's planned review as the week arithmetic needs it."""

    key: int
    review_date: dt.date
    overdue: bool
    birth_month: int | None
    planner_slot_minutes: int  # 15 standard or 30 double, from the planner's slot rules
    clinician_type: str


@dataclass
class Clinic:
    clinician_type: str
    reviews: int = 0
    minutes: int = 0
    capacity: int = 0  # minutes a week of the practice's sessions for this type

    @property
    def over(self) -> bool:
        return self.minutes > self.capacity


@dataclass
class Week:
    number: int  # 1..WEEKS
    start: dt.date  # a Monday
    keys: list[int] = field(default_factory=list)
    clinics: dict[str, Clinic] = field(default_factory=dict)
    over_cap: bool = False


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def recall_date(due: dt.date, as_of: dt.date, month: int | None) -> dt.date:
    """When to recall a review due on ``due``: in the latest ``month`` that starts on or before
    ``due`` and has not ended before ``as_of`` (from its first day, or ``as_of`` if that is later);
    otherwise on ``due``. Never later than ``due``, never before ``as_of``."""
    if due <= as_of:
        return as_of
    if month is None:
        return due
    year = due.year if month <= due.month else due.year - 1
    first = dt.date(year, month, 1)
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    if last < as_of:
        return due
    return min(due, max(first, as_of))


def slot_minutes(planner_minutes: int, standard: int, planner_standard: int = 15) -> int:
    """The practice's slot for a review: its standard slot, times the planner's multiple (double = 2)."""
    return standard * max(1, round(planner_minutes / planner_standard))


def plan_weeks(
    dues: Iterable[Due],
    *,
    as_of: dt.date,
    recall: str,
    recall_month: int | None,
    weekly_cap: int,
    standard_slot: int,
    capacity: Mapping[str, int],
    weeks: int = WEEKS,
) -> list[Week]:
    """The reviews due in the ``weeks`` from ``as_of``'s week, each in its week and clinic.

    ``recall``: ``due`` | ``birth-month`` | ``month`` (``recall_month``); ``capacity``: minutes a week
    per clinician type from the practice's sessions."""
    first = week_start(as_of)
    plan = [Week(n + 1, first + dt.timedelta(weeks=n)) for n in range(weeks)]
    by_key: dict[int, Due] = {}
    for due in dues:
        month = due.birth_month if recall == "birth-month" else recall_month if recall == "month" else None
        day = as_of if due.overdue else recall_date(due.review_date, as_of, month)
        index = (day - first).days // 7
        if 0 <= index < weeks:
            plan[index].keys.append(due.key)
            by_key[due.key] = due
    for week in plan:  # most urgent first within a week
        week.keys.sort(key=lambda k: (not by_key[k].overdue, by_key[k].review_date, k))
    _apply_cap(plan, by_key, weekly_cap)
    for week in plan:
        week.clinics = {t: Clinic(t, capacity=minutes) for t, minutes in sorted(capacity.items())}
        for key in week.keys:
            due = by_key[key]
            clinic = week.clinics.setdefault(due.clinician_type, Clinic(due.clinician_type))
            clinic.reviews += 1
            clinic.minutes += slot_minutes(due.planner_slot_minutes, standard_slot)
    return plan


def _apply_cap(plan: Sequence[Week], by_key: Mapping[int, Due], cap: int) -> None:
    """From the last week back, move a full week's least urgent reviews into the nearest earlier week
    with room (never later, never filling a week past the cap); a week still over the cap is flagged."""
    for i in range(len(plan) - 1, 0, -1):
        week = plan[i]
        j = i - 1
        while len(week.keys) > cap and j >= 0:
            if len(plan[j].keys) >= cap:
                j -= 1
                continue
            plan[j].keys.append(week.keys.pop())  # the least urgent: latest due
    for week in plan:
        week.keys.sort(key=lambda k: (not by_key[k].overdue, by_key[k].review_date, k))
        week.over_cap = len(week.keys) > cap

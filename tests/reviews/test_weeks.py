"""The practice planner's week arithmetic: recall months only bring a review forward, an overdue
review is in week 1, the weekly cap brings reviews forward (never later) and flags what is left,
and the clinics add up the practice's slot minutes against its sessions."""

from __future__ import annotations

import datetime as dt

from careweave.reviews.weeks import Due, plan_weeks, recall_date, slot_minutes

MONDAY = dt.date(2026, 3, 2)  # a Monday


def _due(
    key: int,
    day: dt.date,
    *,
    overdue: bool = False,
    born: int | None = None,
    slot: int = 15,
    kind: str = "nurse",
) -> Due:
    return Due(key, day, overdue, born, slot, kind)


def _weeks(dues: list[Due], **kwargs: object) -> dict[int, list[int]]:
    options: dict[str, object] = {
        "as_of": MONDAY, "recall": "due", "recall_month": None, "weekly_cap": 100, "standard_slot": 15, "capacity": {},
    }  # fmt: skip
    options.update(kwargs)
    return {w.number: w.keys for w in plan_weeks(dues, **options) if w.keys}  # type: ignore[arg-type]


def test_recall_month_brings_forward_never_later() -> None:
    as_of = dt.date(2026, 3, 2)
    # due 20 May, birth month April: recalled from 1 April
    assert recall_date(dt.date(2026, 5, 20), as_of, 4) == dt.date(2026, 4, 1)
    # due in the birth month itself: from the first of that month
    assert recall_date(dt.date(2026, 5, 20), as_of, 5) == dt.date(2026, 5, 1)
    # the birth month is the current one: from today, not its first day
    assert recall_date(dt.date(2026, 5, 20), as_of, 3) == as_of
    # the last birth month before the due date ended before today: on the due date, never later
    assert recall_date(dt.date(2026, 5, 20), as_of, 1) == dt.date(2026, 5, 20)
    assert recall_date(dt.date(2026, 5, 20), as_of, 8) == dt.date(2026, 5, 20)
    # a month before January of the due year (December of the year before)
    assert recall_date(dt.date(2027, 1, 10), dt.date(2026, 11, 20), 12) == dt.date(2026, 12, 1)
    # due already: today
    assert recall_date(dt.date(2026, 2, 1), as_of, 4) == as_of


def test_window_edges_of_the_twelve_weeks() -> None:
    last_day = MONDAY + dt.timedelta(weeks=12, days=-1)  # Sunday of week 12
    dues = [_due(1, MONDAY), _due(2, MONDAY + dt.timedelta(days=6)), _due(3, MONDAY + dt.timedelta(days=7)),
            _due(4, last_day), _due(5, last_day + dt.timedelta(days=1))]  # fmt: skip
    assert _weeks(dues) == {1: [1, 2], 2: [3], 12: [4]}  # 5 is beyond the 12 weeks


def test_overdue_is_never_delayed_by_recall_month_or_cap() -> None:
    overdue = [_due(k, MONDAY - dt.timedelta(days=30), overdue=True, born=12) for k in range(1, 4)]
    later = [_due(10, MONDAY + dt.timedelta(weeks=1), born=12)]
    plan = _weeks(overdue + later, recall="birth-month", weekly_cap=2)
    assert plan[1] == [1, 2, 3]  # all overdue stay in week 1, over the cap
    assert plan[2] == [10]
    weeks = plan_weeks(
        overdue, as_of=MONDAY, recall="due", recall_month=None, weekly_cap=2, standard_slot=15, capacity={}
    )
    assert weeks[0].over_cap and not weeks[1].over_cap


def test_the_cap_brings_the_least_urgent_forward() -> None:
    dues = [_due(k, MONDAY + dt.timedelta(weeks=3, days=k)) for k in range(1, 5)]
    plan = _weeks(dues, weekly_cap=2)
    assert plan == {4: [1, 2], 3: [3, 4]}  # the two latest come a week earlier, none later


def test_chosen_month_recall() -> None:
    dues = [_due(1, dt.date(2026, 5, 20)), _due(2, dt.date(2026, 3, 20))]
    plan = _weeks(dues, recall="month", recall_month=4)
    # 1 is brought to the week of 1 April (week 5, from 30 March); 2 is due before April: on its date
    assert plan == {3: [2], 5: [1]}


def test_clinics_and_slot_rules() -> None:
    assert slot_minutes(15, 15) == 15 and slot_minutes(30, 15) == 30 and slot_minutes(30, 20) == 40
    dues = [_due(1, MONDAY, slot=30), _due(2, MONDAY, kind="gp"), _due(3, MONDAY, slot=30)]
    week = plan_weeks(dues, as_of=MONDAY, recall="due", recall_month=None, weekly_cap=10, standard_slot=20,
                      capacity={"nurse": 60, "pharmacist": 120})[0]  # fmt: skip
    nurse, gp = week.clinics["nurse"], week.clinics["gp"]
    assert (nurse.reviews, nurse.minutes, nurse.capacity, nurse.over) == (2, 80, 60, True)
    assert (gp.reviews, gp.minutes, gp.capacity, gp.over) == (1, 20, 0, True)  # no GP sessions set
    assert week.clinics["pharmacist"].reviews == 0


def test_the_cap_fills_only_earlier_weeks_with_room_and_flags_the_rest() -> None:
    week = lambda n, k: _due(k, MONDAY + dt.timedelta(weeks=n - 1, days=1))  # noqa: E731
    dues = [week(2, 1), week(2, 2), week(3, 3), week(3, 4), week(3, 5), week(3, 6)]
    plan = plan_weeks(
        dues, as_of=MONDAY, recall="due", recall_month=None, weekly_cap=2, standard_slot=15, capacity={}
    )
    # week 3's two extra go to week 1 (week 2 is full), never to week 4
    assert [w.keys for w in plan[:4]] == [[5, 6], [1, 2], [3, 4], []]
    assert not any(w.over_cap for w in plan)
    dues = [week(1, k) for k in range(1, 4)] + [week(2, k) for k in range(4, 7)]
    plan = plan_weeks(
        dues, as_of=MONDAY, recall="due", recall_month=None, weekly_cap=2, standard_slot=15, capacity={}
    )
    assert [len(w.keys) for w in plan[:3]] == [3, 3, 0] and plan[0].over_cap and plan[1].over_cap

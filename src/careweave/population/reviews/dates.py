"""Calendar arithmetic on whole columns of dates (numpy ``datetime64[D]``), agreeing day for day with
the one-date rules of :mod:`careweave.terminology.loading.schedules` (``Interval.overdue_from``,
``months_before``), so the planner can work on a million people without a Python loop per item."""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

Days = npt.NDArray[np.datetime64]


def day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def _parts(days: Days) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.int64]]:
    month = days.astype("datetime64[M]")
    return month, (days - month.astype("datetime64[D]")).astype(np.int64)


def _length(month: npt.NDArray[np.datetime64]) -> npt.NDArray[np.int64]:
    length: npt.NDArray[np.int64] = (
        (month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")
    ).astype(np.int64)
    return length


def add_months(days: Days, months: npt.NDArray[np.int64] | int) -> Days:
    """The same calendar day ``months`` later, clamped to a shorter month's end (``months_before``
    with a negative count)."""
    month, dom = _parts(days)
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    later: Days = target.astype("datetime64[D]") + np.minimum(dom, _length(target) - 1).astype(
        "timedelta64[D]"
    )
    return later


def overdue_from_months(last: Days, months: npt.NDArray[np.int64]) -> Days:
    """``Interval(months, "month").overdue_from(last)``: the same day ``months`` later or, when that
    month is too short for it, the first of the month after."""
    month, dom = _parts(last)
    target = month + months.astype("timedelta64[M]")
    fits = dom < _length(target)
    due: Days = np.where(
        fits,
        target.astype("datetime64[D]") + dom.astype("timedelta64[D]"),
        (target + 1).astype("datetime64[D]"),
    )
    return due


def working_days_before(days: Days, count: int) -> Days:
    """``count`` working days (Monday to Friday) before each date; a weekend date counts from the
    Friday before it. Bank holidays are not modelled."""
    return np.busday_offset(days, -count, roll="backward")

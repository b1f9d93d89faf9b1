"""How old the current lists are, in words, and whether too old to trust: every page built on a
segmentation run (the today page, the worklists, the population page, the holistic summary) says
when it was computed and warns past :data:`STALE_AFTER`; the worker refreshes past it too."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from careweave.segmentation.models import SegmentationRun
from careweave.ui.format import format_date

#: Lists computed longer ago than this are flagged: "recently discharged" and the like go stale.
STALE_AFTER = dt.timedelta(days=1)


@dataclass(frozen=True)
class Freshness:
    """When the lists were computed, in words, and whether that is too long ago to trust."""

    computed: str
    stale: bool
    age: str


def is_stale(computed_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) - computed_at > STALE_AFTER


def freshness(run: SegmentationRun, now: dt.datetime | None = None) -> Freshness:
    now = now or timezone.now()
    age = now - run.created_at
    days = age.days
    if days >= 1:
        words = f"{days} day{'s' if days != 1 else ''} ago"
    else:
        hours = age.seconds // 3600
        words = "less than an hour ago" if hours == 0 else f"{hours} hour{'s' if hours != 1 else ''} ago"
    computed = (
        f"{format_date(timezone.localtime(run.created_at))} at {timezone.localtime(run.created_at):%H:%M}"
    )
    return Freshness(computed=computed, stale=is_stale(run.created_at, now), age=words)

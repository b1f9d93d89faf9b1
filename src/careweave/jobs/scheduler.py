"""When the worker enqueues work by itself: the population refresh nightly, and at start when the
lists are more than a day old (segmentation.freshness.STALE_AFTER, the age the pages warn at)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careweave.jobs.models import JobMark
from careweave.jobs.tasks import REFRESH_POPULATION, request_refresh
from careweave.monitoring.tasks import check_silence
from careweave.segmentation.freshness import is_stale
from careweave.segmentation.services import current_run

HOME_READING_CHECK_IN = "home_reading_check_in"


def refresh_hour() -> int:
    """The local hour the nightly refresh is enqueued at (CAREWEAVE_REFRESH_HOUR, default 2)."""
    return int(settings.CAREWEAVE_REFRESH_HOUR)


def at_start(now: dt.datetime | None = None) -> bool:
    """At worker start: enqueue a refresh if the current run is more than a day old. True if it did."""
    run = current_run()
    if run is None or not is_stale(run.created_at, now):
        return False
    return request_refresh(reason="the lists were more than a day old at worker start")


@transaction.atomic
def tick(now: dt.datetime | None = None) -> bool:
    """Look at the clock: enqueue the nightly refresh if its hour passed since any worker last
    looked (the first look ever only starts the clock). True if it enqueued."""
    now = now or timezone.now()
    JobMark.objects.get_or_create(key=REFRESH_POPULATION)
    mark = JobMark.objects.select_for_update().get(key=REFRESH_POPULATION)
    since = mark.ticked_at or now
    mark.ticked_at = max(since, now)
    mark.save(update_fields=["ticked_at"])
    return nightly(since, now)


@transaction.atomic
def nightly(since: dt.datetime, now: dt.datetime | None = None) -> bool:
    """Enqueue the nightly refresh if the configured hour fell after ``since`` (the worker's last
    tick) and at or before ``now``; once a day however many workers tick. True if it did. A worker
    that was down at that hour catches up through :func:`at_start` (the lists are then a day old)."""
    local = timezone.localtime(now or timezone.now())
    due = local.replace(hour=refresh_hour(), minute=0, second=0, microsecond=0)
    if not since < due <= local:
        return False
    JobMark.objects.get_or_create(key=REFRESH_POPULATION)
    mark = JobMark.objects.select_for_update().get(key=REFRESH_POPULATION)
    if mark.scheduled_on == due.date():
        return False
    mark.scheduled_on = due.date()
    mark.save(update_fields=["scheduled_on"])
    request_refresh(reason="nightly")
    return True


@transaction.atomic
def daily_check_in(now: dt.datetime | None = None) -> bool:
    """Enqueue the home-readings silence check (ADR 0018) at the first tick of each local day, once
    however many workers tick. True if it did."""
    today = timezone.localdate(now or timezone.now())
    JobMark.objects.get_or_create(key=HOME_READING_CHECK_IN)
    mark = JobMark.objects.select_for_update().get(key=HOME_READING_CHECK_IN)
    if mark.scheduled_on == today:
        return False
    mark.scheduled_on = today
    mark.save(update_fields=["scheduled_on"])
    check_silence.enqueue()
    return True

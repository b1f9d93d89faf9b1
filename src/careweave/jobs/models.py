"""What the scheduler remembers between ticks, whatever queue backend runs the tasks."""

from __future__ import annotations

from django.db import models


class JobMark(models.Model):
    """One row per kind of job: whether one is waiting on the queue (so an import, or ten, enqueue
    one refresh and never a pile) and the day the nightly run was last enqueued."""

    key = models.CharField(max_length=64, unique=True)
    #: Set when a job of this kind is enqueued; cleared when the worker starts it.
    pending_since = models.DateTimeField(null=True, blank=True)
    #: The local day the nightly schedule last enqueued this job.
    scheduled_on = models.DateField(null=True, blank=True)
    #: When a worker's scheduler last looked at the clock for this job (so `careweave worker --once`
    #: from cron sees the nightly hour pass between two runs).
    ticked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.key

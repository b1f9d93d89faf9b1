"""The queue's home-reading tasks (ADR 0015, ADR 0018): a reading's alert evaluation, enqueued when
it is imported, and the daily silence check-in, enqueued by the worker's scheduler."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from careweave.monitoring import alerts


@task()
def evaluate_reading(resource_pk: int) -> dict[str, Any]:
    """Evaluate one home reading against the person's thresholds and trend rules (ids and counts only)."""
    raised = alerts.evaluate(resource_pk)
    return {"alerts": [a.pk for a in raised]}


@task()
def check_silence() -> dict[str, Any]:
    """Raise a gentle check-in for people who have gone quiet."""
    return {"check_ins": alerts.check_silence()}

"""The tasks on the queue, and how they are asked for without piling up."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task, task_backends
from django_tasks_db.backend import DatabaseBackend

from careweave.governance.audit import record_system_event
from careweave.jobs.models import JobMark
from careweave.segmentation.freshness import is_stale
from careweave.segmentation.services import current_run
from careweave.synth.generator import DEFAULT_REFERENCE_DATE

REFRESH_POPULATION = "refresh_population"
WORKER = "careweave worker"


def runs_tasks_here() -> bool:
    """True when the queue is the database backend, whose tasks ``careweave worker`` runs; another
    backend (a Redis-backed one in production, say) has workers of its own, and ours only schedules."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


@transaction.atomic
def request_refresh(*, reason: str) -> bool:
    """Enqueue :func:`refresh_population` unless one is already waiting; True if this call enqueued
    it. The mark row is locked, so two importers at once still enqueue one refresh. A mark more than a
    day old is taken as lost (its task never started) and the refresh is enqueued again."""
    JobMark.objects.get_or_create(key=REFRESH_POPULATION)
    mark = JobMark.objects.select_for_update().get(key=REFRESH_POPULATION)
    if mark.pending_since is not None and not is_stale(mark.pending_since):
        return False
    mark.pending_since = timezone.now()
    mark.save(update_fields=["pending_since"])
    if runs_tasks_here():  # the queue is a table: enqueued in the import's own transaction
        refresh_population.enqueue(reason=reason)
    else:  # another service's queue: only once the import is committed and visible to its workers
        transaction.on_commit(lambda: refresh_population.enqueue(reason=reason))
    record_system_event("refresh-enqueued", WORKER, detail=f"population refresh enqueued: {reason}")
    return True


def refresh_pending() -> bool:
    return JobMark.objects.filter(key=REFRESH_POPULATION, pending_since__isnull=False).exists()


def _as_of() -> dt.date | None:
    """Today (None), as ``careweave segment``; in the demo (``careweave demo`` sets CAREWEAVE_DEMO for
    its worker) the synthetic records' reference date, as the demo's own run, or its windows slide."""
    return DEFAULT_REFERENCE_DATE if os.environ.get("CAREWEAVE_DEMO") == "1" else None


@task()
def refresh_population(reason: str = "") -> dict[str, Any]:
    """Segment the population as ``careweave segment`` does (DuckDB, classes chosen by BIC, the
    current run's seed) and store it as the new current run: the worklists, the register and the
    population page all come from it. Audited with counts only."""
    from careweave.segmentation.run import run_segmentation  # the engines load only in the worker

    # Started: an import from now on needs a refresh of its own, so the mark is cleared first.
    JobMark.objects.filter(key=REFRESH_POPULATION).update(pending_since=None)
    previous = current_run()
    try:
        run, _result = run_segmentation(seed=previous.seed if previous else 0, as_of=_as_of())
    except ValueError as problem:  # nothing to segment yet (an empty record): said, not raised
        record_system_event(
            "refresh-population", WORKER, detail=f"not refreshed ({reason}): {problem}", outcome="failure"
        )
        return {"run": None, "reason": reason}
    # the practices' review planners (issue 14) read the plan kept from the same record
    from careweave.reviews.services import refresh_plans

    planned = refresh_plans(as_of=_as_of() or dt.date.today(), actor=WORKER)
    record_system_event(
        "refresh-population",
        WORKER,
        detail=f"run {run.pk} ({reason}): {run.people_count} people, {run.register_size} on the register, "
        f"{planned} reviews planned",
    )
    return {"run": run.pk, "people": run.people_count, "reason": reason, "reviews_planned": planned}


#: Import outcomes that change the record, and so the lists built on it.
CHANGED = frozenset({"created", "updated", "deleted"})


def refresh_after_import(outcomes: Iterable[str], *, source: str) -> bool:
    """After an import (the CLI's, or a write through the FHIR API): one refresh waiting, if anything
    was created, updated or deleted. True if this call enqueued it."""
    if CHANGED.isdisjoint(outcomes):
        return False
    return request_refresh(reason=f"after {source}")

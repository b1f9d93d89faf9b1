"""The population refresh on the real task queue (django-tasks-db, the embedded default): imports
enqueue one refresh, `careweave worker --once` runs it into a new current run, and the scheduler
enqueues one when the lists are over a day old (issue 12 item 5, issue 16 item 5)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from typer.testing import CliRunner

from careweave.cli import app
from careweave.governance.models import AuditEntry
from careweave.jobs import scheduler
from careweave.jobs.models import JobMark
from careweave.segmentation.models import SegmentationRun
from careweave.synth import generate
from tests.web.conftest import segmentation_run

# Committed, not inside a test transaction: the worker closes its database connection between tasks,
# as a long-running worker must, and Django reopens it only outside an atomic block (PostgreSQL).
pytestmark = pytest.mark.django_db(transaction=True)
REFRESH = "careweave.jobs.tasks.refresh_population"


def _waiting() -> int:
    return DBTaskResult.objects.ready().filter(task_path=REFRESH).count()


def _import(folder: Path, *kinds: str) -> None:
    files = [str(folder / f"{kind}.ndjson") for kind in kinds]
    result = CliRunner().invoke(app, ["import", *files, "--json"])
    assert result.exit_code == 0, result.output


PEOPLE = ("Organization", "Practitioner", "PractitionerRole", "Patient", "Condition")
CARE = ("ServiceRequest", "Appointment", "Encounter", "Observation", "MedicationRequest")
LATER = ("RelatedPerson",)


def test_imports_enqueue_one_refresh_that_the_worker_runs_into_a_new_current_run(tmp_path: Path) -> None:
    generate(100, 5, tmp_path)
    old = segmentation_run()
    _import(tmp_path, *PEOPLE)
    assert _waiting() == 1
    _import(tmp_path, *CARE)
    assert _waiting() == 1  # two imports, one refresh waiting

    result = CliRunner().invoke(app, ["worker", "--once", "--no-schedule"])
    assert result.exit_code == 0, result.output
    assert "1 tasks run, 0 failed" in result.output
    assert _waiting() == 0
    assert DBTaskResult.objects.successful().filter(task_path=REFRESH).count() == 1
    new = SegmentationRun.objects.get(is_current=True)
    assert new.pk != old.pk and new.people_count > 0 and new.worklist_entries.exists()
    detail = AuditEntry.objects.get(action="refresh-population").reason
    assert f"run {new.pk}" in detail and "after careweave import" in detail
    # the refresh has started, so the next import needs (and enqueues) one of its own
    _import(tmp_path, *CARE)  # nothing changes: the same resources again
    assert _waiting() == 0
    _import(tmp_path, *LATER)
    assert _waiting() == 1


def _run_made(days_ago: float) -> SegmentationRun:
    run = segmentation_run()
    SegmentationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(days=days_ago))
    return run


def test_worker_start_enqueues_a_refresh_when_the_lists_are_over_a_day_old() -> None:
    _run_made(days_ago=2)
    assert scheduler.at_start() is True
    assert _waiting() == 1
    assert scheduler.at_start() is False and _waiting() == 1  # already waiting: not a second


def test_worker_start_leaves_fresh_lists_alone() -> None:
    _run_made(days_ago=0.5)
    assert scheduler.at_start() is False
    assert _waiting() == 0
    assert not JobMark.objects.filter(pending_since__isnull=False).exists()


def test_the_nightly_refresh_is_enqueued_once_when_its_hour_passes() -> None:
    hour = scheduler.refresh_hour()
    due = timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)
    before, after = due - dt.timedelta(minutes=1), due + dt.timedelta(seconds=30)
    assert scheduler.tick(before - dt.timedelta(minutes=5)) is False  # the first look starts the clock
    assert scheduler.tick(before) is False and _waiting() == 0  # not yet
    # the hour passes between two looks (two ticks of a worker, or two `careweave worker --once`)
    assert scheduler.tick(after) is True
    assert _waiting() == 1
    # a second worker (or a later tick) on the same day does not enqueue it again
    assert scheduler.nightly(before, after) is False
    assert scheduler.tick(after + dt.timedelta(hours=1)) is False
    assert JobMark.objects.get(key="refresh_population").scheduled_on == due.date()

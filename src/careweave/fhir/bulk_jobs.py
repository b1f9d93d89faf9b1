"""The task that runs a `POST /fhir/$import` (careweave.fhir.http.bulk_import) on the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone
from django_tasks import task

from careweave.fhir.conventions import API_SOURCE_PREFIX
from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.fhir.models import BulkImport
from careweave.fhir.outcome import operation_outcome
from careweave.governance.audit import record_system_event


def run(job: BulkImport) -> None:
    """Load the job's files as one Bulk Data set (ADR 0016), as `careweave import` does, in the
    requesting client's identity space when a line carries no meta.source."""
    BulkImport.objects.filter(pk=job.pk).update(status=BulkImport.Status.RUNNING)
    user = job.requested_by
    source = API_SOURCE_PREFIX + (user.get_username() if user is not None else "unknown")
    importer = Importer(source_system=source)
    import_paths(importer, [Path(p) for p in job.files])
    summary = importer.summary
    result: dict[str, Any] = {"counts": {k: dict(v) for k, v in summary.counts.items()}}
    if not summary.ok:
        result["outcome"] = operation_outcome(summary.errors[:200])
    job.status = BulkImport.Status.COMPLETED if summary.ok else BulkImport.Status.FAILED
    job.finished_at = timezone.now()
    job.result = result
    job.save(update_fields=["status", "finished_at", "result"])
    record_system_event(
        "import",
        "api $import",
        detail=f"$import {job.pk}: {summary.total('created')} created, {len(summary.errors)} errors",
    )
    from careweave.jobs.tasks import refresh_after_import

    refresh_after_import((o for c in summary.counts.values() for o, n in c.items() if n), source="$import")


@task()
def run_bulk_import(job_id: str) -> str:
    job = BulkImport.objects.select_related("requested_by").get(pk=job_id)
    if job.status == BulkImport.Status.QUEUED:
        run(job)
    return str(job.status)

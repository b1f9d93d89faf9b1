"""`POST /fhir/$import`: a Bulk Data import for integration clients, run on the task queue, with an
async status URL polled as the Bulk Data specification describes for `$export`.

Kick-off: a JSON body naming NDJSON files, either as an import request (`input: [{type, url}]`) or as
an `$export` manifest (`output: [{type, url}]`); each url a file:// URL or a path, relative to
CAREWEAVE_IMPORT_DIR, and only files inside that folder are read. Answer: 202 Accepted with
`Content-Location: <base>/fhir/$import-status/<id>`.

Status (GET, by the client that asked, or whoever reads the audit): 202 with `X-Progress` while queued or
running; 200 with `{transactionTime, request, requiresAccessToken, output: [{type, count}], error: []}`
when loaded; 400 with the OperationOutcome (file, line, element) when the set was refused, which then
wrote nothing (ADR 0016).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import orjson
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from careweave.fhir.bulk_jobs import run_bulk_import
from careweave.fhir.http.transport import api_view, fhir_response, outcome, purpose
from careweave.fhir.models import BulkImport
from careweave.fhir.outcome import Issue, operation_outcome
from careweave.governance.audit import record_access
from careweave.governance.permissions import Permission, has, require


def _files(body: Any) -> tuple[list[str], list[Issue]]:
    root: Path = settings.CAREWEAVE_IMPORT_DIR
    key = "input" if isinstance(body, dict) and "input" in body else "output"
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        message = "the body is a JSON object with input: [{type, url}] (or an $export manifest's output)"
        return [], [Issue("error", "required", message, expression="input")]
    files: list[str] = []
    issues: list[Issue] = []
    for i, item in enumerate(items):
        where = f"{key}[{i}].url"
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            issues.append(Issue("error", "required", "each file needs a url", expression=where))
            continue
        parsed = urlparse(url)
        if parsed.scheme not in ("", "file"):
            message = f"only files on this server's disk can be imported, not {parsed.scheme} URLs"
            issues.append(Issue("error", "not-supported", message, expression=where))
            continue
        path = (root / unquote(parsed.path if parsed.scheme else url)).resolve()
        if not path.is_relative_to(root):
            message = "only files inside the server's import folder (CAREWEAVE_IMPORT_DIR) can be imported"
            issues.append(Issue("error", "forbidden", message, expression=where))
        elif not path.is_file() or not path.name.endswith((".ndjson", ".ndjson.gz")):
            message = f"no NDJSON file {path.relative_to(root)} in the import folder"
            issues.append(Issue("error", "not-found", message, expression=where))
        else:
            files.append(str(path))
    return files, issues


@api_view
def kick_off(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return outcome(405, "not-supported", "POST a manifest to $import")
    require(request.user, Permission.POST_BUNDLES, "only integration clients can start a Bulk Data import")
    try:
        body = orjson.loads(request.body or b"null")
    except orjson.JSONDecodeError as error:
        return outcome(400, "structure", f"the body is not JSON: {error}")
    files, issues = _files(body)
    if issues:
        return fhir_response(operation_outcome(issues), 400)
    user = request.user
    assert isinstance(user, User), "api_view has signed in the token's user"
    job = BulkImport.objects.create(
        id=uuid.uuid4(),
        requested_by=user,
        requested_at=timezone.now(),
        request_url=request.build_absolute_uri(),
        files=files,
    )
    record_access(
        actor=request.user,
        action="import",
        resource_type="Bundle",
        purpose=purpose(request),
        channel="api",
        reason=f"$import {job.pk} of {len(files)} files",
    )
    transaction.on_commit(lambda: run_bulk_import.enqueue(str(job.pk)))
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(f"/fhir/$import-status/{job.pk}")
    return response


@api_view
def status(request: HttpRequest, job_id: str) -> HttpResponse:
    job = BulkImport.objects.filter(pk=job_id).first()
    user = request.user
    if job is None or not (job.requested_by_id == user.pk or has(user, Permission.READ_AUDIT)):
        return outcome(404, "not-found", f"no import {job_id} of yours")
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on an import's status")
    if job.status in (BulkImport.Status.QUEUED, BulkImport.Status.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = str(job.status)
        response["Retry-After"] = "5"
        return response
    if job.status == BulkImport.Status.FAILED:
        return fhir_response(job.result.get("outcome") or operation_outcome([]), 400)
    counts: dict[str, dict[str, int]] = job.result.get("counts") or {}
    return fhir_response(
        {
            "transactionTime": (job.finished_at or job.requested_at).isoformat(),
            "request": job.request_url,
            "requiresAccessToken": False,
            "output": [{"type": kind, "count": sum(n.values()), **n} for kind, n in sorted(counts.items())],
            "error": [],
        }
    )

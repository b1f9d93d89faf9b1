"""Transaction and batch Bundles posted to /fhir, by integration clients."""

from __future__ import annotations

import copy
from http import HTTPStatus
from typing import Any

import orjson
from django.db import transaction
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import resolve

from careweave.fhir.http.resources import api_source, api_writer
from careweave.fhir.http.transport import api_view, fhir_response, outcome, purpose, refused_response
from careweave.fhir.importer import Entry, Importer
from careweave.fhir.outcome import Issue, Refused, operation_outcome
from careweave.governance.audit import record_access
from careweave.governance.permissions import Permission, require
from careweave.jobs.tasks import refresh_after_import
from careweave.monitoring.services import after_entries
from careweave.record import models as rm

_STATUS = {
    "created": "201 Created",
    "updated": "200 OK",
    "unchanged": "200 OK",
    "deleted": "204 No Content",
    "skipped": "200 OK",
}


@api_view
def root(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return outcome(405, "not-supported", "POST a transaction or batch Bundle to /fhir")
    require(
        request.user,
        Permission.POST_BUNDLES,
        "only integration clients can post transaction or batch bundles",
    )
    bundle = orjson.loads(request.body or b"null")
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") not in ("transaction", "batch")
    ):
        return outcome(
            400, "invalid", "POST /fhir takes a Bundle of type transaction or batch", "Bundle.type"
        )
    if bundle["type"] == "transaction":
        importer = Importer(
            source_system=api_source(request), strict_references=True, api=api_writer(request)
        )
        entries = importer.import_bundle(bundle)
        response_entries = [_response_entry(request, e) for e in entries]
        refresh_after_import((e.outcome for e in entries), source="a FHIR API transaction")
        after_entries(entries)  # home readings among them: indexed and evaluated (ADR 0018)
        _audit(request, f"transaction of {len(entries)} entries")
        return fhir_response(
            {"resourceType": "Bundle", "type": "transaction-response", "entry": response_entries}
        )
    # batch: each entry stands alone (FHIR R4 3.1.0.11.1); failures do not undo the others
    response_entries = [_batch_entry(request, i, raw) for i, raw in enumerate(bundle.get("entry") or [])]
    _audit(request, f"batch of {len(response_entries)} entries")
    return fhir_response({"resourceType": "Bundle", "type": "batch-response", "entry": response_entries})


def _batch_entry(request: HttpRequest, i: int, raw: Any) -> dict[str, Any]:
    method = ((raw.get("request") or {}).get("method") or "") if isinstance(raw, dict) else ""
    url = (raw.get("request") or {}).get("url") if isinstance(raw, dict) else None
    if isinstance(method, str) and method.upper() == "GET" and isinstance(url, str):
        return _batch_read(request, url)
    single = {"resourceType": "Bundle", "type": "batch", "entry": [raw]}
    importer = Importer(source_system=api_source(request), strict_references=True, api=api_writer(request))
    try:
        with transaction.atomic():
            entries = importer.import_bundle(single)
            refresh_after_import([entries[0].outcome], source="a FHIR API batch")
            after_entries(entries)
        return _response_entry(request, entries[0])
    except Refused as refused:
        issues = [
            Issue(
                x.severity,
                x.code,
                x.message,
                None,
                i,
                (x.expression or "").replace("entry[0]", f"entry[{i}]") or None,
            )
            for x in refused.issues
        ]
        status = refused_response(refused).status_code
        return {
            "response": {
                "status": f"{status} {HTTPStatus(status).phrase}",
                "outcome": operation_outcome(issues),
            }
        }


def _batch_read(request: HttpRequest, url: str) -> dict[str, Any]:
    """A GET entry of a batch, answered as the same GET to /fhir would be (the URL resolved by the
    URLconf, so reads, searches and operations are authorised and audited as usual), its resource
    in the entry."""
    relative = url.split("/fhir/", 1)[1] if "/fhir/" in url else url.lstrip("/")
    path, _, query = relative.partition("?")
    sub = copy.copy(request)
    sub.method = "GET"
    sub.path = sub.path_info = f"/fhir/{path}"
    sub.GET = QueryDict(query)
    sub.META = {**request.META, "REQUEST_METHOD": "GET", "QUERY_STRING": query}
    match = resolve(sub.path)
    response = match.func(sub, *match.args, **match.kwargs)
    body = orjson.loads(response.content) if response.content else None
    status = f"{response.status_code} {HTTPStatus(response.status_code).phrase}"
    if response.status_code < 300:
        return {"resource": body, "response": {"status": status}}
    return {"response": {"status": status, "outcome": body}}


def _audit(request: HttpRequest, reason: str) -> None:
    record_access(
        actor=request.user,
        action="import",
        resource_type="Bundle",
        purpose=purpose(request),
        channel="api",
        reason=reason,
    )


def _response_entry(request: HttpRequest, entry: Entry) -> dict[str, Any]:
    result: dict[str, Any] = {"response": {"status": _STATUS.get(entry.outcome, "200 OK")}}
    if entry.logical_id and entry.resource_type:
        version = (
            rm.StoredResource.objects.filter(resource_type=entry.resource_type, logical_id=entry.logical_id)
            .values_list("version", flat=True)
            .first()
        )
        if version is not None:
            result["fullUrl"] = request.build_absolute_uri(f"/fhir/{entry.resource_type}/{entry.logical_id}")
            result["response"]["location"] = f"{entry.resource_type}/{entry.logical_id}/_history/{version}"
            result["response"]["etag"] = f'W/"{version}"'
    return result

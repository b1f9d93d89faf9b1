"""DetectedIssue at the record's FHIR base, read-only: the person's medicines findings, computed from
their record when asked, through the same governance entry point as every API read (open_for: 404
outside the caller's care, break-glass by header, audited with its purpose).

  GET /fhir/DetectedIssue?patient=<Patient id>      the open findings (accepted ones left out)
  GET /fhir/DetectedIssue/medfinding-<n>-<key>      one finding, open or accepted (with mitigation)

Registered as a provider in ``careweave.fhir.resource_types`` when the app is ready."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from careweave.fhir.api import CONTROL_PARAMS, fhir_response, open_for, outcome, purpose
from careweave.fhir.resource_types import Provider, register_provider
from careweave.governance.access import AccessRefused
from careweave.medicines import fhir
from careweave.medicines.findings import finding_key, person_findings
from careweave.record import models as rm

KIND = "DetectedIssue"
SEARCH_PARAMS = {"patient"}


def _entry(request: HttpRequest, resource: dict[str, Any]) -> dict[str, Any]:
    url = request.build_absolute_uri(f"/fhir/{KIND}/{resource['id']}")
    return {"fullUrl": url, "resource": resource, "search": {"mode": "match"}}


def search(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", f"/fhir/{kind} is read-only")
    for name in request.GET:
        if name not in SEARCH_PARAMS and name not in CONTROL_PARAMS:
            return outcome(
                400, "not-supported", f"search parameter '{name}' is not supported (supported: patient)"
            )
    reference = request.GET.get("patient")
    if not reference:
        return outcome(
            400, "required", f"search {kind} by patient, e.g. {kind}?patient=<Patient id>", "patient"
        )
    logical_id = reference.rsplit("/", 1)[-1]
    person = rm.Person.objects.filter(resource__logical_id=logical_id).select_related("resource").first()
    entries: list[dict[str, Any]] = []
    if person is not None:
        try:
            opened = open_for(request, person, action="search", resource_type=kind, audit=False)
        except AccessRefused as refused:
            if not refused.hide:
                raise
            # outside the caller's care: the same empty result as for an unknown id (refusal audited)
        else:
            found = person_findings(person)
            entries = [_entry(request, fhir.detected_issue(person, f, as_of=found.as_of)) for f in found.open]
            opened.audit(
                action="search", resource_type=kind, resource_id="", purpose=purpose(request), channel="api"
            )
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": entries,
    }
    return fhir_response(bundle)


def read(request: HttpRequest, kind: str, logical_id: str, version: str | None) -> HttpResponse | None:
    if request.method != "GET":
        return outcome(405, "not-supported", f"/fhir/{kind} is read-only")
    if version is not None:
        return outcome(404, "not-supported", f"/fhir/{kind} keeps no earlier versions to read")
    matched = fhir.ID_PATTERN.match(logical_id)
    person = (
        rm.Person.objects.filter(pk=int(matched.group(1))).select_related("resource").first()
        if matched
        else None
    )
    if matched is None or person is None:
        return outcome(404, "not-found", f"{kind}/{logical_id} is not known")
    opened = open_for(request, person, action="read", resource_type=kind, resource_id=logical_id, audit=False)
    found = person_findings(person)
    key = matched.group(2)
    accepted = {finding_key(f): d for f, d in found.accepted}
    finding = found.by_key(key)
    if finding is None:
        # the implicated medicines changed, or the rule no longer fires: not a current finding
        return outcome(404, "not-found", f"{kind}/{logical_id} is not a current finding")
    opened.audit(
        action="read", resource_type=kind, resource_id=logical_id, purpose=purpose(request), channel="api"
    )
    return fhir_response(fhir.detected_issue(person, finding, as_of=found.as_of, accepted=accepted.get(key)))


register_provider(KIND, Provider(search=search, read=read, search_params=("patient",)))

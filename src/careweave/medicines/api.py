"""DetectedIssue at the record's FHIR base, read-only: the person's medicines findings, computed from
their record when asked, through the same governance entry point as every API read (open_for: 404
outside the caller's care, break-glass by header, audited with its purpose).

  GET /fhir/DetectedIssue?patient=<Patient id>      the open findings (accepted ones left out)
  GET /fhir/DetectedIssue/medfinding-<n>-<key>      one finding, open or accepted (with mitigation)
  GET /fhir/List?patient=<Patient id>               medicines reconciliations (mode changes), and the
                                                    person's Lists other systems sent, kept as sent
  GET /fhir/List/medrec-<n>                         one reconciliation (other ids: the record's read)

Registered as a provider in ``careweave.fhir.resource_types`` when the app is ready."""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.fhir.api import CONTROL_PARAMS, fhir_response, open_for, outcome, purpose
from careweave.fhir.resource_types import Provider, register_provider
from careweave.governance.access import AccessRefused, RecordAccess
from careweave.medicines import fhir
from careweave.medicines.findings import finding_key, person_findings
from careweave.medicines.models import Reconciliation
from careweave.medicines.reconciliation import changes_list
from careweave.record import models as rm

KIND = "DetectedIssue"
SEARCH_PARAMS = {"patient"}


def _entry(request: HttpRequest, resource: dict[str, Any]) -> dict[str, Any]:
    url = request.build_absolute_uri(f"/fhir/{resource['resourceType']}/{resource['id']}")
    return {"fullUrl": url, "resource": resource, "search": {"mode": "match"}}


def _resources(kind: str, person: rm.Person) -> list[dict[str, Any]]:
    if kind == "List":
        ours = [changes_list(r) for r in Reconciliation.objects.filter(person=person).order_by("pk")]
        sent = rm.StoredResource.objects.filter(resource_type="List", person=person).order_by("pk")
        return ours + [orjson.loads(body) for body in sent.values_list("body", flat=True)]
    found = person_findings(person)
    return [fhir.detected_issue(person, f, as_of=found.as_of) for f in found.open]


MEDICINES = "medicines"  # the part of the record (terminology/data/record_sharing.yaml, ADR 0021)


def _withheld(request: HttpRequest, opened: RecordAccess, kind: str, logical_id: str) -> HttpResponse:
    """Answered as an unknown id, naming neither the part nor its content; the withholding audited."""
    opened.withhold(
        [MEDICINES], resource_type=kind, resource_id=logical_id, purpose=purpose(request), channel="api"
    )
    return outcome(404, "not-found", f"{kind}/{logical_id} is not known")


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
            # findings and reconciliations are the medicines part of the record: a role or a person's
            # sharing choice that leaves medicines out gets an empty result, the withholding audited
            if opened.view.shows(MEDICINES):
                entries = [_entry(request, r) for r in _resources(kind, person)]
            else:
                opened.withhold([MEDICINES], resource_type=kind, purpose=purpose(request), channel="api")
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


def read_list(request: HttpRequest, kind: str, logical_id: str, version: str | None) -> HttpResponse | None:
    """A reconciliation's List; None for any other id (the record's read of a List sent to us)."""
    matched = RECONCILIATION_ID.match(logical_id)
    if matched is None:
        return None
    if request.method != "GET":
        return outcome(405, "not-supported", f"/fhir/{kind}/{logical_id} is read-only")
    made = Reconciliation.objects.filter(pk=int(matched.group(1))).select_related("person__resource").first()
    if made is None or version is not None:
        return outcome(404, "not-found", f"{kind}/{logical_id} is not known")
    opened = open_for(
        request, made.person, action="read", resource_type=kind, resource_id=logical_id, audit=False
    )
    if not opened.view.shows(MEDICINES):
        return _withheld(request, opened, kind, logical_id)
    opened.audit(
        action="read", resource_type=kind, resource_id=logical_id, purpose=purpose(request), channel="api"
    )
    return fhir_response(changes_list(made))


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
    if not opened.view.shows(MEDICINES):
        return _withheld(request, opened, kind, logical_id)
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


RECONCILIATION_ID = re.compile(r"^medrec-(\d{1,18})$")
register_provider(KIND, Provider(search=search, read=read, search_params=("patient",)))
register_provider("List", Provider(search=search, read=read_list, search_params=("patient",)))

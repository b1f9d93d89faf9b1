"""CareWeave's audit as FHIR AuditEvent: read-only, for administrators (the CapabilityStatement says so)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.fhir.conventions import (
    AUDIT_ENTITY_TYPE_SYSTEM,
    AUDIT_EVENT_TYPE_SYSTEM,
    RESTFUL_INTERACTION_SYSTEM,
    V3_ACT_REASON_SYSTEM,
)
from careweave.fhir.http.search import date_filter, ref_value
from careweave.fhir.http.transport import fhir_response, outcome, paging, searchset_bytes
from careweave.governance.models import AuditEntry
from careweave.governance.permissions import Permission, require

READ_AUDIT_REFUSAL = "only administrators can read the audit log"
_AUDIT_ACTION = {
    "read": "R",
    "search": "E",
    "export": "E",
    "create": "C",
    "update": "U",
    "import": "C",
    "break-glass": "E",
}


def read_only_audit(request: HttpRequest) -> HttpResponse:
    response = outcome(
        405, "not-supported", "AuditEvent is read-only: CareWeave writes its own audit and accepts none"
    )
    response["Allow"] = "GET"
    return response


def audit_event_read(request: HttpRequest, logical_id: str) -> HttpResponse:
    """One audit entry by id, for administrators, as the CapabilityStatement says."""
    require(request.user, Permission.READ_AUDIT, READ_AUDIT_REFUSAL)
    entry = (
        AuditEntry.objects.select_related("actor", "person__resource").filter(pk=int(logical_id)).first()
        if logical_id.isdigit() and len(logical_id) < 19
        else None
    )
    if entry is None:
        return outcome(404, "not-found", f"AuditEvent/{logical_id} is not known")
    return fhir_response(audit_event(entry))


def audit_events(request: HttpRequest) -> HttpResponse:
    require(request.user, Permission.READ_AUDIT, READ_AUDIT_REFUSAL)
    qs = AuditEntry.objects.select_related("actor", "person__resource").order_by("-recorded_at", "-pk")
    patient = request.GET.get("patient")
    if patient:
        qs = qs.filter(person_ref=ref_value(patient))  # found also once the record is removed
    if request.GET.get("date"):
        qs = qs.filter(date_filter("recorded_at", request.GET["date"], True, "date"))
    count, offset = paging(request)
    total = qs.count()
    entries = [
        (request.build_absolute_uri(f"/fhir/AuditEvent/{a.pk}"), orjson.dumps(audit_event(a)).decode())
        for a in qs[offset : offset + count]
    ]
    params = [(k, v) for k, v in request.GET.items() if k != "_offset"]
    base = request.build_absolute_uri("/fhir/AuditEvent")
    links = [{"relation": "self", "url": f"{base}?{urlencode(params)}"}]
    if offset + count < total:
        links.append(
            {"relation": "next", "url": f"{base}?{urlencode([*params, ('_offset', offset + count)])}"}
        )
    return fhir_response(searchset_bytes(total, links, entries))


def audit_event(entry: AuditEntry) -> dict[str, Any]:
    purpose = {"direct-care": "TREAT", "emergency": "ETREAT"}.get(
        entry.purpose, entry.purpose.upper() or "TREAT"
    )
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(entry.pk),
        "type": {"system": AUDIT_EVENT_TYPE_SYSTEM, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": RESTFUL_INTERACTION_SYSTEM, "code": entry.action}],
        "action": _AUDIT_ACTION.get(entry.action, "E"),
        "recorded": entry.recorded_at.isoformat(),
        "outcome": "0" if entry.outcome == "success" else "4",
        "purposeOfEvent": [
            {"coding": [{"system": V3_ACT_REASON_SYSTEM, "code": "ETREAT" if entry.break_glass else purpose}]}
        ],
        "agent": [
            {
                "who": {"display": entry.actor.get_username() if entry.actor else entry.system_actor},
                "requestor": True,
                "network": {"type": "5", "address": entry.channel},
            }
        ],
        "source": {"observer": {"display": "CareWeave"}},
    }
    if entry.person_id is not None:  # kept as a plain value: the person's record may since be removed
        patient = entry.person_ref or (entry.person.resource.logical_id if entry.person else "")
        event["entity"] = [
            {
                "what": {"reference": f"Patient/{patient}"},
                "type": {"system": AUDIT_ENTITY_TYPE_SYSTEM, "code": "1"},
            }
        ]
        if entry.resource_type and entry.resource_id:
            event["entity"].append({"what": {"reference": f"{entry.resource_type}/{entry.resource_id}"}})
    if entry.break_glass or entry.reason:
        event["entity"] = event.get("entity", []) + [
            {"description": ("break-glass: " if entry.break_glass else "") + entry.reason[:500]}
        ]
    return event

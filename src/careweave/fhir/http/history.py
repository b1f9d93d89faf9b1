"""`_history` of a record's resource (`/fhir/<type>/<id>/_history`) and vread
(`/fhir/<type>/<id>/_history/<vid>`): the current version from the record, the earlier ones from
`careweave.fhir.models.ResourceVersion`. Each is opened through governance and audited as a read of
the resource, exactly as a read of its current version is; a person outside the caller's care gets the
same answer as for an unknown id."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.fhir import resource_types
from careweave.fhir.http.transport import fhir_response, not_known, open_for, outcome, paging, purpose
from careweave.fhir.models import ResourceVersion
from careweave.governance import consent
from careweave.governance.permissions import Permission, require
from careweave.record import models as rm


def _versions(kind: str, logical_id: str) -> tuple[rm.StoredResource | None, list[ResourceVersion]]:
    stored = (
        rm.StoredResource.objects.filter(resource_type=kind, logical_id=logical_id)
        .select_related("person__resource")
        .first()
    )
    earlier = list(
        ResourceVersion.objects.filter(resource_type=kind, logical_id=logical_id).order_by("-version")
    )
    return stored, earlier


def _open(
    request: HttpRequest,
    kind: str,
    logical_id: str,
    stored: rm.StoredResource | None,
    earlier: list[ResourceVersion],
) -> HttpResponse | None:
    """None when the caller may read this resource's versions (the read audited), else the answer."""
    person: rm.Person | None = stored.person if stored is not None else None
    if stored is not None and kind == "Patient" and person is None:
        person = rm.Person.objects.filter(resource=stored).first()
    if person is None and stored is None and earlier and earlier[0].person_id is not None:
        person = rm.Person.objects.filter(pk=earlier[0].person_id).select_related("resource").first()
    if person is None:
        in_record = resource_types.in_compartment(kind)
        require(request.user, Permission.READ_RECORDS if in_record else Permission.READ_REFERENCE_DATA)
        if stored is None and not earlier:
            return not_known(kind, logical_id)
        if in_record and stored is None and earlier[0].person_id is not None:
            return not_known(kind, logical_id)  # the person is gone: nobody's care covers them
        return None
    opened = open_for(request, person, action="read", resource_type=kind, resource_id=logical_id)
    # every version is judged by its own part (a code that changed may have moved it), and one this
    # user does not see makes the history unknown to them, as a read of it is (ADR 0021)
    bodies = ([stored.body] if stored is not None else []) + [v.body for v in earlier if v.body]
    hidden = sorted(
        {
            p
            for p in (consent.part_of_resource(kind, orjson.loads(b)) for b in bodies)
            if not opened.view.shows(p)
        }
    )
    if hidden:
        opened.withhold(
            hidden, resource_type=kind, resource_id=logical_id, purpose=purpose(request), channel="api"
        )
        return not_known(kind, logical_id)
    return None


def _unserved(kind: str) -> HttpResponse | None:
    registered = resource_types.get(kind)
    if registered is None or registered.read_only or registered.provider is not None:
        return outcome(404, "not-supported", f"/fhir/{kind} keeps no history here")
    return None


def vread(request: HttpRequest, kind: str, logical_id: str, version: str) -> HttpResponse:
    unserved = _unserved(kind)
    if unserved is not None:
        return unserved
    stored, earlier = _versions(kind, logical_id)
    refused = _open(request, kind, logical_id, stored, earlier)
    if refused is not None:
        return refused
    wanted = int(version)
    if stored is not None and stored.version == wanted:
        return fhir_response(stored.body.encode(), headers={"ETag": f'W/"{stored.version}"'})
    for row in earlier:
        if row.version == wanted:
            return fhir_response(row.body.encode(), headers={"ETag": f'W/"{row.version}"'})
        if row.deleted and row.version + 1 == wanted:
            return outcome(410, "deleted", f"{kind}/{logical_id} was deleted at version {wanted}")
    return outcome(404, "not-found", f"{kind}/{logical_id} has no version {version}")


def _entry(request: HttpRequest, kind: str, logical_id: str, version: int, body: str, method: str) -> bytes:
    resource = orjson.loads(body)
    last_updated = (resource.get("meta") or {}).get("lastUpdated")
    response: dict[str, Any] = {
        "status": "201 Created" if version == 1 else "200 OK",
        "etag": f'W/"{version}"',
    }
    if last_updated:
        response["lastModified"] = last_updated
    return orjson.dumps(
        {
            "fullUrl": request.build_absolute_uri(f"/fhir/{kind}/{logical_id}"),
            "resource": resource,
            "request": {"method": method, "url": kind if method == "POST" else f"{kind}/{logical_id}"},
            "response": response,
        }
    )


def instance_history(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on _history")
    unserved = _unserved(kind)
    if unserved is not None:
        return unserved
    stored, earlier = _versions(kind, logical_id)
    refused = _open(request, kind, logical_id, stored, earlier)
    if refused is not None:
        return refused
    entries: list[bytes] = []
    if stored is not None:
        entries.append(
            _entry(
                request,
                kind,
                logical_id,
                stored.version,
                stored.body,
                "POST" if stored.version == 1 else "PUT",
            )
        )
    for row in earlier:
        if row.deleted and stored is None:
            entries.append(
                orjson.dumps(
                    {
                        "request": {"method": "DELETE", "url": f"{kind}/{logical_id}"},
                        "response": {"status": "204 No Content", "etag": f'W/"{row.version + 1}"'},
                    }
                )
            )
        if row.deleted and stored is not None:
            continue  # an earlier life of the id, before it was created again
        entries.append(
            _entry(request, kind, logical_id, row.version, row.body, "POST" if row.version == 1 else "PUT")
        )
    count, offset = paging(request)
    page = entries[offset : offset + count]
    head = {
        "resourceType": "Bundle",
        "type": "history",
        "total": len(entries),
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
    }
    body = orjson.dumps(head)[:-1] + b',"entry":[' + b",".join(page) + b"]}"
    return fhir_response(body)

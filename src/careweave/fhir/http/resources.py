"""Reads and writes of single resources, searches by type, Patient/$everything, and the types
another app provides (registered in `careweave.fhir.resource_types`)."""

from __future__ import annotations

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.fhir import resource_types
from careweave.fhir.conventions import API_SOURCE_PREFIX
from careweave.fhir.http import audit_events as audit
from careweave.fhir.http import history
from careweave.fhir.http.search import patient_scope, scope, search_queryset, searchset, shared_scope
from careweave.fhir.http.transport import (
    api_view,
    fhir_response,
    not_known,
    open_for,
    outcome,
    purpose,
    searchset_bytes,
)
from careweave.fhir.importer import ApiWriter, Entry, Importer, Verdict
from careweave.governance import access, consent
from careweave.governance.access import AccessRefused
from careweave.governance.audit import record_access
from careweave.governance.permissions import Permission, has, is_clinical, require
from careweave.jobs.tasks import refresh_after_import
from careweave.monitoring import services as home_readings
from careweave.record import models as rm

REFERENCE_DATA_REFUSAL = "shared reference data is written by integration clients and administrators"


# -- writes ----------------------------------------------------------------------------------------
def api_writer(request: HttpRequest) -> ApiWriter:
    """The write policy of this caller, for the importer: every person a write touches is decided by
    governance, before and after identity matching (issue 8)."""
    user = request.user
    people: dict[int, rm.Person | None] = {}

    def allow(entry: Entry, person_pk: int | None) -> Verdict:
        if not resource_types.in_compartment(entry.resource_type):
            if has(user, Permission.WRITE_REFERENCE_DATA):
                return Verdict(True)
            return Verdict(False, reason=REFERENCE_DATA_REFUSAL)
        if person_pk is not None and person_pk not in people:
            people[person_pk] = rm.Person.objects.select_related("resource").filter(pk=person_pk).first()
        person = people.get(person_pk) if person_pk is not None else None
        decision = access.decide_write(user, person)
        if decision.allowed:
            return Verdict(True, break_glass=decision.break_glass)
        return Verdict(False, hide=person is not None and is_clinical(user), reason=decision.reason)

    return ApiWriter(organisation_id=access.writing_organisation(user), allow=allow)


def api_source(request: HttpRequest) -> str:
    """The caller's registered source: its own identity space, whatever `meta.source` says."""
    return API_SOURCE_PREFIX + request.user.get_username()


def write(request: HttpRequest, kind: str, logical_id: str | None) -> HttpResponse:
    resource = orjson.loads(request.body or b"null")
    if not isinstance(resource, dict):
        return outcome(400, "structure", "the body must be a FHIR resource (a JSON object)")
    reading_source = home_readings.reading_source_for(request.user)  # a device's or person's token
    if reading_source is not None:
        if kind != "Observation":
            return outcome(403, "forbidden", home_readings.ONLY_READINGS)
        importer = home_readings.source_importer(reading_source)
    else:
        if resource_types.in_compartment(kind):
            require(request.user, Permission.WRITE_RECORDS, "this role cannot write to the record")
        else:
            require(request.user, Permission.WRITE_REFERENCE_DATA, REFERENCE_DATA_REFUSAL)
        importer = Importer(source_system=api_source(request), strict_references=True, api=api_writer(request))
    if logical_id is not None:
        resource.setdefault("id", logical_id)
        if resource.get("id") != logical_id:
            message = f"the resource id '{resource.get('id')}' does not match the URL id '{logical_id}'"
            return outcome(400, "invalid", message, "id")
    entry = importer.import_resource(
        resource,
        method="PUT" if logical_id else "POST",
        url=f"{kind}/{logical_id}" if logical_id else kind,
        expected_type=kind,
    )
    stored = rm.StoredResource.objects.get(resource_type=kind, logical_id=entry.logical_id)
    if kind == "Observation" and entry.outcome in ("created", "updated"):
        home_readings.after_import(stored)  # a home reading: indexed, its alerts evaluated on the queue
    refresh_after_import([entry.outcome], source="a FHIR API write")
    record_access(
        actor=request.user,
        action="create" if entry.outcome == "created" else "update",
        resource_type=kind,
        resource_id=stored.logical_id,
        person_id=stored.person_id,
        purpose=purpose(request),
        break_glass=entry.break_glass,
        channel="api",
    )
    location = request.build_absolute_uri(f"/fhir/{kind}/{stored.logical_id}/_history/{stored.version}")
    return fhir_response(
        stored.body.encode(),
        201 if entry.outcome == "created" else 200,
        {"Location": location, "ETag": f'W/"{stored.version}"'},
    )


# -- endpoints -------------------------------------------------------------------------------------
@api_view
def type_endpoint(request: HttpRequest, kind: str) -> HttpResponse:
    registered = resource_types.get(kind)
    if registered is not None and registered.provider is not None:
        return registered.provider.search(request, kind)
    if kind == "AuditEvent":
        return audit.audit_events(request) if request.method == "GET" else audit.read_only_audit(request)
    if registered is None or not (registered.search or registered.modelled):
        return outcome(404, "not-supported", f"resource type '{kind}' is not served here")
    if request.method == "POST":
        return write(request, kind, None)
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on /fhir/{kind}")
    # the stubs allow a list for a key whose values were emptied with setlist(); a parsed query has none
    params = [(key, value) for key, value in request.GET.items() if isinstance(value, str)]
    unscoped = search_queryset(kind, params)
    in_care = scope(request, kind, unscoped)  # first: a role that searches no records is refused as before
    refused = patient_scope(request, kind, params)
    if refused is not None:
        return refused
    scoped = shared_scope(request, kind, in_care)
    return searchset(request, kind, scoped, params, unscoped=unscoped, in_care=in_care)


@api_view
def instance_endpoint(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    return instance(request, kind, logical_id)


@api_view
def version_endpoint(request: HttpRequest, kind: str, logical_id: str, version: str) -> HttpResponse:
    """vread: of the types another app versions (CarePlan), else of the record (`history.vread`)."""
    registered = resource_types.get(kind)
    if registered is not None and registered.provider is not None and registered.provider.versioned:
        answer = registered.provider.read(request, kind, logical_id, version)
        if answer is not None:
            return answer
    return history.vread(request, kind, logical_id, version)


@api_view
def history_endpoint(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    return history.instance_history(request, kind, logical_id)


def instance(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    """Read or update one resource (the request already authenticated by `api_view`)."""
    registered = resource_types.get(kind)
    if registered is not None and registered.provider is not None:
        answer = registered.provider.read(request, kind, logical_id, None)
        if answer is not None:
            return answer
    return record_instance(request, kind, logical_id)


def record_instance(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    """Read or update one stored resource of the record."""
    if kind == "AuditEvent":
        return (
            audit.audit_event_read(request, logical_id)
            if request.method == "GET"
            else audit.read_only_audit(request)
        )
    if request.method == "PUT":
        return write(request, kind, logical_id)
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on /fhir/{kind}/{{id}}")
    stored = (
        rm.StoredResource.objects.filter(resource_type=kind, logical_id=logical_id)
        .select_related("person__resource")
        .first()
    )
    person = stored.person if stored is not None else None
    if stored is not None and kind == "Patient" and person is None:
        person = rm.Person.objects.filter(resource=stored).first()
    if person is None:
        # roles that never read a person's record are refused whatever the id, so the refusal
        # reveals nothing; a resource about nobody is for any staff role but analysts
        compartment = stored is None and resource_types.in_compartment(kind)
        require(request.user, Permission.READ_RECORDS if compartment else Permission.READ_REFERENCE_DATA)
        if stored is None:
            return not_known(kind, logical_id)
    else:
        opened = open_for(request, person, action="read", resource_type=kind, resource_id=logical_id)
        assert stored is not None  # a person was found through it
        part = consent.part_of_resource(kind, orjson.loads(stored.body))
        if not opened.view.shows(part):
            # answered as an unknown id: neither the part nor the content is named (ADR 0021)
            opened.withhold(
                [part], resource_type=kind, resource_id=logical_id, purpose=purpose(request), channel="api"
            )
            raise AccessRefused("this part of the record is not shared with you", hide=True)
    assert stored is not None  # a person was found through it
    return fhir_response(stored.body.encode(), headers={"ETag": f'W/"{stored.version}"'})


@api_view
def everything(request: HttpRequest, logical_id: str) -> HttpResponse:
    person = (
        rm.Person.objects.filter(resource__resource_type="Patient", resource__logical_id=logical_id)
        .select_related("resource", "registered_practice")
        .first()
    )
    if person is None:
        require(request.user, Permission.READ_RECORDS)
        return not_known("Patient", logical_id)
    opened = open_for(request, person, action="export", resource_type="Patient", resource_id=logical_id)
    rows = list(
        rm.StoredResource.objects.filter(person=person)
        .order_by("pk")
        .values_list("resource_type", "logical_id", "body")
    )
    if opened.view.withheld():
        parts = {(t, i): consent.part_of_resource(t, orjson.loads(b)) for t, i, b in rows}
        left_out = {part for part in parts.values() if not opened.view.shows(part)}
        rows = [row for row in rows if opened.view.shows(parts[(row[0], row[1])])]
        if left_out:
            opened.withhold(sorted(left_out), purpose=purpose(request), channel="api")
    extra = rm.StoredResource.objects.filter(pk__in=_referenced(person, opened.view)).values_list(
        "resource_type", "logical_id", "body"
    )
    entries = [(request.build_absolute_uri(f"/fhir/{t}/{i}"), b) for t, i, b in [*rows, *extra]]
    return fhir_response(
        searchset_bytes(len(entries), [{"relation": "self", "url": request.build_absolute_uri()}], entries)
    )


def _referenced(person: rm.Person, view: consent.RecordView) -> set[int]:
    """The organisations and practitioners the record points at, so the bundle stands on its own
    (only the registered practice when the contacts with services are not shown: a mental health
    trust in the bundle would say what the withheld part held)."""
    if not view.shows("summary") or not view.shows("mental-health") or not view.shows("medicines"):
        practice = person.registered_practice.resource_id if person.registered_practice else None
        return {practice} if practice is not None else set()
    ids: set[int | None] = set(
        rm.Encounter.objects.filter(person=person).values_list("organisation__resource_id", flat=True)
    )
    ids |= set(
        rm.Referral.objects.filter(person=person).values_list("to_organisation__resource_id", flat=True)
    )
    ids |= set(
        rm.Referral.objects.filter(person=person).values_list("from_organisation__resource_id", flat=True)
    )
    ids.add(person.registered_practice.resource_id if person.registered_practice else None)
    ids |= set(rm.Encounter.objects.filter(person=person).values_list("practitioner__resource_id", flat=True))
    ids |= set(rm.Medication.objects.filter(person=person).values_list("prescriber__resource_id", flat=True))
    return {i for i in ids if i is not None}

"""FHIR R4 REST API under /fhir: capability statement, read, search, create/update, transaction/batch,
Patient/$everything, AuditEvent. Bearer tokens only; every read of a person's data is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import orjson
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from careweave.fhir.importer import MODELLED, ApiWriter, Entry, Importer, Verdict
from careweave.fhir.outcome import Issue, Refused, operation_outcome
from careweave.governance import access
from careweave.governance.audit import record_access, record_views
from careweave.governance.models import CLINICAL_ROLES, ApiToken, AuditEntry, BreakGlass, Role
from careweave.record import models as rm

FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT, MAX_COUNT = 50, 500
MAX_OFFSET = 10_000_000  # deep paging past this is a bulk export, not a search
NON_PERSON_TYPES = frozenset({"Organization", "Practitioner", "PractitionerRole", "Medication", "Location"})
SEARCHABLE = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "Encounter",
    "Appointment",
    "ServiceRequest",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "RelatedPerson",
)


def fhir_response(
    body: dict[str, Any] | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def outcome(status: int, code: str, message: str, expression: str | None = None) -> HttpResponse:
    return fhir_response(operation_outcome([Issue("error", code, message, expression=expression)]), status)


def refused_response(refused: Refused) -> HttpResponse:
    status = refused.http_status
    if status == 400 and any(
        i.code in ("required", "value", "code-invalid", "not-found", "invalid") for i in refused.issues
    ):
        status = 422 if all(i.code != "structure" for i in refused.issues) else 400
    return fhir_response(operation_outcome(refused.issues), status)


def api_view(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bearer-token authentication and OperationOutcome for every failure."""

    @csrf_exempt
    @wraps(handler)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            response = outcome(401, "login", "a bearer token is required (Authorization: Bearer <token>)")
            response["WWW-Authenticate"] = 'Bearer realm="careweave"'
            return response
        user = ApiToken.user_for(header.removeprefix("Bearer ").strip())
        if user is None:
            response = outcome(401, "login", "the bearer token is not valid or has been revoked")
            response["WWW-Authenticate"] = 'Bearer realm="careweave", error="invalid_token"'
            return response
        request.user = user
        try:
            return handler(request, *args, **kwargs)
        except Refused as refused:
            return refused_response(refused)
        except orjson.JSONDecodeError as error:
            return outcome(400, "structure", f"the request body is not valid JSON: {error}")

    return wrapper


def _purpose(request: HttpRequest) -> str:
    return request.headers.get("X-Request-Purpose", "direct-care")[:64]


def _break_glass(request: HttpRequest, person: rm.Person) -> None:
    reason = request.headers.get("X-Break-Glass-Reason")
    if reason:
        try:
            access.open_break_glass(user=request.user, person=person, reason=reason, channel="api")
        except (ValueError, PermissionError) as error:
            raise Refused([Issue("error", "forbidden", str(error))], 403) from None


def not_known(kind: str, logical_id: str) -> HttpResponse:
    """The one answer for "no such id" and "not yours to see", so ids cannot be probed (as HAPI and
    Medplum do). It says how to open emergency access without saying whether the record exists."""
    return outcome(
        404,
        "not-found",
        f"{kind}/{logical_id} is not known, or is not in your organisation's or care team's care "
        "(send X-Break-Glass-Reason to open emergency access)",
    )


def _refuse_role(request: HttpRequest) -> HttpResponse | None:
    """Roles that never read a person's record are refused whatever the id, so the refusal reveals nothing."""
    role = access.role_of(request.user)
    if role == Role.ANALYST or role is None:
        return outcome(403, "forbidden", "analysts see aggregate figures only")
    return None


def _check_person(
    request: HttpRequest, person: rm.Person | None, kind: str = "Patient", logical_id: str = ""
) -> bool | HttpResponse:
    """None (a resource about nobody) is readable by any staff role except analysts."""
    refused = _refuse_role(request)
    if refused is not None:
        return refused
    if person is None:
        return False
    _break_glass(request, person)
    decision = access.decide(request.user, person)
    if not decision.allowed:
        record_access(
            actor=request.user,
            action="read",
            resource_type="Patient",
            resource_id=person.resource.logical_id,
            person_id=person.pk,
            purpose=_purpose(request),
            outcome="denied",
            channel="api",
        )
        if access.role_of(request.user) in CLINICAL_ROLES:
            return not_known(kind, logical_id or person.resource.logical_id)
        return outcome(403, "forbidden", decision.reason)
    return decision.break_glass


# -- capability statement ------------------------------------------------------------------------
def metadata(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/fhir")
    resources = []
    for kind in (*SEARCHABLE, "AuditEvent"):
        params = [{"name": p, "type": t} for p, t in SEARCH_PARAMS.get(kind, {}).items()]
        interactions = [{"code": "read"}, {"code": "search-type"}]
        if kind != "AuditEvent":
            interactions += [{"code": "create"}, {"code": "update"}]
        entry: dict[str, Any] = {
            "type": kind,
            "interaction": interactions,
            "searchParam": params,
            "conditionalCreate": kind != "AuditEvent",
        }
        if kind == "Patient":
            entry["operation"] = [
                {
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                }
            ]
        resources.append(entry)
    # CareWeave's own care plans, goals and care teams (careweave.care.api): read-only
    for kind in ("CarePlan", "Goal", "CareTeam"):
        care: dict[str, Any] = {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}]
            + ([{"code": "vread"}] if kind == "CarePlan" else []),
            "versioning": "versioned" if kind == "CarePlan" else "no-version",
            "searchParam": [
                {"name": "patient", "type": "reference"},
                {"name": "subject", "type": "reference"},
            ],
        }
        if kind == "CarePlan":
            care["searchInclude"] = ["CarePlan:goal", "CarePlan:care-team"]
        resources.append(care)
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.today().isoformat(),
        "kind": "instance",
        "software": {"name": "CareWeave", "version": "0.1.0"},
        "implementation": {"description": "CareWeave shared care record", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Bearer token",
                        }
                    ],
                    "description": "Bearer token per user or API client; every read of a person's data is audited.",
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }
    return fhir_response(statement)


# -- search --------------------------------------------------------------------------------------
def _date_range(value: str, name: str | None = None) -> tuple[str, date, date]:
    prefix = value[:2] if value[:2] in ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap") else "eq"
    raw = value[2:] if value[:2] == prefix else value
    raw = raw[:10]
    try:
        if len(raw) == 4:
            start, end = date(int(raw), 1, 1), date(int(raw), 12, 31)
        elif len(raw) == 7:
            start = date(int(raw[:4]), int(raw[5:7]), 1)
            end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            start = end = date.fromisoformat(raw)
    except (ValueError, OverflowError):  # OverflowError: the end of 9999-12 is past date.max
        # "processing", as HAPI answers: a search that cannot be run is a 400, not a 422 about content
        raise Refused(
            [
                Issue(
                    "error",
                    "processing",
                    f"'{value}' is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD with an optional prefix)",
                    expression=name,
                )
            ]
        ) from None
    return prefix, start, end


def _date_filter(field: str, value: str, is_datetime: bool, name: str | None = None) -> Q:
    prefix, start, end = _date_range(value, name)
    f = f"{field}__date" if is_datetime else field
    return {
        "eq": Q(**{f"{f}__gte": start, f"{f}__lte": end}),
        "ap": Q(**{f"{f}__gte": start, f"{f}__lte": end}),
        "ne": ~Q(**{f"{f}__gte": start, f"{f}__lte": end}),
        "lt": Q(**{f"{f}__lt": start}),
        "eb": Q(**{f"{f}__lt": start}),
        "gt": Q(**{f"{f}__gt": end}),
        "sa": Q(**{f"{f}__gt": end}),
        "le": Q(**{f"{f}__lte": end}),
        "ge": Q(**{f"{f}__gte": start}),
    }[prefix]


def _token(system_field: str, code_field: str, value: str) -> Q:
    query = Q()
    for alternative in value.split(","):
        system, sep, code = alternative.rpartition("|")
        part = Q(**{code_field: code if sep else alternative})
        if sep and system:
            part &= Q(**{system_field: system})
        query |= part
    return query


SEARCH_PARAMS: dict[str, dict[str, str]] = {
    "Patient": {
        "_id": "token",
        "identifier": "token",
        "name": "string",
        "family": "string",
        "given": "string",
        "birthdate": "date",
        "gender": "token",
    },
    "Condition": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "clinical-status": "token",
        "onset-date": "date",
    },
    "Observation": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "date": "date",
        "status": "token",
        "category": "token",
    },
    "MedicationRequest": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "status": "token",
        "authoredon": "date",
    },
    "MedicationStatement": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "code": "token",
        "status": "token",
        "effective": "date",
    },
    "Encounter": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "date": "date",
        "status": "token",
        "class": "token",
    },
    "Appointment": {
        "_id": "token",
        "patient": "reference",
        "actor": "reference",
        "date": "date",
        "status": "token",
    },
    "ServiceRequest": {
        "_id": "token",
        "patient": "reference",
        "subject": "reference",
        "status": "token",
        "authored": "date",
    },
    "Organization": {"_id": "token", "identifier": "token", "name": "string"},
    "Practitioner": {"_id": "token", "identifier": "token", "name": "string"},
    "PractitionerRole": {"_id": "token", "practitioner": "reference", "organization": "reference"},
    "RelatedPerson": {"_id": "token", "patient": "reference"},
    "AuditEvent": {"patient": "reference", "date": "date", "agent": "reference"},
}
CONTROL_PARAMS = frozenset({"_count", "_offset", "_format", "_summary", "_elements", "_total", "_pretty"})
ITEM_MODEL: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "Condition": (rm.Condition, {}),
    "Observation": (rm.Observation, {"component_of": ""}),
    "MedicationRequest": (rm.Medication, {"kind": "MedicationRequest"}),
    "MedicationStatement": (rm.Medication, {"kind": "MedicationStatement"}),
    "Encounter": (rm.Encounter, {}),
    "Appointment": (rm.Appointment, {}),
    "ServiceRequest": (rm.Referral, {}),
    "RelatedPerson": (rm.RelatedPerson, {}),
}
ITEM_DATE = {
    "Condition": ("onset", False),
    "Observation": ("effective", True),
    "MedicationRequest": ("authored_on", False),
    "MedicationStatement": ("authored_on", False),
    "Encounter": ("start", True),
    "Appointment": ("start", True),
    "ServiceRequest": ("authored_on", False),
}


def _ref_value(value: str, kind: str = "Patient") -> str:
    return value.rsplit("/", 1)[-1] if "/" in value else value


def search_queryset(kind: str, params: list[tuple[str, str]]) -> QuerySet[rm.StoredResource]:
    allowed = SEARCH_PARAMS.get(kind, {})
    qs = rm.StoredResource.objects.filter(resource_type=kind)
    item_filter = Q()
    model, fixed = ITEM_MODEL.get(kind, (None, {}))
    for name, value in params:
        base_name, _, modifier = name.partition(":")
        if name in CONTROL_PARAMS or base_name in CONTROL_PARAMS:
            continue
        if base_name not in allowed:
            raise Refused(
                [
                    Issue(
                        "error",
                        "not-supported",
                        f"search parameter '{name}' is not supported for {kind} (supported: {', '.join(sorted(allowed))})",
                    )
                ]
            )
        if base_name == "_id":
            qs = qs.filter(logical_id__in=value.split(","))
        elif base_name == "identifier":
            system, sep, code = value.rpartition("|")
            idents = rm.ResourceIdentifier.objects.filter(resource_type=kind, value=code if sep else value)
            if sep and system:
                idents = idents.filter(system=system)
            qs = qs.filter(pk__in=idents.values("resource_id"))
        elif base_name in ("patient", "subject") or (kind == "Appointment" and base_name == "actor"):
            qs = qs.filter(person__resource__logical_id=_ref_value(value))
            # narrow the item rows to the person too, or a common code scans everyone's rows
            item_filter &= Q(person__resource__logical_id=_ref_value(value))
        elif kind == "Patient":
            if base_name in ("name", "family", "given"):
                fields = {
                    "name": ("given_name", "family_name"),
                    "family": ("family_name",),
                    "given": ("given_name",),
                }[base_name]
                lookup = (
                    "iexact"
                    if modifier == "exact"
                    else "icontains"
                    if modifier == "contains"
                    else "istartswith"
                )
                q = Q()
                for field in fields:
                    q |= Q(**{f"person_record__{field}__{lookup}": value})
                qs = qs.filter(q)
            elif base_name == "birthdate":
                qs = qs.filter(_date_filter("person_record__birth_date", value, False, name))
            elif base_name == "gender":
                qs = qs.filter(person_record__sex=value)
        elif kind in ("Organization", "Practitioner") and base_name == "name":
            rel = "organisation__name" if kind == "Organization" else "practitioner__name"
            qs = qs.filter(**{f"{rel}__icontains": value})
        elif kind == "PractitionerRole":
            rel = (
                "practitioner_role__practitioner__resource__logical_id"
                if base_name == "practitioner"
                else "practitioner_role__organisation__resource__logical_id"
            )
            qs = qs.filter(**{rel: _ref_value(value)})
        elif model is not None:
            if base_name == "code":
                item_filter &= _token("system", "code", value)
            elif base_name in ("status", "clinical-status"):
                item_filter &= Q(**{"clinical_status" if base_name == "clinical-status" else "status": value})
            elif base_name == "class":
                item_filter &= Q(class_code=value)
            elif base_name == "category":
                item_filter &= Q(category=value)
            elif allowed.get(base_name) == "date":
                field, is_dt = ITEM_DATE[kind]
                item_filter &= _date_filter(field, value, is_dt, name)
    if model is not None and item_filter:
        qs = qs.filter(pk__in=model.objects.filter(item_filter, **fixed).values("resource_id"))
    return qs


def _scope(request: HttpRequest, kind: str, qs: QuerySet[rm.StoredResource]) -> QuerySet[rm.StoredResource]:
    """Limit a search to what the user may see."""
    role = access.role_of(request.user)
    if role == Role.INTEGRATOR:
        return qs
    if role in (Role.ANALYST, Role.ADMINISTRATOR, None):
        if kind in NON_PERSON_TYPES and role != Role.ANALYST:
            return qs
        raise Refused(
            [
                Issue(
                    "error",
                    "forbidden",
                    "this role cannot search people's records (analysts see aggregates only)",
                )
            ],
            403,
        )
    if kind in NON_PERSON_TYPES:
        return qs
    return qs.filter(access.in_care(request.user, "person_id"))


def _paging(request: HttpRequest) -> tuple[int, int]:
    """_count (capped at MAX_COUNT) and _offset, refused unless whole numbers in range: a negative
    slice or an offset past PostgreSQL's bigint is a server error, not an empty page."""
    values = {"_count": DEFAULT_COUNT, "_offset": 0}
    for name in values:
        raw = request.GET.get(name)
        if raw is None:
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            limit = f"0 to {MAX_COUNT}" if name == "_count" else f"0 to {MAX_OFFSET}"
            raise Refused(
                [Issue("error", "processing", f"{name} must be a whole number from {limit}", expression=name)]
            )
        values[name] = int(raw)
    if values["_offset"] > MAX_OFFSET:
        raise Refused(
            [Issue("error", "processing", f"_offset must be at most {MAX_OFFSET}", expression="_offset")]
        )
    return min(values["_count"], MAX_COUNT), values["_offset"]


def _bundle(
    request: HttpRequest, kind: str, qs: QuerySet[rm.StoredResource], params: list[tuple[str, str]]
) -> HttpResponse:
    count, offset = _paging(request)
    total = qs.count()
    rows = list(
        qs.order_by("pk").values_list("body", "person_id", "logical_id", "resource_type")[
            offset : offset + count
        ]
        if count > 0
        else []
    )
    base = request.build_absolute_uri(f"/fhir/{kind}")
    kept = [(k, v) for k, v in params if k not in ("_offset",)]

    def link(relation: str, off: int) -> dict[str, str]:
        return {
            "relation": relation,
            "url": f"{base}?{urlencode([*kept, ('_offset', str(off))]) if kept or off else ''}".rstrip("?"),
        }

    links = [link("self", offset)]
    if offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(offset - count, 0)))
    _audit_people(request, "search", kind, rows)
    return fhir_response(
        _searchset_bytes(
            total, links, [(request.build_absolute_uri(f"/fhir/{r[3]}/{r[2]}"), r[0]) for r in rows]
        )
    )


def _searchset_bytes(total: int | None, links: list[dict[str, str]], entries: list[tuple[str, str]]) -> bytes:
    """Assemble the Bundle from stored JSON text without parsing it again (fast $everything)."""
    head: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if total is not None:
        head["total"] = total
    parts = [orjson.dumps(head)[:-1], b',"entry":[']
    parts.append(
        b",".join(
            b'{"fullUrl":'
            + orjson.dumps(url)
            + b',"resource":'
            + body.encode()
            + b',"search":{"mode":"match"}}'
            for url, body in entries
        )
    )
    parts.append(b"]}")
    return b"".join(parts)


def _audit_people(request: HttpRequest, action: str, kind: str, rows: list[tuple[Any, ...]]) -> None:
    people = {r[1] for r in rows if r[1] is not None}
    if not people:
        return
    user = request.user
    assert isinstance(user, User), "api_view has signed in the token's user"
    glass = set(
        BreakGlass.objects.filter(user=user, person_id__in=people).values_list("person_id", flat=True)
    )
    record_views(
        actor=user,
        person_ids=people,
        action=action,
        resource_type=kind,
        purpose=_purpose(request),
        channel="api",
        break_glass_ids=glass,
    )


# -- read / create / update ----------------------------------------------------------------------
def api_writer(request: HttpRequest) -> ApiWriter:
    """The write policy of this caller, for the importer: every person a write touches is decided by
    governance, before and after identity matching (issue 8)."""
    user = request.user
    people: dict[int, rm.Person | None] = {}

    def allow(entry: Entry, person_pk: int | None) -> Verdict:
        if entry.resource_type in access.REFERENCE_DATA_TYPES:
            if access.may_write_reference_data(user):
                return Verdict(True)
            return Verdict(False, reason="shared reference data is written by integration clients and administrators")
        if person_pk is not None and person_pk not in people:
            people[person_pk] = rm.Person.objects.select_related("resource").filter(pk=person_pk).first()
        person = people.get(person_pk) if person_pk is not None else None
        decision = access.decide_write(user, person)
        if decision.allowed:
            return Verdict(True, break_glass=decision.break_glass)
        hide = person is not None and access.role_of(user) in CLINICAL_ROLES
        return Verdict(False, hide=hide, reason=decision.reason)

    writer = access.writer_for(user)
    return ApiWriter(organisation_id=None if writer.integrator else writer.organisation_id, allow=allow)


def _api_source(request: HttpRequest) -> str:
    """The caller's registered source: its own identity space, whatever `meta.source` says."""
    return f"urn:careweave:api:{request.user.get_username()}"


def _write(request: HttpRequest, kind: str, logical_id: str | None) -> HttpResponse:
    resource = orjson.loads(request.body or b"null")
    if not isinstance(resource, dict):
        return outcome(400, "structure", "the body must be a FHIR resource (a JSON object)")
    if kind in access.REFERENCE_DATA_TYPES:
        if not access.may_write_reference_data(request.user):
            return outcome(
                403, "forbidden", "shared reference data is written by integration clients and administrators"
            )
    elif not access.may_write_records(request.user):
        return outcome(403, "forbidden", "this role cannot write to the record")
    importer = Importer(source_system=_api_source(request), strict_references=True, api=api_writer(request))
    if logical_id is not None:
        resource.setdefault("id", logical_id)
        if resource.get("id") != logical_id:
            return outcome(
                400,
                "invalid",
                f"the resource id '{resource.get('id')}' does not match the URL id '{logical_id}'",
                "id",
            )
    entry = importer.import_resource(
        resource,
        method="PUT" if logical_id else "POST",
        url=f"{kind}/{logical_id}" if logical_id else kind,
        expected_type=kind,
    )
    stored = rm.StoredResource.objects.get(resource_type=kind, logical_id=entry.logical_id)
    record_access(
        actor=request.user,
        action="create" if entry.outcome == "created" else "update",
        resource_type=kind,
        resource_id=stored.logical_id,
        person_id=stored.person_id,
        purpose=_purpose(request),
        break_glass=entry.break_glass,
        channel="api",
    )
    status = 201 if entry.outcome == "created" else 200
    return fhir_response(
        stored.body.encode(),
        status,
        {
            "Location": request.build_absolute_uri(
                f"/fhir/{kind}/{stored.logical_id}/_history/{stored.version}"
            ),
            "ETag": f'W/"{stored.version}"',
        },
    )


@api_view
def type_endpoint(request: HttpRequest, kind: str) -> HttpResponse:
    if kind == "AuditEvent":
        if request.method != "GET":
            return read_only_audit(request)
        return audit_events(request)
    if kind not in SEARCHABLE and kind not in MODELLED:
        return outcome(404, "not-supported", f"resource type '{kind}' is not served here")
    if request.method == "POST":
        return _write(request, kind, None)
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on /fhir/{kind}")
    # the stubs allow a list for a key whose values were emptied with setlist(); a parsed query has none
    params = [(key, value) for key, value in request.GET.items() if isinstance(value, str)]
    qs = _scope(request, kind, search_queryset(kind, params))
    return _bundle(request, kind, qs, params)


@api_view
def instance_endpoint(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    return instance(request, kind, logical_id)


def instance(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    """Read or update one stored resource (the request already authenticated by `api_view`)."""
    if kind == "AuditEvent":
        return audit_event_read(request, logical_id) if request.method == "GET" else read_only_audit(request)
    if request.method == "PUT":
        return _write(request, kind, logical_id)
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on /fhir/{kind}/{{id}}")
    refused = _refuse_role(request)
    if refused is not None and kind not in NON_PERSON_TYPES:
        return refused
    stored = (
        rm.StoredResource.objects.filter(resource_type=kind, logical_id=logical_id)
        .select_related("person__resource")
        .first()
    )
    if stored is None:
        return not_known(kind, logical_id)
    person = stored.person
    if kind == "Patient" and person is None:
        person = rm.Person.objects.filter(resource=stored).first()
    checked = _check_person(request, person, kind, logical_id)
    if isinstance(checked, HttpResponse):
        return checked
    if person is not None:
        record_access(
            actor=request.user,
            action="read",
            resource_type=kind,
            resource_id=logical_id,
            person_id=person.pk,
            purpose=_purpose(request),
            break_glass=bool(checked),
            channel="api",
        )
    return fhir_response(stored.body.encode(), headers={"ETag": f'W/"{stored.version}"'})


@api_view
def everything(request: HttpRequest, logical_id: str) -> HttpResponse:
    person = (
        rm.Person.objects.filter(resource__resource_type="Patient", resource__logical_id=logical_id)
        .select_related("resource")
        .first()
    )
    refused = _refuse_role(request)
    if refused is not None:
        return refused
    if person is None:
        return not_known("Patient", logical_id)
    checked = _check_person(request, person, "Patient", logical_id)
    if isinstance(checked, HttpResponse):
        return checked
    rows = list(
        rm.StoredResource.objects.filter(person=person)
        .order_by("pk")
        .values_list("resource_type", "logical_id", "body")
    )
    # the organisations and practitioners the record points at, so the bundle stands on its own
    org_ids: set[int | None] = set(
        rm.Encounter.objects.filter(person=person).values_list("organisation__resource_id", flat=True)
    )
    org_ids |= set(
        rm.Referral.objects.filter(person=person).values_list("to_organisation__resource_id", flat=True)
    )
    org_ids |= set(
        rm.Referral.objects.filter(person=person).values_list("from_organisation__resource_id", flat=True)
    )
    org_ids.add(person.registered_practice.resource_id if person.registered_practice else None)
    prac_ids = set(
        rm.Encounter.objects.filter(person=person).values_list("practitioner__resource_id", flat=True)
    )
    prac_ids |= set(
        rm.Medication.objects.filter(person=person).values_list("prescriber__resource_id", flat=True)
    )
    extra = rm.StoredResource.objects.filter(
        pk__in={i for i in org_ids | prac_ids if i is not None}
    ).values_list("resource_type", "logical_id", "body")
    entries = [(request.build_absolute_uri(f"/fhir/{t}/{i}"), b) for t, i, b in [*rows, *extra]]
    record_access(
        actor=request.user,
        action="export",
        resource_type="Patient",
        resource_id=logical_id,
        person_id=person.pk,
        purpose=_purpose(request),
        break_glass=bool(checked),
        channel="api",
    )
    return fhir_response(
        _searchset_bytes(len(entries), [{"relation": "self", "url": request.build_absolute_uri()}], entries)
    )


@api_view
def root(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return outcome(405, "not-supported", "POST a transaction or batch Bundle to /fhir")
    if access.role_of(request.user) != Role.INTEGRATOR:
        return outcome(403, "forbidden", "only integration clients can post transaction or batch bundles")
    bundle = orjson.loads(request.body or b"null")
    if (
        not isinstance(bundle, dict)
        or bundle.get("resourceType") != "Bundle"
        or bundle.get("type") not in ("transaction", "batch")
    ):
        return outcome(
            400, "invalid", "POST /fhir takes a Bundle of type transaction or batch", "Bundle.type"
        )
    source = _api_source(request)
    if bundle["type"] == "transaction":
        importer = Importer(source_system=source, strict_references=True, api=api_writer(request))
        entries = importer.import_bundle(bundle)
        response_entries = [_response_entry(request, e) for e in entries]
        record_access(
            actor=request.user,
            action="import",
            resource_type="Bundle",
            purpose=_purpose(request),
            channel="api",
            reason=f"transaction of {len(entries)} entries",
        )
        return fhir_response(
            {"resourceType": "Bundle", "type": "transaction-response", "entry": response_entries}
        )
    # batch: each entry stands alone (FHIR R4 3.1.0.11.1); failures do not undo the others
    response_entries = []
    for i, raw in enumerate(bundle.get("entry") or []):
        single = {"resourceType": "Bundle", "type": "batch", "entry": [raw]}
        importer = Importer(source_system=source, strict_references=True, api=api_writer(request))
        try:
            with transaction.atomic():
                entries = importer.import_bundle(single)
            response_entries.append(_response_entry(request, entries[0]))
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
            response_entries.append(
                {"response": {"status": f"{status} {HTTPStatus(status).phrase}", "outcome": operation_outcome(issues)}}
            )
    record_access(
        actor=request.user,
        action="import",
        resource_type="Bundle",
        purpose=_purpose(request),
        channel="api",
        reason=f"batch of {len(response_entries)} entries",
    )
    return fhir_response({"resourceType": "Bundle", "type": "batch-response", "entry": response_entries})


def _response_entry(request: HttpRequest, entry: Any) -> dict[str, Any]:
    status = {
        "created": "201 Created",
        "updated": "200 OK",
        "unchanged": "200 OK",
        "deleted": "204 No Content",
        "skipped": "200 OK",
    }.get(entry.outcome, "200 OK")
    result: dict[str, Any] = {"response": {"status": status}}
    if entry.logical_id and entry.resource_type:
        stored = (
            rm.StoredResource.objects.filter(resource_type=entry.resource_type, logical_id=entry.logical_id)
            .values_list("version", flat=True)
            .first()
        )
        if stored is not None:
            result["fullUrl"] = request.build_absolute_uri(f"/fhir/{entry.resource_type}/{entry.logical_id}")
            result["response"]["location"] = f"{entry.resource_type}/{entry.logical_id}/_history/{stored}"
            result["response"]["etag"] = f'W/"{stored}"'
    return result


# -- audit ---------------------------------------------------------------------------------------
def read_only_audit(request: HttpRequest) -> HttpResponse:
    response = outcome(
        405, "not-supported", "AuditEvent is read-only: CareWeave writes its own audit and accepts none"
    )
    response["Allow"] = "GET"
    return response


def audit_event_read(request: HttpRequest, logical_id: str) -> HttpResponse:
    """One audit entry by id, for administrators, as the CapabilityStatement says."""
    if access.role_of(request.user) != Role.ADMINISTRATOR:
        return outcome(403, "forbidden", "only administrators can read the audit log")
    entry = (
        AuditEntry.objects.select_related("actor", "person__resource").filter(pk=int(logical_id)).first()
        if logical_id.isdigit() and len(logical_id) < 19
        else None
    )
    if entry is None:
        return outcome(404, "not-found", f"AuditEvent/{logical_id} is not known")
    return fhir_response(audit_event(entry))


def audit_events(request: HttpRequest) -> HttpResponse:
    if access.role_of(request.user) != Role.ADMINISTRATOR:
        return outcome(403, "forbidden", "only administrators can read the audit log")
    qs = AuditEntry.objects.select_related("actor", "person__resource").order_by("-recorded_at", "-pk")
    patient = request.GET.get("patient")
    if patient:
        qs = qs.filter(person_ref=_ref_value(patient))  # found also once the record is removed
    if request.GET.get("date"):
        qs = qs.filter(_date_filter("recorded_at", request.GET["date"], True, "date"))
    count, offset = _paging(request)
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
    return fhir_response(_searchset_bytes(total, links, entries))


_AUDIT_ACTION = {
    "read": "R",
    "search": "E",
    "export": "E",
    "create": "C",
    "update": "U",
    "import": "C",
    "break-glass": "E",
}


def audit_event(entry: AuditEntry) -> dict[str, Any]:
    purpose = {"direct-care": "TREAT", "emergency": "ETREAT"}.get(
        entry.purpose, entry.purpose.upper() or "TREAT"
    )
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(entry.pk),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": entry.action}],
        "action": _AUDIT_ACTION.get(entry.action, "E"),
        "recorded": entry.recorded_at.isoformat(),
        "outcome": "0" if entry.outcome == "success" else "4",
        "purposeOfEvent": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                        "code": "ETREAT" if entry.break_glass else purpose,
                    }
                ]
            }
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
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
            }
        ]
        if entry.resource_type and entry.resource_id:
            event["entity"].append({"what": {"reference": f"{entry.resource_type}/{entry.resource_id}"}})
    if entry.break_glass or entry.reason:
        event["entity"] = event.get("entity", []) + [
            {"description": ("break-glass: " if entry.break_glass else "") + entry.reason[:500]}
        ]
    return event

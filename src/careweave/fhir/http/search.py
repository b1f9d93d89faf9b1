"""Search: parameters compiled to queries from the resource registry, scoped to the caller's care,
each person in a page of results audited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse

from careweave.fhir import resource_types
from careweave.fhir.http.transport import CONTROL_PARAMS, fhir_response, paging, purpose, searchset_bytes
from careweave.fhir.imports.identity import identified
from careweave.fhir.outcome import Issue, Refused
from careweave.governance.access import in_care
from careweave.governance.audit import record_views
from careweave.governance.models import BreakGlass
from careweave.governance.permissions import Permission, require, sees_everyone
from careweave.record import models as rm

# every type searched at /fhir and its parameters with their FHIR types (the fuzz tests draw on it)
SEARCHABLE = resource_types.searchable()
SEARCH_PARAMS: dict[str, dict[str, str]] = {
    kind: {name: p.type for name, p in resource_types.REGISTRY[kind].search.items()}
    for kind in (*SEARCHABLE, "AuditEvent")
}


def date_range(value: str, name: str | None = None) -> tuple[str, date, date]:
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
        message = f"'{value}' is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD with an optional prefix)"
        raise Refused([Issue("error", "processing", message, expression=name)]) from None
    return prefix, start, end


def date_filter(field: str, value: str, is_datetime: bool, name: str | None = None) -> Q:
    prefix, start, end = date_range(value, name)
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


def ref_value(value: str) -> str:
    return value.rsplit("/", 1)[-1] if "/" in value else value


def _string(param: resource_types.SearchParam, modifier: str, value: str) -> Q:
    lookup = {"exact": "iexact", "contains": "icontains"}.get(modifier, param.lookup)
    query = Q()
    for column in param.columns:
        query |= Q(**{f"{column}__{lookup}": value})
    return query


def search_queryset(kind: str, params: list[tuple[str, str]]) -> QuerySet[rm.StoredResource]:
    registered = resource_types.get(kind)
    allowed = registered.search if registered is not None else {}
    qs = rm.StoredResource.objects.filter(resource_type=kind)
    rows = Q()  # on the type's record rows, semi-joined at the end
    for name, value in params:
        base_name, _, modifier = name.partition(":")
        if name in CONTROL_PARAMS or base_name in CONTROL_PARAMS:
            continue
        param = allowed.get(base_name)
        if param is None:
            supported = ", ".join(sorted(allowed))
            message = f"search parameter '{name}' is not supported for {kind} (supported: {supported})"
            raise Refused([Issue("error", "not-supported", message)])
        if base_name == "_id":
            qs = qs.filter(logical_id__in=value.split(","))
        elif base_name == "identifier":
            qs = qs.filter(pk__in=identified(kind, value))
        elif param.type == "reference" and not param.columns:
            # the person whose record it is; the rows narrowed too, or a common code scans everyone's
            qs = qs.filter(person__resource__logical_id=ref_value(value))
            rows &= Q(person__resource__logical_id=ref_value(value))
        elif param.type == "reference":
            rows &= Q(**{param.columns[0]: ref_value(value)})
        elif param.type == "string":
            rows &= _string(param, modifier, value)
        elif param.type == "date":
            rows &= date_filter(param.columns[0], value, param.is_datetime, name)
        elif param.system:
            rows &= _token(param.system, param.columns[0], value)
        else:
            rows &= Q(**{param.columns[0]: value})
    if registered is not None and registered.model is not None and rows:
        model = registered.model
        qs = qs.filter(pk__in=model.objects.filter(rows, **registered.fixed).values("resource_id"))
    return qs


def scope(request: HttpRequest, kind: str, qs: QuerySet[rm.StoredResource]) -> QuerySet[rm.StoredResource]:
    """Limit a search to what the user may see."""
    user = request.user
    if not resource_types.in_compartment(kind):
        require(user, Permission.READ_REFERENCE_DATA)
        return qs
    require(
        user,
        Permission.READ_RECORDS,
        "this role cannot search people's records (analysts see aggregates only)",
    )
    if sees_everyone(user):
        return qs
    return qs.filter(in_care(user, "person_id"))


def searchset(
    request: HttpRequest, kind: str, qs: QuerySet[rm.StoredResource], params: list[tuple[str, str]]
) -> HttpResponse:
    count, offset = paging(request)
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
    entries = [(request.build_absolute_uri(f"/fhir/{r[3]}/{r[2]}"), r[0]) for r in rows]
    return fhir_response(searchset_bytes(total, links, entries))


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
        purpose=purpose(request),
        channel="api",
        break_glass_ids=glass,
    )

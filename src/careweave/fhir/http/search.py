"""Search: parameters compiled to queries from the resource registry, scoped to the caller's care,
each person in a page of results audited."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import orjson
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from fhir.resources.R4B import get_fhir_model_class

from careweave.fhir import resource_types
from careweave.fhir.http.includes import included
from careweave.fhir.http.transport import (
    CONTROL_PARAMS,
    fhir_response,
    not_known,
    open_for,
    outcome,
    paging,
    purpose,
    searchset_bytes,
)
from careweave.fhir.imports.identity import identified
from careweave.fhir.outcome import Issue, Refused
from careweave.governance import consent
from careweave.governance.access import AccessRefused, in_care
from careweave.governance.audit import record_access, record_views
from careweave.governance.models import BreakGlass, SharingChoice
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
        if base_name == "_lastUpdated":
            qs = qs.filter(date_filter("last_updated", value, True, name))
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


def shared_scope(
    request: HttpRequest, kind: str, qs: QuerySet[rm.StoredResource]
) -> QuerySet[rm.StoredResource]:
    """Limit a search to the parts of each person's record this user sees: their role's and sector's
    scope and the person's sharing choices, each row's part by its type and code (ADR 0021)."""
    user = request.user
    if sees_everyone(user) or not resource_types.in_compartment(kind):
        return qs
    registered = resource_types.get(kind)
    model = registered.model if registered is not None else None
    if model is None or kind == "Patient":
        part = consent.rules().part_of_type(kind)
        return qs.filter(consent.person_shows(user, part))
    columns = {f.name for f in model._meta.get_fields()}
    code = next((c for c in ("code", "reason_code", "type_code") if c in columns), None)
    shown = model.objects.filter(consent.rows_shown(user, kind, code), **registered.fixed)  # type: ignore[union-attr]
    return qs.filter(pk__in=shown.values("resource_id"))


def patient_scope(request: HttpRequest, kind: str, params: list[tuple[str, str]]) -> HttpResponse | None:
    """A search about one person (`patient=`, `subject=`) by someone who does not see everyone is
    answered as a read of that person would be: refused (403, or 404 as for an unknown id where the
    read hides that the person exists), never an empty Bundle that looks like "none"."""
    user = request.user
    registered = resource_types.get(kind)
    if registered is None or not registered.compartment or sees_everyone(user):
        return None
    for name, value in params:
        param = registered.search.get(name.partition(":")[0])
        if param is None or param.type != "reference" or param.columns:
            continue
        logical_id = ref_value(value)
        person = rm.Person.objects.filter(
            resource__resource_type="Patient", resource__logical_id=logical_id
        ).first()
        if person is None:
            require(user, Permission.READ_RECORDS)
            return not_known("Patient", logical_id)
        try:
            open_for(request, person, action="search", resource_type=kind, audit=False)
        except AccessRefused as refused:
            if refused.hide:
                return not_known("Patient", logical_id)
            return outcome(403, "forbidden", refused.reason)
    return None


def _order(qs: QuerySet[rm.StoredResource], request: HttpRequest) -> QuerySet[rm.StoredResource]:
    """`_sort` by `_lastUpdated` or `_id` (either descending with `-`); the id breaks ties."""
    raw = request.GET.get("_sort")
    if not raw:
        return qs.order_by("pk")
    keys = []
    for part in raw.split(","):
        name = part.strip()
        column = {"_lastUpdated": "last_updated", "_id": "logical_id"}.get(name.removeprefix("-"))
        if column is None:
            message = (
                f"_sort by '{name}' is not supported (supported: _lastUpdated, _id, and - for descending)"
            )
            raise Refused([Issue("error", "not-supported", message, expression="_sort")])
        keys.append(f"-{column}" if name.startswith("-") else column)
    return qs.order_by(*keys, "pk")


SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}


def _elements(body: str, wanted: set[str]) -> str:
    """Only the elements asked for (and the mandatory ones), marked SUBSETTED as FHIR R4 requires."""
    resource = orjson.loads(body)
    kept = {k: v for k, v in resource.items() if k.removeprefix("_") in wanted or k in ("resourceType", "id")}
    meta = dict(resource.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    kept["meta"] = meta
    return orjson.dumps(kept).decode()


@lru_cache(maxsize=64)
def _summary_elements(kind: str, summary: str) -> frozenset[str] | None:
    """The top-level elements `_summary` keeps for a type (FHIR R4: `true` the elements marked as
    summary, `text` text and the mandatory ones, `data` all but text); None keeps everything."""
    if summary == "false":
        return None
    try:
        fields = get_fhir_model_class(kind).model_fields.values()
    except (KeyError, ValueError):
        return None
    names = {f.alias or "" for f in fields if isinstance(f.json_schema_extra, dict)}
    if summary == "data":
        return frozenset(names - {"text"})
    if summary == "text":
        required = {f.alias or "" for f in fields if f.is_required()}
        return frozenset({"text", "meta", *required})
    return frozenset(
        f.alias or ""
        for f in fields
        if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("summary_element_property")
    )


def _subset(request: HttpRequest, kind: str) -> frozenset[str] | None:
    """The elements `_elements` or `_summary` keep, or None for whole resources."""
    summary = request.GET.get("_summary")
    if summary is not None and summary not in ("true", "text", "data", "count", "false"):
        message = f"_summary '{summary}' is not one of true, text, data, count, false"
        raise Refused([Issue("error", "processing", message, expression="_summary")])
    wanted = frozenset(e.strip() for e in request.GET.get("_elements", "").split(",") if e.strip())
    if wanted:
        return wanted
    return _summary_elements(kind, summary) if summary not in (None, "count") else None


def searchset(
    request: HttpRequest,
    kind: str,
    qs: QuerySet[rm.StoredResource],
    params: list[tuple[str, str]],
    *,
    unscoped: QuerySet[rm.StoredResource] | None = None,
    in_care: QuerySet[rm.StoredResource] | None = None,
) -> HttpResponse:
    """A page of results. With `unscoped` (the search before `scope`), a search that left out
    resources about people outside the caller's care says so in an OperationOutcome warning."""
    count, offset = paging(request)
    subset = _subset(request, kind)
    total = qs.count()
    if request.GET.get("_summary") == "count":
        count = 0
    rows = list(
        _order(qs, request).values_list("body", "person_id", "logical_id", "resource_type", "pk")[
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
    if count > 0 and offset + count < total:
        links.append(link("next", offset + count))
    if offset > 0 and count > 0:
        links.append(link("previous", max(offset - count, 0)))
    rows = _shown(request, kind, rows)
    _audit_people(request, "search", kind, rows)
    cared = in_care.count() if in_care is not None and in_care is not qs else total
    if cared > total:
        # left out of the results because of the parts shared, not because of whose care: audited,
        # and said to nobody (a warning would tell a link worker that there is something to see)
        record_access(
            actor=request.user,
            action="withheld",
            resource_type=kind,
            purpose=purpose(request),
            reason=f"search results left out: {cared - total} in parts of records not shared with this user",
            outcome="denied",
            channel="api",
        )
    entries = [
        (
            request.build_absolute_uri(f"/fhir/{r[3]}/{r[2]}"),
            _elements(r[0], set(subset)) if subset is not None else r[0],
        )
        for r in rows
    ]
    extra, left_out = included(request, kind, rows, scope)
    by_type: dict[str, list[Any]] = {}
    for row in extra:
        by_type.setdefault(row[3], []).append(row)
    extra = []
    for extra_kind, extra_rows in by_type.items():
        # an included resource in a part of the record this user does not see is left out silently,
        # as a search result is (ADR 0021): a warning would say there is something to see
        shown = _shown(request, extra_kind, list(extra_rows))
        _audit_people(request, "search", extra_kind, shown)
        extra.extend(shown)
    issues = []
    if unscoped is not None and unscoped is not qs and unscoped.count() > cared:
        message = (
            "some results were left out: they are about people outside your organisation's or care "
            "team's care"
        )
        issues.append({"severity": "warning", "code": "suppressed", "diagnostics": message})
    if left_out:
        message = f"{left_out} included resources were left out: you may not see them"
        issues.append({"severity": "warning", "code": "suppressed", "diagnostics": message})
    warning = {"resourceType": "OperationOutcome", "issue": issues} if issues else None
    extra_entries = [(request.build_absolute_uri(f"/fhir/{r[3]}/{r[2]}"), r[0]) for r in extra]
    return fhir_response(
        searchset_bytes(total, links, entries, outcome_resource=warning, included=extra_entries)
    )


def _shown(request: HttpRequest, kind: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each row checked again by what its stored resource says (a sensitive code anywhere in it), with
    the people's choices for the user's kind of organisation: a row the query let through is never
    shown outside the part it belongs to."""
    user = request.user
    if sees_everyone(user) or not rows or not resource_types.in_compartment(kind):
        return rows
    parts, org_kind, _ = consent.default_parts(user)
    people = {r[1] for r in rows if r[1] is not None}
    choices = {
        (person, part): shared
        for person, part, shared in SharingChoice.objects.filter(
            person_id__in=people, organisation_kind=org_kind or ""
        ).values_list("person_id", "part", "shared")
    }
    kept = []
    for row in rows:
        part = consent.part_of_resource(row[3], orjson.loads(row[0]))
        if choices.get((row[1], part), part in parts):
            kept.append(row)
    return kept


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

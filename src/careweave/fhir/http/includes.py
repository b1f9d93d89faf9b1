"""`_include` and `_revinclude` on a search: the resources a page of matches refers to, and those that
refer to it, each through the same scoping as a search of its own type (so a resource about a person
outside the caller's care is left out, never leaked) and audited as a search of that type.

Supported: every reference search parameter of the registry, e.g. `Observation?patient=X&
_include=Observation:patient`, `Patient?_revinclude=Condition:patient`, `PractitionerRole?
_include=PractitionerRole:organization`, with an optional target type (`Encounter:subject:Patient`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import orjson
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from careweave.fhir import resource_types
from careweave.fhir.outcome import Issue, Refused
from careweave.governance.access import AccessRefused
from careweave.record import models as rm

MAX_INCLUDED = 1000  # included resources in one page of results, at most

# the elements a reference search parameter searches, where its name is not the element's
_ELEMENTS: dict[str, tuple[str, ...]] = {
    "patient": ("patient", "subject"),
    "actor": ("participant",),
    "based-on": ("basedOn",),
    "general-practitioner": ("generalPractitioner",),
    "service-provider": ("serviceProvider",),
}

Row = tuple[str, int | None, str, str, int]  # body, person_id, logical_id, resource_type, pk
# limits a search of a type to what the caller may see (`careweave.fhir.http.search.scope`)
Scope = Callable[[HttpRequest, str, QuerySet[rm.StoredResource]], QuerySet[rm.StoredResource]]


def _split(value: str, name: str) -> tuple[str, str, str | None]:
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        message = f"{name} '{value}' is not SourceType:parameter or SourceType:parameter:TargetType"
        raise Refused([Issue("error", "processing", message, expression=name)])
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def _reference_param(kind: str, param: str, name: str, value: str) -> resource_types.SearchParam:
    registered = resource_types.get(kind)
    found = registered.search.get(param) if registered is not None else None
    if found is None or found.type != "reference":
        supported = sorted(
            n for n, p in (registered.search if registered else {}).items() if p.type == "reference"
        )
        message = f"{name} '{value}': {kind} has no reference search parameter '{param}' (supported: {', '.join(supported) or 'none'})"
        raise Refused([Issue("error", "not-supported", message, expression=name)])
    return found


def _references(body: dict[str, Any], elements: tuple[str, ...]) -> Iterator[str]:
    stack: list[Any] = [body.get(e) for e in elements]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str):
                yield ref.split("/_history/")[0]
            stack.extend(v for k, v in item.items() if k != "reference")
        elif isinstance(item, list):
            stack.extend(item)


def _include_query(kind: str, rows: Sequence[Row], value: str) -> tuple[str | None, Q | None]:
    source, param, target = _split(value, "_include")
    if source != kind:
        message = f"_include '{value}' names {source}, but this is a search of {kind}"
        raise Refused([Issue("error", "processing", message, expression="_include")])
    _reference_param(kind, param, "_include", value)
    elements = _ELEMENTS.get(param, (param,))
    wanted: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        for ref in _references(orjson.loads(row[0]), elements):
            rtype, _, rid = ref.rpartition("/")
            rtype = rtype.rsplit("/", 1)[-1]
            if rtype and rid and (target is None or rtype == target):
                wanted[rtype].add(rid)
    if not wanted:
        return None, None
    query = Q()
    for rtype, ids in wanted.items():
        query |= Q(resource_type=rtype, logical_id__in=sorted(ids))
    return None, query


def _revinclude_query(kind: str, rows: Sequence[Row], value: str) -> tuple[str, Q | None]:
    source, param, target = _split(value, "_revinclude")
    if target is not None and target != kind:
        return source, None
    found = _reference_param(source, param, "_revinclude", value)
    registered = resource_types.get(source)
    assert registered is not None  # _reference_param found its parameter
    if not found.columns:  # the person whose record it is: only a Patient is referred to this way
        if kind != "Patient":
            return source, None
        people = rm.Person.objects.filter(resource_id__in=[r[4] for r in rows]).values("pk")
        return source, Q(resource_type=source, person_id__in=people)
    if registered.model is None:
        return source, None
    referring = registered.model.objects.filter(
        **{f"{found.columns[0]}__in": [r[2] for r in rows]}, **registered.fixed
    ).values("resource_id")
    return source, Q(resource_type=source, pk__in=referring)


def included(request: HttpRequest, kind: str, rows: Sequence[Row], scope: Scope) -> tuple[list[Row], int]:
    """The resources `_include` and `_revinclude` add to a page, and how many were left out because the
    caller may not see them. Raises Refused for a parameter this server does not support."""
    queries: list[tuple[str | None, Q]] = []
    for name in ("_include", "_revinclude"):
        for value in request.GET.getlist(name):
            if value == "*" or value.endswith(":*"):
                message = f"{name}={value}: name the parameter (wildcards are not supported)"
                raise Refused([Issue("error", "not-supported", message, expression=name)])
            rtype, query = (_include_query if name == "_include" else _revinclude_query)(kind, rows, value)
            if query is not None:
                queries.append((rtype, query))
    if not queries:
        return [], 0
    seen = {r[4] for r in rows}
    candidates: dict[str, QuerySet[rm.StoredResource]] = {}
    for _, query in queries:
        qs = rm.StoredResource.objects.filter(query).exclude(pk__in=seen)
        for rtype in qs.values_list("resource_type", flat=True).distinct():
            previous = candidates.get(rtype)
            this = qs.filter(resource_type=rtype)
            candidates[rtype] = this if previous is None else previous | this
    found: list[Row] = []
    left_out = 0
    for rtype, qs in candidates.items():
        total = qs.count()
        try:
            visible = scope(request, rtype, qs)
        except AccessRefused:
            left_out += total
            continue
        page = list(
            visible.order_by("pk").values_list("body", "person_id", "logical_id", "resource_type", "pk")[
                : max(MAX_INCLUDED - len(found), 0)
            ]
        )
        left_out += total - visible.count()
        found.extend(page)
    return found, left_out

"""Read-only FHIR R4 exchange of care plans, goals and care teams, at the record's FHIR base /fhir
(and under /care/fhir, where they were first served).

Same rules as the record's API (`careweave.fhir.api`): bearer tokens, OperationOutcome for every
failure, the record opened through governance (404 outside the user's care, as for an unknown id;
X-Break-Glass-Reason opens emergency access), every read audited with its purpose
(X-Request-Purpose, default direct-care). At /fhir they are served as a provider registered in
`careweave.fhir.resource_types`; the functions below without a decorator are that provider.

  GET /fhir/CarePlan?patient=<id>[&_include=CarePlan:goal&_include=CarePlan:care-team]
  GET /fhir/Goal?patient=<id>               GET /fhir/CareTeam?patient=<id>
  GET /fhir/CarePlan/careplan-<n>           GET /fhir/CarePlan/careplan-<n>/_history/<version>
  GET /fhir/Goal/<id>                       GET /fhir/CareTeam/careteam-<n>

A search also returns the person's plans, goals and teams imported from other systems (kept as
sent in the record); a read of an id that is not CareWeave's own is the record's read.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.care import contacts, fhir_exchange, services
from careweave.care.models import CarePlan, Goal
from careweave.fhir.api import (
    CONTROL_PARAMS,
    api_view,
    fhir_response,
    open_for,
    outcome,
    purpose,
    record_instance,
)
from careweave.fhir.resource_types import Provider, register_provider
from careweave.governance import consent
from careweave.governance.access import AccessRefused, RecordAccess
from careweave.record import models as rm

SEARCH_PARAMS = {"patient", "subject", "_include"}
INCLUDES = {"CarePlan:goal", "CarePlan:care-team"}


def _audit(request: HttpRequest, opened: RecordAccess, action: str, kind: str, resource_id: str) -> None:
    """What was read, once its version is known, on the basis the record was opened on."""
    opened.audit(action=action, resource_type=kind, resource_id=resource_id, purpose=purpose(request), channel="api")


def _first_version_at(plan: CarePlan) -> Any:
    first = (
        CarePlan.objects.filter(person_id=plan.person_id)
        .order_by("version")
        .values_list("updated_at", flat=True)
    )
    return first.first()


def _entry(request: HttpRequest, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    url = request.build_absolute_uri(f"/fhir/{resource['resourceType']}/{resource['id']}")
    return {"fullUrl": url, "resource": resource, "search": {"mode": mode}}


def _imported(kind: str, person: rm.Person) -> list[dict[str, Any]]:
    """The person's resources of this kind sent by other systems (e.g. a hospital's care plan)."""
    bodies = rm.StoredResource.objects.filter(resource_type=kind, person=person).order_by("pk")
    return [orjson.loads(body) for body in bodies.values_list("body", flat=True)]


def search(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", f"/fhir/{kind} is read-only")
    for name in request.GET:
        if name not in SEARCH_PARAMS and name not in CONTROL_PARAMS:
            supported = ", ".join(sorted(SEARCH_PARAMS))
            return outcome(
                400, "not-supported", f"search parameter '{name}' is not supported (supported: {supported})"
            )
    includes = set(request.GET.getlist("_include"))
    if includes - INCLUDES or (includes and kind != "CarePlan"):
        return outcome(
            400, "not-supported", f"_include supports {', '.join(sorted(INCLUDES))} on CarePlan only"
        )
    reference = request.GET.get("patient") or request.GET.get("subject")
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
            # someone outside the caller's care: the same empty result as for an unknown id (the
            # refusal is audited), so a search cannot tell whether the person exists
        else:
            entries = _search_entries(request, kind, person, includes, opened)
            _audit(request, opened, "search", kind, "")
    matches = sum(1 for e in entries if e["search"]["mode"] == "match")
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": matches,
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": entries,
    }
    return fhir_response(bundle)


def _as_seen(resource: dict[str, Any], opened: RecordAccess) -> dict[str, Any]:
    """A plan as this user may see it: only the actions they own for a role that sees no others
    (social and link workers, ADR 0021)."""
    if not opened.view.own_care_plan_actions_only or "activity" not in resource:
        return resource
    mine = opened.user.get_username()
    owned = [
        a
        for a in resource["activity"]
        if any(p.get("identifier", {}).get("value") == mine for p in a.get("detail", {}).get("performer", []))
    ]
    return {**resource, "activity": owned} if owned else {k: v for k, v in resource.items() if k != "activity"}


def _search_entries(
    request: HttpRequest, kind: str, person: rm.Person, includes: set[str], opened: RecordAccess
) -> list[dict[str, Any]]:
    plan = services.current_care_plan(person)
    members, others = services.care_team(person), contacts.contacts(person)
    team = [fhir_exchange.care_team_resource(person, members, others)] if members or others else []
    goals = [fhir_exchange.goal_resource(g, person) for g in plan.goals.all()] if plan else []
    imported = [
        _entry(request, r, "match")
        for r in _imported(kind, person)
        if opened.view.shows(consent.part_of_resource(kind, r))  # another system's plan naming a diagnosis
    ]
    if kind == "Goal":
        return [_entry(request, g, "match") for g in goals] + imported
    if kind == "CareTeam":
        return [_entry(request, t, "match") for t in team] + imported
    if plan is None:
        return imported
    entries = [_entry(request, _as_seen(fhir_exchange.care_plan_resource(plan, _first_version_at(plan)), opened), "match")]
    entries += imported
    if "CarePlan:goal" in includes:
        entries += [_entry(request, g, "include") for g in goals]
    if "CarePlan:care-team" in includes:
        entries += [_entry(request, t, "include") for t in team]
    return entries


def read_care_plan(request: HttpRequest, logical_id: str, version: str | None = None) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "/care/fhir/CarePlan is read-only")
    person = _person_of(logical_id, "careplan-")
    if person is None:
        return outcome(404, "not-found", f"CarePlan/{logical_id} is not known")
    opened = open_for(
        request, person, action="read", resource_type="CarePlan", resource_id=logical_id, audit=False
    )
    plan = services.care_plan_version(person, int(version)) if version else services.current_care_plan(person)
    if plan is None:
        return outcome(
            404,
            "not-found",
            f"CarePlan/{logical_id}" + (f" version {version}" if version else "") + " is not known",
        )
    _audit(request, opened, "read", "CarePlan", f"{logical_id}/_history/{plan.version}")
    resource = _as_seen(fhir_exchange.care_plan_resource(plan, _first_version_at(plan)), opened)
    return fhir_response(resource, headers={"ETag": f'W/"{plan.version}"'})


def read_goal(request: HttpRequest, logical_id: str) -> HttpResponse | None:
    """A goal of CareWeave's own plans, or None for one another system sent (the record's read)."""
    # the goal as it stands in the latest version of the plan that has it
    goal = (
        Goal.objects.filter(key=logical_id)
        .select_related("care_plan__person__resource")
        .order_by("-care_plan__version")
        .first()
        if _is_uuid(logical_id)
        else None
    )
    if goal is None:
        return None
    if request.method != "GET":
        return outcome(405, "not-supported", "CareWeave's goals are read-only over FHIR")
    person = goal.care_plan.person
    opened = open_for(
        request, person, action="read", resource_type="Goal", resource_id=logical_id, audit=False
    )
    _audit(request, opened, "read", "Goal", logical_id)
    return fhir_response(fhir_exchange.goal_resource(goal, person))


def read_care_team(request: HttpRequest, logical_id: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "CareWeave's care teams are read-only over FHIR")
    person = _person_of(logical_id, "careteam-")
    members = services.care_team(person) if person is not None else []
    others = contacts.contacts(person) if person is not None else []
    if person is None or not (members or others):
        return outcome(404, "not-found", f"CareTeam/{logical_id} is not known")
    opened = open_for(
        request, person, action="read", resource_type="CareTeam", resource_id=logical_id, audit=False
    )
    _audit(request, opened, "read", "CareTeam", logical_id)
    return fhir_response(fhir_exchange.care_team_resource(person, members, others))


def _person_of(logical_id: str, prefix: str) -> rm.Person | None:
    """The person behind one of CareWeave's own ids (careplan-<pk>, careteam-<pk>), or None."""
    return rm.Person.objects.filter(pk=int(logical_id.removeprefix(prefix))).select_related("resource").first()


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


CARE_PLAN_ID = re.compile(r"^careplan-(\d{1,18})$")
CARE_TEAM_ID = re.compile(r"^careteam-(\d{1,18})$")


def provided_read(
    request: HttpRequest, kind: str, logical_id: str, version: str | None
) -> HttpResponse | None:
    """A read at /fhir of CareWeave's own plan, goal or team; None for an id that is not ours."""
    if kind == "CarePlan" and CARE_PLAN_ID.match(logical_id):
        return read_care_plan(request, logical_id, version)
    if kind == "CareTeam" and CARE_TEAM_ID.match(logical_id) and version is None:
        return read_care_team(request, logical_id)
    if kind == "Goal" and version is None:
        return read_goal(request, logical_id)
    return None


_PROVIDER = Provider(search=search, read=provided_read, search_params=("patient", "subject"))
register_provider("CarePlan", replace(_PROVIDER, search_include=tuple(sorted(INCLUDES)), versioned=True))
register_provider("Goal", _PROVIDER)
register_provider("CareTeam", _PROVIDER)

# the same, under /care/fhir, where they were first served
search_view = api_view(search)
care_plan_view = api_view(read_care_plan)
care_team_view = api_view(read_care_team)


@api_view
def goal_view(request: HttpRequest, logical_id: str) -> HttpResponse:
    return read_goal(request, logical_id) or record_instance(request, "Goal", logical_id)

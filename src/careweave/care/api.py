"""Read-only FHIR R4 exchange of care plans, goals and care teams under /care/fhir.

Same rules as the record's API (`careweave.fhir.api`): bearer tokens, OperationOutcome for every
failure, 403 outside the user's care (X-Break-Glass-Reason opens emergency access), every read
audited with its purpose (X-Request-Purpose, default direct-care).

  GET /care/fhir/CarePlan?patient=<id>[&_include=CarePlan:goal&_include=CarePlan:care-team]
  GET /care/fhir/Goal?patient=<id>          GET /care/fhir/CareTeam?patient=<id>
  GET /care/fhir/CarePlan/careplan-<n>      GET /care/fhir/CarePlan/careplan-<n>/_history/<version>
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from careweave.care import fhir_exchange, services
from careweave.care.models import CarePlan
from careweave.fhir import api as fhir_api
from careweave.fhir.api import CONTROL_PARAMS, api_view, fhir_response, outcome
from careweave.governance.audit import record_access
from careweave.record import models as rm

SEARCH_PARAMS = {"patient", "subject", "_include"}
INCLUDES = {"CarePlan:goal", "CarePlan:care-team"}


def _purpose(request: HttpRequest) -> str:
    return request.headers.get("X-Request-Purpose", "direct-care")[:64]


def _audit(
    request: HttpRequest, person: rm.Person, action: str, kind: str, resource_id: str, glass: bool
) -> None:
    record_access(
        actor=request.user,
        action=action,
        resource_type=kind,
        resource_id=resource_id,
        person_id=person.pk,
        purpose=_purpose(request),
        break_glass=glass,
        channel="api",
    )


def _first_version_at(plan: CarePlan) -> Any:
    first = (
        CarePlan.objects.filter(person_id=plan.person_id)
        .order_by("version")
        .values_list("updated_at", flat=True)
    )
    return first.first()


def _entry(request: HttpRequest, resource: dict[str, Any], mode: str) -> dict[str, Any]:
    url = request.build_absolute_uri(f"/care/fhir/{resource['resourceType']}/{resource['id']}")
    return {"fullUrl": url, "resource": resource, "search": {"mode": mode}}


@api_view
def search(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", f"/care/fhir/{kind} is read-only")
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
        # The record API's check: break-glass header, access decision, and an audited refusal.
        checked = fhir_api._check_person(request, person)
        if isinstance(checked, HttpResponse):
            return checked
        entries = _search_entries(request, kind, person, includes)
        _audit(request, person, "search", kind, "", bool(checked))
    matches = sum(1 for e in entries if e["search"]["mode"] == "match")
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": matches,
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": entries,
    }
    return fhir_response(bundle)


def _search_entries(
    request: HttpRequest, kind: str, person: rm.Person, includes: set[str]
) -> list[dict[str, Any]]:
    plan = services.current_care_plan(person)
    members = services.care_team(person)
    team = [fhir_exchange.care_team_resource(person, members)] if members else []
    goals = [fhir_exchange.goal_resource(g, person) for g in plan.goals.all()] if plan else []
    if kind == "Goal":
        return [_entry(request, g, "match") for g in goals]
    if kind == "CareTeam":
        return [_entry(request, t, "match") for t in team]
    if plan is None:
        return []
    entries = [_entry(request, fhir_exchange.care_plan_resource(plan, _first_version_at(plan)), "match")]
    if "CarePlan:goal" in includes:
        entries += [_entry(request, g, "include") for g in goals]
    if "CarePlan:care-team" in includes:
        entries += [_entry(request, t, "include") for t in team]
    return entries


@api_view
def read_care_plan(request: HttpRequest, logical_id: str, version: str | None = None) -> HttpResponse:
    if request.method != "GET":
        return outcome(405, "not-supported", "/care/fhir/CarePlan is read-only")
    person = (
        rm.Person.objects.filter(pk=int(logical_id.removeprefix("careplan-")))
        .select_related("resource")
        .first()
    )
    if person is None:
        return outcome(404, "not-found", f"CarePlan/{logical_id} is not known")
    checked = fhir_api._check_person(request, person)
    if isinstance(checked, HttpResponse):
        return checked
    plan = services.care_plan_version(person, int(version)) if version else services.current_care_plan(person)
    if plan is None:
        return outcome(
            404,
            "not-found",
            f"CarePlan/{logical_id}" + (f" version {version}" if version else "") + " is not known",
        )
    _audit(request, person, "read", "CarePlan", f"{logical_id}/_history/{plan.version}", bool(checked))
    resource = fhir_exchange.care_plan_resource(plan, _first_version_at(plan))
    return fhir_response(resource, headers={"ETag": f'W/"{plan.version}"'})

"""Questionnaire and QuestionnaireResponse at the record's FHIR base (/fhir), as a provider registered in
`careweave.fhir.resource_types` (ADR 0007), with the API's rules: bearer tokens, an OperationOutcome
for every failure, the person's record opened through governance.

  GET  /fhir/Questionnaire[?url=&name=&status=&_id=]      the shipped and loaded definitions
  GET  /fhir/Questionnaire/<id>
  POST /fhir/Questionnaire                                  load one (reference-data writers); refused
                                                            without a licence or a source (422)
  POST /fhir/QuestionnaireResponse                          validated, scored, stored with Observations;
                                                            refused as a whole (400/422) naming each item
  GET  /fhir/QuestionnaireResponse?patient=<id>             a person's responses
  GET  /fhir/QuestionnaireResponse/<id>                     the record's read
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse

from careweave.fhir import resource_types
from careweave.fhir.api import CONTROL_PARAMS, fhir_response, open_for, outcome, purpose
from careweave.fhir.resource_types import Provider, ResourceType, register_provider
from careweave.governance.access import AccessRefused
from careweave.governance.permissions import Permission, require
from careweave.questionnaires import catalogue, services
from careweave.questionnaires.definitions import Definition, DefinitionError
from careweave.record import models as rm

QUESTIONNAIRE_PARAMS = ("_id", "url", "name", "status", "title")


def _bundle(request: HttpRequest, resources: list[dict[str, Any]]) -> HttpResponse:
    entries = [
        {
            "fullUrl": request.build_absolute_uri(f"/fhir/{r['resourceType']}/{r['id']}"),
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in resources
    ]
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": request.build_absolute_uri()}],
            "entry": entries,
        }
    )


def _resource(definition: Definition) -> dict[str, Any]:
    return {**definition.body, "id": definition.logical_id}


def questionnaires(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method == "POST":
        require(
            request.user,
            Permission.WRITE_REFERENCE_DATA,
            "loading a Questionnaire needs a reference-data writer",
        )
        body = orjson.loads(request.body or b"null")
        try:
            definition = services.accept_questionnaire(
                body, where="the request body", loaded_by=request.user.get_username()
            )
        except DefinitionError as refused:
            return outcome(422, "invalid", refused.message, refused.field)
        location = request.build_absolute_uri(f"/fhir/Questionnaire/{definition.logical_id}")
        return fhir_response(_resource(definition), 201, {"Location": location})
    if request.method != "GET":
        return outcome(405, "not-supported", f"{request.method} is not supported on /fhir/Questionnaire")
    require(request.user, Permission.READ_REFERENCE_DATA)
    for name in request.GET:
        if name not in QUESTIONNAIRE_PARAMS and name not in CONTROL_PARAMS:
            return outcome(
                400,
                "not-supported",
                f"search parameter '{name}' is not supported ({', '.join(QUESTIONNAIRE_PARAMS)})",
            )
    found = catalogue.all_definitions()
    wanted: dict[str, Callable[[Definition], str]] = {
        "_id": lambda d: d.logical_id,
        "url": lambda d: d.url,
        "name": lambda d: d.name,
        "status": lambda d: d.status,
        "title": lambda d: d.title,
    }
    for name, key in wanted.items():
        value = request.GET.get(name)
        if value is not None:
            url, _, version = value.partition("|") if name == "url" else (value, "", "")
            found = [
                d
                for d in found
                if (key(d).lower().startswith(url.lower()) if name == "title" else key(d) == url)
                and (not version or d.version == version)
            ]
    return _bundle(request, [_resource(d) for d in found])


def read_questionnaire(
    request: HttpRequest, kind: str, logical_id: str, version: str | None
) -> HttpResponse | None:
    if request.method != "GET":
        return outcome(405, "not-supported", "Questionnaires are changed by POSTing a new version")
    require(request.user, Permission.READ_REFERENCE_DATA)
    definition = catalogue.by_id(logical_id)
    if definition is None:
        return outcome(404, "not-found", f"Questionnaire/{logical_id} is not known")
    return fhir_response(_resource(definition))


def responses(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method == "POST":
        body = orjson.loads(request.body or b"null")
        submitted = services.submit_response(
            user=request.user,
            response=body,
            mode="api",
            channel="api",
            purpose=purpose(request),
            break_glass_reason=request.headers.get("X-Break-Glass-Reason") or None,
        )
        stored = rm.StoredResource.objects.get(
            resource_type="QuestionnaireResponse", logical_id=submitted.response_id
        )
        location = request.build_absolute_uri(f"/fhir/QuestionnaireResponse/{stored.logical_id}")
        return fhir_response(
            stored.body.encode(), 201, {"Location": location, "ETag": f'W/"{stored.version}"'}
        )
    if request.method != "GET":
        return outcome(
            405, "not-supported", f"{request.method} is not supported on /fhir/QuestionnaireResponse"
        )
    for name in request.GET:
        if name not in ("patient", "subject") and name not in CONTROL_PARAMS:
            return outcome(
                400, "not-supported", f"search parameter '{name}' is not supported (patient, subject)"
            )
    reference = request.GET.get("patient") or request.GET.get("subject")
    if not reference:
        return outcome(400, "required", "search QuestionnaireResponse by patient", "patient")
    logical_id = reference.rsplit("/", 1)[-1]
    person = rm.Person.objects.filter(
        resource__logical_id=logical_id, resource__resource_type="Patient"
    ).first()
    found: list[dict[str, Any]] = []
    if person is None:
        require(request.user, Permission.READ_RECORDS)
    else:
        try:
            open_for(request, person, action="search", resource_type="QuestionnaireResponse")
        except AccessRefused as refused:
            if not refused.hide:
                raise
        else:
            bodies = rm.StoredResource.objects.filter(
                resource_type="QuestionnaireResponse", person=person
            ).order_by("pk")
            found = [orjson.loads(b) for b in bodies.values_list("body", flat=True)]
    return _bundle(request, found)


def read_response(
    request: HttpRequest, kind: str, logical_id: str, version: str | None
) -> HttpResponse | None:
    if request.method != "GET":
        # a response is changed only by a new one, validated again: never a PUT past the validation
        return outcome(405, "not-supported", "POST a new QuestionnaireResponse; stored ones are not replaced")
    return None  # the record's read: the stored response, opened through governance


register_provider(
    "QuestionnaireResponse",
    Provider(search=responses, read=read_response, search_params=("patient", "subject")),
)
# shared reference data, not part of anyone's record
resource_types.REGISTRY["Questionnaire"] = ResourceType(
    "Questionnaire",
    compartment=False,
    provider=Provider(search=questionnaires, read=read_questionnaire, search_params=()),
)

"""The administrator's record operations: `Patient/$merge` and `{type}/{id}/$move`.

An ordinary write may never change whose record a resource is in, nor a Patient's NHS number (issue 8):
those are how a record is taken over. When two records really are one person, or a result was filed
against the wrong person, an administrator says so explicitly, and the change is audited for both
people. The shapes follow FHIR R5's Patient $merge (source-patient, target-patient), which R4 servers
such as HAPI also offer; `$move` is CareWeave's own, for one resource.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.apps import apps
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from careweave.fhir.imports.references import walk_references
from careweave.fhir.imports.unit import canonical_hash
from careweave.fhir.outcome import Issue, Refused, operation_outcome
from careweave.governance.audit import record_access
from careweave.governance.permissions import Permission, has
from careweave.record import models as rm
from careweave.record.relationships import refresh_care_relationships


def _person(reference: Any, name: str) -> rm.Person:
    value = reference.get("reference", "") if isinstance(reference, dict) else ""
    kind, _, lid = value.rpartition("/")
    person = (
        rm.Person.objects.select_related("resource").filter(resource__logical_id=lid).first()
        if kind.endswith("Patient") and lid
        else None
    )
    if person is None:
        raise Refused(
            [Issue("error", "not-found", f"{name} must reference a known Patient", expression=name)], 422
        )
    return person


def _parameters(request: HttpRequest) -> dict[str, Any]:
    body = orjson.loads(request.body or b"null")
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Refused([Issue("error", "structure", "the body must be a FHIR Parameters resource")], 400)
    found: dict[str, Any] = {}
    for parameter in body.get("parameter") or []:
        if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
            found[parameter["name"]] = parameter.get("valueReference", parameter.get("valueString"))
    return found


def _repoint(stored: rm.StoredResource, source: rm.Person, target: rm.Person) -> None:
    """A new version of the resource whose Patient references name the target, and the rows under it."""
    body = orjson.loads(stored.body)
    old = f"Patient/{source.resource.logical_id}"
    for node, _path in walk_references(body, ""):
        if node["reference"] == old:
            node["reference"] = f"Patient/{target.resource.logical_id}"
    meta = body.pop("meta", {}) or {}
    digest = canonical_hash(body)
    now = timezone.now()
    stored.superseded_hashes = f"{stored.superseded_hashes} {stored.content_hash}".strip()
    stored.version += 1
    meta.update({"versionId": str(stored.version), "lastUpdated": now.isoformat()})
    stored.body = orjson.dumps({**body, "meta": meta}).decode()
    stored.content_hash, stored.last_updated, stored.person = digest, now, target
    stored.save(
        update_fields=["superseded_hashes", "version", "body", "content_hash", "last_updated", "person"]
    )


def _record_models() -> list[type[models.Model]]:
    """Every record row that hangs off a person and a stored resource (new types included), the
    referral Tasks and their states among them (ADR 0012)."""
    found = []
    for model in [
        *apps.get_app_config("record").get_models(),
        *apps.get_app_config("referrals").get_models(),
    ]:
        names = {f.name for f in model._meta.get_fields()}
        if {"person", "resource"} <= names and model is not rm.Person:
            found.append(model)
    return found


def _audit(request: HttpRequest, action: str, person: rm.Person, kind: str, lid: str, reason: str) -> None:
    record_access(
        actor=request.user,
        action=action,
        resource_type=kind,
        resource_id=lid,
        person_id=person.pk,
        purpose="record-maintenance",
        reason=reason,
        channel="api",
    )


def _require_administrator(request: HttpRequest, what: str) -> None:
    if request.method != "POST":
        raise Refused([Issue("error", "not-supported", "POST the operation's Parameters")], 405)
    if not has(request.user, Permission.MERGE_RECORDS):
        raise Refused([Issue("error", "forbidden", f"only administrators {what}")], 403)


def merge(request: HttpRequest) -> HttpResponse:
    """POST /fhir/Patient/$merge: everything in source-patient's record moves to target-patient's; the
    source Patient stays, inactive, with a `replaced-by` link, so references to it still resolve."""
    _require_administrator(request, "merge records")
    params = _parameters(request)
    source = _person(params.get("source-patient"), "source-patient")
    target = _person(params.get("target-patient"), "target-patient")
    if source.pk == target.pk:
        raise Refused(
            [Issue("error", "invalid", "source-patient and target-patient are the same record")], 422
        )
    with transaction.atomic():
        moved = list(rm.StoredResource.objects.filter(person=source).exclude(pk=source.resource_id))
        for stored in moved:
            _repoint(stored, source, target)
        for model in _record_models():
            model._default_manager.filter(person=source).update(person=target)
        patient = orjson.loads(source.resource.body)
        patient["active"] = False
        patient["link"] = [
            {"other": {"reference": f"Patient/{target.resource.logical_id}"}, "type": "replaced-by"}
        ]
        source.resource.body = orjson.dumps(patient).decode()
        source.resource.save(update_fields=["body"])
        refresh_care_relationships([source.pk, target.pk])
        note = f"merged Patient/{source.resource.logical_id} into Patient/{target.resource.logical_id}"
        _audit(request, "merge", source, "Patient", source.resource.logical_id, note)
        _audit(request, "merge", target, "Patient", target.resource.logical_id, note)
    return _done(f"{len(moved)} resources moved to Patient/{target.resource.logical_id}")


def move(request: HttpRequest, kind: str, logical_id: str) -> HttpResponse:
    """POST /fhir/{type}/{id}/$move with a `patient` reference: one resource filed against the wrong
    person moves to the right one."""
    _require_administrator(request, "move resources between records")
    stored = (
        rm.StoredResource.objects.select_related("person__resource")
        .filter(resource_type=kind, logical_id=logical_id)
        .exclude(resource_type="Patient")
        .first()
    )
    if stored is None or stored.person is None:
        raise Refused([Issue("error", "not-found", f"{kind}/{logical_id} is not in anyone's record")], 404)
    source = stored.person
    target = _person(_parameters(request).get("patient"), "patient")
    if source.pk == target.pk:
        raise Refused([Issue("error", "invalid", "the resource is already in that record")], 422)
    with transaction.atomic():
        _repoint(stored, source, target)
        for model in _record_models():
            model._default_manager.filter(resource=stored).update(person=target)
        refresh_care_relationships([source.pk, target.pk])
        note = f"moved {kind}/{logical_id} from Patient/{source.resource.logical_id} to Patient/{target.resource.logical_id}"
        _audit(request, "move", source, kind, logical_id, note)
        _audit(request, "move", target, kind, logical_id, note)
    return _done(note)


def _done(message: str) -> HttpResponse:
    outcome = operation_outcome([Issue("information", "informational", message)])
    return HttpResponse(
        orjson.dumps(outcome), status=200, content_type="application/fhir+json; charset=utf-8"
    )

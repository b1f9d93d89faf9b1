"""The care co-ordinator's actions on a referral (issue 15): chase the receiving service, record a
waiting-list validation, re-refer elsewhere. Each is written into the record as ordinary FHIR R4 (a
Task, or a ServiceRequest that `replaces` the old one with its Task), through the same importer as
every other write, so the record rows, the transition check and the scan see it as they see any
sender's; each is atomic, decided and audited through `governance.access.open_record`.

Errors a user can correct raise `ReferralError` naming the form field; a person outside the user's
care raises `AccessRefused` (audited as a refusal).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.db import transaction
from django.utils import timezone

from careweave.fhir.importer import workspace_importer
from careweave.fhir.outcome import Refused
from careweave.governance.access import (
    Permission,
    RecordAccess,
    open_record,
)
from careweave.record import models as rm
from careweave.terminology.referrals import load_referral_rules

ANSWER_SYSTEM: Final = "https://fhir.careweave.org/CodeSystem/referral-validation-answer"
CONTACT_SYSTEM: Final = "https://fhir.careweave.org/CodeSystem/referral-validation-contact"
BUSINESS_SYSTEM: Final = "https://fhir.careweave.org/CodeSystem/referral-business-status"
#: the person's answer when asked whether they still need the referral
ANSWERS: Final = {"still-needed": "Still needed", "no-longer-needed": "No longer needed"}
#: how they were contacted
CONTACTS: Final = {
    "telephone": "Telephone",
    "letter": "Letter",
    "text-message": "Text message",
    "in-person": "In person",
}
MAX_NOTE = 1000


class ReferralError(ValueError):
    """A problem the user can fix: `field` is the id of the form field it belongs to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Written:
    """What an action wrote: the new resources' logical ids, by type."""

    task_id: str
    referral_id: str = ""


def _ref(kind: str, resource: rm.StoredResource | None) -> dict[str, str] | None:
    return {"reference": f"{kind}/{resource.logical_id}"} if resource is not None else None




def _open(user: Any, referral: rm.Referral, action: str) -> RecordAccess:
    # the write is audited once it is made (with the new resource's id); a refusal is audited here
    return open_record(
        user=user,
        person=referral.person,
        action=action,
        resource_type="ServiceRequest",
        resource_id=referral.resource.logical_id,
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )


def _note(text: str, field: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise ReferralError(f"Keep the note to {MAX_NOTE} characters or fewer", field)
    return text


def _user_organisation(user: Any) -> rm.Organisation | None:
    profile = getattr(user, "staff_profile", None)
    return getattr(profile, "organisation", None)


def _task(referral: rm.Referral, *, code: tuple[str, str], status: str, today: dt.date) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "focus": _ref("ServiceRequest", referral.resource),
        "for": _ref("Patient", referral.person.resource),
        "authoredOn": today.isoformat(),
        "lastModified": today.isoformat(),
    }
    return task


def _import_one(user: Any, resource: dict[str, Any]) -> str:
    try:
        entry = workspace_importer(user).import_resource(resource, method="POST", url=resource["resourceType"])
    except Refused as refused:  # our own resource refused: a fault of ours, said plainly
        raise ReferralError(f"The record refused this: {refused.issues[0].message}", "referral") from None
    return str(entry.logical_id)


CHASE_QUESTION: Final = "Where has this referral got to? Please reply with its status or a first appointment."
NO_LONGER_NEEDED: Final = "The person told us they no longer need this referral: please take them off your list and tell the referrer."


def _chase_task(user: Any, referral: rm.Referral, description: str, note: str) -> dict[str, Any]:
    rules = load_referral_rules()
    task = _task(
        referral, code=(rules.chase_system, rules.chase_code), status="requested", today=timezone.localdate()
    )
    task["description"] = description
    owner = referral.to_organisation
    if owner is None:
        raise ReferralError(
            "This referral names no receiving service to chase: re-refer it instead", "referral"
        )
    task["owner"] = _ref("Organization", owner.resource)
    requester = _user_organisation(user)
    if requester is not None:
        task["requester"] = _ref("Organization", requester.resource)
    if note:
        task["note"] = [{"text": note}]
    return task


def chase(*, user: Any, referral: rm.Referral, note: str = "") -> Written:
    """Ask the receiving service where the referral has got to: a Task (the chase code) owned by it."""
    access = _open(user, referral, "referral-chase")
    task = _chase_task(user, referral, CHASE_QUESTION, _note(note, "note"))
    with transaction.atomic():  # the write and its audit together
        lid = _import_one(user, task)
        access.audit(action="create", resource_type="Task", resource_id=lid, reason="chase a referral")
    return Written(task_id=lid)


def validate(*, user: Any, referral: rm.Referral, contact: str, answer: str, note: str = "") -> Written:
    """Record a waiting-list validation: how the person was contacted and whether they still need the
    referral, as a completed validation Task (the scan's `is_validation`)."""
    access = _open(user, referral, "referral-validate")
    if contact not in CONTACTS:
        raise ReferralError("Choose how you contacted the person", "contact")
    if answer not in ANSWERS:
        raise ReferralError("Choose whether the person still needs this referral", "answer")
    note = _note(note, "note")
    rules = load_referral_rules()
    task = _task(
        referral,
        code=(rules.validation_system, rules.validation_code),
        status="completed",
        today=timezone.localdate(),
    )
    task["output"] = [
        {
            "type": {"text": "How the person was contacted"},
            "valueCodeableConcept": {
                "coding": [{"system": CONTACT_SYSTEM, "code": contact, "display": CONTACTS[contact]}]
            },
        },
        {
            "type": {"text": "Whether the person still needs the referral"},
            "valueCodeableConcept": {
                "coding": [{"system": ANSWER_SYSTEM, "code": answer, "display": ANSWERS[answer]}]
            },
        },
    ]
    requester = _user_organisation(user)
    if requester is not None:
        task["requester"] = _ref("Organization", requester.resource)
    if note:
        task["note"] = [{"text": note}]
    # no longer needed: the receiving service is asked, in the same write, to take them off its list
    ask = (
        _chase_task(user, referral, NO_LONGER_NEEDED, "")
        if answer == "no-longer-needed" and referral.to_organisation is not None
        else None
    )
    with transaction.atomic():
        lid = _import_one(user, task)
        access.audit(
            action="create",
            resource_type="Task",
            resource_id=lid,
            reason=f"waiting-list validation: {answer}",
        )
        if ask is not None:
            asked = _import_one(user, ask)
            access.audit(
                action="create",
                resource_type="Task",
                resource_id=asked,
                reason="ask the service to take the person off its list",
            )
    return Written(task_id=lid)


def _copy_coded(old: dict[str, Any], key: str) -> Any:
    value = old.get(key)
    return value if value else None


def re_refer(*, user: Any, referral: rm.Referral, to: rm.Organisation | None, note: str = "") -> Written:
    """Refer the person to another service for the same problem: a new ServiceRequest that `replaces`
    the old one, and its Task created by CareWeave as 'requested', in one transaction."""
    access = _open(user, referral, "referral-re-refer")
    if to is None:
        raise ReferralError("Choose the service to refer the person to", "to")
    if referral.to_organisation_id == to.pk:
        raise ReferralError("Choose a different service from the one the person was referred to", "to")
    note = _note(note, "note")
    old = orjson.loads(referral.resource.body or "{}")
    today = timezone.localdate().isoformat()
    request_url, task_url = f"urn:uuid:{uuid.uuid4()}", f"urn:uuid:{uuid.uuid4()}"
    requester = _user_organisation(user)
    service_request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "subject": _ref("Patient", referral.person.resource),
        "authoredOn": today,
        "performer": [_ref("Organization", to.resource)],
        "replaces": [_ref("ServiceRequest", referral.resource)],
        "code": _copy_coded(old, "code") or {"text": "Referral"},
    }
    for key in ("category", "reasonCode", "reasonReference", "priority"):
        if value := _copy_coded(old, key):
            service_request[key] = value
    if requester is not None:
        service_request["requester"] = _ref("Organization", requester.resource)
    if note:
        service_request["note"] = [{"text": note}]
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "businessStatus": {"coding": [{"system": BUSINESS_SYSTEM, "code": "requested"}]},
        "intent": "order",
        "focus": {"reference": request_url},
        "for": _ref("Patient", referral.person.resource),
        "owner": _ref("Organization", to.resource),
        "authoredOn": today,
        "lastModified": today,
    }
    if requester is not None:
        task["requester"] = _ref("Organization", requester.resource)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": request_url,
                "resource": service_request,
                "request": {"method": "POST", "url": "ServiceRequest"},
            },
            {"fullUrl": task_url, "resource": task, "request": {"method": "POST", "url": "Task"}},
        ],
    }
    with transaction.atomic():
        try:
            entries = workspace_importer(user).import_bundle(bundle)
        except Refused as refused:
            raise ReferralError(f"The record refused this: {refused.issues[0].message}", "to") from None
        new_referral, new_task = (str(e.logical_id) for e in entries)
        access.audit(
            action="create",
            resource_type="ServiceRequest",
            resource_id=new_referral,
            reason=f"re-referred, replacing ServiceRequest/{referral.resource.logical_id}",
        )
        access.audit(
            action="create", resource_type="Task", resource_id=new_task, reason="the new referral's Task"
        )
    return Written(task_id=new_task, referral_id=new_referral)

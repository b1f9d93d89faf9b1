"""The FHIR R4 CommunicationRequest and Communication of each message, kept in the record's resource
store (`StoredResource`, served read-only by the FHIR API as types the record keeps raw) beside the
contact app's own rows, and the Task staff see. A status change writes a new version."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any

import orjson

from careweave.contact.models import Communication, CommunicationRequest, StaffTask
from careweave.record import models as rm

SOURCE = "urn:careweave:contact"
CW_CODE_SYSTEM = "https://fhir.careweave.org/CodeSystem/"
CHANNEL_SYSTEM = CW_CODE_SYSTEM + "contact-channel"
PURPOSE_SYSTEM = CW_CODE_SYSTEM + "communication-purpose"
FORMAT_SYSTEM = CW_CODE_SYSTEM + "letter-format"
NOTIFY_ID_SYSTEM = "https://www.notifications.service.gov.uk/notification-id"
CHANNEL_NAMES = {
    "app": "NHS App message",
    "sms": "Text message",
    "email": "Email",
    "letter": "Letter",
    "phone": "Phone call",
}
PURPOSE_NAMES = {
    "review-invitation": "Review invitation",
    "appointment-reminder": "Appointment reminder",
    "results-letter": "Results letter",
    "care-plan-copy": "Care plan copy",
}


def _hash(body: dict[str, Any]) -> str:
    content = {k: v for k, v in body.items() if k != "meta"}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def new_stored(resource_type: str, person: rm.Person, now: datetime) -> rm.StoredResource:
    """An unsaved resource row with a fresh logical id (its body is written by `write`)."""
    lid = str(uuid.uuid4())
    return rm.StoredResource(
        resource_type=resource_type,
        logical_id=lid,
        source_system=SOURCE,
        source_id=lid,
        person=person,
        last_updated=now,
        modelled=False,
        body="{}",
        content_hash="",
    )


def write(stored: rm.StoredResource, body: dict[str, Any], now: datetime) -> None:
    """Set the body (a new version when it changed) on a row; the caller saves it."""
    body = {**body, "id": stored.logical_id}
    digest = _hash(body)
    if digest == stored.content_hash:
        return
    if stored.content_hash:
        stored.version += 1
        stored.superseded_hashes = (stored.superseded_hashes + " " + stored.content_hash).strip()
    body["meta"] = {"versionId": str(stored.version), "lastUpdated": now.isoformat(), "source": SOURCE}
    stored.body, stored.content_hash, stored.last_updated = orjson.dumps(body).decode(), digest, now


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def _recipient(request: CommunicationRequest) -> list[dict[str, str]]:
    carer = request.route.get("carer_id") if request.recipient == "carer" else ""
    if carer:
        return [{"reference": f"RelatedPerson/{carer}"}]
    return [{"reference": f"Patient/{request.person.resource.logical_id}"}]


def request_body(request: CommunicationRequest, message: str) -> dict[str, Any]:
    route = request.route
    body: dict[str, Any] = {
        "resourceType": "CommunicationRequest",
        "status": request.status,
        "language": request.language,
        "category": [_coding(PURPOSE_SYSTEM, request.purpose, PURPOSE_NAMES.get(request.purpose, ""))],
        "subject": {"reference": f"Patient/{request.person.resource.logical_id}"},
        "recipient": _recipient(request),
        "medium": [
            {**_coding(CHANNEL_SYSTEM, c, CHANNEL_NAMES[c]), "text": CHANNEL_NAMES[c]}
            for c in route.get("channels", [])
        ],
        "payload": [{"contentString": message}],
        "authoredOn": request.authored.isoformat(),
        "requester": {"display": request.requester},
        "extension": [
            {"url": FORMAT_SYSTEM, "valueCode": request.letter_format},
        ],
    }
    notes = [*route.get("notes", []), *(f"{c}: {why}" for c, why in route.get("excluded", {}).items())]
    if request.interpreter:
        notes.append(
            f"Needs an interpreter ({'BSL' if request.interpreter == 'bsl' else 'spoken language'})."
        )
    if notes:
        body["note"] = [{"text": n} for n in notes]
    return body


def communication_body(comm: Communication) -> dict[str, Any]:
    request = comm.request
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "basedOn": [{"reference": f"CommunicationRequest/{request.resource.logical_id}"}],
        "status": comm.status,
        "category": [_coding(PURPOSE_SYSTEM, request.purpose, PURPOSE_NAMES.get(request.purpose, ""))],
        "subject": {"reference": f"Patient/{comm.person.resource.logical_id}"},
        "recipient": _recipient(request),
        "medium": [
            {
                **_coding(CHANNEL_SYSTEM, comm.channel, CHANNEL_NAMES[comm.channel]),
                "text": CHANNEL_NAMES[comm.channel],
            }
        ],
        "language": request.language,
    }
    if comm.notify_id:
        body["identifier"] = [{"system": NOTIFY_ID_SYSTEM, "value": comm.notify_id}]
    if comm.sent:
        body["sent"] = comm.sent.isoformat()
    if comm.received:
        body["received"] = comm.received.isoformat()
    if comm.status_reason or comm.delivery:
        body["statusReason"] = {"text": comm.status_reason or comm.delivery}
    return body


def task_body(task: StaffTask) -> dict[str, Any]:
    """The staff Task as FHIR R4 shows it (served from the contact app, not the referral Task store)."""
    return {
        "resourceType": "Task",
        "id": f"contact-task-{task.pk}",
        "status": task.status,
        "intent": "order",
        "code": _coding(CW_CODE_SYSTEM + "contact-task", task.kind),
        "description": task.description,
        "focus": {"reference": f"CommunicationRequest/{task.request.resource.logical_id}"},
        "for": {"reference": f"Patient/{task.person.resource.logical_id}"},
        "authoredOn": task.created.isoformat(),
    }

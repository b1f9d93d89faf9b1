"""The one way to contact a person (issue 18, item 1; ADR 0020).

`contact_person` plans the route from the person's recorded needs (careweave.population.contact),
writes the CommunicationRequest, and tries the first channel; `fall_back` tries the next one when a
channel fails, and is called by `record_delivery` (Notify's delivery-status callback) and
`chase_unread` (app messages unread after CAREWEAVE_CONTACT_UNREAD_HOURS). Every attempt is a
Communication with its status and the channel actually used. Staff work (a phone call, booking an
interpreter, a braille or audio version) becomes a Task.

Reads go through governance: a member of staff opens the record (write permission, audited); a
system process (the invitation round, Notify's callback) is audited as a system event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from careweave.contact.letter_texts import MESSAGES, PURPOSES
from careweave.contact.letters import Letter, LetterError, render_pdf
from careweave.contact.models import Communication, CommunicationRequest, StaffTask
from careweave.contact.needs import Known, Recipients, contact_needs, person_address, route_for
from careweave.contact.notify import NotifyGateway, Sent
from careweave.contact.resources import communication_body, new_stored, request_body, write
from careweave.governance.access import Permission, open_record
from careweave.governance.audit import record_system_event
from careweave.population.contact import FAILED, Channel, Route, needs_fallback, next_channel
from careweave.record import models as rm
from careweave.ui.format import format_date

#: Notify's statuses that mean it arrived.
DELIVERED = frozenset({"delivered", "received"})
INTERPRETER_PURPOSES = frozenset({"review-invitation", "appointment-reminder"})


class ContactError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _details(person: rm.Person, details: Mapping[str, str]) -> dict[str, str]:
    practice = (
        person.registered_practice.name
        if person.registered_practice_id and person.registered_practice
        else ""
    )
    base = {
        "name": person.display_name,
        "sender": practice or "Your GP practice",
        "phone": "your GP practice",
        "when": "",
        "place": practice or "your GP practice",
        "result": "",
        "next_step": "",
        "what_matters": "",
        "coordinator": "your GP practice",
    }
    return {**base, **{k: str(v) for k, v in details.items()}}


def _audit(person: rm.Person, *, user: Any, system_actor: str, action: str) -> None:
    if user is not None:
        open_record(
            user=user,
            person=person,
            action=action,
            resource_type="CommunicationRequest",
            permission=Permission.WRITE_RECORDS,
        )
    else:
        record_system_event(action, system_actor, person_id=person.pk, channel="job")


def contact_person(
    *,
    person: rm.Person,
    purpose: str,
    details: Mapping[str, str] | None = None,
    goals: Sequence[str] = (),
    user: Any = None,
    system_actor: str = "",
    gateway: NotifyGateway | None = None,
    now: datetime | None = None,
    sender: rm.Organisation | None = None,
    known: Known | None = None,
) -> CommunicationRequest:
    """Contact ``person`` for ``purpose`` by the route their recorded needs give: the first channel is
    tried now; failures fall back to the next. Staff (``user``) or a named process (``system_actor``)."""
    if purpose not in PURPOSES:
        raise ContactError(f"Unknown purpose {purpose!r}: expected one of {', '.join(PURPOSES)}", "purpose")
    if user is None and not system_actor:
        raise ContactError("A contact needs a member of staff or a named system process", "user")
    _audit(person, user=user, system_actor=system_actor, action="contact")
    now = now or timezone.now()
    route, recipients = route_for(person, known)
    fields = _details(person, details or {})
    with transaction.atomic():
        stored = new_stored("CommunicationRequest", person, now)
        request = CommunicationRequest(
            person=person,
            resource=stored,
            purpose=purpose,
            recipient=route.recipient,
            letter_format=route.letter_format,
            language=route.language,
            interpreter=route.interpreter,
            route={
                "channels": [c.value for c in route.channels],
                "excluded": {c.value: why for c, why in route.excluded.items()},
                "notes": list(route.notes),
                "double_slot": route.double_slot,
                "video_link": route.video_link,
                "staff_tasks": list(route.staff_tasks),
                "carer": recipients.carer_name if route.recipient == "carer" else "",
                "carer_id": recipients.carer_id if route.recipient == "carer" else "",
                "details": fields,
                "goals": list(goals),
            },
            authored=now,
            requester=user.get_username() if user is not None else system_actor,
            sender=sender or person.registered_practice,
        )
        write(stored, request_body(request, _message(request)), now)
        stored.save()
        request.save()
        _staff_tasks(request, route, now)
        _try(request, route, tried=[], gateway=gateway, now=now, recipients=recipients)
    return request


def _message(request: CommunicationRequest) -> str:
    lang = request.language if request.language in MESSAGES else "en"
    return MESSAGES[lang][request.purpose].format(**request.route["details"])


def _staff_tasks(request: CommunicationRequest, route: Route, now: datetime) -> None:
    tasks = []
    if route.interpreter and request.purpose in INTERPRETER_PURPOSES:
        who = (
            "a British Sign Language interpreter"
            if route.interpreter == "bsl"
            else "a spoken language interpreter"
        )
        extra = (" Book a double slot." if route.double_slot else "") + (
            " Offer a video link." if route.video_link else ""
        )
        tasks.append(("book-interpreter", f"Book {who} for this appointment.{extra}"))
    tasks += [("accessible-format", f"Make a {t} and send it.") for t in route.staff_tasks]
    for kind, description in tasks:
        StaffTask.objects.create(
            person=request.person, request=request, kind=kind, description=description, created=now
        )


def _tried(request: CommunicationRequest) -> list[Channel]:
    return [Channel(c) for c in request.attempts.order_by("pk").values_list("channel", flat=True)]


def _route(request: CommunicationRequest) -> Route:
    return Route(
        recipient=request.recipient, channels=tuple(Channel(c) for c in request.route.get("channels", []))
    )


def _try(
    request: CommunicationRequest,
    route: Route,
    *,
    tried: list[Channel],
    gateway: NotifyGateway | None,
    now: datetime,
    recipients: Recipients | None = None,
) -> Communication | None:
    """Send on the next channel that takes it; channels refused at once are recorded and skipped."""
    while (channel := next_channel(route, tried)) is not None:
        # the contact details at the moment of sending (a fallback a day later reads them again)
        recipients = recipients or contact_needs(request.person)
        comm = _send(request, channel, recipients, gateway=gateway, now=now)
        tried.append(channel)
        if comm.status != "not-done":
            return comm
    request.status = "completed"
    request.route = {
        **request.route,
        "notes": [*request.route.get("notes", []), "Every channel has been tried."],
    }
    write(request.resource, request_body(request, _message(request)), now)
    request.resource.save()
    request.save(update_fields=["status", "route"])
    StaffTask.objects.create(
        person=request.person,
        request=request,
        kind="phone-call",
        created=now,
        description="Every channel failed or none could reach this person: please find another way to contact them.",
    )
    return None


def _letter(request: CommunicationRequest, now: datetime) -> bytes:
    route = request.route
    carer = str(route.get("carer") or "")
    address = person_address(request.person)
    return render_pdf(
        Letter(
            purpose=request.purpose,
            details=route["details"],
            address=((carer,) if carer else (request.person.display_name,)) + address,
            letter_format=request.letter_format,
            language=request.language,
            carer=carer,
            goals=tuple(route.get("goals", [])),
            date=format_date(now.date()),
        )
    )


def _send(
    request: CommunicationRequest,
    channel: Channel,
    recipients: Recipients,
    *,
    gateway: NotifyGateway | None,
    now: datetime,
) -> Communication:
    needs = recipients.needs
    reach = needs.carer if request.recipient == "carer" and needs.carer is not None else needs.person
    reference = request.resource.logical_id
    comm = Communication(
        request=request, person=request.person, channel=channel.value, status="in-progress", sent=now
    )
    sent = Sent()
    if channel is Channel.APP:
        comm.delivery = "sent-to-app"
    elif channel is Channel.PHONE:
        comm.status, comm.sent = "preparation", None
        StaffTask.objects.create(
            person=request.person,
            request=request,
            kind="phone-call",
            created=now,
            description=f"Phone {'the carer' if request.recipient == 'carer' else 'the person'}: {_message(request)}",
        )
    elif channel is Channel.LETTER and request.letter_format in ("braille", "audio"):
        comm.status, comm.sent = "preparation", None  # staff make it (a Task was written with the request)
    else:
        gateway = gateway or NotifyGateway()
        if channel is Channel.SMS:
            sent = gateway.sms(reach.mobile, _message(request), reference)
        elif channel is Channel.EMAIL:
            sent = gateway.email(reach.email, _message(request), reference)
        else:
            try:
                sent = gateway.letter(_letter(request, now), reference)
            except LetterError as error:
                sent = Sent(refused=f"The letter could not be made: {error}")
        comm.notify_id, comm.delivery = sent.notify_id, "created" if sent.notify_id else ""
        if sent.refused:
            comm.status, comm.status_reason = "not-done", sent.refused
    comm.resource = new_stored("Communication", request.person, now)
    write(comm.resource, communication_body(comm), now)
    comm.resource.save()
    comm.save()
    return comm


def _save(comm: Communication, now: datetime) -> None:
    write(comm.resource, communication_body(comm), now)
    comm.resource.save()
    comm.save()


def fall_back(
    comm: Communication, *, gateway: NotifyGateway | None = None, now: datetime | None = None
) -> Communication | None:
    """After ``comm`` failed or went unread: stop it and try the request's next channel."""
    now = now or timezone.now()
    request = comm.request
    if request.status != "active":
        return None
    if comm.status == "in-progress":
        comm.status, comm.status_reason = (
            "stopped",
            comm.status_reason or "Unread in time: tried the next channel.",
        )
        _save(comm, now)
    return _try(request, _route(request), tried=_tried(request), gateway=gateway, now=now)


def record_delivery(
    *, notify_id: str, status: str, completed_at: datetime | None = None, gateway: NotifyGateway | None = None
) -> Communication | None:
    """Notify's delivery receipt: update the Communication; a failure falls back to the next channel."""
    now = timezone.now()
    with transaction.atomic():
        comm = (
            Communication.objects.select_for_update()
            .select_related("request", "person")
            .filter(notify_id=notify_id)
            .first()
        )
        if comm is None:
            return None
        record_system_event("contact-delivery", "gov.uk notify", person_id=comm.person_id, channel="api")
        comm.delivery = status[:32]
        if status in DELIVERED:
            comm.status, comm.received = "completed", completed_at or now
            comm.request.status = "completed"
            write(comm.request.resource, request_body(comm.request, _message(comm.request)), now)
            comm.request.resource.save()
            comm.request.save(update_fields=["status"])
        elif status in FAILED:
            comm.status, comm.status_reason = "not-done", f"Notify: {status}"
        _save(comm, now)
        if comm.status == "not-done":
            fall_back(comm, gateway=gateway, now=now)
    return comm


def mark_read(comm: Communication, *, when: datetime | None = None) -> None:
    """The person opened the app message."""
    when = when or timezone.now()
    with transaction.atomic():
        comm.status, comm.received, comm.delivery = "completed", when, "read"
        _save(comm, when)
        comm.request.status = "completed"
        write(comm.request.resource, request_body(comm.request, _message(comm.request)), when)
        comm.request.resource.save()
        comm.request.save(update_fields=["status"])


def chase_unread(*, now: datetime | None = None, gateway: NotifyGateway | None = None) -> int:
    """Fall back from every app message unread after CAREWEAVE_CONTACT_UNREAD_HOURS; how many."""
    now = now or timezone.now()
    after = timedelta(hours=settings.CAREWEAVE_CONTACT_UNREAD_HOURS)
    stale = Communication.objects.filter(
        channel=Channel.APP.value, status="in-progress", sent__lte=now - after, request__status="active"
    ).select_related("request", "person", "resource", "request__resource", "request__person__resource")
    count = 0
    for comm in stale:
        if needs_fallback(
            Channel.APP, comm.delivery, sent_at=comm.sent, read_at=comm.received, now=now, unread_after=after
        ):
            record_system_event(
                "contact-fallback", "careweave contact", person_id=comm.person_id, channel="job"
            )
            with transaction.atomic():
                fall_back(comm, gateway=gateway, now=now)
            count += 1
    return count


def contact_round(
    person_ids: Sequence[int],
    *,
    purpose: str,
    system_actor: str,
    details: Mapping[str, str] | None = None,
    gateway: NotifyGateway | None = None,
    chunk: int = 500,
) -> int:
    """Contact many people for one purpose (a review invitation round): each as `contact_person`
    does, with their flags, preferences and carers read a chunk at a time. How many were contacted."""
    gateway = gateway or NotifyGateway()
    done = 0
    for start in range(0, len(person_ids), chunk):
        ids = list(person_ids[start : start + chunk])
        known = Known.load(ids)
        people = rm.Person.objects.filter(pk__in=ids).select_related("resource", "registered_practice")
        for person in people.order_by("pk"):
            contact_person(
                person=person,
                purpose=purpose,
                details=details,
                system_actor=system_actor,
                gateway=gateway,
                known=known,
            )
            done += 1
    return done

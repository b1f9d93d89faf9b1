"""The person's contact page (needs, route, what was sent) and GOV.UK Notify's delivery-status callback: Notify POSTs each receipt with the bearer token the
service set; the Communication is updated and a failure falls back to the next channel."""

from __future__ import annotations

import hmac
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from careweave.contact.models import CommunicationRequest
from careweave.contact.needs import information_needs, route_for
from careweave.contact.presenters import STATUS_WORDS, communication_needs
from careweave.contact.recording import RecordingError, record_need
from careweave.contact.resources import CHANNEL_NAMES, PURPOSE_NAMES
from careweave.contact.services import ContactError, contact_person, record_delivery
from careweave.governance.access import Permission, open_record
from careweave.record import models as rm
from careweave.ui.guards import requires


def _problem(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # a server-to-server callback authenticated by its bearer token, not a browser form
@require_POST
def notify_callback(request: HttpRequest) -> HttpResponse:
    token = str(settings.CAREWEAVE_NOTIFY_CALLBACK_TOKEN or "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return _problem(401, "callback token missing or wrong")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _problem(400, "body: not JSON")
    if not isinstance(data, dict):
        return _problem(400, "body: expected a JSON object")
    for field in ("id", "status"):
        if not isinstance(data.get(field), str) or not data[field]:
            return _problem(400, f"{field}: required (a string)")
    completed = parse_datetime(str(data.get("completed_at") or "")) if data.get("completed_at") else None
    comm = record_delivery(notify_id=data["id"], status=data["status"], completed_at=completed)
    if comm is None:
        return _problem(404, "id: no communication was sent with this notification id")
    return HttpResponse(status=204)


def _page(
    request: HttpRequest, person: rm.Person, errors: list[dict[str, str]], status: int = 200
) -> HttpResponse:
    open_record(user=request.user, person=person, action="view-contact", channel="web")
    route, recipients = route_for(person)
    table = information_needs()
    requests = (
        CommunicationRequest.objects.filter(person=person)
        .prefetch_related("attempts", "tasks")
        .order_by("-pk")[:50]
    )
    context: dict[str, Any] = {
        "person": person,
        "errors": errors,
        "needs": communication_needs(person),
        "route": route,
        "carer": recipients.carer_name,
        "channel_names": CHANNEL_NAMES,
        "purpose_names": PURPOSE_NAMES,
        "choices": [n for n in table.needs if n.snomed_codes],
        "requests": requests,
        "status_words": STATUS_WORDS,
    }
    return render(request, "contact/person.html", context, status=status)


@require_http_methods(["GET", "POST"])
@requires(Permission.USE_WORKSPACE)
def person_contact(request: HttpRequest, person_pk: int) -> HttpResponse:
    """The person's communication needs, how we will contact them, and what was sent; forms to record
    a need and to send a standard message."""
    person = get_object_or_404(
        rm.Person.objects.select_related("resource", "registered_practice"), pk=person_pk
    )
    if request.method == "GET":
        return _page(request, person, [])
    action = request.POST.get("action", "")
    try:
        if action == "need":
            record_need(user=request.user, person=person, need_id=request.POST.get("need", ""))
            messages.success(request, "Communication need recorded.")
        elif action == "send":
            contact_person(person=person, purpose=request.POST.get("purpose", ""), user=request.user)
            messages.success(request, "Sent by the route shown.")
        else:
            return _page(request, person, [{"text": "Choose what to do", "href": "#need"}], status=400)
    except (RecordingError, ContactError) as error:
        return _page(request, person, [{"text": str(error), "href": f"#{error.field}"}], status=400)
    return redirect("contact:person", person_pk=person.pk)

"""The staff page that gives a person (and their carers) online access: under /online-access/, for
clinical staff with a relationship of their own (checked by the services through governance). The
activation code is shown once, to print or read to the person."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from careweave.care.presenters import person_heading
from careweave.governance.access import open_record
from careweave.portal import accounts, sharing
from careweave.portal.models import PersonAccount, PersonMessage, ProxyGrant, Share
from careweave.portal.services import reply_to_question
from careweave.record import models as rm
from careweave.ui.guards import workspace_only
from careweave.ui.http import StaffHttpRequest


def _items(person: rm.Person) -> list[dict[str, Any]]:
    """The items a carer could see, and whether each is hidden from carers (and why)."""
    marked = sharing.marked_resources(person)
    rows: list[dict[str, Any]] = []
    for m in person.medications.filter(status__in=("active", "on-hold", "intended", "")).order_by("display"):
        coded = sharing.sensitive_code(m.system, m.code)
        rows.append(
            {
                "what": f"Medicine: {m.display}",
                "resource": m.resource_id,
                "marked": m.resource_id in marked,
                "always": coded,
            }
        )
    for r in person.referrals.filter(is_referral=True).order_by("-authored_on"):
        coded = sharing.sensitive_code("", r.reason_code)
        rows.append(
            {
                "what": f"Referral: {r.code_display or r.reason_display}",
                "resource": r.resource_id,
                "marked": r.resource_id in marked,
                "always": coded,
            }
        )
    for a in person.appointments.order_by("-start")[:20]:
        rows.append(
            {
                "what": f"Appointment: {a.description or 'appointment'}",
                "resource": a.resource_id,
                "marked": a.resource_id in marked,
                "always": False,
            }
        )
    return rows


@require_http_methods(["GET", "POST"])
@workspace_only
def online_access(request: StaffHttpRequest, person_pk: int) -> HttpResponse:
    person = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    open_record(user=request.user, person=person, action="read", resource_type="Consent")
    issued: dict[str, str] = {}
    error, field = "", ""
    if request.method == "POST":
        kind = request.POST.get("kind")
        if kind in ("hide", "show"):
            resource = get_object_or_404(
                rm.StoredResource, pk=request.POST.get("resource", "0") or 0, person=person
            )
            change = accounts.hide_from_proxies if kind == "hide" else accounts.show_to_proxies
            change(user=request.user, person=person, resource=resource)
            return redirect("online-access:person", person_pk=person.pk)
        try:
            if kind == "carer":
                account, code = accounts.create_carer_account(
                    user=request.user,
                    person=person,
                    name=request.POST.get("name", ""),
                    basis=request.POST.get("basis", ""),
                    evidence=request.POST.get("evidence", ""),
                    shares=request.POST.getlist("shares"),
                    send_codes_to=request.POST.get("send_codes_to", ""),
                )
            else:
                account, code = accounts.create_person_account(
                    user=request.user, person=person, send_codes_to=request.POST.get("send_codes_to", "")
                )
        except accounts.AccountError as refused:
            error, field = refused.message, refused.field
        else:
            issued = {
                "username": account.user.username,
                "code": code,
                "who": account.display_name or person.display_name,
            }
    context = {
        "person": person,
        "heading": person_heading(person),
        "own": PersonAccount.objects.filter(person=person).select_related("user").order_by("-created_at"),
        "grants": ProxyGrant.objects.filter(person=person, revoked_at=None).select_related(
            "account", "account__user"
        ),
        "shares": Share.choices,
        "bases": ProxyGrant.Basis.choices,
        "issued": issued,
        "items": _items(person),
        "error": error,
        "field": field,
    }
    return render(request, "portal/staff_online_access.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@workspace_only
def questions(request: StaffHttpRequest, person_pk: int) -> HttpResponse:
    """The person's questions from their view, and the team's answers (the person sees them)."""
    person = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    post = request.method == "POST"
    open_record(
        user=request.user, person=person, action="read", resource_type="Communication", audit=not post
    )
    error, answering = "", 0
    if post:
        message = get_object_or_404(
            PersonMessage, pk=request.POST.get("message", "0") or 0, person=person, kind="question"
        )
        try:
            reply_to_question(user=request.user, message=message, text=request.POST.get("reply", ""))
        except accounts.AccountError as refused:
            error, answering = refused.message, message.pk
        else:
            return redirect("online-access:questions", person_pk=person.pk)
    context = {
        "person": person,
        "heading": person_heading(person),
        "asked": PersonMessage.objects.filter(person=person, kind="question").select_related("replied_by"),
        "error": error,
        "answering": answering,
    }
    return render(request, "portal/staff_questions.html", context, status=400 if error else 200)

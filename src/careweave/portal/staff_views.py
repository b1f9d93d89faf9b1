"""The staff page that gives a person (and their carers) online access: under /online-access/, for
clinical staff with a relationship of their own (checked by the services through governance). The
activation code is shown once, to print or read to the person."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from careweave.care.presenters import person_heading
from careweave.governance.access import open_record
from careweave.portal import accounts
from careweave.portal.models import PersonAccount, ProxyGrant, Share
from careweave.record import models as rm
from careweave.ui.guards import workspace_only
from careweave.ui.http import StaffHttpRequest


@require_http_methods(["GET", "POST"])
@workspace_only
def online_access(request: StaffHttpRequest, person_pk: int) -> HttpResponse:
    person = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    open_record(user=request.user, person=person, action="read", resource_type="Consent")
    issued: dict[str, str] = {}
    error, field = "", ""
    if request.method == "POST":
        try:
            if request.POST.get("kind") == "carer":
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
        "error": error,
        "field": field,
    }
    return render(request, "portal/staff_online_access.html", context, status=400 if error else 200)

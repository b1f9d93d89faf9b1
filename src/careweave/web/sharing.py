"""The person's sharing choices in the workspace: what they have agreed to share with which kinds of
organisation, and their national data opt-out, recorded as FHIR Consent in their record through the
importer as any sender's would be (ADR 0021); enforced from the next request by governance."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from careweave.fhir.importer import workspace_importer
from careweave.fhir.outcome import Refused
from careweave.governance import consent
from careweave.governance.access import Permission, open_record
from careweave.governance.audit import record_access
from careweave.governance.models import SharingChoice, SharingConsent
from careweave.record import models as rm
from careweave.ui.format import format_date, format_nhs_number, staff_name_and_role
from careweave.ui.guards import workspace_only


def record_choice(*, user: Any, person: rm.Person, choice: dict[str, Any]) -> str:
    """Write one Consent for `person` (the fields of `consent.consent_resource`), all or nothing;
    returns its id. The person's record is opened for writing first (refused and audited if not)."""
    open_record(
        user=user,
        person=person,
        action="consent",
        resource_type="Consent",
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )
    resource = consent.consent_resource(
        patient_id=person.resource.logical_id,
        recorded_by=staff_name_and_role(user),
        when=timezone.localtime().isoformat(timespec="seconds"),
        **choice,
    )
    with transaction.atomic():
        entry = workspace_importer(user).import_resource(resource, method="POST", url="Consent")
    record_access(
        actor=user,
        action="create",
        resource_type="Consent",
        resource_id=str(entry.logical_id),
        person_id=person.pk,
    )
    return str(entry.logical_id)


def _choice_from(data: Any) -> tuple[dict[str, Any] | None, list[dict[str, str]]]:
    rules = consent.rules()
    errors = []
    method = data.get("method", "")
    if method not in consent.METHODS:
        errors.append({"text": "Choose how the person gave this choice", "href": "#method"})
    if data.get("form") == "opt-out":
        value = data.get("opt_out", "")
        if value not in ("yes", "no"):
            errors.append({"text": "Choose whether the person has opted out", "href": "#opt_out"})
        return ({"shared": value == "no", "opt_out": True, "method": method} if not errors else None), errors
    kind, part, shared = data.get("kind", ""), data.get("part", ""), data.get("shared", "")
    if kind not in {"", *(k.id for k in rules.kinds)}:
        errors.append({"text": "Choose a kind of organisation", "href": "#kind"})
    if part not in {"", *rules.consentable}:
        errors.append({"text": "Choose a part of the record", "href": "#part"})
    if shared not in ("yes", "no"):
        errors.append({"text": "Choose share or do not share", "href": "#shared"})
    if errors:
        return None, errors
    kinds, parts = ((kind,) if kind else ()), ((part,) if part else ())
    return {"shared": shared == "yes", "kinds": kinds, "parts": parts, "method": method}, []


@require_http_methods(["GET", "POST"])
@workspace_only
def sharing(request: HttpRequest, person_pk: int) -> HttpResponse:
    subject = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    access = open_record(user=request.user, person=subject, action="read", resource_type="Consent")
    errors: list[dict[str, str]] = []
    if request.method == "POST":
        choice, errors = _choice_from(request.POST)
        if choice is not None:
            try:
                record_choice(user=request.user, person=subject, choice=choice)
            except Refused as refused:
                errors = [{"text": f"The record refused this: {refused.issues[0].message}", "href": "#kind"}]
            else:
                messages.success(request, "Sharing choice recorded. It applies from now on.")
                return redirect("web:sharing", person_pk=subject.pk)
    rules = consent.rules()
    kinds = {k.id: k.name for k in rules.kinds}
    parts = {p.id: p.name for p in rules.parts}
    context = {
        "subject": subject,
        "nhs_number": format_nhs_number(subject.nhs_number),
        "decision": access,
        "errors": errors,
        "kinds": kinds,
        "parts": {p: parts[p] for p in sorted(rules.consentable)},
        "methods": consent.METHODS,
        "choices": [
            {
                "kind": kinds.get(c.organisation_kind, c.organisation_kind),
                "part": parts.get(c.part, c.part),
                "shared": c.shared,
            }
            for c in SharingChoice.objects.filter(person=subject).order_by("organisation_kind", "part")
        ],
        "history": [
            {
                "when": format_date(c.given_on),
                "scope": c.scope,
                "status": c.status,
                "recorded_by": c.recorded_by,
                "method": c.method,
            }
            for c in SharingConsent.objects.filter(person=subject).order_by("-given_on", "-pk")
        ],
        "opted_out": subject.national_data_opt_out,
    }
    return render(request, "web/sharing.html", context)

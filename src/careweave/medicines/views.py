"""The structured medication review workspace: thin views over ``services`` (writes, governance) and
``presenters`` (words). Plain POST forms that redirect (POST-redirect-GET); no JavaScript needed."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from careweave.care.presenters import person_heading
from careweave.governance.access import Permission, open_record
from careweave.medicines import presenters, services
from careweave.medicines.findings import person_findings
from careweave.record import models as rm
from careweave.ui.guards import requires


def _person(person_pk: int) -> rm.Person:
    return get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)


def _page(request: HttpRequest, person: rm.Person, errors: dict[str, str], status: int = 200) -> HttpResponse:
    found = person_findings(person)
    context = {
        "heading": person_heading(person),
        "page": presenters.workspace(person, found, services.open_review_of(person)),
        "errors": list(errors.items()),
        "posted": request.POST if errors else {},
    }
    return render(request, "medicines/review.html", context, status=status)


@require_http_methods(["GET"])
@requires(Permission.CARE_PLANNING)
def review(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    services.open_review(user=request.user, person=person, action="read")
    return _page(request, person, {})


@require_http_methods(["POST"])
@requires(Permission.CARE_PLANNING)
def decide(request: HttpRequest, person_pk: int, key: str) -> HttpResponse:
    person = _person(person_pk)
    try:
        services.record_decision(
            user=request.user,
            person=person,
            key=key,
            decision=request.POST.get(f"decision-{key}", ""),
            reason=request.POST.get(f"reason-{key}", ""),
        )
    except services.ReviewError as error:
        return _page(request, person, error.problems, status=400)
    messages.success(request, "Decision recorded")
    return redirect("medicines:review", person_pk=person.pk)


@require_http_methods(["POST"])
@requires(Permission.CARE_PLANNING)
def complete(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    try:
        services.complete_review(
            user=request.user,
            person=person,
            shared_decision=request.POST.get("shared_decision", ""),
            what_matters=request.POST.get("what_matters", ""),
            blood_test=request.POST.get("blood_test", ""),
            review_in_weeks=request.POST.get("review_in_weeks") == "yes",
        )
    except services.ReviewError as error:
        return _page(request, person, error.problems, status=400)
    messages.success(request, "Review completed: the care plan and tasks are updated")
    return redirect("care:plan", person_pk=person.pk)


@require_http_methods(["GET"])
@requires(Permission.USE_WORKSPACE)
def summary_findings(request: HttpRequest, person_pk: int) -> HttpResponse:
    """The holistic summary's medicines section, fetched after the page; the read is decided and
    audited by governance as the summary's own is."""
    person = _person(person_pk)
    opened = open_record(user=request.user, person=person, action="read", resource_type="DetectedIssue")
    if not opened.view.shows("medicines"):  # a role or sharing choice that leaves medicines out (ADR 0021)
        opened.withhold(["medicines"], resource_type="DetectedIssue")
        return HttpResponse("")
    found = presenters.summary_findings(person, person_findings(person))
    return render(request, "medicines/_summary_findings.html", {"mf": found, "printing": False})

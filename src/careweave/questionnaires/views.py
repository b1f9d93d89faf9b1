"""The staff page: complete a questionnaire with the person (on the phone, from paper, face to face).
Views are thin: the record is opened through governance (`open_record`), answers go through
`services.submit_response` (validated, scored, written with Observations, audited)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from careweave.fhir.outcome import Refused
from careweave.governance.access import Permission, open_record
from careweave.questionnaires import catalogue, forms, services
from careweave.questionnaires.models import ResponseRecord
from careweave.record import models as rm
from careweave.ui.format import format_date
from careweave.ui.guards import requires

STAFF_MODES = {k: v for k, v in services.MODES.items() if k in ("phone", "paper", "in-person")}
workspace_writers = requires(Permission.WRITE_RECORDS)


@require_GET
@workspace_writers
def person_questionnaires(request: HttpRequest, person_pk: int) -> HttpResponse:
    person = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    open_record(user=request.user, person=person, action="read", resource_type="QuestionnaireResponse")
    answered = ResponseRecord.objects.filter(person=person).order_by("-authored")[:50]
    titles = {d.url: d.title for d in catalogue.all_definitions()}
    context = {
        "person": person,
        "due": [
            {
                "logical_id": d.logical_id,
                "title": d.title,
                "validated": d.validated,
                "last_answered": format_date(d.last_answered) if d.last_answered else "",
            }
            for d in services.questionnaires_due(person)
        ],
        "available": catalogue.current(),
        "answered": [
            {
                "title": titles.get(r.questionnaire_url, r.questionnaire_url),
                "authored": format_date(timezone.localtime(r.authored).date()),
                "score": r.score,
                "mode": services.MODES.get(r.mode, r.mode),
            }
            for r in answered
        ],
    }
    return render(request, "questionnaires/person.html", context)


@require_http_methods(["GET", "POST"])
@workspace_writers
def complete(request: HttpRequest, person_pk: int, logical_id: str) -> HttpResponse:
    person = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    definition = catalogue.by_id(logical_id)
    if definition is None or definition.status != "active":
        raise Http404("no such questionnaire")
    post = request.method == "POST"
    open_record(
        user=request.user,
        person=person,
        action="read",
        resource_type="Questionnaire",
        resource_id=definition.logical_id,
        permission=Permission.WRITE_RECORDS,
        audit=not post,  # a submission is audited once written (or refused)
    )
    asked = forms.questions(definition, request.POST if post else None)
    mode = request.POST.get("mode", "") if post else ""
    errors: dict[str, str] = {}
    if post:
        response, errors = forms.response_from_form(definition, asked, person.resource.logical_id)
        if mode not in STAFF_MODES:
            errors["mode"] = "Say how the answers were given"
        if not errors:
            try:
                submitted = services.submit_response(
                    user=request.user, response=response, mode=mode, channel="web"
                )
            except Refused as refused:
                errors = forms.errors_by_item(refused.issues)
            else:
                score = next(iter(submitted.scores.values()), None)
                messages.success(
                    request,
                    f"Saved {definition.title}" + (f": score {score:g}" if score is not None else ""),
                )
                return redirect("questionnaires:person", person_pk=person.pk)
    for q in asked:
        q.error = errors.get(q.item.link_id, "")
    summary = [{"text": q.error, "href": f"#{q.field}"} for q in asked if q.error]
    if errors.get("mode"):
        summary.insert(0, {"text": errors["mode"], "href": "#mode"})
    summary += [
        {"text": message, "href": "#"}
        for key, message in errors.items()
        if key not in {q.item.link_id for q in asked} | {"mode"}
    ]
    context = {
        "person": person,
        "definition": definition,
        "questions": asked,
        "modes": [{"value": k, "text": v, "checked": k == mode} for k, v in STAFF_MODES.items()],
        "mode_error": errors.get("mode", ""),
        "errors": summary,
    }
    return render(request, "questionnaires/complete.html", context, status=400 if errors else 200)

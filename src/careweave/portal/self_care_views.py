"""The person's view: home readings (send one, see the team's feedback) and questionnaires (what is
due, answer one online). Thin: governance decides through `services.open_own`, monitoring and
questionnaires check and store (the same checks as their APIs), errors beside each field."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from careweave.fhir.outcome import Refused
from careweave.monitoring.services import ReadingError
from careweave.portal import self_care, services
from careweave.portal.models import PersonAccount, Share
from careweave.portal.views import _context, _person, person_only
from careweave.questionnaires import catalogue, forms
from careweave.questionnaires import services as questionnaires
from careweave.ui.format import format_date

SENT = "portal-reading-sent"


@require_GET
@person_only
def home_readings(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    services.open_own(
        user=request.user, person=person, share=Share.READINGS, action="read", resource_type="Observation"
    )
    sent = request.session.pop(SENT, "") if request.session.get(SENT) else ""
    context = _context(
        account,
        person,
        Share.READINGS,
        series=self_care.reading_series(person),
        feedback=self_care.feedback(person),
        measurements=self_care.measurements(),
        sent=sent,
    )
    return render(request, "portal/readings.html", context)


@require_http_methods(["GET", "POST"])
@person_only
def add_reading(
    request: HttpRequest, account: PersonAccount, person_pk: int, measurement: str
) -> HttpResponse:
    person = _person(person_pk)
    found = next((m for m in self_care.measurements() if m.id == measurement), None)
    if found is None:
        raise Http404("not found")
    post = request.method == "POST"
    # a form post is decided (and audited once stored) by the service
    services.open_own(
        user=request.user, person=person, share=Share.READINGS, action="read", resource_type="Observation",
        audit=not post,
    )  # fmt: skip
    errors: dict[str, str] = {}
    raw = {f.id: request.POST.get(f.id, "") for f in self_care.fields_of(found)} if post else {}
    if post:
        try:
            self_care.send_reading(user=request.user, person=person, measurement=found.id, raw=raw)
        except ReadingError as refused:
            errors[refused.field if refused.field in raw else next(iter(raw))] = str(refused)
        else:
            request.session[SENT] = found.name
            return redirect("portal:readings", person_pk=person.pk)
    fields = [
        {
            "id": f.id,
            "label": f.name if found.components else f"Your {found.name.lower()}",
            "unit": self_care.unit_words(f.unit),
            "value": raw.get(f.id, ""),
            "error": errors.get(f.id, ""),
        }
        for f in self_care.fields_of(found)
    ]
    context = _context(
        account,
        person,
        Share.READINGS,
        measurement=found,
        fields=fields,
        errors=[{"text": f["error"], "href": f"#{f['id']}"} for f in fields if f["error"]],
    )
    return render(request, "portal/add_reading.html", context, status=400 if errors else 200)


@require_GET
@person_only
def questionnaire_list(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    services.open_own(
        user=request.user,
        person=person,
        share=Share.PLAN,
        action="read",
        resource_type="QuestionnaireResponse",
    )
    due = [
        {
            "logical_id": d.logical_id,
            "title": d.title,
            "last": format_date(d.last_answered) if d.last_answered else "",
        }
        for d in questionnaires.questionnaires_due(person)
    ]
    saved = request.session.pop("portal-questionnaire-saved", "")
    return render(request, "portal/questionnaires.html", _context(account, person, "", due=due, saved=saved))


@require_http_methods(["GET", "POST"])
@person_only
def answer_questionnaire(
    request: HttpRequest, account: PersonAccount, person_pk: int, logical_id: str
) -> HttpResponse:
    person = _person(person_pk)
    definition = catalogue.by_id(logical_id)
    if definition is None or definition.status != "active":
        raise Http404("not found")
    post = request.method == "POST"
    services.open_own(
        user=request.user, person=person, share=Share.PLAN, action="read", resource_type="Questionnaire",
        audit=not post,
    )  # fmt: skip
    asked = forms.questions(definition, request.POST if post else None)
    errors: dict[str, str] = {}
    if post:
        response, errors = forms.response_from_form(definition, asked, person.resource.logical_id)
        if not errors:
            try:
                questionnaires.submit_response(
                    user=request.user, response=response, mode="online", channel="portal"
                )
            except Refused as refused:
                errors = forms.errors_by_item(refused.issues)
            else:
                request.session["portal-questionnaire-saved"] = definition.title
                return redirect("portal:questionnaires", person_pk=person.pk)
    for q in asked:
        q.error = errors.get(q.item.link_id, "")
    summary: list[dict[str, Any]] = [{"text": q.error, "href": f"#{q.field}"} for q in asked if q.error]
    known = {q.item.link_id for q in asked}
    summary += [{"text": m, "href": "#answers"} for k, m in errors.items() if k not in known]
    context = _context(account, person, "", definition=definition, questions=asked, errors=summary)
    return render(request, "portal/answer.html", context, status=400 if errors else 200)

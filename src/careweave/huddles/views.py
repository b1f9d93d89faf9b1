"""Huddle pages: the list and the scheduling form, one huddle's agenda and outcomes, my tasks.

Views are thin: `services` makes every change (atomic, audited) and `presenters` shapes the pages.
A refusal is `AccessRefused`, from here or a service, answered with the 403 page by the guard.
Every form is a plain POST that redirects, so nothing needs JavaScript.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from careweave.governance.access import AccessRefused, Permission, people_in_care
from careweave.governance.audit import record_views
from careweave.huddles import presenters, services
from careweave.huddles.models import AgendaItem, Huddle, Task
from careweave.record import models as rm
from careweave.ui.format import staff_name_and_role, staff_organisation
from careweave.ui.guards import requires
from careweave.ui.http import StaffHttpRequest

logger = logging.getLogger(__name__)

clinical_staff_only = requires(Permission.HUDDLES)


@require_http_methods(["GET", "POST"])
@clinical_staff_only
def huddle_list(request: StaffHttpRequest) -> HttpResponse:
    form = presenters.ScheduleForm.empty()
    errors: list[dict[str, str]] = []
    find = (request.POST.get("find") or request.GET.get("find") or "").strip()[:100]
    if request.method == "POST":
        form = presenters.ScheduleForm.from_post(request.POST)
        # members from any organisation (an MDT crosses them); schedule_huddle checks each may join
        chosen = list(services.clinical_staff(None).filter(pk__in=form.member_ids))
        try:
            huddle = services.schedule_huddle(
                user=request.user, team_name=form.team_name, scheduled_for=form.when(), members=chosen
            )
        except services.HuddleError as problem:
            errors.append({"text": str(problem), "href": f"#{problem.field}"})
        else:
            logger.info("huddle scheduled huddle_id=%s user_id=%s", huddle.pk, request.user.pk)
            messages.success(request, f"Huddle scheduled for {presenters.when_text(huddle.scheduled_for)}")
            return redirect("huddles:detail", huddle_pk=huddle.pk)
    context = {
        "huddles": presenters.huddle_rows(services.huddles_for(request.user)),
        "form": form,
        "staff": [
            {"value": u.pk, "text": staff_name_and_role(u), "organisation": getattr(staff_organisation(u), "name", ""),
             "checked": u.pk in form.member_ids}
            for u in services.huddle_candidates(request.user, find)
        ],
        "find": find,
        "errors": errors,
    }
    return render(request, "huddles/list.html", context, status=400 if errors else 200)


def _member_huddle(request: HttpRequest, huddle_pk: int) -> Huddle:
    huddle = get_object_or_404(Huddle.objects.select_related("organisation"), pk=huddle_pk)
    if not services.is_member(request.user, huddle):
        raise AccessRefused("only members of this huddle can see it and change it")
    return huddle


@require_http_methods(["GET"])
@clinical_staff_only
def huddle_detail(request: HttpRequest, huddle_pk: int) -> HttpResponse:
    huddle = _member_huddle(request, huddle_pk)
    return _render_detail(request, huddle)


def _render_detail(
    request: HttpRequest,
    huddle: Huddle,
    errors: list[dict[str, str]] | None = None,
    nomination: dict[str, str] | None = None,
    status: int = 200,
    outcome_form: dict[str, str] | None = None,
) -> HttpResponse:
    page = presenters.huddle_page(huddle, request.user, outcome_form)
    # One entry per person named on the page (the agenda items in the user's care and the
    # suggestions); the others are shown as a record number only.
    named = [i["person_pk"] for i in page.agenda if i["visible"]] + [s["person_pk"] for s in page.suggestions]
    record_views(
        actor=request.user, person_ids=[(pk, str(huddle.pk)) for pk in named], action="huddle-read", resource_type="Huddle"
    )
    context = {
        "page": page,
        "errors": errors or [],
        "nomination": nomination or {"nhs_number": "", "reason": ""},
    }
    return render(request, "huddles/detail.html", context, status=status)


@require_POST
@clinical_staff_only
def add_suggestion(request: HttpRequest, huddle_pk: int) -> HttpResponse:
    huddle = _member_huddle(request, huddle_pk)
    subject = get_object_or_404(
        rm.Person.objects.select_related("resource"), pk=presenters.form_id(request.POST.get("person", "")) or 0
    )
    try:
        services.add_suggestion(
            user=request.user, huddle=huddle, person=subject, list_id=request.POST.get("list_id", "")
        )
    except services.HuddleError as problem:
        return _render_detail(
            request, huddle, [{"text": str(problem), "href": f"#{problem.field}"}], status=400
        )
    return redirect(f"/huddles/{huddle.pk}/#agenda")


@require_POST
@clinical_staff_only
def nominate(request: HttpRequest, huddle_pk: int) -> HttpResponse:
    huddle = _member_huddle(request, huddle_pk)
    nhs_number = "".join(ch for ch in request.POST.get("nhs_number", "") if ch.isdigit())
    reason = request.POST.get("reason", "")
    # Only people in the nominator's care can be found: a search outside it finds no one.
    subject = (
        people_in_care(request.user).select_related("resource").filter(nhs_number=nhs_number).first()
        if len(nhs_number) == 10
        else None
    )
    try:
        services.nominate(user=request.user, huddle=huddle, person=subject, reason=reason)
    except services.HuddleError as problem:
        errors = [{"text": str(problem), "href": f"#{problem.field}"}]
        nomination = {
            "nhs_number": request.POST.get("nhs_number", ""),
            "reason": reason,
            "field": problem.field,
        }
        return _render_detail(request, huddle, errors, nomination, status=400)
    logger.info("huddle nomination huddle_id=%s user_id=%s", huddle.pk, request.user.pk)
    return redirect(f"/huddles/{huddle.pk}/#agenda")


@require_POST
@clinical_staff_only
def record_outcome(request: HttpRequest, huddle_pk: int, item_pk: int) -> HttpResponse:
    huddle = _member_huddle(request, huddle_pk)
    item = get_object_or_404(
        AgendaItem.objects.select_related("person__resource", "huddle"), pk=item_pk, huddle=huddle
    )
    action = presenters.action_from_post(request.POST, item.pk)
    try:
        services.record_outcome(
            user=request.user, item=item, discussion=request.POST.get("discussion", ""), actions=[action]
        )
    except services.HuddleError as problem:
        errors = [{"text": str(problem), "href": f"#{problem.field}"}]
        form = {k: request.POST.get(k, "") for k in presenters.OUTCOME_FIELDS}
        form.update(item=str(item.pk), field=problem.field)
        return _render_detail(request, huddle, errors, status=400, outcome_form=form)
    logger.info("huddle outcome huddle_id=%s item_id=%s user_id=%s", huddle.pk, item.pk, request.user.pk)
    messages.success(
        request,
        "Outcome recorded"
        + (" and the action added to the owner's tasks" if action.description.strip() else ""),
    )
    return redirect(f"/huddles/{huddle.pk}/#item-{item.pk}")


# -- my tasks --------------------------------------------------------------------------------------


@require_http_methods(["GET"])
@clinical_staff_only
def my_tasks(request: HttpRequest) -> HttpResponse:
    tasks = presenters.task_rows(request.user)
    # One entry per person named on the page; people no longer in the user's care show as a number.
    named = [t["person_pk"] for t in [*tasks.open, *tasks.done, *tasks.care_actions] if t["visible"]]
    record_views(actor=request.user, person_ids=named, action="tasks-read", resource_type="Task")
    return render(request, "huddles/tasks.html", {"tasks": tasks})


@require_POST
@clinical_staff_only
def complete_task(request: HttpRequest, task_pk: int) -> HttpResponse:
    task = get_object_or_404(Task, pk=task_pk)
    services.complete_task(user=request.user, task=task)
    messages.success(request, "Task marked as done")
    return redirect("web:tasks")

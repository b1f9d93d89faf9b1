"""The referrals worklist and its actions (issue 15): chase, validate, re-refer elsewhere, escalate to
the MDT huddle. Thin views: the scan and the ranking are in `referral_worklist`, the writes in
`careweave.referrals.services` (and `careweave.huddles.services` for the agenda), every person shown
or changed is opened or audited through `careweave.governance.access`. Every action is a form POST
(CSRF-protected) that works without JavaScript, answered by a redirect back to the worklist.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careweave.governance.access import Permission, in_care, open_record
from careweave.governance.audit import record_views
from careweave.huddles import services as huddle_services
from careweave.record import models as rm
from careweave.referrals import services
from careweave.referrals.scan import cached_findings_for
from careweave.segmentation.services import current_run
from careweave.ui.format import format_nhs_number
from careweave.ui.guards import requires
from careweave.web import referral_detail, referral_population
from careweave.web import referral_worklist as presenter

logger = logging.getLogger(__name__)

WORKLIST = "web:referrals"


def _referral(referral_pk: int) -> rm.Referral:
    return get_object_or_404(
        rm.Referral.objects.select_related(
            "person",
            "person__resource",
            "resource",
            "to_organisation",
            "from_organisation",
            "replaces__to_organisation",
        ),
        pk=referral_pk,
    )


def _open(request: HttpRequest, referral: rm.Referral, action: str, permission: Permission) -> None:
    """The person's record opened for this referral (decided and audited, allowed or refused)."""
    open_record(
        user=request.user,
        person=referral.person,
        action=action,
        resource_type="ServiceRequest",
        resource_id=referral.resource.logical_id,
        permission=permission,
    )


@require_GET
@requires(Permission.WORKLISTS)
def worklist(request: HttpRequest) -> HttpResponse:
    rows = presenter.worklist_rows(
        cached_findings_for(in_care(request.user, "person_id"), key=request.user.pk), current_run()
    )
    # one audit entry per person shown, named by this list
    record_views(
        actor=request.user,
        person_ids=[(r.person_pk, "referrals") for r in rows],
        action="worklist-read",
        resource_type="ServiceRequest",
    )
    logger.info("referrals worklist user_id=%s people=%s", request.user.pk, len(rows))
    return render(request, "web/referrals.html", {"rows": rows, "today": timezone.localdate()})


def _form_page(
    request: HttpRequest,
    referral: rm.Referral,
    action: str,
    errors: list[dict[str, str]],
    values: dict[str, str],
) -> HttpResponse:
    # the form shows the person's name and NHS number: a view of them, audited as one
    _open(request, referral, f"referral-{action}-form", Permission.WORKLISTS)
    state = presenter.latest_states([referral.pk]).get(referral.pk)
    context: dict[str, Any] = {
        "action": action,
        "referral": referral,
        "name": referral.person.display_name,
        "nhs_number": format_nhs_number(referral.person.nhs_number),
        "service": presenter.service_name(referral.to_organisation),
        "state": presenter.state_text(state, referral),
        "errors": errors,
        "error_fields": {e["href"].lstrip("#") for e in errors},
        "values": values,
        "contacts": [
            {"value": k, "text": v, "checked": values.get("contact") == k}
            for k, v in services.CONTACTS.items()
        ],
        "answers": [
            {"value": k, "text": v, "checked": values.get("answer") == k} for k, v in services.ANSWERS.items()
        ],
        "services": [
            dict(c, selected=c["value"] == values.get("to"))
            for c in presenter.referral_choices(referral.to_organisation)
        ],
    }
    return render(request, "web/referral_action.html", context, status=400 if errors else 200)


@require_POST
@requires(Permission.WORKLISTS)
def chase(request: HttpRequest, referral_pk: int) -> HttpResponse:
    referral = _referral(referral_pk)
    try:
        services.chase(user=request.user, referral=referral, note=request.POST.get("note", ""))
    except services.ReferralError as problem:
        messages.error(request, str(problem))
    else:
        logger.info("referral chase user_id=%s referral_id=%s", request.user.pk, referral.pk)
        messages.success(
            request,
            f"Chase sent to {presenter.service_name(referral.to_organisation)} "
            f"about {referral.person.display_name}'s referral",
        )
    return redirect(WORKLIST)


@require_http_methods(["GET", "POST"])
@requires(Permission.WORKLISTS)
def validate(request: HttpRequest, referral_pk: int) -> HttpResponse:
    referral = _referral(referral_pk)
    values = {k: request.POST.get(k, "")[: services.MAX_NOTE + 1] for k in ("contact", "answer", "note")}
    if request.method == "POST":
        try:
            services.validate(
                user=request.user,
                referral=referral,
                contact=values["contact"],
                answer=values["answer"],
                note=values["note"],
            )
        except services.ReferralError as problem:
            return _form_page(
                request, referral, "validate", [{"text": str(problem), "href": f"#{problem.field}"}], values
            )
        logger.info("referral validated user_id=%s referral_id=%s", request.user.pk, referral.pk)
        answer = services.ANSWERS[values["answer"]].lower()
        messages.success(
            request, f"Check recorded: {referral.person.display_name} said the referral is {answer}"
        )
        return redirect(WORKLIST)
    return _form_page(request, referral, "validate", [], values)


@require_http_methods(["GET", "POST"])
@requires(Permission.WORKLISTS)
def re_refer(request: HttpRequest, referral_pk: int) -> HttpResponse:
    referral = _referral(referral_pk)
    values = {k: request.POST.get(k, "")[: services.MAX_NOTE + 1] for k in ("to", "note")}
    if request.method == "POST":
        to = rm.Organisation.objects.filter(pk=int(values["to"])).first() if values["to"].isdigit() else None
        try:
            services.re_refer(user=request.user, referral=referral, to=to, note=values["note"])
        except services.ReferralError as problem:
            return _form_page(
                request, referral, "re-refer", [{"text": str(problem), "href": f"#{problem.field}"}], values
            )
        assert to is not None
        logger.info("re-referred user_id=%s referral_id=%s", request.user.pk, referral.pk)
        messages.success(request, f"{referral.person.display_name} referred to {to.name} instead")
        return redirect(WORKLIST)
    return _form_page(request, referral, "re-refer", [], values)


@require_POST
@requires(Permission.WORKLISTS)
def escalate(request: HttpRequest, referral_pk: int) -> HttpResponse:
    """Put the person on the agenda of the user's next MDT huddle, with the finding as the reason."""
    referral = _referral(referral_pk)
    _open(request, referral, "referral-escalate", Permission.HUDDLES)
    huddle = (
        huddle_services.huddles_for(request.user)
        .filter(scheduled_for__gte=timezone.now())
        .order_by("scheduled_for", "pk")
        .first()
    )
    if huddle is None:
        messages.error(
            request,
            "You are not a member of any MDT huddle still to come: schedule one on the huddles page first",
        )
        return redirect(WORKLIST)
    reason = request.POST.get("reason", "").strip()[:500] or (
        f"Referral to {presenter.service_name(referral.to_organisation)} needs the team's help"
    )
    try:
        huddle_services.nominate(user=request.user, huddle=huddle, person=referral.person, reason=reason)
    except huddle_services.HuddleError as problem:
        messages.error(request, str(problem))
    else:
        logger.info("referral escalated user_id=%s huddle_id=%s", request.user.pk, huddle.pk)
        messages.success(
            request, f"{referral.person.display_name} added to the agenda of {huddle.team_name}'s huddle"
        )
    return redirect(WORKLIST)


@require_GET
@requires(Permission.WORKLISTS)
def detail(request: HttpRequest, referral_pk: int) -> HttpResponse:
    """One referral's timeline: requested, received, accepted ... with appointments, checks and letters."""
    referral = _referral(referral_pk)
    _open(request, referral, "read", Permission.READ_RECORDS)
    state = presenter.latest_states([referral.pk]).get(referral.pk)
    context = {
        "referral": referral,
        "name": referral.person.display_name,
        "nhs_number": format_nhs_number(referral.person.nhs_number),
        "service": presenter.service_name(referral.to_organisation),
        "state": presenter.state_text(state, referral),
        "waited": referral_detail.weeks_waited(referral, state),
        "events": referral_detail.timeline(referral),
    }
    return render(request, "web/referral.html", context)


@require_GET
@requires(Permission.VIEW_POPULATION)
def population(request: HttpRequest) -> HttpResponse:
    """Waits, loops and people lost to follow-up across the population: suppressed aggregates only."""
    view = referral_population.referral_population_view(current_run(), timezone.localdate())
    return render(request, "web/referral_population.html", referral_population.context(view))

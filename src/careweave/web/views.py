"""The clinician workspace: sign in, the people in my care, one person's holistic summary, worklists,
the population view, my tasks, and the audit pages.

Views are thin: what a role may do is asked of `careweave.governance.permissions` (through the
`requires` guards of `careweave.ui.guards`), a person's record is opened through
`careweave.governance.access.open_record` (decided, and audited whether allowed or refused), and
`presenters` shapes the data for the templates. A refusal is `AccessRefused`, answered by the guard.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from careweave.governance.access import (
    Permission,
    decide,
    open_break_glass,
    open_record,
    people_in_care,
    review_break_glass,
)
from careweave.governance.audit import record_access, record_views
from careweave.governance.models import BreakGlass
from careweave.governance.permissions import has
from careweave.record import models as rm
from careweave.reviews.prompts import prompts_due
from careweave.segmentation.freshness import freshness
from careweave.segmentation.models import WorklistOverride
from careweave.segmentation.services import current_run, default_review_on, override_worklist, worklist_titles
from careweave.ui.format import NOT_RECORDED, format_date, format_nhs_number
from careweave.ui.guards import refused_page, requires, workspace_only
from careweave.ui.http import HtmxHttpRequest
from careweave.web import audit as audit_presenter
from careweave.web import people as people_presenter
from careweave.web import population as population_presenter
from careweave.web import presenters, summary, today, worklists
from careweave.web import timeline as timeline_filter
from careweave.web.shared_parts import shared_summary
from careweave.web.signin import SIGN_IN_REFUSED, attempt_sign_in

logger = logging.getLogger(__name__)

PEOPLE_PER_PAGE = 25

AUDIT_PAGES = {"heading": "Only administrators see the audit log", "explanation": "Ask an administrator to review access."}
administrators_only = requires(Permission.READ_AUDIT, **AUDIT_PAGES)


def _home_for(user: Any) -> str:
    if has(user, Permission.READ_AUDIT):
        return "/audit/"
    if has(user, Permission.VIEW_POPULATION) and not has(user, Permission.USE_WORKSPACE):
        return "/population/"
    return "/today/"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("web:login")
    return redirect(_home_for(request.user))


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    error = ""
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        result = attempt_sign_in(request, username=username, password=request.POST.get("password", ""))
        if result.ok and result.user is not None:
            login(request, result.user)
            logger.info("sign-in user_id=%s", result.user.pk)
            return redirect(next_url or _home_for(result.user))
        # One message for a wrong password, an unknown username and a lockout: none of them tells
        # anyone which usernames exist or which accounts are locked.
        error = SIGN_IN_REFUSED
        logger.info("sign-in failed locked=%s", result.locked)
    context = {"error": error, "username": username, "next": next_url}
    return render(request, "web/login.html", context, status=200 if not error else 400)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You have signed out")
    return redirect("web:login")


@require_GET
@workspace_only
def people(request: HtmxHttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    sort = people_presenter.PeopleSort.from_query(request.GET.get("sort", ""))
    found = presenters.search_people(
        people_in_care(request.user).select_related("registered_practice"), query
    ).order_by(*sort.order_by)
    page = Paginator(found, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    # Names and NHS numbers on the page (the htmx results too): one audit entry per person shown.
    # The search words are not kept: they may contain a name.
    record_views(actor=request.user, person_ids=[p.pk for p in shown], action="people-list", resource_type="Patient")
    outside = None
    if not shown and has(request.user, Permission.BREAK_GLASS):
        # An exact NHS number outside the user's care: offer emergency access (the refused page's
        # warning and form). Only the NHS number the user typed is shown back, never a name.
        outside = people_presenter.outside_care_match(query, people_in_care(request.user))
        if outside is not None:
            record_views(actor=request.user, person_ids=[outside.pk], action="people-search-outside-care",
                         resource_type="Patient")
    logger.info("people list user_id=%s results=%s", request.user.pk, page.paginator.count)
    context = {
        "query": query,
        "page": page,
        "rows": presenters.person_rows(shown, request.user),
        "pager": presenters.pager_for(page, sort.query_string(query)),
        "headers": sort.headers(query),
        "outside": outside,
    }
    # An htmx search swaps in just the results; a full page otherwise (and without JavaScript).
    template = "web/_people_results.html" if request.htmx else "web/people.html"
    return render(request, template, context)


@require_GET
@workspace_only
def today_page(request: HttpRequest) -> HttpResponse:
    """The landing page after sign-in: what needs this clinician today."""
    page = today.today_page(request.user, worklists=has(request.user, Permission.WORKLISTS))
    record_views(actor=request.user, person_ids=page.person_ids, action="today-read", resource_type="Patient")
    return render(request, "web/today.html", {"page": page})


@require_GET
@workspace_only
def person(request: HttpRequest, person_pk: int) -> HttpResponse:
    subject = get_object_or_404(rm.Person.objects.select_related("registered_practice", "resource"), pk=person_pk)
    access = open_record(user=request.user, person=subject, action="read")  # refused: the break-glass form
    timeline = timeline_filter.TimelineFilter.from_query(request.GET)
    shown = shared_summary(summary.holistic_summary(subject, timeline, access.view), access)
    context = {"summary": shown, "decision": access,
               "printed_on": _printed_on(), "printing": False, "prompts": prompts_due(subject),
               "prompt_person_pk": subject.pk}
    return render(request, "web/person.html", context)


def _printed_on() -> str:
    now = timezone.localtime()
    return f"{format_date(now)} at {now:%H:%M}"


@require_GET
@workspace_only
def person_print(request: HttpRequest, person_pk: int) -> HttpResponse:
    """The summary to print, without JavaScript: no navigation or forms, with who printed it, when, and
    the confidentiality line at the top and the foot; the printing is audited as such."""
    subject = get_object_or_404(rm.Person.objects.select_related("registered_practice", "resource"), pk=person_pk)
    access = open_record(user=request.user, person=subject, action="print")
    timeline = timeline_filter.TimelineFilter.from_query(request.GET)
    shown = shared_summary(summary.holistic_summary(subject, timeline, access.view), access)
    context = {"summary": shown, "decision": access,
               "printed_on": _printed_on(), "printing": True}
    return render(request, "web/person.html", context)


@require_POST
@requires(Permission.BREAK_GLASS)
def break_glass(request: HttpRequest, person_pk: int) -> HttpResponse:
    subject = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    if decide(request.user, subject).allowed:
        return redirect("web:person", person_pk=subject.pk)
    given = request.POST.get("reason", "")
    try:
        open_break_glass(user=request.user, person=subject, reason=given)
    except ValueError as problem:
        return refused_page(request, subject.pk, "", error=str(problem).capitalize(), given=given)
    logger.warning("break-glass opened user_id=%s person_id=%s", request.user.pk, subject.pk)
    return redirect("web:person", person_pk=subject.pk)


@require_GET
@administrators_only
def audit(request: HttpRequest) -> HttpResponse:
    person_param = request.GET.get("person", "").strip()[:100]
    subject = None
    candidates: list[audit_presenter.Candidate] = []
    error = ""
    if person_param:
        # by NHS number, name, record number or Patient id (a removed person's audit is kept and found
        # by the last two)
        subject, candidates = audit_presenter.find_subjects(person_param)
        if subject is None and not candidates:
            error = "Enter the NHS number, name or record number of a person in the record"
        elif subject is not None:  # reading who saw a record is itself an access worth recording
            record_access(actor=request.user, action="audit-read", resource_type="AuditEvent",
                          person_id=subject.pk, person_ref=subject.person_ref, purpose="audit", channel="web")
        else:  # names and NHS numbers shown to choose from: each an access, for the audit purpose
            record_views(actor=request.user, person_ids=[c.pk for c in candidates], action="audit-search",
                         resource_type="Patient", purpose="audit")
    context = {
        "person_param": person_param,
        "subject": subject,
        "candidates": candidates[: audit_presenter.MOST_CANDIDATES],
        "too_many": len(candidates) > audit_presenter.MOST_CANDIDATES,
        "rows": audit_presenter.audit_rows(subject.pk) if subject else [],
        "awaiting_review": audit_presenter.break_glass_awaiting_review(),
        "recently_reviewed": audit_presenter.break_glass_recently_reviewed(),
        "error": error,
    }
    return render(request, "web/audit.html", context)


@require_GET
@administrators_only
def access_report(request: HttpRequest, person_pk: int) -> HttpResponse:
    """A copy for the person of who has looked at or changed their record (printable)."""
    subject = audit_presenter.audit_subject(str(person_pk))
    if subject is None:
        raise Http404("no such record")
    record_access(actor=request.user, action="audit-read", resource_type="AuditEvent", person_id=subject.pk,
                  person_ref=subject.person_ref, purpose="subject-access",
                  reason="copy of the access report for the person", channel="web")
    known = subject.person
    context = {  # a removed person may still ask who saw their record
        "name": known.display_name if known else audit_presenter.removed_label(subject.person_ref),
        "nhs_number": format_nhs_number(known.nhs_number) if known else NOT_RECORDED,
        "rows": audit_presenter.access_report_rows(subject.pk),
        "produced": format_date(timezone.localdate()),
        "person_pk": subject.pk,
    }
    return render(request, "web/access_report.html", context)


@require_http_methods(["GET", "POST"])
@requires(Permission.REVIEW_BREAK_GLASS, **AUDIT_PAGES)
def break_glass_review(request: HttpRequest, glass_pk: int) -> HttpResponse:
    """One break-glass access: who, whose record, why; the administrator records what they found."""
    glass = get_object_or_404(
        BreakGlass.objects.select_related("user", "user__staff_profile", "person", "person__resource"), pk=glass_pk
    )
    note = request.POST.get("review_note", "")
    error = ""
    if request.method == "POST":
        try:
            review_break_glass(reviewer=request.user, glass=glass, note=note)
        except ValueError as problem:
            error = str(problem).capitalize()
            glass.refresh_from_db()  # someone else may have reviewed it meanwhile
        else:
            logger.info("break-glass reviewed glass_id=%s user_id=%s", glass.pk, request.user.pk)
            messages.success(request, "Break-glass access marked as reviewed")
            return redirect("web:audit")
    context = {"glass": audit_presenter.break_glass_row(glass), "note": note, "error": error,
               "reviewed": glass.reviewed_at is not None}
    status = (409 if glass.reviewed_at is not None else 400) if error else 200
    return render(request, "web/break_glass_review.html", context, status=status)


# -- worklists -------------------------------------------------------------------------------------

WORKLIST_ROWS_PER_PAGE = 50


@require_GET
@requires(Permission.WORKLISTS)
def worklist(request: HtmxHttpRequest) -> HttpResponse:
    run = current_run()
    if run is None:
        return render(request, "web/worklists.html", {"run": None})
    filters = worklists.Filters.from_query(request.GET)
    in_care = worklists.entries_in_care(run, request.user)
    counts = worklists.Counts.of(in_care)
    entries = worklists.filtered(in_care, filters, run)
    paginator = Paginator(worklists.ordered_page_query(entries, run, filters.sort), WORKLIST_ROWS_PER_PAGE)
    known = counts.results(filters)
    if known is not None:
        paginator.count = known  # already counted by the grouped query: saves a second pass
    page = paginator.get_page(request.GET.get("page"))
    clusters = worklists.cluster_options(run)
    rows = worklists.rows(page.object_list, run, clusters)
    removed = worklists.removals(request.user, filters, timezone.localdate())
    # One audit entry per person and list shown, so each person's access report says which list.
    shown = [(r.pk, r.list_id) for r in rows] + [(r.person_pk, r.list_id) for r in removed]
    record_views(actor=request.user, person_ids=shown, action="worklist-read", resource_type="WorklistEntry")
    logger.info("worklist user_id=%s entries=%s", request.user.pk, page.paginator.count)
    context = {
        "run": run,
        "run_caption": worklists.run_caption(run),
        "freshness": freshness(run),
        "filters": filters,
        "lists": counts.lists(),
        "clusters": clusters,
        "practices": counts.practices(),
        "page": page,
        "rows": rows,
        "removed": removed,
        "pager": presenters.pager_for(page, filters.query()),
        "here": request.get_full_path(),
    }
    template = "web/_worklist_results.html" if request.htmx else "web/worklists.html"
    return render(request, template, context)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


@require_http_methods(["GET", "POST"])
@requires(Permission.WORKLISTS)
def worklist_change(request: HttpRequest, person_pk: int) -> HttpResponse:
    """Add a person to a worklist or take them off it, with a reason (a form page, so no JavaScript needed).

    A change opens the person's record in `override_worklist`; the form, shown first or again, here."""
    subject = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    data = request.POST if request.method == "POST" else request.GET
    action = data.get("action", "")
    if action not in WorklistOverride.Action.values:
        action = WorklistOverride.Action.ADD
    titles = worklist_titles()
    list_id = data.get("list_id", "")
    back = _safe_next(request, f"/people/{subject.pk}/")
    errors: list[dict[str, str]] = []
    reason = data.get("reason", "") if request.method == "POST" else ""
    default_review = default_review_on(timezone.localdate())
    review_text = data.get("review_on", "").strip() if request.method == "POST" else default_review.isoformat()
    if request.method == "POST":
        review_on: dt.date | None = None
        if action == WorklistOverride.Action.REMOVE:
            try:
                review_on = dt.date.fromisoformat(review_text) if review_text else default_review
            except ValueError:
                errors.append({"text": "Enter the review date as a real date", "href": "#review_on"})
        if list_id not in titles:
            errors.append({"text": "Choose a worklist", "href": "#list_id"})
        elif not errors:
            try:
                override_worklist(user=request.user, person=subject, list_id=list_id, action=action, reason=reason,
                                  review_on=review_on)
            except ValueError as problem:
                field = "#review_on" if "review date" in str(problem) else "#reason"
                errors.append({"text": str(problem).capitalize(), "href": field})
            else:
                logger.info("worklist %s user_id=%s person_id=%s", action, request.user.pk, subject.pk)
                done = "added to" if action == WorklistOverride.Action.ADD else "removed from"
                until = f" until {format_date(review_on)}" if review_on else ""
                messages.success(request, f"{subject.display_name} {done} {titles[list_id]}{until}")
                return redirect(back)
    # The form shows the person's name and NHS number: a view of them, audited as one.
    open_record(user=request.user, person=subject, action="worklist-form", permission=Permission.WORKLISTS)
    context = {
        "subject": subject,
        "name": subject.display_name,
        "nhs_number": format_nhs_number(subject.nhs_number),
        "action": action,
        "list_id": list_id,
        "list_title": titles.get(list_id, ""),
        "lists": [{"value": i, "text": t, "selected": i == list_id} for i, t in titles.items()],
        "reason": reason,
        "review_on": review_text,
        "default_review": format_date(default_review),
        "errors": errors,
        "next": back,
    }
    return render(request, "web/worklist_change.html", context, status=400 if errors else 200)


# -- population (aggregates only) ------------------------------------------------------------------

@require_GET
@requires(Permission.VIEW_POPULATION)
def population(request: HttpRequest) -> HttpResponse:
    run = current_run()
    view = population_presenter.population_view(run) if run is not None else None
    return render(request, "web/population.html", {"view": view})

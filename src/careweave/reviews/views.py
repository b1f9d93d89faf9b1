"""The practice planner pages (issue 14, items 4 and 6): the twelve weeks, the practice's settings,
booking one person's review, and the review template.

Views are thin: `services` and `consultation` make every change (atomic, audited) and `presenters`
shapes the pages. Every form is a plain POST that redirects, so nothing needs JavaScript. A refusal is
`AccessRefused`, answered with the 403 page by the guard.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from careweave.governance.access import AccessRefused, Permission, open_record
from careweave.governance.audit import record_views
from careweave.record import models as rm
from careweave.reviews import consultation, presenters, prompts, services
from careweave.reviews.models import Booking, ClinicSession, PlannedReview
from careweave.ui.format import format_date, staff_organisation
from careweave.ui.guards import requires
from careweave.ui.http import StaffHttpRequest

logger = logging.getLogger(__name__)

planning_staff = requires(Permission.CARE_PLANNING)


def _practice(request: StaffHttpRequest) -> rm.Organisation:
    practice = staff_organisation(request.user)
    if practice is None:
        raise AccessRefused("the review planner is for staff of a practice; your account has no organisation")
    return practice


def _render_planner(
    request: StaffHttpRequest,
    form: presenters.SettingsForm | None = None,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    practice = _practice(request)
    saved = services.settings_for(practice)
    page = presenters.planner_page(
        request.user, practice, saved, presenters.form_int(request.GET.get("week"))
    )
    named = [p["person_pk"] for p in [*page.people, *page.different_approach]]
    record_views(
        actor=request.user, person_ids=named, action="review-planner-read", resource_type="Appointment"
    )
    if form is None:
        form = presenters.SettingsForm.from_saved(saved, ClinicSession.objects.filter(practice=practice))
    context = {
        "page": page,
        "form": form,
        "errors": errors or [],
        "months": presenters.MONTHS,
        "weekdays": presenters.WEEKDAYS,
        "types": presenters.TYPE_NAMES,
        "bookings": services.bookings_for(practice),
    }
    return render(request, "reviews/planner.html", context, status=status)


@require_http_methods(["GET"])
@planning_staff
def planner(request: StaffHttpRequest) -> HttpResponse:
    return _render_planner(request)


@require_POST
@planning_staff
def save_settings(request: StaffHttpRequest) -> HttpResponse:
    form = presenters.SettingsForm.from_post(request.POST)
    try:
        services.save_settings(
            user=request.user,
            practice=_practice(request),
            recall=form.recall,
            recall_month=presenters.form_int(form.recall_month),
            weekly_cap=presenters.form_int(form.weekly_cap),
            slot_minutes=presenters.form_int(form.slot_minutes),
            sessions=form.session_data(),
        )
    except services.PlannerError as problem:
        return _render_planner(
            request, form, [{"text": str(problem), "href": f"#{problem.field}"}], status=400
        )
    messages.success(request, "Planner settings saved")
    return redirect("reviews:planner")


@require_POST
@planning_staff
def refresh(request: StaffHttpRequest) -> HttpResponse:
    _practice(request)
    count = services.refresh_plans(as_of=timezone.localdate(), actor=f"review planner ({request.user.pk})")
    logger.info("review plan refreshed user_id=%s reviews=%s", request.user.pk, count)
    messages.success(request, "The plan has been worked out again from the record")
    return redirect("reviews:planner")


@require_http_methods(["GET", "POST"])
@planning_staff
def book(request: StaffHttpRequest, planned_pk: int) -> HttpResponse:
    planned = get_object_or_404(
        PlannedReview.objects.select_related("person__resource", "practice"),
        pk=planned_pk,
        practice=_practice(request),
    )
    open_record(user=request.user, person=planned.person, action="read", resource_type="Appointment")
    errors: list[dict[str, str]] = []
    default = max(planned.review_date, timezone.localdate())
    form = {
        "start-day": str(default.day),
        "start-month": str(default.month),
        "start-year": str(default.year),
        "time": "09:00",
    }
    if request.method == "POST":
        form = {k: request.POST.get(k, "")[:10] for k in form}
        day = presenters.form_date(form["start-day"], form["start-month"], form["start-year"])
        at = presenters.form_time(form["time"])
        if day is None or at is None:
            errors.append({"text": "Enter a real date and a time such as 09:30", "href": "#start-day"})
        else:
            try:
                booking = services.book_review(
                    user=request.user, planned=planned, start=dt.datetime.combine(day, at)
                )
            except services.PlannerError as problem:
                errors.append({"text": str(problem), "href": f"#{problem.field}"})
            else:
                logger.info("review booked booking_id=%s user_id=%s", booking.pk, request.user.pk)
                messages.success(request, f"Review booked for {format_date(day)}")
                return redirect("reviews:planner")
    names = dict(
        rm.Practitioner.objects.filter(pk=planned.usual_practitioner_id or 0).values_list("pk", "name")
    )
    context = {
        "planned": planned,
        "row": presenters.person_row(planned, services.settings_for(planned.practice).slot_minutes, names),
        "form": form,
        "errors": errors,
    }
    return render(request, "reviews/book.html", context, status=400 if errors else 200)


@require_http_methods(["GET", "POST"])
@planning_staff
def review(request: StaffHttpRequest, booking_pk: int) -> HttpResponse:
    booking = get_object_or_404(
        Booking.objects.select_related("person__resource"), pk=booking_pk, practice=_practice(request)
    )
    open_record(
        user=request.user,
        person=booking.person,
        action="read",
        resource_type="Appointment",
        resource_id=booking.appointment_id,
    )
    errors: list[dict[str, str]] = []
    posted = request.POST if request.method == "POST" else None
    if posted is not None:
        try:
            consultation.record_review(
                user=request.user, booking=booking, form=consultation.ReviewForm.from_post(posted, booking)
            )
        except consultation.ReviewError as problem:
            errors.append({"text": str(problem), "href": f"#{problem.field}"})
        else:
            messages.success(request, "Review recorded and the care plan updated")
            return redirect("web:person", person_pk=booking.person.pk)
    page = consultation.review_page(request.user, booking, posted)
    context = {"page": page, "errors": errors, "prompts": prompts.prompts_due(booking.person)}
    return render(request, "reviews/review.html", context, status=400 if errors else 200)


@require_POST
@requires(Permission.WRITE_RECORDS)
def answer_prompt(request: StaffHttpRequest, person_pk: int, prompt_id: str) -> HttpResponse:
    """A prompt answered done or declined, from the summary or the review template; back to it."""
    subject = get_object_or_404(rm.Person.objects.select_related("resource"), pk=person_pk)
    back = request.POST.get("back", "summary")
    booking = presenters.form_int(back.removeprefix("review-")) if back.startswith("review-") else None
    target = (
        redirect("reviews:review", booking_pk=booking)
        if booking is not None
        else redirect("web:person", person_pk=subject.pk)
    )
    try:
        prompts.record_prompt(
            user=request.user,
            person=subject,
            prompt_id=prompt_id,
            outcome=request.POST.get("outcome", ""),
            value=request.POST.get("value", "")[:200],
        )
    except services.PlannerError as problem:
        messages.error(request, f"Not recorded: {problem}")
    else:
        messages.success(request, "Recorded")
    target["Location"] += "#contact-prompts"
    return target

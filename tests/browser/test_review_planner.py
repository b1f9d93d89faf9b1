"""In a real browser: plan a week for a practice (its sessions and cap), book one person's review
(the review and blood-test Appointments written into the record), run the review template (a contact
prompt answered in one click, the items recorded) and see the care plan's next review date change on
the summary; axe on every state, the error states included."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from careweave.record import models as rm
from careweave.reviews.models import Booking
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.reviews.test_reviews_cli import A, record  # noqa: F401
from tests.web.conftest import staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _axe(page: Any) -> None:
    assert serious_accessibility_violations(page) == [], page.url


def test_plan_a_week_book_and_run_the_review(live_server: Any, browser: Any, record: None) -> None:  # noqa: F811
    practice = rm.Organisation.objects.get(resource__logical_id="org-1")
    staff("nurse.riverside", "nurse", practice)
    person = rm.Person.objects.get(nhs_number=A)
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, "nurse.riverside")
    page.goto(f"{base}/reviews/")
    assert "No plan has been worked out yet" in page.content()
    _axe(page)
    page.get_by_role("button", name="Work out the plan again").click()
    page.wait_for_url(f"{base}/reviews/")
    page.get_by_role("link", name="pa Test").first.wait_for()
    _axe(page)

    # The practice's week: a bad cap is refused with the error summary, then a nurse session saved
    page.locator("#weekly_cap").fill("none")
    page.get_by_role("button", name="Save planner settings").click()
    page.locator(".nhsuk-error-summary").wait_for(state="visible", timeout=15_000)
    _axe(page)
    page.locator("#weekly_cap").fill("20")
    page.locator("#session-0-clinician_type").select_option("nurse")
    page.locator("#session-0-weekday").select_option(label="Tuesday")
    page.locator("#session-0-minutes").fill("180")
    page.get_by_role("button", name="Save planner settings").click()
    page.get_by_text("Planner settings saved").wait_for()
    assert "of 180 minutes" in page.content()
    _axe(page)

    # Book the one person
    page.get_by_role("link", name="Book a review for pa Test").click()
    page.wait_for_url(f"{base}/reviews/planned/*/book/")
    _axe(page)
    day = timezone.localdate() + dt.timedelta(days=14)
    page.locator("#start-day").fill(str(day.day))
    page.locator("#start-month").fill(str(day.month))
    page.locator("#start-year").fill(str(day.year))
    page.get_by_role("button", name="Book the review").click()
    page.get_by_text("Review booked for").wait_for()
    _axe(page)
    booking = Booking.objects.get()
    assert rm.Appointment.objects.filter(person=person, status="booked").count() == 2

    # The review template: a prompt answered in one click, the items recorded, the next review set
    page.get_by_role("link", name="Start the review for pa Test").click()
    page.wait_for_url(f"{base}/reviews/bookings/{booking.pk}/")
    _axe(page)
    page.locator("#prompt-smoking").get_by_role("button", name="Declined").click()
    page.get_by_text("Recorded").first.wait_for()
    assert page.url == f"{base}/reviews/bookings/{booking.pk}/#contact-prompts"
    assert "4 prompts due" in page.content()
    _axe(page)
    page.get_by_role("button", name="Save the review").click()  # nothing ticked: refused
    page.locator(".nhsuk-error-summary").wait_for(state="visible", timeout=15_000)
    _axe(page)
    page.locator("#item-0-done").check()
    page.locator("#item-0-value").fill("Done")
    nxt = timezone.localdate() + dt.timedelta(days=300)
    page.locator("#next-day").fill(str(nxt.day))
    page.locator("#next-month").fill(str(nxt.month))
    page.locator("#next-year").fill(str(nxt.year))
    page.get_by_role("button", name="Save the review").click()
    page.wait_for_url(f"{base}/people/{person.pk}/**")  # the fragment of the page before is kept
    assert f"{nxt.day} {nxt:%B %Y}" in page.content()  # the care plan's next review date, on the summary
    assert "Long-term conditions review" in page.content()  # the appointment on the timeline
    _axe(page)

"""The clinician's workspace in a real browser (Debian's chromium), axe on every page visited:
sign in, open a worklist, open a person's summary, run a huddle, and see the task appear on My tasks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import AuditEntry, Role
from careweave.huddles.models import Task
from tests.browser.conftest import serious_accessibility_violations
from tests.web.conftest import PASSWORD, segmented, staff, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_worklist_summary_huddle_and_tasks(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    alice = segmented["alice"]
    staff("nurse.riverside", Role.NURSE, segmented["practice_a"])
    base = live_server.url
    visited: dict[str, list[str]] = {}

    def check(page: Any) -> None:
        visited[page.url] = serious_accessibility_violations(page)

    page = browser.new_page()
    # Given a GP signs in
    page.goto(f"{base}/login/")
    check(page)
    page.get_by_label("Username").fill("gp.riverside")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/today/")
    check(page)

    # When they open a worklist, filtered to one list (htmx swaps the results in)
    page.get_by_role("link", name="Worklists", exact=True).click()
    page.wait_for_url(f"{base}/worklists/")
    check(page)
    page.get_by_label("Worklist").select_option("mdt_discussion")
    page.get_by_role("button", name="Show people").click()
    page.wait_for_url("**/worklists/?list=mdt_discussion*")
    assert page.get_by_text("Moderate frailty (eFI 0.27)").is_visible()
    check(page)

    # And open the person's one-page summary
    page.get_by_role("link", name="Alice Zephyrine", exact=True).click()
    page.wait_for_url(f"{base}/people/{alice.pk}/")
    assert "Alice Zephyrine" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("img", name="HbA1c").is_visible()
    assert page.get_by_role("heading", name="Timeline across all services").is_visible()
    check(page)
    # Printing keeps the figures and drops the controls.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print this summary").is_visible()
    assert not page.locator("header").first.is_visible()
    page.emulate_media(media="screen")

    # They add her to another list, with a reason (a form page: no JavaScript needed)
    page.get_by_label("Add to a worklist").select_option("care_coordination")
    page.get_by_role("button", name="Add with a reason").click()
    page.wait_for_url(f"{base}/people/{alice.pk}/worklists/?*")
    check(page)
    page.get_by_role("button", name="Add to the list").click()  # no reason given
    page.locator(".nhsuk-error-summary").wait_for(state="visible", timeout=15_000)
    check(page)
    page.get_by_label("Why?").fill("Lives alone; her daughter is worried she is not coping")
    page.get_by_role("button", name="Add to the list").click()
    page.wait_for_url(f"{base}/people/{alice.pk}/")
    assert page.get_by_text("Added by a clinician").first.is_visible()

    # Then they schedule a huddle
    page.get_by_role("link", name="Huddles").click()
    page.wait_for_url(f"{base}/huddles/")
    check(page)
    when = timezone.localdate() + timedelta(days=1)
    page.get_by_label("Team").fill("Riverside MDT")
    page.fill("#when-day", str(when.day))
    page.fill("#when-month", str(when.month))
    page.fill("#when-year", str(when.year))
    page.get_by_label("nurse.riverside (Nurse)").check()
    page.get_by_role("button", name="Schedule huddle").click()
    page.wait_for_url(f"{base}/huddles/*/")
    check(page)

    # add Alice from the suggestions, nominate nobody else, and record the outcome with an action
    page.get_by_role("button", name="Add Alice Zephyrine to the agenda").click()
    page.wait_for_url(f"{base}/huddles/*/#agenda")
    card = page.locator(
        ".nhsuk-card", has=page.get_by_role("link", name="Alice Zephyrine", exact=True)
    )
    card.get_by_label("What was discussed and decided").fill("Agreed a falls assessment at home")
    card.get_by_label("What needs to be done").fill("Book a home falls assessment")
    card.get_by_label("Who will do it").select_option(label="gp.riverside (GP)")
    due = timezone.localdate() + timedelta(days=7)
    card.get_by_label("Day").fill(str(due.day))
    card.get_by_label("Month").fill(str(due.month))
    card.get_by_label("Year").fill(str(due.year))
    card.get_by_role("button", name="Save outcome").click()
    page.wait_for_url(f"{base}/huddles/*/#item-*")
    assert page.get_by_text("Agreed a falls assessment at home").first.is_visible()
    check(page)

    # and the task appears on their task list
    page.get_by_role("link", name="My tasks").click()
    page.wait_for_url(f"{base}/tasks/")
    row = page.get_by_role("row", name="Book a home falls assessment")
    assert row.get_by_role("link", name="Alice Zephyrine", exact=True).is_visible()
    check(page)
    row.get_by_role("button", name="Mark as done").click()
    page.wait_for_url(f"{base}/tasks/")
    assert page.get_by_text("You have no open tasks").is_visible()

    # and the aggregate population view is accessible too
    page.get_by_role("link", name="Population").click()
    page.wait_for_url(f"{base}/population/")
    check(page)

    assert {url: v for url, v in visited.items() if v} == {}
    assert len(visited) >= 8
    assert Task.objects.get().status == "done"
    # one view of her summary, and one more after the worklist change brought the user back to it
    # the summaries themselves (medicines findings, fetched after each page, are reads of their own)
    assert AuditEntry.objects.filter(
        action="read", person_id=alice.pk, channel="web", resource_type="Patient"
    ).count() == 2
    assert AuditEntry.objects.filter(action="worklist-add", person_id=alice.pk).count() == 1

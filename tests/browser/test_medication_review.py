"""In a real browser: open the structured medication review from the summary, decide on two findings
with a reason (one stopped, one continued), complete the review with the person, and see the care
plan and its tasks change; axe on every state."""

from __future__ import annotations

import re
from typing import Any

import pytest

from careweave.care import services
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.medicines.conftest import APIXABAN, ASPIRIN, NAPROXEN, prescribe
from tests.web.conftest import organisation, person, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _decide(page: Any, rule: str, decision: str, reason: str) -> None:
    card = page.locator(".nhsuk-card").filter(has=page.get_by_role("heading", name=rule, exact=False)).first
    card.get_by_label(decision).check()
    card.get_by_label("Reason (needed for every decision, and to continue)").fill(reason)
    card.get_by_role("button", name="Record decision").click()
    page.get_by_text("Decision recorded").wait_for(timeout=30_000)


def test_decide_two_findings_and_see_the_care_plan_and_tasks_change(live_server: Any, browser: Any) -> None:
    import datetime as dt

    practice = organisation("Riverside Surgery", "general-practice", "A11111")
    alice = person("Alice", "Zephyrine", "9434765919", practice, sex="female", birth_date=dt.date(1934, 2, 1))
    for medicine in (APIXABAN, ASPIRIN, NAPROXEN):
        prescribe(alice, medicine)
    gp = staff("gp.riverside", "gp", practice)
    services.add_team_member(user=gp, person=alice, member=gp, role_in_team="Named GP", as_coordinator=True)
    base = live_server.url

    page = browser.new_page()
    sign_in(page, base, "gp.riverside")
    page.wait_for_url(f"{base}/today/")
    page.goto(f"{base}/people/{alice.pk}/")
    # the section loads after the page (htmx): wait for the findings' count
    page.get_by_role("heading", name=re.compile(r"Medicines review findings: \d")).wait_for(timeout=60_000)
    assert "PINCER-d" in page.locator("#medicines-findings-section").inner_text()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Open the structured medication review").click()
    page.wait_for_url(f"{base}/medicines/people/{alice.pk}/review/")
    assert "No indication recorded" in page.content()
    assert serious_accessibility_violations(page) == []

    # a decision without a reason is refused, with the error linked to the field
    card = page.locator(".nhsuk-card").filter(has=page.get_by_role("heading", name="PINCER-d")).first
    card.get_by_label("Stop", exact=True).check()
    card.get_by_role("button", name="Record decision").click()
    page.locator(".nhsuk-error-summary").wait_for(state="visible", timeout=30_000)
    assert "Give the reason for the decision" in page.locator(".nhsuk-error-summary").inner_text()
    assert serious_accessibility_violations(page) == []

    _decide(page, "PINCER-d", "Stop", "Naproxen with apixaban: bleeding risk at 92.")
    assert serious_accessibility_violations(page) == []
    _decide(
        page, "PINCER-e", "Continue (reason recorded)", "Cardiology advised aspirin with apixaban for now."
    )
    assert page.get_by_role("heading", name="Continued with a reason: 1").is_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("What matters to the person about their medicines").fill(
        "Fewer tablets; walking to church."
    )
    page.get_by_label("What was agreed with the person").fill("Stop naproxen; paracetamol for her knee.")
    page.get_by_label("Blood test to arrange (optional), e.g. kidney function").fill("kidney function")
    page.get_by_label("Review again in 4 weeks").check()
    page.get_by_role("button", name="Complete the review and update the care plan").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/")
    content = page.content()
    assert "Review completed: the care plan and tasks are updated" in content
    assert "Medicines: Stop naproxen; paracetamol for her knee." in content
    assert "Blood test: kidney function" in content and "Medication review follow-up in 4 weeks" in content
    assert serious_accessibility_violations(page) == []

    page.goto(f"{base}/people/{alice.pk}/")
    tasks = page.locator("#tasks").locator("xpath=..").inner_text()
    assert "Blood test: kidney function" in tasks
    page.get_by_text("1 finding reviewed and continued with a reason").wait_for(timeout=60_000)
    assert serious_accessibility_violations(page) == []

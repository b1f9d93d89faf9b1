"""The referrals worklist in a real browser: the care co-ordinator opens it, chases one person's
referral and records a waiting-list check with another; axe on every state."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.referrals.models import ReferralTask
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.referrals.world import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_coordinator_chases_one_referral_and_validates_another(live_server: Any, browser: Any) -> None:
    world = build()
    base = live_server.url
    lost, waiting = world.lost.person.display_name, world.waiting.person.display_name

    page = browser.new_page()
    sign_in(page, base, "coordinator")
    page.goto(f"{base}/referrals/")
    assert page.get_by_role("heading", name="Referrals", exact=True).is_visible()
    table = page.get_by_role("table", name="Referrals that need action, most at risk of harm first")
    rows = table.locator("tbody tr")
    assert rows.count() == 2 and lost in rows.nth(0).inner_text() and waiting in rows.nth(1).inner_text()
    assert serious_accessibility_violations(page) == []

    # chase the lost referral: one press, back on the list with a confirmation
    page.get_by_role("button", name=f"Chase the service about {lost}'s referral (lost on a waiting list)").click()
    page.wait_for_url(f"{base}/referrals/")
    assert page.get_by_role("status").filter(has_text="Chase sent to Orthopaedics, General Hospital").is_visible()
    assert serious_accessibility_violations(page) == []
    assert ReferralTask.objects.filter(code="referral-chase", focus_id="sr-lost").count() == 1

    # record a check with the other person: the form, a mistake, then the answer
    page.get_by_role("link", name=f"Record a check with {waiting} (waiting-list check due)").click()
    page.wait_for_url(f"{base}/referrals/{world.waiting.pk}/validate/")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Telephone").check()
    page.get_by_role("button", name="Record the check").click()
    assert page.get_by_text("Choose whether the person still needs this referral").first.is_visible()
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Still needed").check()
    page.get_by_role("button", name="Record the check").click()
    page.wait_for_url(f"{base}/referrals/")
    assert page.get_by_role("status").filter(has_text=f"Check recorded: {waiting} said the referral is still needed").is_visible()
    assert waiting not in table.inner_text()
    assert serious_accessibility_violations(page) == []

    # the chased referral's history
    page.get_by_role("link", name=f"See this referral's history ({lost})").first.click()
    page.wait_for_url(f"{base}/referrals/{world.lost.pk}/")
    history = page.get_by_role("table", name="What has happened to this referral, oldest first").inner_text()
    assert "Accepted by the service" in history and "Chased Orthopaedics, General Hospital" in history
    assert serious_accessibility_violations(page) == []
    assert ReferralTask.objects.get(is_validation=True).focus_id == "sr-wait"

"""In a real browser: sign in, open a person, write their care plan, change it, see the new version,
open the print view; axe on each page."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.care import services
from careweave.governance.models import AuditEntry
from tests.browser.conftest import (
    serious_accessibility_violations,
    sign_in,
)
from tests.web.conftest import organisation, person, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_change_and_print_a_care_plan(live_server: Any, browser: Any) -> None:
    practice = organisation("Riverside Surgery", "general-practice", "A11111")
    alice = person("Alice", "Zephyrine", "9434765919", practice, sex="female")
    gp = staff("gp.riverside", "gp", practice)
    services.add_team_member(user=gp, person=alice, member=gp, role_in_team="Named GP", as_coordinator=True)
    base = live_server.url

    page = browser.new_page()
    sign_in(page, base, "gp.riverside")
    page.wait_for_url(f"{base}/today/")
    page.get_by_role("link", name="People", exact=True).click()
    page.wait_for_url(f"{base}/people/")
    page.get_by_role("link", name="Alice Zephyrine").click()
    page.wait_for_url(f"{base}/people/{alice.pk}/")

    page.goto(f"{base}/care/people/{alice.pk}/plan/")
    assert "does not have a care plan yet" in page.content()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Write a care plan").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/edit/")
    assert serious_accessibility_violations(page) == []

    # Saving without what matters shows the error summary, focused, linking to the field.
    page.get_by_role("button", name="Save care plan").click()
    summary = page.locator(".nhsuk-error-summary")
    summary.wait_for(state="visible", timeout=15_000)  # the POST's response page, not the old page
    assert summary.is_visible()
    assert "Enter what matters to the person" in summary.inner_text()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("What matters to Alice Zephyrine").fill("Getting to chapel on Sundays.")
    page.locator("#priority-0-text").fill("Keep singing")
    page.locator("#priority-0-rank").fill("1")
    page.locator("#goal-0-description").fill("Walk to chapel with a stick")
    page.locator("#goal-0-target-day").fill("1")
    page.locator("#goal-0-target-month").fill("6")
    page.locator("#goal-0-target-year").fill("2026")
    page.locator("#action-0-description").fill("Refer to falls clinic")
    page.locator("#action-0-owner").select_option(label="gp.riverside, GP, Riverside Surgery")
    page.get_by_label("Contingency and escalation plan").fill("If she falls, call the practice.")
    page.get_by_role("button", name="Save care plan").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/")
    assert page.get_by_text("Care plan saved as version 1").is_visible()
    assert page.get_by_text("Getting to chapel on Sundays.").is_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_role("button", name="Change the care plan").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/edit/")
    page.get_by_label("What matters to Alice Zephyrine").fill("Getting to chapel, and singing there.")
    page.get_by_role("button", name="Save care plan").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/")
    assert page.get_by_text("Care plan saved as version 2").is_visible()
    assert page.get_by_role("link", name="Version 1").is_visible()

    page.get_by_role("link", name="Large print version").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/plan/print/?large=1")
    assert page.get_by_role("heading", level=1).inner_text() == "My care and support plan"
    assert page.get_by_text("Getting to chapel, and singing there.").is_visible()
    assert serious_accessibility_violations(page) == []
    # Printed, the page is the plan alone: no header, no links to other versions.
    page.emulate_media(media="print")
    assert page.locator("header").first.is_hidden()
    assert page.locator(".careweave-no-print").is_hidden()
    font_size = page.eval_on_selector(
        ".careweave-plain-plan p", "el => getComputedStyle(el).fontSize"
    )
    assert float(font_size.removesuffix("px")) >= 24  # 18pt

    assert services.current_care_plan(alice).version == 2
    assert AuditEntry.objects.filter(person_id=alice.pk, action="print", channel="web").count() == 1

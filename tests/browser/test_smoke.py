"""Smoke test in a real browser (Debian's chromium): sign in, the people list, a record; axe on each page."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.models import AuditEntry
from tests.browser.conftest import serious_accessibility_violations
from tests.web.conftest import PASSWORD, organisation, person, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_sign_in_people_list_and_record_are_accessible(live_server: Any, browser: Any) -> None:
    practice = organisation("Riverside Surgery", "general-practice", "A11111")
    alice = person("Alice", "Zephyrine", "9434765919", practice, sex="female")
    staff("gp.riverside", "gp", practice)

    page = browser.new_page()
    page.goto(f"{live_server.url}/people/")
    assert page.url.startswith(f"{live_server.url}/login/")
    assert serious_accessibility_violations(page) == []
    # The NHS.UK stylesheet is served locally: the header is NHS blue.
    header_colour = page.eval_on_selector("header", "el => getComputedStyle(el).backgroundColor")
    assert header_colour == "rgb(0, 94, 184)"

    page.get_by_label("Username").fill("gp.riverside")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/people/")
    assert page.get_by_role("heading", level=1).inner_text() == "People in your care"
    assert page.get_by_role("link", name="Alice Zephyrine").is_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Search by name or NHS number").fill("943 476 5919")
    page.evaluate("window.sameDocument = true")
    page.get_by_role("button", name="Search").click()
    # htmx swaps in the results (no page load) and pushes the search into the address bar.
    page.wait_for_url("**/people/?q=943+476+5919")
    assert page.evaluate("window.sameDocument") is True
    assert page.get_by_role("status").inner_text() == "1 person matches “943 476 5919”."
    page.get_by_role("link", name="Alice Zephyrine").click()
    page.wait_for_url(f"{live_server.url}/people/{alice.pk}/")
    assert "Alice Zephyrine" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_text("943 476 5919").is_visible()
    assert serious_accessibility_violations(page) == []

    # the summary itself (its medicines findings, fetched after the page, are a read of their own)
    assert AuditEntry.objects.filter(
        action="read", person_id=alice.pk, channel="web", resource_type="Patient"
    ).count() == 1

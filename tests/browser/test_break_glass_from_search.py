"""Break-glass from search in a real browser (issue 12, item 3): a GP searches an NHS number outside
their care, is offered emergency access with its warning, gives a reason and reads the record; the
people list fits a 375 px phone screen; axe on every state."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.models import BreakGlass
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.web.conftest import world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_nhs_number_outside_my_care_offers_break_glass(live_server: Any, browser: Any, world: dict[str, Any]) -> None:  # noqa: F811
    base, bob = live_server.url, world["bob"]
    page = browser.new_page()
    sign_in(page, base, "gp.riverside")
    page.goto(f"{base}/people/")
    page.get_by_label("Search by name or NHS number").fill("943 476 5888")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/people/?q=943*")
    assert page.get_by_text("is not in your care").is_visible()
    assert page.get_by_text("Quillfeather").count() == 0
    assert serious_accessibility_violations(page) == []

    page.get_by_role("link", name="Open with break-glass access").click()
    page.wait_for_url(f"{base}/people/{bob.pk}/")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Why do you need to see this record now?").fill("Seen in our emergency clinic, confused, no list of medicines")
    page.get_by_role("button", name="Open the record with break-glass access").click()
    page.wait_for_url(f"{base}/people/{bob.pk}/")
    assert page.get_by_text("You are using break-glass access").is_visible()
    assert "Bob Quillfeather" in page.get_by_role("heading", level=1).inner_text()
    assert BreakGlass.objects.filter(person=bob, user=world["gp_a"]).count() == 1
    assert serious_accessibility_violations(page) == []


def test_the_people_list_fits_a_phone(live_server: Any, browser: Any, world: dict[str, Any]) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 375, "height": 740})
    sign_in(page, live_server.url, "gp.riverside")
    page.goto(f"{live_server.url}/people/")
    # the page itself never scrolls sideways: a wide table scrolls inside its own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.get_by_role("link", name="Alice Zephyrine").is_visible()
    assert serious_accessibility_violations(page) == []

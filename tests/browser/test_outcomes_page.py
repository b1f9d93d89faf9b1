"""The analysts' outcomes page in a real browser: an analyst signs in, reaches it from the population
page, switches breakdown, and axe finds no serious accessibility problem."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from careweave.web.outcomes_data import refresh_outcomes
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.factories import PersonFactory
from tests.web.conftest import segment, segmented, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_analyst_reads_the_outcomes_page(
    live_server: Any,
    browser: Any,
    segmented: dict[str, Any],  # noqa: F811
) -> None:
    for _ in range(12):
        segment(segmented["run"], PersonFactory(imd_decile=1, ethnicity_code="A", sex="female"), 1)
    refresh_outcomes(date(2026, 11, 30))
    base = live_server.url
    page = browser.new_page()
    sign_in(page, base, segmented["analyst"].username)
    page.goto(f"{base}/population/")
    page.get_by_role("link", name="Outcomes by cluster and inequality").click()
    page.wait_for_url(f"{base}/population/outcomes/")
    assert page.get_by_role("heading", name="Outcomes by cluster and inequality").is_visible()
    assert page.get_by_role("link", name="Download every figure on this page (CSV)").is_visible()
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Ethnic group").click()
    page.wait_for_url(f"{base}/population/outcomes/?by=ethnicity")
    assert page.get_by_role("heading", name="Each measure by ethnic group").is_visible()
    assert serious_accessibility_violations(page) == []

"""The summary's first view in a real browser (issue 12, item 1): on a 1280x800 screen the problem list
and the medicines start above the fold, after the identity, alerts, communication, co-ordinator and what
matters; the printable version works with JavaScript off; axe on each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from careweave.record import models as rm
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.web.conftest import segmented, stored, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOLD = 800


def _busy_record(alice: rm.Person) -> None:
    """A record like the ones GPs see: allergies, an alert, several conditions and medicines."""
    sct = "http://snomed.info/sct"
    for substance, criticality in (("Penicillin", "high"), ("Latex", "low")):
        rm.Allergy.objects.create(resource=stored("AllergyIntolerance", alice), person=alice, system=sct,
                                  code="91936005", display=substance, clinical_status="active",
                                  criticality=criticality)
    for n, name in enumerate(("Chronic kidney disease stage 3", "Osteoarthritis of knee", "Depression",
                              "Atrial fibrillation", "Heart failure")):
        rm.Condition.objects.create(resource=stored("Condition", alice), person=alice, system=sct,
                                    code=f"10000{n}", display=name, clinical_status="active",
                                    onset=date(2015 + n, 1, 1))
    for name in ("Apixaban 5mg tablets", "Bisoprolol 2.5mg tablets", "Sertraline 50mg tablets",
                 "Paracetamol 500mg tablets", "Ramipril 2.5mg capsules", "Furosemide 40mg tablets"):
        rm.Medication.objects.create(resource=stored("MedicationRequest", alice), person=alice,
                                     kind="MedicationRequest", display=name, dose_text="One a day",
                                     status="active", authored_on=date(2020, 1, 1))


def _top(page: Any, selector: str) -> float:
    return float(page.eval_on_selector(selector, "el => el.getBoundingClientRect().top + window.scrollY"))


def test_problems_and_medicines_are_above_the_fold(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    alice = segmented["alice"]
    _busy_record(alice)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, live_server.url, "gp.riverside")
    page.goto(f"{live_server.url}/people/{alice.pk}/")
    problems, medicines = _top(page, "#problem-list"), _top(page, "#medicine-list")
    print(f"problem list at {problems:.0f} px, medicines at {medicines:.0f} px (fold {FOLD} px)")
    assert problems < FOLD and medicines < FOLD
    for before in ("#allergies-alerts", "#communication", "#care-team", "#what-matters"):
        assert _top(page, before) < problems, before
    assert _top(page, "#timeline") > _top(page, "#results")  # the timeline last
    assert serious_accessibility_violations(page) == []


def test_the_printable_version_with_javascript_off(live_server: Any, browser: Any, segmented: dict[str, Any]) -> None:  # noqa: F811
    alice = segmented["alice"]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url, "gp.riverside")
    page.goto(f"{live_server.url}/people/{alice.pk}/")
    assert not page.get_by_role("button", name="Print this summary").is_visible()  # it needs the script
    page.get_by_role("link", name="Printable version").click()
    page.wait_for_url(f"{live_server.url}/people/{alice.pk}/print/")
    assert page.get_by_text("CONFIDENTIAL").first.is_visible()
    assert page.get_by_text("Printed by").first.is_visible()
    assert page.locator("header.nhsuk-header").count() == 0
    page.emulate_media(media="print")
    assert page.get_by_text("Type 2 diabetes mellitus").is_visible()
    page.emulate_media(media="screen")
    context.close()
    axe = browser.new_page()
    sign_in(axe, live_server.url, "gp.riverside")
    axe.goto(f"{live_server.url}/people/{alice.pk}/print/")
    assert serious_accessibility_violations(axe) == []

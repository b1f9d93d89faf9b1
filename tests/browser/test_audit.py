"""Break-glass in a real browser (Debian's chromium): a GP outside the person's care opens the record
with a reason, and an administrator finds it on the audit page and reviews it; axe on every page."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.models import AuditEntry, BreakGlass
from tests.browser.conftest import (
    serious_accessibility_violations,
    sign_in,
)
from tests.web.conftest import organisation, person, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_break_glass_is_opened_with_a_reason_and_reviewed_by_an_administrator(live_server: Any, browser: Any) -> None:
    riverside = organisation("Riverside Surgery", "general-practice", "A11111")
    hilltop = organisation("Hilltop Medical Centre", "general-practice", "B22222")
    alice = person("Alice", "Zephyrine", "9434765919", riverside, sex="female")
    staff("gp.hilltop", "gp", hilltop)
    staff("admin", "administrator", None)
    base = live_server.url
    reason = "Seen at our walk-in clinic out of hours with chest pain"
    finding = "Justified: urgent care out of hours, her GP record was needed"

    gp = browser.new_context().new_page()
    sign_in(gp, base, "gp.hilltop")
    gp.goto(f"{base}/people/{alice.pk}/")
    assert "Type 2" not in gp.content() and "Zephyrine" not in gp.get_by_role("heading", level=1).inner_text()
    assert serious_accessibility_violations(gp) == []
    gp.get_by_label("Why do you need to see this record now?").fill(reason)
    gp.get_by_role("button", name="Open the record with break-glass access").click()
    gp.wait_for_url(f"{base}/people/{alice.pk}/")
    assert "Alice Zephyrine" in gp.get_by_role("heading", level=1).inner_text()
    assert serious_accessibility_violations(gp) == []

    admin = browser.new_context().new_page()
    sign_in(admin, base, "admin")
    admin.goto(f"{base}/audit/")
    awaiting = admin.get_by_role("table", name="Break-glass access awaiting review, most recent first")
    assert reason in awaiting.inner_text()
    assert serious_accessibility_violations(admin) == []
    awaiting.get_by_role("link", name="Review").click()
    admin.wait_for_url(f"{base}/audit/break-glass/*/")
    assert serious_accessibility_violations(admin) == []

    admin.get_by_role("button", name="Mark as reviewed").click()  # no finding given
    admin.get_by_role("alert").wait_for()
    assert "There is a problem" in admin.get_by_role("alert").inner_text()
    assert serious_accessibility_violations(admin) == []

    admin.get_by_label("What did you find?").fill(finding)
    admin.get_by_role("button", name="Mark as reviewed").click()
    admin.wait_for_url(f"{base}/audit/")
    assert admin.get_by_role("status").inner_text().strip().endswith("Break-glass access marked as reviewed")
    assert "No break-glass access is awaiting review" in admin.content()
    assert serious_accessibility_violations(admin) == []

    # who saw the record, and the person's own copy of that list
    admin.get_by_label("Person's NHS number, name or record number").fill(str(alice.pk))
    admin.get_by_role("button", name="Show access").click()
    admin.wait_for_url(f"{base}/audit/?person={alice.pk}")
    assert serious_accessibility_violations(admin) == []
    admin.get_by_role("link", name="A copy of this list for the person, in plain words, to print").click()
    admin.wait_for_url(f"{base}/audit/people/{alice.pk}/report/")
    report = admin.get_by_role("table").inner_text()
    assert "Opened your record in an emergency" in report and reason in report
    assert serious_accessibility_violations(admin) == []

    glass = BreakGlass.objects.get()
    assert glass.review_note == finding and glass.reviewed_by is not None
    assert AuditEntry.objects.filter(action="break-glass-review", person_id=alice.pk).count() == 1

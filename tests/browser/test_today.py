"""The today page in a real browser, for a GP and for a care co-ordinator: where they land after signing
in, what it lists, and axe on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import CareTeamMember, Role
from careweave.huddles.models import Task
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.web.conftest import segmented, staff, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("role", [Role.GP, Role.CARE_COORDINATOR])
def test_a_clinician_lands_on_today_and_can_act_on_it(
    live_server: Any, browser: Any, segmented: dict[str, Any], role: str  # noqa: F811
) -> None:
    base, alice = live_server.url, segmented["alice"]
    user = staff(f"today.{role}", role, segmented["practice_a"])
    CareTeamMember.objects.create(person=alice, user=user, is_coordinator=role == Role.CARE_COORDINATOR)
    Task.objects.create(person=alice, description="Ring Alice's daughter about the MDT outcome", owner=user,
                        created_by=user, due_date=timezone.localdate() - timedelta(days=1))

    page = browser.new_page()
    sign_in(page, base, user.username)
    page.wait_for_url(f"{base}/today/")
    assert page.get_by_role("heading", name="Your tasks due this week").is_visible()
    assert page.get_by_text("Ring Alice's daughter about the MDT outcome").is_visible()
    assert page.get_by_role("heading", name="Top of your worklists").is_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_role("link", name="Alice Zephyrine").first.click()
    page.wait_for_url(f"{base}/people/{alice.pk}/")

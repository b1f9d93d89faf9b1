"""The co-ordinator's home-readings page in a real browser: the alert raised from a device's readings,
the reply, and axe on the page and on the summary's home readings (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.monitoring.feedback import reading_feedback
from careweave.monitoring.models import AlertStatus, HomeReadingAlert
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.monitoring.world import bp, build_world, run_queue
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_coordinator_sees_the_alert_and_replies(live_server: Any, browser: Any) -> None:
    world = build_world()
    world.nurse.set_password(PASSWORD)
    world.nurse.save()
    for systolic in (156, 161):
        assert world.post(bp(systolic, 96)).status_code == 201
    run_queue()

    page = browser.new_page()
    sign_in(page, live_server.url, world.nurse.username)
    page.goto(f"{live_server.url}/home-readings/")
    assert page.get_by_role("heading", name="Home readings", exact=True).is_visible()
    assert page.get_by_text("Systolic blood pressure 161").is_visible()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Your reply to Alex Testperson").fill("Thank you: I will ring you tomorrow morning")
    page.get_by_role("button", name="Mark as seen").click()
    page.wait_for_load_state()
    assert page.get_by_text("the person can read your reply").is_visible()
    assert HomeReadingAlert.objects.get().status == AlertStatus.SEEN
    assert (
        reading_feedback(world.person)[0].replies[0].comment == "Thank you: I will ring you tomorrow morning"
    )

    page.goto(f"{live_server.url}/people/{world.person.pk}/")
    assert page.get_by_role("heading", name="Home readings").is_visible()
    assert serious_accessibility_violations(page) == []

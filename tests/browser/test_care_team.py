"""The care team in a real browser: find a member of staff from another organisation, add them as the
named co-ordinator, leave a handover note (htmx), see the team's history; axe on each state."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.care import services
from careweave.governance.models import CareTeamMember
from tests.browser.conftest import (
    serious_accessibility_violations,
    sign_in,
)
from tests.web.conftest import organisation, person, staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_and_add_a_coordinator_then_hand_over(live_server: Any, browser: Any) -> None:
    practice = organisation("Riverside Surgery", "general-practice", "A11111")
    council = organisation("Shire County Council Adult Social Care", "social-care", "SC1")
    alice = person("Alice", "Zephyrine", "9434765919", practice, sex="female")
    gp = staff("gp.riverside", "gp", practice)
    social_worker = staff("sw.shire", "social-worker", council)
    social_worker.first_name, social_worker.last_name = "Sam", "Okafor"
    social_worker.save()
    services.add_team_member(user=gp, person=alice, member=gp, role_in_team="Named GP", as_coordinator=True)
    base = live_server.url

    page = browser.new_page()
    sign_in(page, base, "gp.riverside")
    page.wait_for_url(f"{base}/today/")

    page.goto(f"{base}/care/people/{alice.pk}/team/")
    assert serious_accessibility_violations(page) == []
    # the council has never seen Alice, so its social worker is found by searching
    page.get_by_label("Find a member of staff").fill("Okafor")
    page.get_by_role("button", name="Find").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/team/?staff=Okafor*")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Sam Okafor, Social worker, Shire County Council Adult Social Care").check()
    page.get_by_label("Their role in this team (optional)").fill("Social worker for adults")
    page.get_by_label("Make them the named co-ordinator").check()
    page.get_by_role("button", name="Add to care team").click()
    page.wait_for_url(f"{base}/care/people/{alice.pk}/team/")
    assert "Sam Okafor added to the care team as the named co-ordinator" in page.content()
    assert serious_accessibility_violations(page) == []

    page.get_by_label("Add a handover note").fill("Carer's assessment booked; daughter is the main carer.")
    page.get_by_role("button", name="Add handover note").click()
    page.get_by_text("Carer's assessment booked; daughter is the main carer.").wait_for()
    history = page.get_by_role("table", name="Changes to the care team, most recent first").inner_text()
    assert "Named co-ordinator" in history and "Sam Okafor" in history
    assert serious_accessibility_violations(page) == []

    assert services.coordinator(alice).user == social_worker
    assert CareTeamMember.objects.get(person=alice, user=social_worker).role_in_team == "Social worker for adults"

"""A huddle across organisations in a real browser: the council's social worker finds the community
nurse and the GP, schedules the MDT, and both see it; axe on every state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.governance.models import CareTeamMember, Role
from careweave.huddles.models import Huddle
from careweave.record import models as rm
from tests.browser.conftest import serious_accessibility_violations, sign_in
from tests.web.conftest import organisation, segmented, staff, world  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_social_worker_schedules_an_mdt_with_a_nurse_and_a_gp_elsewhere(
    live_server: Any, browser: Any, segmented: dict[str, Any]  # noqa: F811
) -> None:
    base = live_server.url
    social_worker = staff("sw.shire", Role.SOCIAL_WORKER, segmented["council"])
    community = organisation("Shire Community Health", rm.Sector.COMMUNITY, "RCH")
    nurse = staff("dn.shire", Role.NURSE, community)
    for member in (social_worker, segmented["gp_a"]):
        CareTeamMember.objects.create(person=segmented["alice"], user=member)

    page = browser.new_page()
    sign_in(page, base, "sw.shire")
    page.goto(f"{base}/huddles/")
    assert page.get_by_label("gp.riverside (GP)").is_visible()  # shares Alice's care team
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Find staff in other organisations").fill("Shire Community")
    page.get_by_role("button", name="Find staff").click()
    page.wait_for_url("**/huddles/?find=Shire+Community*")
    assert serious_accessibility_violations(page) == []

    when = timezone.localdate() + timedelta(days=3)
    page.get_by_label("Team").fill("Neighbourhood MDT")
    page.get_by_label("Day").fill(str(when.day))
    page.get_by_label("Month").fill(str(when.month))
    page.get_by_label("Year").fill(str(when.year))
    page.get_by_label("dn.shire (Nurse)").check()
    page.get_by_label("gp.riverside (GP)").check()
    page.get_by_role("button", name="Schedule huddle").click()
    page.wait_for_url(f"{base}/huddles/*/")
    assert serious_accessibility_violations(page) == []
    huddle = Huddle.objects.get()
    assert set(huddle.members.all()) == {social_worker, nurse, segmented["gp_a"]}

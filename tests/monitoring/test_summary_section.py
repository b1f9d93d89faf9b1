"""On the holistic summary, home readings are shown apart from the clinic's: the key results (and
their trends) are the clinic's only, and a section lists the home readings."""

from __future__ import annotations

import pytest
from django.test import Client

from careweave.web.summary import holistic_summary
from tests.monitoring.world import bp, build_world

pytestmark = pytest.mark.django_db


def test_home_readings_are_apart_from_clinic_results() -> None:
    world = build_world()
    assert world.post(bp(121, 77)).status_code == 201
    summary = holistic_summary(world.person)
    (blood_pressure,) = [t for t in summary.trends if "lood pressure" in t.label]
    assert "150" in blood_pressure.latest  # the clinic's reading, not the newer home one
    assert "121" not in blood_pressure.latest
    home = {m["name"]: [r["value"] for r in m["readings"]] for m in summary.home_readings}
    assert home == {"Systolic blood pressure": ["121"], "Diastolic blood pressure": ["77"]}

    client = Client()
    client.force_login(world.nurse)
    page = client.get(f"/people/{world.person.pk}/")
    assert page.status_code == 200
    assert 'id="home-readings"' in page.content.decode()

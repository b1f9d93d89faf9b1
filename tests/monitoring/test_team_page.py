"""The co-ordinator's home-readings page: the open alerts of the people in their care only, through
governance; the reply is stored and the alert moves on; someone outside the care sees none of it."""

from __future__ import annotations

import pytest
from django.test import Client

from careweave.monitoring import alerts
from careweave.monitoring.models import AlertReply, AlertStatus, HomeReadingAlert
from careweave.monitoring.services import after_import
from careweave.record import models as rm
from tests.monitoring.world import bp, build_world

pytestmark = pytest.mark.django_db


def _with_alert() -> tuple[object, HomeReadingAlert]:
    world = build_world()
    response = world.post(bp(160, 99))
    assert response.status_code == 201
    stored = rm.StoredResource.objects.get(resource_type="Observation", logical_id=response.json()["id"])
    after_import(stored)  # indexed by the write already: indexing again leaves the same rows
    (alert,) = alerts.evaluate(stored.pk)
    return world, alert


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_the_coordinator_sees_and_replies() -> None:
    world, alert = _with_alert()
    nurse = _client(world.nurse)  # type: ignore[attr-defined]
    page = nurse.get("/home-readings/")
    assert page.status_code == 200
    assert "Testperson" in page.content.decode()
    response = nurse.post(
        f"/home-readings/{alert.pk}/act/", {"action": "seen", "comment": "Seen, see you Tuesday"}
    )
    assert response.status_code == 302
    assert HomeReadingAlert.objects.get().status == AlertStatus.SEEN
    assert AlertReply.objects.get().comment == "Seen, see you Tuesday"


def test_seen_needs_a_reply_for_the_person() -> None:
    world, alert = _with_alert()
    response = _client(world.nurse).post(f"/home-readings/{alert.pk}/act/", {"action": "seen", "comment": ""})  # type: ignore[attr-defined]
    assert response.status_code == 302
    assert HomeReadingAlert.objects.get().status == AlertStatus.OPEN


def test_someone_outside_the_care_sees_no_alert_and_cannot_act() -> None:
    world, alert = _with_alert()
    outsider = _client(world.outsider)  # type: ignore[attr-defined]
    page = outsider.get("/home-readings/")
    assert page.status_code == 200
    assert "Testperson" not in page.content.decode()
    response = outsider.post(f"/home-readings/{alert.pk}/act/", {"action": "completed", "comment": ""})
    assert response.status_code == 403
    assert HomeReadingAlert.objects.get().status == AlertStatus.OPEN


def test_a_device_or_signed_out_user_cannot_open_the_page() -> None:
    assert Client().get("/home-readings/").status_code == 302  # to sign in

"""Home readings through /fhir/Observation with a device's token, evaluated by the real worker:
exactly one Task for repeated breaches, none for normal readings, a trend alert, a check-in for
silence, and the Task closing when the clinician acts (issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from careweave.monitoring import alerts
from careweave.monitoring.feedback import reading_feedback
from careweave.monitoring.models import AlertStatus, HomeReading, HomeReadingAlert
from careweave.monitoring.readings import home_readings
from tests.monitoring.world import bp, build_world, run_queue, weight

pytestmark = pytest.mark.django_db(transaction=True)


def _alert_tasks(world: object) -> list[dict[str, object]]:
    return [
        t
        for t in world.tasks()  # type: ignore[attr-defined]
        if t["code"]["coding"][0]["system"] == alerts.ALERT_SYSTEM
    ]


def test_repeated_high_blood_pressure_raises_exactly_one_task() -> None:
    world = build_world()
    ids = []
    for systolic in (150, 158, 149):
        response = world.post(bp(systolic, 92))
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    run_queue()

    tasks = _alert_tasks(world)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["status"] == "ready"
    assert task["code"]["coding"][0]["code"] == alerts.ALERT_CODE
    assert task["focus"] == {"reference": f"Observation/{ids[-1]}"}  # the latest reading
    assert "named co-ordinator" in task["owner"]["display"]
    assert task["restriction"]["period"]["end"]
    assert task["input"][0]["valueInteger"] == 3
    assert HomeReadingAlert.objects.filter(status=AlertStatus.OPEN).count() == 1


def test_normal_readings_raise_no_task() -> None:
    world = build_world()
    for systolic, diastolic in ((122, 78), (128, 80), (118, 74)):
        assert world.post(bp(systolic, diastolic)).status_code == 201
    run_queue()
    assert _alert_tasks(world) == []
    assert len(home_readings(world.person)) == 6  # three readings, two values each
    assert HomeReading.objects.filter(evaluated_at=None).count() == 0


def test_a_severe_reading_escalates_the_open_task() -> None:
    world = build_world()
    world.post(bp(150, 90))
    run_queue()
    world.post(bp(186, 100))
    run_queue()
    (task,) = _alert_tasks(world)
    assert task["priority"] == "urgent"
    assert HomeReadingAlert.objects.get().rule == "bp_severe"


def test_heart_failure_weight_gain_over_three_days_raises_a_trend_alert() -> None:
    world = build_world(heart_failure=True)
    now = timezone.now()
    for days_ago, kg in ((3, 80.0), (2, 80.6), (1, 81.4), (0, 82.3)):
        assert world.post(weight(kg, now - dt.timedelta(days=days_ago, hours=-1))).status_code == 201
    run_queue()
    (alert,) = HomeReadingAlert.objects.all()
    assert alert.rule == "hf_weight_gain"
    assert alert.severity == "urgent"
    assert len(_alert_tasks(world)) == 1


def test_weight_gain_without_heart_failure_raises_nothing() -> None:
    world = build_world()
    now = timezone.now()
    for days_ago, kg in ((3, 80.0), (0, 82.5)):
        world.post(weight(kg, now - dt.timedelta(days=days_ago)))
    run_queue()
    assert not HomeReadingAlert.objects.exists()


def test_silence_raises_one_gentle_check_in() -> None:
    world = build_world()
    now = timezone.now()
    for days_ago in (20, 15, 12, 9):
        assert world.post(bp(120, 75, now - dt.timedelta(days=days_ago))).status_code == 201
    run_queue()
    assert alerts.check_silence(now) == 1
    assert alerts.check_silence(now) == 0  # one open check-in, not a pile
    (task,) = [t for t in world.tasks() if t["code"]["coding"][0]["code"] == alerts.CHECK_IN_CODE]
    assert task["priority"] == "routine"
    assert "not an alarm" in task["description"]


def test_someone_still_sending_readings_gets_no_check_in() -> None:
    world = build_world()
    now = timezone.now()
    for days_ago in (20, 15, 2):
        world.post(bp(120, 75, now - dt.timedelta(days=days_ago)))
    run_queue()
    assert alerts.check_silence(now) == 0


def test_the_task_closes_when_the_clinician_acts_and_the_person_sees_the_reply() -> None:
    world = build_world()
    world.post(bp(152, 95))
    run_queue()
    alert = HomeReadingAlert.objects.get()

    alerts.act_on_alert(
        user=world.nurse, alert=alert, action="seen", comment="Please keep taking it twice a day"
    )
    (task,) = _alert_tasks(world)
    assert task["status"] == "in-progress"
    feedback = reading_feedback(world.person)
    assert feedback[0].status == "seen"
    assert feedback[0].replies[0].comment == "Please keep taking it twice a day"

    alerts.act_on_alert(user=world.nurse, alert=alert, action="completed")
    (task,) = _alert_tasks(world)
    assert task["status"] == "completed"
    assert HomeReadingAlert.objects.get().status == AlertStatus.CLOSED

    world.post(bp(151, 96))  # a new breach after the team closed the last one: a new Task
    run_queue()
    assert sorted(t["status"] for t in _alert_tasks(world)) == ["completed", "ready"]


def test_someone_outside_the_persons_care_cannot_act() -> None:
    from careweave.governance.access import AccessRefused

    world = build_world()
    world.post(bp(152, 95))
    run_queue()
    with pytest.raises(AccessRefused):
        alerts.act_on_alert(user=world.outsider, alert=HomeReadingAlert.objects.get(), action="completed")
    assert HomeReadingAlert.objects.get().status == AlertStatus.OPEN

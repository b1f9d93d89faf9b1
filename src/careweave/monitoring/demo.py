"""Demo home readings (issue 16 item 6): a few weeks of readings from home devices for three people
at the demo nurse's practice (a heart-failure weight gain, a high blood pressure series, one who has
gone quiet), written through the same importer as /fhir/Observation and evaluated, so the alert
Tasks are in the record and on the team's page. Idempotent: does nothing if demo readings exist."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.utils import timezone

from careweave.governance.models import CareTeamMember
from careweave.monitoring import alerts
from careweave.monitoring.models import HomeReading, ReadingSource
from careweave.monitoring.services import create_device, index_reading, reading_resource, source_importer
from careweave.record import models as rm
from careweave.terminology.loaders import load_condition_library

DEMO_DEVICE = "demo-home-device"
COORDINATOR = "nurse"


def _with_condition(people: Iterable[rm.Person], condition: str) -> rm.Person | None:
    codes = load_condition_library().by_id(condition).codes
    return (
        rm.Person.objects.filter(pk__in=[p.pk for p in people], conditions__code__in=[c[1] for c in codes])
        .order_by("pk")
        .first()
    )


def _send(source: ReadingSource, measurement: str, values: dict[str, float], when: dt.datetime) -> None:
    body = reading_resource(person=source.person, measurement=measurement, values=values, effective=when)
    body["device"] = {
        "identifier": {"system": "https://fhir.careweave.org/Id/home-device", "value": source.label}
    }
    entry = source_importer(source).import_resource(body, method="POST", url="Observation")
    stored = rm.StoredResource.objects.get(resource_type="Observation", logical_id=entry.logical_id)
    index_reading(stored)
    alerts.evaluate(stored.pk)


def add_demo_home_readings(seed: int = 16) -> int:
    """Write the demo's home readings and the Tasks they raise; how many readings were written."""
    if HomeReading.objects.filter(person__reading_sources__label__startswith=DEMO_DEVICE).exists():
        return 0
    nurse = get_user_model().objects.filter(username=COORDINATOR).select_related("staff_profile").first()
    if nurse is None or nurse.staff_profile.organisation_id is None:
        return 0
    people = list(
        rm.Person.objects.filter(registered_practice_id=nurse.staff_profile.organisation_id, deceased=False)
        .select_related("resource")
        .order_by("pk")[:2000]
    )
    heart = _with_condition(people, "heart_failure")
    pressure = _with_condition([p for p in people if p != heart], "hypertension")
    quiet = next((p for p in people if p not in (heart, pressure)), None)
    rng, now, written = random.Random(seed), timezone.now(), 0
    for role, person in (("weight", heart), ("pressure", pressure), ("quiet", quiet)):
        if person is None:
            continue
        if not CareTeamMember.objects.filter(person=person, is_coordinator=True).exists():
            CareTeamMember.objects.update_or_create(
                person=person, user=nurse, defaults={"is_coordinator": True, "role_in_team": "Practice nurse"}
            )
        source, _token = create_device(person=person, label=f"{DEMO_DEVICE}-{role}")
        for days_ago in range(21, -1, -1) if role != "quiet" else range(30, 9, -3):
            when = now - dt.timedelta(days=days_ago, hours=rng.randint(0, 2), minutes=rng.randint(0, 59))
            if role == "weight":
                gain = max(0, 4 - days_ago) * 1.0  # up about 3 kg over the last three days
                _send(source, "weight", {"weight": round(78.0 + rng.uniform(-0.3, 0.3) + gain, 1)}, when)
            elif role == "pressure":
                if days_ago % 2:
                    continue
                values: dict[str, float] = {
                    "systolic": rng.randint(142, 158),
                    "diastolic": rng.randint(86, 95),
                }
                _send(source, "blood_pressure", values, when)
            else:
                _send(
                    source,
                    "blood_pressure",
                    {"systolic": rng.randint(118, 130), "diastolic": rng.randint(70, 80)},
                    when,
                )
            written += 1
    alerts.check_silence(now)
    return written

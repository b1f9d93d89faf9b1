"""The one convention for "this is a home reading" (ADR 0018), for any code that needs it.

A home reading is a FHIR Observation in the vital-signs category (LOINC code, UCUM unit) whose
``device`` is set (a device or app sent it) or whose ``performer`` is the Patient or a RelatedPerson
(the person or their carer took it), never a member of staff. The test is
:func:`careweave.terminology.home_readings.is_home_reading` (Django-free: the importer uses it to
refuse implausible readings); :func:`home_readings` lists a person's from the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from careweave.monitoring.models import HomeReading
from careweave.record import models as rm
from careweave.terminology.home_readings import (
    is_home_reading,
    load_home_readings,
    reading_problems,
    reading_values,
)

__all__ = ["Reading", "home_readings", "is_home_reading", "reading_problems", "reading_values"]


@dataclass(frozen=True)
class Reading:
    """One value of a home reading: a blood pressure is two (systolic, diastolic) with one id."""

    observation_id: str
    measurement: str  # an id of terminology/data/home_readings.yaml (systolic, weight ...)
    name: str
    value: float
    unit: str
    effective: dt.datetime
    by_device: bool


def home_readings(
    person: rm.Person, *, measurement: str | None = None, since: dt.datetime | None = None
) -> list[Reading]:
    """A person's home readings, newest first. The caller has opened the record through governance
    (``open_record``); this reads rows only."""
    names = {m.id: m.name for m in load_home_readings().measurements.values()}
    rows = HomeReading.objects.filter(person=person).select_related("resource").order_by("-effective", "pk")
    if measurement is not None:
        rows = rows.filter(measurement=measurement)
    if since is not None:
        rows = rows.filter(effective__gte=since)
    return [
        Reading(
            row.resource.logical_id,
            row.measurement,
            names.get(row.measurement, row.measurement),
            row.value,
            row.unit,
            row.effective,
            row.by_device,
        )  # fmt: skip
        for row in rows
    ]

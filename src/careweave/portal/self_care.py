"""What the person (or their carer) sends from their own view and hears back: home readings (the one
definition is `careweave.monitoring.readings.home_readings`; they are sent through
`monitoring.services.record_reading`, the same checks as the API), the team's feedback on them
(`monitoring.feedback.reading_feedback`), and questionnaires due and answered online
(`questionnaires.services`). Pages open the record through `services.open_own` first."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from markupsafe import Markup

from careweave.monitoring import feedback as monitoring_feedback
from careweave.monitoring.models import ReadingSource
from careweave.monitoring.readings import Reading, home_readings
from careweave.monitoring.services import ReadingError, record_reading, register_reading_source
from careweave.portal.models import Share
from careweave.portal.services import open_own
from careweave.record import models as rm
from careweave.terminology.home_readings import Measurement, load_home_readings
from careweave.ui.format import format_date
from careweave.web import charts

MAX_POINTS = 12
#: UCUM units in plain words for the person.
UNIT_WORDS = {"mm[Hg]": "mmHg", "/min": "beats a minute", "Cel": "°C", "%": "%", "kg": "kg"}


def unit_words(unit: str) -> str:
    return UNIT_WORDS.get(unit, unit)


@dataclass(frozen=True)
class Point:
    when: str
    value: str


@dataclass(frozen=True)
class Series:
    label: str
    latest: str
    latest_date: str
    trend: str  # "going up", "going down", "about the same" or "" (one reading)
    readings: list[Point]  # newest first
    chart: Markup


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _trend(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    first, last = values[0], values[-1]
    if abs(last - first) <= 0.02 * max(abs(first), 1.0):  # within 2%: no change worth a word
        return "about the same"
    return "going up" if last > first else "going down"


def reading_series(person: rm.Person) -> list[Series]:
    """Monitoring's home readings of the person, one series per measurement, with a trend in words."""
    by_measurement: dict[str, list[Reading]] = defaultdict(list)
    for reading in home_readings(person):  # newest first
        by_measurement[reading.name].append(reading)
    result = []
    for name, rows in sorted(by_measurement.items()):
        rows = list(reversed(rows[:MAX_POINTS]))  # oldest first
        values = [r.value for r in rows]
        points = [
            Point(format_date(timezone.localtime(r.effective)), f"{_number(r.value)} {unit_words(r.unit)}")
            for r in rows
        ]
        alt = f"{name}: {len(values)} readings from {points[0].value} to {points[-1].value}"
        result.append(
            Series(
                label=name,
                latest=points[-1].value,
                latest_date=points[-1].when,
                trend=_trend(values),
                readings=list(reversed(points)),
                chart=charts.sparkline(values, label=alt),
            )
        )
    return result


def feedback(person: rm.Person) -> list[dict[str, Any]]:
    """What the team did about the person's readings, newest first, in the person's words."""
    return [
        {
            "measurement": f.measurement,
            "when": format_date(timezone.localtime(f.raised_at)),
            "status": f.status_text,
            "replies": [
                {
                    "by": r.by,
                    "role": r.role,
                    "comment": r.comment,
                    "when": format_date(timezone.localtime(r.at)),
                }
                for r in f.replies
            ],
        }
        for f in monitoring_feedback.reading_feedback(person, limit=20)
    ]


def measurements() -> list[Measurement]:
    """What the person can send from the form: each measurement, a panel (blood pressure) as one."""
    rules = load_home_readings()
    parts = {c for m in rules.measurements.values() for c in m.components}
    return [m for m in rules.measurements.values() if m.id not in parts]


def fields_of(measurement: Measurement) -> list[Measurement]:
    rules = load_home_readings()
    return [rules.measurements[c] for c in measurement.components] or [measurement]


def send_reading(
    *, user: Any, person: rm.Person, measurement: str, raw: dict[str, str], when: dt.datetime | None = None
) -> str:
    """The person's (or a carer's with the readings share) reading from the form: decided by
    governance (`open_own`, share readings), checked and stored by monitoring as the API's readings
    are, audited as the person or the carer acting for them. The Observation's id, or ReadingError
    naming the field."""
    opened = open_own(user=user, person=person, share=Share.READINGS, action="create", audit=False)
    if opened.decision.on_behalf == "self":  # an account activated before readings: now a source too
        register_reading_source(
            user=user, person=person, kind=ReadingSource.Kind.PERSON, label="their own account"
        )
    rules = load_home_readings()
    found = rules.measurements.get(measurement)
    if found is None or found not in measurements():
        raise ReadingError("Choose what you measured", "measurement")
    values: dict[str, float] = {}
    for field in fields_of(found):
        text = (raw.get(field.id) or "").strip().replace(",", ".")
        if not text:
            raise ReadingError(f"Enter your {field.name.lower()}", field.id)
        try:
            values[field.id] = float(text)
        except ValueError:
            raise ReadingError(
                f"Enter your {field.name.lower()} as a number, like {field.low:g}", field.id
            ) from None
        if not field.low <= values[field.id] <= field.high:
            raise ReadingError(
                f"{field.name} must be between {field.low:g} and {field.high:g} {unit_words(field.unit)}. "
                "Check the reading and enter it again. If you feel unwell, call 111",
                field.id,
            )
    recorded = record_reading(
        user=user, person=person, measurement=found.id, values=values, effective=when, opened=opened
    )
    return recorded.observation_id

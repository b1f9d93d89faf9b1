"""The person's home readings: vital-signs Observations the person, their carer or a device recorded
(``performer`` a Patient or RelatedPerson, or ``device`` set), as opposed to clinic readings.

``home_readings`` is the one presenter the person's view uses, so it can later read the monitoring
app's own home readings instead without touching the pages."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from careweave.record import models as rm
from careweave.ui.format import format_date
from careweave.web import charts

MAX_POINTS = 12
HOME_PERFORMERS = ("Patient/", "RelatedPerson/")


@dataclass(frozen=True)
class HomeReading:
    when: str
    value: str


@dataclass(frozen=True)
class HomeSeries:
    label: str
    unit: str
    latest: str
    latest_date: str
    trend: str  # "going up", "going down", "about the same" or "" (one reading)
    readings: list[HomeReading]
    chart: Markup


def _from_home(body: dict[str, Any]) -> bool:
    if body.get("device"):
        return True
    for performer in body.get("performer") or []:
        reference = str(performer.get("reference") or "") if isinstance(performer, dict) else ""
        if reference.startswith(HOME_PERFORMERS):
            return True
    return False


def _words(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    first, last = values[0], values[-1]
    if abs(last - first) <= 0.02 * max(abs(first), 1.0):  # within 2%: no change worth a word
        return "about the same"
    return "going up" if last > first else "going down"


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def home_readings(person: rm.Person) -> list[HomeSeries]:
    """Each measurement recorded at home, newest readings last, with a simple trend in words."""
    rows = (
        rm.Observation.objects.filter(person=person, category="vital-signs", value__isnull=False)
        .exclude(effective=None)
        .select_related("resource")
        .order_by("effective", "pk")
    )
    bodies: dict[int, bool] = {}
    series: dict[tuple[str, str], list[tuple[datetime, float, str]]] = defaultdict(list)
    for obs in rows:
        if obs.resource_id not in bodies:
            try:
                bodies[obs.resource_id] = _from_home(json.loads(obs.resource.body))
            except (ValueError, AttributeError):
                bodies[obs.resource_id] = False
        if not bodies[obs.resource_id] or obs.effective is None or obs.value is None:
            continue
        label = obs.display or obs.code
        series[(label, obs.unit)].append((obs.effective, obs.value, obs.unit))
    result = []
    for (label, unit), points in sorted(series.items()):
        points = points[-MAX_POINTS:]
        values = [v for _w, v, _u in points]
        readings = [HomeReading(format_date(w), f"{_number(v)} {unit}".strip()) for w, v, _u in points]
        trend = _words(values)
        alt = f"{label}: {len(values)} readings from {readings[0].value} to {readings[-1].value}"
        result.append(
            HomeSeries(
                label=label,
                unit=unit,
                latest=readings[-1].value,
                latest_date=readings[-1].when,
                trend=trend,
                readings=list(reversed(readings)),
                chart=charts.sparkline(values, label=alt),
            )
        )
    return result

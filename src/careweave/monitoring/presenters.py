"""The team's home-reading alerts page and the summary's home readings section, as plain rows."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from careweave.governance.access import in_care
from careweave.monitoring.models import OPEN_STATUSES, HomeReading, HomeReadingAlert
from careweave.record import models as rm
from careweave.terminology.home_readings import load_home_readings
from careweave.ui.format import format_date, format_nhs_number, staff_name

SEVERITY_TAGS = {
    "urgent": ("Urgent", "nhsuk-tag--red"),
    "routine": ("Routine", "nhsuk-tag--yellow"),
    "check_in": ("Check-in", "nhsuk-tag--blue"),
}


def open_alerts_for(user: Any) -> QuerySet[HomeReadingAlert]:
    """Open home-reading alerts for the people in this user's care (governance decides who), the
    most pressing first."""
    return (
        HomeReadingAlert.objects.filter(in_care(user, "person_id"), status__in=OPEN_STATUSES)
        .select_related("person", "owner", "task")
        .order_by("due_at", "pk")
    )


def _when(value: Any) -> str:
    local = timezone.localtime(value)
    return f"{format_date(local)} at {local:%H:%M}"


def alert_rows(user: Any, limit: int = 200) -> list[dict[str, Any]]:
    names = {m.id: m.name for m in load_home_readings().measurements.values()}
    names["check_in"] = "No recent readings"
    now = timezone.now()
    rows = []
    for alert in open_alerts_for(user)[:limit]:
        person = alert.person
        text, classes = SEVERITY_TAGS.get(alert.severity, (alert.severity, ""))
        rows.append(
            {
                "pk": alert.pk,
                "person_pk": person.pk,
                "person": f"{person.given_name} {person.family_name}".strip() or f"Person {person.pk}",
                "nhs_number": format_nhs_number(person.nhs_number),
                "measurement": names.get(alert.measurement, alert.measurement),
                "summary": alert.summary,
                "severity": text,
                "severity_class": classes,
                "status": alert.get_status_display(),
                "seen": alert.status == "seen",
                "breaches": alert.breaches,
                "due": _when(alert.due_at),
                "overdue": alert.due_at < now,
                "owner": staff_name(alert.owner) if alert.owner else "The team",
                "mine": alert.owner_id == getattr(user, "pk", None),
                "task_id": alert.task.logical_id,
            }
        )
    return rows


def home_reading_rows(person: rm.Person, per_measurement: int = 5) -> list[dict[str, Any]]:
    """For the holistic summary: each measurement the person sends from home, its latest readings
    (newest first), shown apart from the clinic's results. The caller has opened the record."""
    rules = load_home_readings()
    found: dict[str, list[HomeReading]] = {}
    for row in HomeReading.objects.filter(person=person).order_by("-effective", "pk")[:500]:
        kept = found.setdefault(row.measurement, [])
        if len(kept) < per_measurement:
            kept.append(row)
    return [
        {
            "name": rules.measurements[mid].name,
            "unit": rules.measurements[mid].unit,
            "readings": [
                {
                    "value": f"{r.value:g}",
                    "when": _when(r.effective),
                    "by": "device" if r.by_device else "the person",
                }
                for r in rows
            ],
        }
        for mid, rows in found.items()
        if mid in rules.measurements
    ]

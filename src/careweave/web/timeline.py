"""The summary's timeline: one row per contact across every organisation, and its filters (a sector,
an organisation, a period: 12 months unless asked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

#: Appointment states that mean the person came: the encounter it became stands for it on the timeline.
ATTENDED = frozenset({"fulfilled", "arrived", "checked-in", "booked"})
#: Other appointment states in words (FHIR R4 Appointment.status).
APPOINTMENT_STATES = {"noshow": "did not attend", "cancelled": "cancelled", "proposed": "proposed",
                      "pending": "pending", "waitlist": "on the waiting list", "entered-in-error": "entered in error"}


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    date: str
    kind: str
    description: str
    organisation: str
    sector: str
    unplanned: bool = False


#: How far back the timeline looks unless asked otherwise, and the choices offered.
TIMELINE_MONTHS = 12
TIMELINE_PERIODS = {"12": "Last 12 months", "24": "Last 2 years", "all": "Everything recorded"}


@dataclass(frozen=True)
class TimelineFilter:
    """The timeline's filters (query parameters): a sector, an organisation, a period."""

    sector: str = ""
    organisation: str = ""
    period: str = str(TIMELINE_MONTHS)

    @classmethod
    def from_query(cls, params: Any) -> TimelineFilter:
        period = str(params.get("period", "")).strip()
        return cls(
            sector=str(params.get("sector", "")).strip()[:64],
            organisation=str(params.get("organisation", "")).strip()[:255],
            period=period if period in TIMELINE_PERIODS else str(TIMELINE_MONTHS),
        )

    @property
    def since(self) -> datetime | None:
        if self.period == "all":
            return None
        return timezone.now() - timedelta(days=round(int(self.period) * 365.25 / 12))

    def keeps(self, entry: TimelineEntry) -> bool:
        return (
            (not self.sector or entry.sector == self.sector)
            and (not self.organisation or entry.organisation == self.organisation)
            and (self.since is None or entry.when >= self.since)
        )

    @property
    def periods(self) -> list[dict[str, Any]]:
        return [{"value": k, "text": t, "selected": k == self.period} for k, t in TIMELINE_PERIODS.items()]

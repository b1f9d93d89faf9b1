"""What the team did about a person's home readings, for the person's own view ("your nurse has
looked at this"): `reading_feedback(person)`. The caller (the portal) has decided the person may
see it; nothing here is about anyone else."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from careweave.care.presenters import staff_name, staff_role
from careweave.monitoring.models import AlertReply, HomeReadingAlert
from careweave.record import models as rm
from careweave.terminology.home_readings import load_home_readings


@dataclass(frozen=True)
class Reply:
    by: str  # the member of staff's name
    role: str  # their role ("Community nurse")
    action: str  # seen | completed
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class Feedback:
    alert_id: int
    observation_id: str
    measurement: str  # its name: "Blood pressure", "Weight", "Check-in"
    raised_at: dt.datetime
    status: str  # open | seen | closed
    status_text: str  # in the person's words
    replies: tuple[Reply, ...]


_STATUS_TEXT = {
    "open": "Your team has been told and will look at this",
    "seen": "Your team has looked at this",
    "closed": "Your team has looked at this and closed it",
}


def reading_feedback(person: rm.Person, limit: int = 50) -> list[Feedback]:
    """The person's home-reading alerts and check-ins, newest first, each with what the team said."""
    names = {m.id: m.name for m in load_home_readings().measurements.values()}
    names["check_in"] = "Check-in"
    alerts = list(HomeReadingAlert.objects.filter(person=person).order_by("-raised_at", "-pk")[:limit])
    replies: dict[int, list[Reply]] = {}
    for reply in (
        AlertReply.objects.filter(alert__in=alerts)
        .select_related("user", "user__staff_profile")
        .order_by("at", "pk")
    ):
        replies.setdefault(reply.alert_id, []).append(
            Reply(staff_name(reply.user), staff_role(reply.user), reply.action, reply.comment, reply.at)
        )
    return [
        Feedback(
            a.pk,
            a.observation_id,
            names.get(a.measurement, a.measurement),
            a.raised_at,
            a.status,
            _STATUS_TEXT.get(a.status, ""),
            tuple(replies.get(a.pk, ())),
        )  # fmt: skip
        for a in alerts
    ]

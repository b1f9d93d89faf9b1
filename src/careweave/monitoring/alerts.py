"""Alerts from home readings (ADR 0018): a reading outside the person's thresholds (their own Goal
targets, else the reviewed defaults of home_readings.yaml), a trend (weight up 2 kg in 3 days in
heart failure), or silence, raises a FHIR Task in the record for the named co-ordinator or the team:
`focus` the Observation, `code` the CareWeave home-reading alert code, `priority` and
`restriction.period.end` from the severity's response time. At most one Task is open per person and
measurement: a repeat updates it (a new version). The team's actions change its status: ready (new)
-> in-progress (seen, with a note) -> completed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from careweave.care.fhir_exchange import USER_ID_SYSTEM
from careweave.care.presenters import staff_label
from careweave.care.services import coordinator
from careweave.fhir.importer import Importer
from careweave.governance.access import Permission, open_record
from careweave.governance.audit import record_system_event
from careweave.monitoring.models import (
    OPEN_STATUSES,
    AlertReply,
    AlertStatus,
    HomeReading,
    HomeReadingAlert,
    ReadingTarget,
)
from careweave.record import models as rm
from careweave.terminology.home_readings import SEVERITIES, Threshold, load_home_readings
from careweave.terminology.loaders import load_active_clinical_statuses, load_condition_library

ALERT_SYSTEM: Final = "https://fhir.careweave.org/CodeSystem/home-reading-alert"
ALERT_CODE: Final = "home-reading-alert"
CHECK_IN_CODE: Final = "home-reading-check-in"
SYSTEM_SOURCE: Final = "urn:careweave:monitoring"
EVALUATOR: Final = "careweave home-reading alerts"
#: A blood pressure is one problem, whichever of its two numbers is out: one open Task for both.
ALERT_GROUP: Final = {"systolic": "blood_pressure", "diastolic": "blood_pressure"}
CHECK_IN: Final = "check_in"
TASK_STATUS: Final = {
    AlertStatus.OPEN: "ready",
    AlertStatus.SEEN: "in-progress",
    AlertStatus.CLOSED: "completed",
}


class AlertError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Breach:
    group: str  # the alert's measurement: blood_pressure, weight ...
    severity: str
    rule: str
    summary: str
    observation_id: str


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


# -- thresholds -----------------------------------------------------------------------------------


def _conditions(person: rm.Person) -> set[str]:
    library, active = load_condition_library(), frozenset(load_active_clinical_statuses())
    found: set[str] = set()
    for system, code, status in rm.Condition.objects.filter(person=person).values_list(
        "system", "code", "clinical_status"
    ):
        if status in active:
            found.update(library.conditions_for_code(system, code))
    return found


def _age(person: rm.Person, on: dt.date) -> int | None:
    born = person.birth_date
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def thresholds_for(person: rm.Person, measurement: str, on: dt.date | None = None) -> list[Threshold]:
    """The thresholds a reading of this measurement is checked against: the person's own (Goal
    targets in their care plan) replace the reviewed defaults of the same severity."""
    own = [
        Threshold(
            f"personal_{t.severity}",
            measurement,
            "this person",
            (0, 150),
            t.below,
            t.at_or_above,
            t.severity,
            (f"the person's care plan (Goal {t.goal_key})",),
        )  # fmt: skip
        for t in ReadingTarget.objects.filter(person=person, measurement=measurement)
    ]
    replaced = {t.severity for t in own}
    age = _age(person, on or timezone.localdate())
    conditions: set[str] | None = None
    defaults = []
    for threshold in load_home_readings().thresholds:
        if threshold.measurement != measurement or threshold.severity in replaced:
            continue
        if age is not None and not threshold.ages[0] <= age <= threshold.ages[1]:
            continue
        if threshold.applies_to != "everyone":
            conditions = _conditions(person) if conditions is None else conditions
            if threshold.applies_to not in conditions:
                continue
        defaults.append(threshold)
    return own + defaults


def _breaches(rows: list[HomeReading], person: rm.Person) -> dict[str, Breach]:
    rules = load_home_readings()
    found: dict[str, Breach] = {}

    def keep(breach: Breach) -> None:
        held = found.get(breach.group)
        if held is None or _rank(breach.severity) > _rank(held.severity):
            found[breach.group] = breach

    lid = rows[0].resource.logical_id if rows else ""
    shown = " ".join(f"{rules.measurements[r.measurement].name} {r.value:g} {r.unit};" for r in rows).rstrip(
        ";"
    )
    conditions: set[str] | None = None
    for row in rows:
        group = ALERT_GROUP.get(row.measurement, row.measurement)
        for threshold in thresholds_for(person, row.measurement, row.effective.date()):
            if threshold.broken_by(row.value):
                limit = (
                    f"below {threshold.below:g}"
                    if threshold.below is not None and row.value < threshold.below
                    else (f"{threshold.at_or_above:g} or above")
                )
                text = f"Home reading {shown}: {rules.measurements[row.measurement].name.lower()} {limit}"
                keep(Breach(group, threshold.severity, threshold.id, text, lid))
        for trend in rules.trends:
            if trend.measurement != row.measurement:
                continue
            conditions = _conditions(person) if conditions is None else conditions
            if trend.applies_to not in conditions:
                continue
            lowest = (
                HomeReading.objects.filter(
                    person=person,
                    measurement=row.measurement,
                    effective__gte=row.effective - dt.timedelta(days=trend.days),
                    effective__lt=row.effective,
                )
                .order_by("value")
                .values_list("value", flat=True)
                .first()
            )
            if lowest is not None and row.value - lowest > trend.rise:
                text = (
                    f"{rules.measurements[row.measurement].name} up {row.value - lowest:.1f} {row.unit} "
                    f"in {trend.days} days (now {row.value:g} {row.unit})"
                )
                keep(Breach(group, trend.severity, trend.id, text, lid))
    return found


# -- the Task -------------------------------------------------------------------------------------


def _importer() -> Importer:
    """CareWeave's own writes of alert Tasks: one identity space, so every version is the same Task."""
    return Importer(source_system=SYSTEM_SOURCE, strict_references=True)


def _owner(person: rm.Person) -> tuple[dict[str, Any], Any]:
    lead = coordinator(person)
    if lead is not None:
        owner = {
            "identifier": {"system": USER_ID_SYSTEM, "value": lead.user.get_username()},
            "display": f"{staff_label(lead.user)} (named co-ordinator)",
        }
        return owner, lead.user
    practice = person.registered_practice
    if practice is not None:
        return {"reference": f"Organization/{practice.resource.logical_id}", "display": practice.name}, None
    return {"display": "The person's care team"}, None


def _write_task(alert: HomeReadingAlert, owner: dict[str, Any], notes: list[dict[str, Any]]) -> str:
    rules = load_home_readings()
    code = CHECK_IN_CODE if alert.measurement == CHECK_IN else ALERT_CODE
    display = "Home readings check-in" if code == CHECK_IN_CODE else "Home reading alert"
    now = timezone.now()
    lid = alert.task.logical_id if alert.task_id else str(uuid.uuid4())
    task: dict[str, Any] = {
        "resourceType": "Task",
        "id": lid,
        "status": TASK_STATUS[AlertStatus(alert.status)],
        "intent": "order",
        "priority": rules.response_times[alert.severity].priority,
        "code": {"coding": [{"system": ALERT_SYSTEM, "code": code, "display": display}], "text": display},
        "description": alert.summary,
        "for": {"reference": f"Patient/{alert.person.resource.logical_id}"},
        "authoredOn": alert.raised_at.isoformat(),
        "lastModified": now.isoformat(),
        "owner": owner,
        "restriction": {"period": {"end": alert.due_at.isoformat()}},
        "reasonCode": {"coding": [{"system": ALERT_SYSTEM, "code": alert.rule}], "text": alert.rule},
        "input": [{"type": {"text": "Readings outside the threshold"}, "valueInteger": alert.breaches}],
    }
    if alert.observation_id:
        task["focus"] = {"reference": f"Observation/{alert.observation_id}"}
    if notes:
        task["note"] = notes
    _importer().import_resource(task, method="PUT", url=f"Task/{lid}", expected_type="Task")
    return lid


def _notes(alert: HomeReadingAlert) -> list[dict[str, Any]]:
    if not alert.task_id:
        return []
    notes = orjson.loads(alert.task.body).get("note") or []
    return [n for n in notes if isinstance(n, dict)]


def raise_alert(person: rm.Person, breach: Breach, now: dt.datetime | None = None) -> HomeReadingAlert:
    """The open alert for this person and measurement, raised or (a repeat) updated, with its Task."""
    now = now or timezone.now()
    hours = load_home_readings().response_times[breach.severity].hours
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return _raise(person, breach, now, now + dt.timedelta(hours=hours))
        except IntegrityError:  # another worker raised it first: this one is then a repeat
            continue
    raise RuntimeError("could not raise the alert")  # pragma: no cover - two losses in a row


def _raise(person: rm.Person, breach: Breach, now: dt.datetime, due: dt.datetime) -> HomeReadingAlert:
    owner, owner_user = _owner(person)
    alert = (
        HomeReadingAlert.objects.select_for_update()
        .select_related("task", "person__resource")
        .filter(person=person, measurement=breach.group, status__in=OPEN_STATUSES)
        .first()
    )
    if alert is None:
        alert = HomeReadingAlert(
            person=person, measurement=breach.group, rule=breach.rule, severity=breach.severity,
            observation_id=breach.observation_id, summary=breach.summary[:500], owner=owner_user,
            raised_at=now, updated_at=now, due_at=due,
        )  # fmt: skip
        notes: list[dict[str, Any]] = []
    else:
        notes = _notes(alert)
        notes.append({"time": now.isoformat(), "text": f"Repeat: {breach.summary}"[:1000]})
        alert.breaches += 1
        if _rank(breach.severity) > _rank(alert.severity):
            alert.severity, alert.rule = breach.severity, breach.rule
        alert.due_at = min(alert.due_at, due)
        alert.observation_id, alert.summary, alert.updated_at = (
            breach.observation_id,
            breach.summary[:500],
            now,
        )
    lid = _write_task(alert, owner, notes)
    alert.task = rm.StoredResource.objects.get(resource_type="Task", logical_id=lid)
    alert.save()
    return alert


def evaluate(resource_pk: int) -> list[HomeReadingAlert]:
    """Evaluate one home reading (the queue's task): each breached measurement raises or updates its
    one open alert. Audited as a system event with counts only."""
    rows = list(
        HomeReading.objects.filter(resource_id=resource_pk, evaluated_at=None).select_related(
            "resource", "person__resource", "person__registered_practice__resource"
        )
    )
    if not rows:
        return []
    person = rows[0].person
    raised = [raise_alert(person, breach) for breach in _breaches(rows, person).values()]
    HomeReading.objects.filter(pk__in=[r.pk for r in rows]).update(evaluated_at=timezone.now())
    if raised:
        record_system_event(
            "home-reading-alert",
            EVALUATOR,
            detail=f"{len(raised)} alert(s) raised or updated",
            person_id=person.pk,
        )
    return raised


def check_silence(now: dt.datetime | None = None) -> int:
    """A gentle check-in Task for each person who sent readings regularly and then went quiet
    (home_readings.yaml `silence`), unless one is already open. Returns how many were raised."""
    now = now or timezone.now()
    rule = load_home_readings().silence
    quiet_from = now - dt.timedelta(days=rule.quiet_days)
    start = quiet_from - dt.timedelta(days=rule.lookback_days)
    quiet = (
        HomeReading.objects.filter(effective__gte=start)
        .values("person_id")
        .annotate(last=Max("effective"), readings=Count("resource_id", distinct=True))
        .filter(last__lt=quiet_from, readings__gte=rule.min_readings)
        .exclude(
            person_id__in=HomeReadingAlert.objects.filter(
                measurement=CHECK_IN, status__in=OPEN_STATUSES
            ).values("person_id")
        )
    )
    raised = 0
    for row in quiet:
        person = rm.Person.objects.select_related("resource", "registered_practice__resource").get(
            pk=row["person_id"]
        )
        last = (
            HomeReading.objects.filter(person=person)
            .select_related("resource")
            .order_by("-effective")
            .first()
        )
        days = (now - row["last"]).days
        summary = (
            f"No home readings for {days} days (they had been sending them regularly): "
            "a gentle check-in to see how they are, not an alarm"
        )
        raise_alert(
            person,
            Breach(CHECK_IN, "check_in", "silence", summary, last.resource.logical_id if last else ""),
            now,
        )
        raised += 1
    record_system_event("home-reading-check-in", EVALUATOR, detail=f"{raised} check-in(s) raised")
    return raised


# -- the team's actions -----------------------------------------------------------------------------


def act_on_alert(*, user: Any, alert: HomeReadingAlert, action: str, comment: str = "") -> HomeReadingAlert:
    """A member of the team marks an alert seen (with a comment the person will see) or done: the
    Task's new version says so (in-progress, completed), the reply is kept for the person's view.
    Decided and audited through governance; a person outside the user's care is refused."""
    if action not in AlertReply.Action.values:
        raise AlertError("Choose what you did", "action")
    comment = comment.strip()
    if len(comment) > 1000:
        raise AlertError("Keep the comment to 1000 characters or fewer", "comment")
    if action == AlertReply.Action.SEEN and not comment:
        raise AlertError("Say what you did or what the person should do, for them to read", "comment")
    access = open_record(
        user=user, person=alert.person, action=f"home-reading-{action}", resource_type="Task",
        resource_id=alert.task.logical_id, permission=Permission.WRITE_RECORDS, audit=False,
    )  # fmt: skip
    now = timezone.now()
    with transaction.atomic():
        alert = (
            HomeReadingAlert.objects.select_for_update()
            .select_related("task", "person__resource")
            .get(pk=alert.pk)
        )
        if alert.status == AlertStatus.CLOSED:
            raise AlertError("This alert has already been closed", "action")
        alert.status = AlertStatus.SEEN if action == AlertReply.Action.SEEN else AlertStatus.CLOSED
        alert.updated_at = now
        if alert.status == AlertStatus.CLOSED:
            alert.closed_at = now
        notes = _notes(alert)
        said = f"{'Seen' if action == 'seen' else 'Done'} by {staff_label(user)}" + (
            f": {comment}" if comment else ""
        )
        notes.append({"time": now.isoformat(), "authorString": staff_label(user)[:200], "text": said[:1000]})
        owner = orjson.loads(alert.task.body).get("owner") or _owner(alert.person)[0]
        _write_task(alert, owner, notes)
        alert.save()
        AlertReply.objects.create(alert=alert, user=user, action=action, comment=comment, at=now)
        access.audit(
            action="update",
            resource_type="Task",
            resource_id=alert.task.logical_id,
            reason=f"home reading alert {action}",
        )
    return alert

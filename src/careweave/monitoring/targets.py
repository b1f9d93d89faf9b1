"""A person's own alert thresholds, set by the care team in the care plan (ADR 0018): a Goal in a new
version of the plan says the target in words, and a `ReadingTarget` keyed to that Goal holds the
numbers the evaluator uses in place of the reviewed default of the same measurement and severity."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction

from careweave.care.services import GoalData, current_care_plan, plan_data_from, save_care_plan
from careweave.monitoring.models import ReadingTarget
from careweave.record import models as rm
from careweave.terminology.home_readings import LOINC, SEVERITIES, UCUM, load_home_readings


class TargetError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def set_reading_target(
    *,
    user: Any,
    person: rm.Person,
    measurement: str,
    severity: str = "routine",
    below: float | None = None,
    at_or_above: float | None = None,
    reason: str = "",
) -> ReadingTarget:
    """Set (or change) the person's threshold for one measurement: a Goal in a new care-plan version
    (decided and audited by care's `save_care_plan`: care planning permission and a relationship) and
    the numbers for the alerts."""
    rules = load_home_readings()
    found = rules.measurements.get(measurement)
    if found is None or found.panel:
        raise TargetError("Choose a measurement (systolic or diastolic for blood pressure)", "measurement")
    if severity not in SEVERITIES or severity == "check_in":
        raise TargetError("Choose how urgent a reading outside it is", "severity")
    if below is None and at_or_above is None:
        raise TargetError("Give a value below which, or at or above which, the team is told", "at_or_above")
    for value, field in ((below, "below"), (at_or_above, "at_or_above")):
        if value is not None and not found.low <= value <= found.high:
            raise TargetError(f"Give a value from {found.low:g} to {found.high:g} {found.unit}", field)
    limits = " and ".join(
        text
        for text in (
            f"below {at_or_above:g} {found.unit}" if at_or_above is not None else "",
            f"at least {below:g} {found.unit}" if below is not None else "",
        )
        if text
    )
    description = f"Home {found.name.lower()} {limits} (the team is told otherwise)"
    with transaction.atomic():
        held = ReadingTarget.objects.filter(person=person, measurement=measurement, severity=severity).first()
        data = plan_data_from(current_care_plan(person))
        goals = [g for g in data.goals if held is None or g.key != held.goal_key]
        key = held.goal_key if held is not None else None
        goals.append(GoalData(description=description[:500], key=key))
        plan = save_care_plan(user=user, person=person, data=dataclasses.replace(data, goals=tuple(goals)))
        goal = plan.goals.get(description=description[:500])
        target, _ = ReadingTarget.objects.update_or_create(
            person=person,
            measurement=measurement,
            severity=severity,
            defaults={
                "goal_key": goal.key, "below": below, "at_or_above": at_or_above,
                "reason": reason[:500], "set_by": user,
            },
        )  # fmt: skip
    return target


def goal_targets(goal: Any) -> list[dict[str, Any]]:
    """Goal.target elements for a care-plan Goal that holds home-reading thresholds: the measure (its
    LOINC code) and the range the reading should stay in (UCUM)."""
    rules = load_home_readings()
    found = []
    for target in ReadingTarget.objects.filter(goal_key=goal.key, person_id=goal.care_plan.person_id):
        measurement = rules.measurements.get(target.measurement)
        if measurement is None:
            continue

        def quantity(value: float, unit: str = measurement.unit) -> dict[str, Any]:
            return {"value": value, "unit": unit, "system": UCUM, "code": unit}

        detail: dict[str, Any] = {}
        if target.below is not None:
            detail["low"] = quantity(target.below)
        if target.at_or_above is not None:
            detail["high"] = quantity(target.at_or_above)
        coding = {"system": LOINC, "code": measurement.codes[0], "display": measurement.name}
        found.append({"measure": {"coding": [coding], "text": measurement.name}, "detailRange": detail})
    return found

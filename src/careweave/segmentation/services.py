"""Writes to segmentation results: clinician overrides of worklists (audited, survive re-runs)."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from typing import Any

from django.db import transaction

from careweave.governance.access import Permission, open_record
from careweave.record.models import Person
from careweave.segmentation.models import SegmentationRun, WorklistEntry, WorklistOverride
from careweave.terminology.loaders import load_removal_settings, load_worklist_rules


def current_run() -> SegmentationRun | None:
    return SegmentationRun.objects.filter(is_current=True).first()


@functools.cache
def worklist_titles() -> dict[str, str]:
    """Each worklist's title by its id, from the reviewed rules."""
    return {rule.id: rule.title for rule in load_worklist_rules()}


def months_after(day: dt.date, months: int) -> dt.date:
    """The same calendar day ``months`` later, clamped to the end of a shorter month."""
    year, month_index = divmod(day.month - 1 + months, 12)
    year += day.year
    return dt.date(year, month_index + 1, min(day.day, calendar.monthrange(year, month_index + 1)[1]))


def default_review_on(today: dt.date | None = None) -> dt.date:
    """When a removal made today is reviewed by default (worklist_rules.yaml ``removals``: 6 months)."""
    return months_after(today or dt.date.today(), load_removal_settings().review_months)


def override_worklist(
    *, user: Any, person: Person, list_id: str, action: str, reason: str, review_on: dt.date | None = None
) -> WorklistOverride:
    """Add a person to a worklist or remove them, with a reason. Only clinicians with a legitimate
    relationship may; the override is audited and applied to the current run at once. A removal
    lasts until ``review_on`` (default: :func:`default_review_on`), which must be after today."""
    reason = reason.strip()
    if action not in WorklistOverride.Action.values:
        raise ValueError(f"action must be one of {', '.join(WorklistOverride.Action.values)}")
    if len(reason) < 5:
        raise ValueError("give a reason for the change (at least 5 characters)")
    if action == WorklistOverride.Action.REMOVE:
        review_on = review_on or default_review_on()
        if review_on <= dt.date.today():
            raise ValueError("the review date must be after today")
    else:
        review_on = None
    # Refused (and the refusal audited) unless a clinician caring for this person; the change is
    # audited. Outside the transaction, so a refusal's audit entry is not rolled back with it.
    access = open_record(
        user=user,
        person=person,
        action=f"worklist-{action}",
        permission=Permission.WORKLISTS,
        audit=False,
    )
    with transaction.atomic():
        override = _apply_override(
            person=person, list_id=list_id, action=action, reason=reason, user=user, review_on=review_on
        )
        until = f" (review {review_on.isoformat()})" if review_on else ""
        access.audit(action=f"worklist-{action}", reason=f"{list_id}: {reason}{until}")
    return override


def _apply_override(
    *, person: Person, list_id: str, action: str, reason: str, user: Any, review_on: dt.date | None
) -> WorklistOverride:
    WorklistOverride.objects.filter(person=person, list_id=list_id, active=True).update(active=False)
    override = WorklistOverride.objects.create(
        person=person, list_id=list_id, action=action, reason=reason, user=user, review_on=review_on
    )
    run = current_run()
    if run is not None:
        entries = WorklistEntry.objects.filter(run=run, person=person, list_id=list_id)
        if action == WorklistOverride.Action.REMOVE:
            entries.delete()
        elif not entries.exists():
            # As the population run scores an addition (population.worklists.apply_overrides).
            note = f"Added by a clinician: {reason}"
            weight = load_removal_settings().added_by_clinician_weight
            WorklistEntry.objects.create(
                run=run,
                person=person,
                list_id=list_id,
                reasons=[note],
                added_by_clinician=True,
                practice_id=person.registered_practice_id,
                priority=weight,
                priority_parts=[{"reason": note, "points": weight}] if weight > 0 else [],
            )
    return override

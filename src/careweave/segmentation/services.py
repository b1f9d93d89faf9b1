"""Writes to segmentation results: clinician overrides of worklists (audited, survive re-runs)."""

from __future__ import annotations

import functools
from typing import Any

from django.db import transaction

from careweave.governance.access import Permission, open_record
from careweave.record.models import Person
from careweave.segmentation.models import SegmentationRun, WorklistEntry, WorklistOverride
from careweave.terminology.loaders import load_worklist_rules


def current_run() -> SegmentationRun | None:
    return SegmentationRun.objects.filter(is_current=True).first()


@functools.cache
def worklist_titles() -> dict[str, str]:
    """Each worklist's title by its id, from the reviewed rules."""
    return {rule.id: rule.title for rule in load_worklist_rules()}


def override_worklist(
    *, user: Any, person: Person, list_id: str, action: str, reason: str
) -> WorklistOverride:
    """Add a person to a worklist or remove them, with a reason. Only clinicians with a legitimate
    relationship may; the override is audited and applied to the current run at once."""
    reason = reason.strip()
    if action not in WorklistOverride.Action.values:
        raise ValueError(f"action must be one of {', '.join(WorklistOverride.Action.values)}")
    if len(reason) < 5:
        raise ValueError("give a reason for the change (at least 5 characters)")
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
        override = _apply_override(person=person, list_id=list_id, action=action, reason=reason, user=user)
        access.audit(action=f"worklist-{action}", reason=f"{list_id}: {reason}")
    return override


def _apply_override(*, person: Person, list_id: str, action: str, reason: str, user: Any) -> WorklistOverride:
    WorklistOverride.objects.filter(person=person, list_id=list_id, active=True).update(active=False)
    override = WorklistOverride.objects.create(
        person=person, list_id=list_id, action=action, reason=reason, user=user
    )
    run = current_run()
    if run is not None:
        entries = WorklistEntry.objects.filter(run=run, person=person, list_id=list_id)
        if action == WorklistOverride.Action.REMOVE:
            entries.delete()
        elif not entries.exists():
            WorklistEntry.objects.create(
                run=run,
                person=person,
                list_id=list_id,
                reasons=[f"Added by a clinician: {reason}"],
                added_by_clinician=True,
                practice_id=person.registered_practice_id,
            )
    return override

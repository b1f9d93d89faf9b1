"""The auditor: every read of a person's record and every change goes through here.

It refuses to write without an actor (a signed-in user or a named system process), so an access
cannot be recorded anonymously (after the breast screening service's ADR-004 auditor).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from careweave.governance.models import AuditEntry, patient_ids


class MissingActor(Exception):
    pass


def record_access(
    *,
    actor: Any,
    action: str,
    resource_type: str = "",
    resource_id: str = "",
    person_id: int | None = None,
    person_ref: str = "",
    purpose: str = "direct-care",
    break_glass: bool = False,
    reason: str = "",
    outcome: str = "success",
    channel: str = "web",
) -> AuditEntry:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise MissingActor("an audit entry needs a signed-in user or a system actor")
    return AuditEntry.objects.create(
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id[:64],
        person_id=person_id,
        person_ref=person_ref,  # the person's Patient id: looked up when not given
        purpose=purpose[:64],
        break_glass=break_glass,
        reason=reason,
        outcome=outcome,
        channel=channel,
    )


def record_system_event(
    action: str,
    system_actor: str,
    *,
    detail: str = "",
    person_id: int | None = None,
    outcome: str = "success",
    channel: str = "cli",
) -> AuditEntry:
    """An event with no signed-in user: a command, or the web sign-in refusing an unknown account."""
    if not system_actor:
        raise MissingActor("a system audit entry needs the name of the process")
    return AuditEntry.objects.create(
        system_actor=system_actor, action=action, reason=detail, person_id=person_id, outcome=outcome, channel=channel
    )


def record_views(
    *,
    actor: Any,
    person_ids: Iterable[int | tuple[int, str]],
    action: str,
    resource_type: str,
    purpose: str = "direct-care",
    channel: str = "web",
    break_glass_ids: Iterable[int] = (),
) -> list[AuditEntry]:
    """A page or search result that shows several people: one entry per person, so each person's
    access report lists it. An item is a person's id, or (id, resource id) when the people were seen
    in different places (a worklist page spans lists). Inserted together, Patient ids in one query."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise MissingActor("an audit entry needs a signed-in user or a system actor")
    views = dict.fromkeys(item if isinstance(item, tuple) else (item, "") for item in person_ids)
    if not views:
        return []
    refs = patient_ids(pk for pk, _ in views)
    glass = set(break_glass_ids)
    return AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=actor,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id[:64],
            person_id=pk,
            person_ref=refs.get(pk, ""),
            purpose=purpose[:64],
            break_glass=pk in glass,
            channel=channel,
        )
        for pk, resource_id in views
    )

"""The auditor: every read of a person's record and every change goes through here.

It refuses to write without an actor (a signed-in user or a named system process), so an access
cannot be recorded anonymously (after the breast screening service's ADR-004 auditor).
"""

from __future__ import annotations

from typing import Any

from careweave.governance.models import AuditEntry


class MissingActor(Exception):
    pass


def record_access(
    *,
    actor: Any,
    action: str,
    resource_type: str = "",
    resource_id: str = "",
    person_id: int | None = None,
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
        purpose=purpose[:64],
        break_glass=break_glass,
        reason=reason,
        outcome=outcome,
        channel=channel,
    )


def record_system_event(
    action: str, system_actor: str, *, detail: str = "", person_id: int | None = None
) -> AuditEntry:
    if not system_actor:
        raise MissingActor("a system audit entry needs the name of the process")
    return AuditEntry.objects.create(
        system_actor=system_actor, action=action, reason=detail, person_id=person_id, channel="cli"
    )

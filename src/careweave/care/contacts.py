"""The care team beyond CareWeave's staff: professionals elsewhere, the person's carer and family, and
the person themselves (``CareTeamContact``); and how to reach each staff member about this person.

Writes follow the services' rules: keyword-only, atomic, the record opened once for a care team
change (a relationship of one's own, never break-glass), and the change audited on that decision.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from careweave.care.models import CareTeamContact
from careweave.care.services import CareTeamError, care_team_id, open_for_team_change
from careweave.governance.models import CareTeamMember
from careweave.record import models as rm

MAX_TEXT = 255


def contacts(person: rm.Person) -> list[CareTeamContact]:
    """The team members without a CareWeave account: the person first, then carers, then professionals."""
    order: dict[str, int] = {CareTeamContact.Kind.PATIENT: 0, CareTeamContact.Kind.RELATED_PERSON: 1,
                             CareTeamContact.Kind.PRACTITIONER: 2}
    found = list(CareTeamContact.objects.filter(person=person).select_related("related_person"))
    return sorted(found, key=lambda c: (order.get(c.kind, 3), c.added_at, c.pk))


def carers_in_record(person: rm.Person) -> list[rm.RelatedPerson]:
    """Carers, next of kin and family recorded for the person who are not in the team yet."""
    added = CareTeamContact.objects.filter(person=person).exclude(related_person=None).values("related_person_id")
    return list(rm.RelatedPerson.objects.filter(person=person).exclude(pk__in=added).order_by("-is_carer", "name", "pk"))


def _clean(value: str, what: str, *, required: bool = False) -> str:
    text = " ".join(value.split())
    if required and not text:
        raise CareTeamError(f"Enter {what}")
    if len(text) > MAX_TEXT:
        raise CareTeamError(f"{what[0].upper()}{what[1:]} must be {MAX_TEXT} characters or fewer")
    return text


@transaction.atomic
def add_contact(
    *, user: Any, person: rm.Person, kind: str, name: str = "", role_in_team: str = "", organisation: str = "",
    contact: str = "", related_person: rm.RelatedPerson | None = None,
) -> CareTeamContact:
    """Add someone without a CareWeave account. The person themselves is added by name from the record;
    a carer from the record brings their name and phone; a professional needs a name."""
    access = open_for_team_change(user, person)
    if kind not in CareTeamContact.Kind.values:
        raise CareTeamError("Choose who to add")
    existing = CareTeamContact.objects.select_for_update().filter(person=person)
    if kind == CareTeamContact.Kind.PATIENT:
        if existing.filter(kind=kind).exists():
            raise CareTeamError(f"{person.display_name} is already in their care team")
        name, role_in_team = person.display_name, role_in_team or "The person"
    elif related_person is not None:
        if related_person.person_id != person.pk:
            raise CareTeamError("Choose a carer recorded for this person")
        if existing.filter(related_person=related_person).exists():
            raise CareTeamError("They are already in this person's care team")
        name = related_person.name or name
        contact = contact or related_person.telecom
        role_in_team = role_in_team or ("Carer" if related_person.is_carer else related_person.relationship_display)
    added = CareTeamContact.objects.create(
        person=person,
        kind=kind,
        name=_clean(name, "their name", required=True),
        role_in_team=_clean(role_in_team, "their role")[:128],
        organisation=_clean(organisation, "their organisation") if kind == CareTeamContact.Kind.PRACTITIONER else "",
        contact=_clean(contact, "how to reach them"),
        related_person=related_person,
        added_by=user,
    )
    access.audit(action="update", resource_type="CareTeam", resource_id=care_team_id(person))
    return added


@transaction.atomic
def remove_contact(*, user: Any, person: rm.Person, contact: CareTeamContact) -> None:
    access = open_for_team_change(user, person)
    deleted, _ = CareTeamContact.objects.filter(pk=contact.pk, person=person).delete()
    if not deleted:
        raise CareTeamError("They are not in this person's care team")
    access.audit(action="update", resource_type="CareTeam", resource_id=care_team_id(person))


@transaction.atomic
def set_member_contact(*, user: Any, person: rm.Person, member: CareTeamMember, contact: str) -> CareTeamMember:
    """How to reach a staff member about this person (printed under "Who to contact")."""
    access = open_for_team_change(user, person)
    locked = CareTeamMember.objects.select_for_update().filter(pk=member.pk, person=person).first()
    if locked is None:
        raise CareTeamError("They are not in this person's care team")
    locked.contact = _clean(contact, "how to reach them")
    locked.save(update_fields=["contact"])
    access.audit(action="update", resource_type="CareTeam", resource_id=care_team_id(person))
    return locked

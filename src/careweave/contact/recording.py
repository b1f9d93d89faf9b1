"""Recording a person's communication needs from the workspace: each Accessible Information Standard
need is written as a FHIR Flag (the Reasonable Adjustment Flag's shape: category NRAF, the SNOMED CT
code) through the importer, exactly as an API client would send it, so the record, the FHIR API and
the channel choice all read the same row. The stated channel order and NHS App registration are the
contact app's own (ContactPreference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from careweave.contact.models import ContactPreference
from careweave.contact.needs import information_needs
from careweave.fhir.importer import workspace_importer
from careweave.fhir.outcome import Refused
from careweave.governance.access import Permission, open_record
from careweave.population.contact import Channel
from careweave.record import models as rm
from careweave.terminology.models import SNOMED

FLAG_CATEGORY_SYSTEM: Final = "https://fhir.nhs.uk/CodeSystem/RARecord-FlagCategory-1"


class RecordingError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field




def record_need(*, user: Any, person: rm.Person, need_id: str) -> str:
    """Write the need as an active Flag; its logical id. Needs without a SNOMED CT code are refused."""
    try:
        need = information_needs().get(need_id)
    except StopIteration:
        raise RecordingError("Choose a communication need from the list", "need") from None
    if not need.snomed_codes:
        raise RecordingError(
            f"{need.name} has no SNOMED CT code yet: record it in the clinical system", "need"
        )
    access = open_record(
        user=user,
        person=person,
        action="record-need",
        resource_type="Flag",
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )
    flag = {
        "resourceType": "Flag",
        "status": "active",
        "category": [
            {
                "coding": [
                    {
                        "system": FLAG_CATEGORY_SYSTEM,
                        "code": "NRAF",
                        "display": "National Reasonable Adjustments Flag",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": SNOMED, "code": need.snomed_codes[0], "display": need.name}]},
        "subject": {"reference": f"Patient/{person.resource.logical_id}"},
        "period": {"start": timezone.localdate().isoformat()},
    }
    with transaction.atomic():
        try:
            entry = workspace_importer(user).import_resource(flag, method="POST", url="Flag")
        except Refused as refused:
            raise RecordingError(f"The record refused this: {refused.issues[0].message}", "need") from None
        access.audit(action="record-need", resource_type="Flag", resource_id=str(entry.logical_id))
    return str(entry.logical_id)


def record_preference(
    *, user: Any, person: rm.Person, order: Sequence[str], app_registered: bool
) -> ContactPreference:
    """The person's stated channel order (most preferred first) and whether they use the NHS App."""
    unknown = [c for c in order if c not in Channel._value2member_map_]
    if unknown:
        raise RecordingError(f"Unknown channel(s): {', '.join(unknown)}", "order")
    access = open_record(
        user=user,
        person=person,
        action="record-contact-preference",
        resource_type="Patient",
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )
    with transaction.atomic():
        preference, _ = ContactPreference.objects.update_or_create(
            person=person, defaults={"order": list(dict.fromkeys(order)), "app_registered": app_registered}
        )
        access.audit(action="record-contact-preference")
    return preference

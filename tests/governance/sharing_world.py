"""A person whose record has one resource in every part a person may share or withhold, known to one
organisation of every kind, and staff of every role at each: imported through the real importer,
read through HTTP (the workspace) and the FHIR API (ADR 0021)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.consent import consent_resource
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm

FHIR_JSON = "application/fhir+json"
SCT = "http://snomed.info/sct"
SECTOR_SYSTEM = "https://fhir.careweave.org/CodeSystem/organisation-sector"
PATIENT = "pat-sharing"

# organisation kind (the Consent's) -> the record's sector
KINDS = {
    "general-practice": "general-practice",
    "hospital": "acute",
    "community": "community",
    "mental-health": "mental-health",
    "social-care": "social-care",
    "voluntary-sector": "voluntary",
    "private-provider": "private",
}
PARTS = ("summary", "medicines", "mental-health", "sexual-health", "safeguarding", "notes")
ROLES = (Role.GP, Role.NURSE, Role.SOCIAL_WORKER, Role.LINK_WORKER)

# one resource per part, and the words that would give it away on any page
CONDITIONS = {
    "summary": ("cond-summary", "44054006", "Type 2 diabetes mellitus"),
    "mental-health": ("cond-mh", "370143000", "Major depressive disorder"),
    "sexual-health": ("cond-sh", "86406008", "Human immunodeficiency virus infection"),
    "safeguarding": ("cond-sg", "766561000000109", "Adult safeguarding concern"),
}
MEDICINE = ("med-1", "Metformin 500mg modified-release tablets")
NOTE = ("note-1", "Confidential note about the family argument")
RESOURCE_OF = {
    **{part: ("Condition", lid) for part, (lid, _, _) in CONDITIONS.items()},
    "medicines": ("MedicationRequest", MEDICINE[0]),
    "notes": ("DocumentReference", NOTE[0]),
}
WORDS_OF = {
    **{part: display for part, (_, _, display) in CONDITIONS.items()},
    "medicines": MEDICINE[1],
    "notes": NOTE[1],
}


def _subject() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT}"}


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": resource,
        "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
    }


def record_bundle() -> dict[str, Any]:
    entries = [
        _entry(
            {
                "resourceType": "Organization",
                "id": f"org-{kind}",
                "name": f"The {kind} organisation",
                "type": [{"coding": [{"system": SECTOR_SYSTEM, "code": sector}]}],
            }
        )
        for kind, sector in KINDS.items()
    ]
    entries.append(
        _entry(
            {
                "resourceType": "Patient",
                "id": PATIENT,
                "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}],
                "name": [{"family": "Sharingperson", "given": ["Sam"]}],
                "birthDate": "1950-03-02",
                "generalPractitioner": [{"reference": "Organization/org-general-practice"}],
            }
        )
    )
    # a contact with every organisation: each has the person in its care (ADR 0005)
    entries += [
        _entry(
            {
                "resourceType": "Encounter",
                "id": f"enc-{kind}",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": _subject(),
                "serviceProvider": {"reference": f"Organization/org-{kind}"},
                "period": {"start": "2026-01-10T10:00:00Z"},
            }
        )
        for kind in KINDS
        if kind != "general-practice"
    ]
    entries += [
        _entry(
            {
                "resourceType": "Condition",
                "id": lid,
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"coding": [{"system": SCT, "code": code, "display": display}]},
                "subject": _subject(),
                "onsetDateTime": "2020-06-01",
            }
        )
        for lid, code, display in CONDITIONS.values()
    ]
    entries.append(
        _entry(
            {
                "resourceType": "MedicationRequest",
                "id": MEDICINE[0],
                "status": "active",
                "intent": "order",
                "medicationCodeableConcept": {
                    "coding": [{"system": SCT, "code": "376688005", "display": MEDICINE[1]}]
                },
                "subject": _subject(),
                "authoredOn": "2025-01-01",
            }
        )
    )
    entries.append(
        _entry(
            {
                "resourceType": "DocumentReference",
                "id": NOTE[0],
                "status": "current",
                "description": NOTE[1],
                "subject": _subject(),
                "content": [{"attachment": {"contentType": "text/plain", "title": NOTE[1]}}],
            }
        )
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def load_record() -> rm.Person:
    Importer(source_system="urn:test:sharing").import_bundle(record_bundle(), "sharing.json")
    return rm.Person.objects.get(resource__logical_id=PATIENT)


def staff(role: str, kind: str) -> tuple[Any, str]:
    """A member of staff of `role` at the organisation of `kind`, and their API token."""
    user = get_user_model().objects.create_user(username=f"{role}-{kind}", password="a-long-test-password")
    organisation = rm.Organisation.objects.get(resource__logical_id=f"org-{kind}")
    StaffProfile.objects.create(user=user, role=role, organisation=organisation)
    return user, ApiToken.issue(user, "test")


def consent(
    cid: str,
    *,
    shared: bool,
    kinds: tuple[str, ...] = (),
    parts: tuple[str, ...] = (),
    when: str = "2026-12-01",
) -> dict[str, Any]:
    """A sharing choice: share (permit) or withhold (deny) `parts` (all) with `kinds` (every kind)."""
    resource = consent_resource(
        patient_id=PATIENT,
        shared=shared,
        kinds=kinds,
        parts=parts,
        method="verbal",
        recorded_by="Dr Recorder",
        when=when,
    )
    return {"id": cid, **resource}


def put(client: Client, token: str, resource: dict[str, Any]) -> Any:
    return client.put(
        f"/fhir/{resource['resourceType']}/{resource['id']}",
        data=json.dumps(resource),
        content_type=FHIR_JSON,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def get(client: Client, token: str, url: str) -> Any:
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")

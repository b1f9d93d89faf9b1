from __future__ import annotations

import copy
from typing import Any

import pytest

PATIENT_ID = "11111111-2222-3333-4444-555555555555"


def patient(nhs: str = "9434765919", pid: str = PATIENT_ID) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}],
        "name": [{"family": "Testperson", "given": ["Alex"]}],
        "gender": "female",
        "birthDate": "1950-03-02",
    }


def transaction_bundle(extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": "urn:uuid:org-1",
            "resource": {
                "resourceType": "Organization",
                "id": "org-1",
                "name": "Riverside Surgery",
                "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y00001"}],
                "type": [
                    {
                        "coding": [
                            {
                                "system": "https://fhir.careweave.org/CodeSystem/organisation-sector",
                                "code": "general-practice",
                            }
                        ]
                    }
                ],
            },
            "request": {"method": "POST", "url": "Organization"},
        },
        {
            "fullUrl": f"urn:uuid:{PATIENT_ID}",
            "resource": {**patient(), "generalPractitioner": [{"reference": "urn:uuid:org-1"}]},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "fullUrl": "urn:uuid:cond-1",
            "resource": {
                "resourceType": "Condition",
                "id": "cond-1",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {
                    "coding": [
                        {
                            "system": "http://snomed.info/sct",
                            "code": "44054006",
                            "display": "Type 2 diabetes mellitus",
                        }
                    ]
                },
                "subject": {"reference": f"urn:uuid:{PATIENT_ID}"},
                "onsetDateTime": "2015-06-01",
            },
            "request": {"method": "POST", "url": "Condition"},
        },
        {
            "fullUrl": "urn:uuid:obs-1",
            "resource": {
                "resourceType": "Observation",
                "id": "obs-1",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                "subject": {"reference": f"urn:uuid:{PATIENT_ID}"},
                "effectiveDateTime": "2024-01-05T10:00:00Z",
                "component": [
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                        "valueQuantity": {"value": 150, "unit": "mm[Hg]"},
                    },
                    {
                        "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                        "valueQuantity": {"value": 92, "unit": "mm[Hg]"},
                    },
                ],
            },
            "request": {"method": "POST", "url": "Observation"},
        },
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries + (extra or [])}
    return copy.deepcopy(bundle)


@pytest.fixture
def good_bundle() -> dict[str, Any]:
    return transaction_bundle()

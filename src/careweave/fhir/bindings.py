"""Required value-set bindings that the fhir.resources models do not enforce.

From the FHIR R4 (4.0.1) specification: each element below has binding strength `required`, so a
value outside the value set is invalid (http://hl7.org/fhir/R4/terminologies.html#required).
Element paths are FHIRPath relative to the resource; `.coding.code` entries apply to CodeableConcepts.
"""

from __future__ import annotations

from typing import Any

# http://hl7.org/fhir/R4/valueset-request-intent.html
REQUEST_INTENT = frozenset(
    {
        "proposal",
        "plan",
        "directive",
        "order",
        "original-order",
        "reflex-order",
        "filler-order",
        "instance-order",
        "option",
    }
)

REQUIRED_CODES: dict[str, dict[str, frozenset[str]]] = {
    "Patient": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "RelatedPerson": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Practitioner": {"gender": frozenset({"male", "female", "other", "unknown"})},
    "Observation": {
        "status": frozenset(
            {
                "registered",
                "preliminary",
                "final",
                "amended",
                "corrected",
                "cancelled",
                "entered-in-error",
                "unknown",
            }
        )
    },
    "Condition": {
        "clinicalStatus.coding.code": frozenset(
            {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
        ),
        "verificationStatus.coding.code": frozenset(
            {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
        ),
    },
    "MedicationRequest": {
        "status": frozenset(
            {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}
        ),
        # http://hl7.org/fhir/R4/valueset-medicationrequest-intent.html: request-intent less "directive"
        "intent": REQUEST_INTENT - {"directive"},
    },
    "MedicationStatement": {
        "status": frozenset(
            {
                "active",
                "completed",
                "entered-in-error",
                "intended",
                "stopped",
                "on-hold",
                "unknown",
                "not-taken",
            }
        )
    },
    "Encounter": {
        "status": frozenset(
            {
                "planned",
                "arrived",
                "triaged",
                "in-progress",
                "onleave",
                "finished",
                "cancelled",
                "entered-in-error",
                "unknown",
            }
        )
    },
    "Appointment": {
        "status": frozenset(
            {
                "proposed",
                "pending",
                "booked",
                "arrived",
                "fulfilled",
                "cancelled",
                "noshow",
                "entered-in-error",
                "checked-in",
                "waitlist",
            }
        )
    },
    "ServiceRequest": {
        "status": frozenset(
            {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
        ),
        "intent": REQUEST_INTENT,
    },
}

# Condition.clinicalStatus and verificationStatus codes are only bound when their system is the HL7 one.
_SYSTEM_FOR = {
    "clinicalStatus": "http://terminology.hl7.org/CodeSystem/condition-clinical",
    "verificationStatus": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
}


def binding_errors(resource: dict[str, Any]) -> list[tuple[str, str]]:
    """(element path, message) for each value outside its required value set."""
    problems: list[tuple[str, str]] = []
    for path, allowed in REQUIRED_CODES.get(resource.get("resourceType", ""), {}).items():
        if path.endswith(".coding.code"):
            element = path.split(".")[0]
            concept = resource.get(element)
            if not isinstance(concept, dict):
                continue
            for i, coding in enumerate(concept.get("coding") or []):
                if coding.get("system") == _SYSTEM_FOR[element] and coding.get("code") not in allowed:
                    problems.append(
                        (
                            f"{element}.coding[{i}].code",
                            f"'{coding.get('code')}' is not in the required value set ({', '.join(sorted(allowed))})",
                        )
                    )
        else:
            value = resource.get(path)
            if value is not None and value not in allowed:
                problems.append(
                    (path, f"'{value}' is not in the required value set ({', '.join(sorted(allowed))})")
                )
    return problems

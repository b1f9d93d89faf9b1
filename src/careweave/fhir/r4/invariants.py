"""The invariants (severity error) of the R4 resource types CareWeave models, as their
StructureDefinitions state them (FHIRPath quoted), with the NHS number rule of UK Core.

Each check answers (issue code, element path relative to the resource, message). The FHIRPath of each
is quoted beside it; a comparison of two dates at different precisions is, as in FHIRPath, neither
true nor false and so passes. Django-free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from careweave.fhir.nhs_number import NHS_NUMBER_SYSTEM, why_invalid

Found = Iterator[tuple[str, str, str]]

_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
_CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
_ALLERGY_VER = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"


def _instant(value: str) -> tuple[int, datetime | str] | None:
    """A date or dateTime as (precision, comparable): a dateTime with a time is an aware datetime."""
    if "T" in value:
        try:
            return 9, datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return len(value), value


def before(end: Any, start: Any) -> bool:
    """Whether `end` is before `start` (False when either is missing or they are not comparable)."""
    if not isinstance(end, str) or not isinstance(start, str):
        return False
    a, b = _instant(end), _instant(start)
    if a is None or b is None or a[0] != b[0]:
        # different precisions: compare the common date part only when it decides (FHIRPath: empty)
        if a is not None and b is not None:
            return end[:10] < start[:10] and min(len(end), len(start)) >= 10
        return False
    left, right = a[1], b[1]
    if isinstance(left, datetime) and isinstance(right, datetime):
        if (left.tzinfo is None) != (right.tzinfo is None):
            return False
        return left < right
    return str(left) < str(right)


def _codes(concept: Any, system: str) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    return {
        str(c.get("code"))
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("system") == system
    }


def _has_value(resource: dict[str, Any], prefix: str) -> bool:
    return any(k.startswith(prefix) and k[len(prefix) : len(prefix) + 1].isupper() for k in resource)


def patient(r: dict[str, Any]) -> Found:
    # pat-1: contact.name.exists() or contact.telecom.exists() or contact.address.exists() or
    #        contact.organization.exists()
    for i, contact in enumerate(r.get("contact") or []):
        if isinstance(contact, dict) and not any(
            contact.get(k) for k in ("name", "telecom", "address", "organization")
        ):
            yield (
                "invariant",
                f"contact[{i}]",
                "pat-1: a contact has a name, telecom, address or organization",
            )
    # UK Core: an NHS number is 10 digits with a valid Modulus 11 check digit
    for i, ident in enumerate(r.get("identifier") or []):
        if isinstance(ident, dict) and ident.get("system") == NHS_NUMBER_SYSTEM:
            reason = why_invalid(str(ident.get("value") or ""))
            if reason:
                yield "value", f"identifier[{i}].value", f"invalid NHS number: {reason}"


def condition(r: dict[str, Any]) -> Found:
    # con-4: abatement.empty() or clinicalStatus.coding.where(system='.../condition-clinical' and
    #        (code='resolved' or code='remission' or code='inactive')).exists()
    clinical = _codes(r.get("clinicalStatus"), _CONDITION_CLINICAL)
    if _has_value(r, "abatement") and not clinical & {"resolved", "remission", "inactive"}:
        yield (
            "invariant",
            "clinicalStatus",
            "con-4: if the condition is abated, its clinicalStatus is inactive, resolved or remission",
        )
    # con-5: verificationStatus.coding.where(system='.../condition-ver-status' and
    #        code='entered-in-error').empty() or clinicalStatus.empty()
    if "entered-in-error" in _codes(r.get("verificationStatus"), _CONDITION_VER) and r.get("clinicalStatus"):
        yield (
            "invariant",
            "clinicalStatus",
            "con-5: no clinicalStatus when verificationStatus is entered-in-error",
        )


def allergy(r: dict[str, Any]) -> Found:
    entered_in_error = "entered-in-error" in _codes(r.get("verificationStatus"), _ALLERGY_VER)
    # ait-1: verificationStatus.coding.where(... code = 'entered-in-error').exists() or clinicalStatus.exists()
    if not entered_in_error and not r.get("clinicalStatus"):
        yield "invariant", "clinicalStatus", "ait-1: clinicalStatus is required unless entered-in-error"
    # ait-2: verificationStatus.coding.where(... code = 'entered-in-error').empty() or clinicalStatus.empty()
    if entered_in_error and r.get("clinicalStatus"):
        yield (
            "invariant",
            "clinicalStatus",
            "ait-2: no clinicalStatus when verificationStatus is entered-in-error",
        )


def observation(r: dict[str, Any]) -> Found:
    # obs-6: dataAbsentReason.empty() or value.empty()
    if r.get("dataAbsentReason") and _has_value(r, "value"):
        yield "invariant", "dataAbsentReason", "obs-6: dataAbsentReason only when there is no value[x]"
    # obs-7: value.empty() or component.code.where(coding.intersect(%resource.code.coding).exists()).empty()
    own: dict[str, Any] = r["code"] if isinstance(r.get("code"), dict) else {}
    own_codings = {
        (str(c.get("system")), str(c.get("code"))) for c in own.get("coding") or [] if isinstance(c, dict)
    }
    if _has_value(r, "value"):
        for i, component in enumerate(r.get("component") or []):
            code = component.get("code") if isinstance(component, dict) else None
            codings = (code or {}).get("coding") or [] if isinstance(code, dict) else []
            if any(
                isinstance(c, dict) and (str(c.get("system")), str(c.get("code"))) in own_codings
                for c in codings
            ):
                message = "obs-7: a component's code is not the Observation's own code when it has a value"
                yield "invariant", f"component[{i}].code", message
    # obs-3: low.exists() or high.exists() or text.exists()
    for i, bounds in enumerate(r.get("referenceRange") or []):
        if isinstance(bounds, dict) and not any(bounds.get(k) for k in ("low", "high", "text")):
            yield "invariant", f"referenceRange[{i}]", "obs-3: a reference range has a low, a high or a text"


def appointment(r: dict[str, Any]) -> Found:
    # app-2: start.exists() = end.exists()
    if bool(r.get("start")) != bool(r.get("end")):
        yield "invariant", "end" if r.get("start") else "start", "app-2: either start and end, or neither"
    # app-3: (start.exists() and end.exists()) or (status in ('proposed' | 'cancelled' | 'waitlist'))
    elif not r.get("start") and r.get("status") not in ("proposed", "cancelled", "waitlist"):
        yield (
            "invariant",
            "start",
            "app-3: only proposed, cancelled or waitlist appointments may have no start and end",
        )
    # app-4: cancelationReason.exists() implies (status='noshow' or status='cancelled')
    if r.get("cancelationReason") and r.get("status") not in ("noshow", "cancelled"):
        yield "invariant", "cancelationReason", "app-4: a cancelation reason only on noshow or cancelled"
    if before(r.get("end"), r.get("start")):
        yield "invariant", "end", "the appointment ends before it starts"


def service_request(r: dict[str, Any]) -> Found:
    # prr-1: orderDetail.empty() or code.exists()
    if r.get("orderDetail") and not r.get("code"):
        yield "invariant", "orderDetail", "prr-1: orderDetail only when a code is given"


def organization(r: dict[str, Any]) -> Found:
    # org-1: (identifier.count() + name.count()) > 0
    if not r.get("identifier") and not r.get("name"):
        yield "invariant", "", "org-1: an organization has an identifier or a name"
    # org-2: address.where(use = 'home').empty(); org-3: telecom.where(use = 'home').empty()
    for element, key in (("address", "org-2"), ("telecom", "org-3")):
        for i, item in enumerate(r.get(element) or []):
            if isinstance(item, dict) and item.get("use") == "home":
                yield (
                    "invariant",
                    f"{element}[{i}].use",
                    f"{key}: an organization's {element} cannot be 'home'",
                )


def task(r: dict[str, Any]) -> Found:
    # inv-1: lastModified.exists().not() or authoredOn.exists().not() or lastModified >= authoredOn
    if before(r.get("lastModified"), r.get("authoredOn")):
        yield (
            "invariant",
            "lastModified",
            "inv-1: last modified date must be greater than or equal to authored-on date",
        )


CHECKS: dict[str, Callable[[dict[str, Any]], Found]] = {
    "Patient": patient,
    "Condition": condition,
    "AllergyIntolerance": allergy,
    "Observation": observation,
    "Appointment": appointment,
    "ServiceRequest": service_request,
    "Organization": organization,
    "Task": task,
}


def check(resource_type: str, resource: dict[str, Any]) -> Found:
    rule = CHECKS.get(resource_type)
    return rule(resource) if rule is not None else iter(())

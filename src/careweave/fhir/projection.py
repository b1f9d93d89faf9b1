"""From a stored FHIR resource to the record's typed fields.

Pure functions over dicts: the importer passes the resource as stored (references already rewritten
to our `Type/id`); each returns the field values for the record row(s), and the importer
(`careweave.fhir.imports.records`) adds the keys of what they refer to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from careweave.fhir import conventions as cv
from careweave.fhir.nhs_number import normalise
from careweave.terminology.loading.units import load_units
from careweave.terminology.units import UCUM_SYSTEM

# Unplanned care. v3 ActCode class EMER is an emergency contact; v3 ActPriority EM (emergency),
# UR (urgent), A (ASAP) and S (stat) mark unplanned care; SNOMED CT 183452005 "Emergency hospital
# admission" and 50849002 "Emergency room admission" are how Synthea codes unplanned admissions.
# Sources: HL7 v3 ActCode and ActPriority code systems (terminology.hl7.org); SNOMED CT.
UNPLANNED_CLASSES = frozenset({"EMER"})
UNPLANNED_PRIORITIES = frozenset({"EM", "UR", "A", "S", "CR"})
UNPLANNED_TYPE_CODES = frozenset({"183452005", "50849002"})

# Carer relationships: SNOMED CT 133932002 "Caregiver"; v3 RoleCode is not specific, so a
# relationship text mentioning "carer"/"caregiver" also counts. v2-0131 "N" is next of kin.
CARER_CODES = frozenset({"133932002", "407542009", "407543004", "CAREGIVER"})
NEXT_OF_KIN_CODES = frozenset({"N", "NOK"})

_HL7_ORG_TYPE_SECTOR = {"cg": "voluntary", "bus": "private", "govt": "social-care"}
_NAME_SECTOR = (
    (re.compile(r"pharmac|chemist", re.I), "pharmacy"),
    (re.compile(r"mental|psychiatr|behaviou?ral", re.I), "mental-health"),
    (re.compile(r"hospital|medical center|medical centre|infirmary|nhs foundation trust", re.I), "acute"),
    (re.compile(r"community (health|trust|services)|district nurs", re.I), "community"),
    (re.compile(r"council|social (care|services)", re.I), "social-care"),
    (re.compile(r"charity|voluntary|age uk|carers", re.I), "voluntary"),
    (
        re.compile(r"surgery|practice|family|health cent|primary care|medical group|physicians|clinic", re.I),
        "general-practice",
    ),
)


def parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) == 4:
            return date(int(value), 1, 1)
        if len(value) == 7:
            return date(int(value[:4]), int(value[5:7]), 1)
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    if len(value) <= 10:
        d = parse_date(value)
        return datetime(d.year, d.month, d.day, tzinfo=UTC) if d else None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def first_coding(concept: Any) -> dict[str, Any]:
    if isinstance(concept, dict):
        codings = concept.get("coding") or []
        if codings:
            coding = dict(codings[0])
            coding.setdefault("display", concept.get("text", ""))
            return coding
        if concept.get("text"):
            return {"display": concept["text"]}
    return {}


def concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    return str(
        concept.get("text") or first_coding(concept).get("display") or first_coding(concept).get("code") or ""
    )


def ref_id(reference: Any, resource_type: str | None = None) -> str | None:
    """The logical id in a `{"reference": "Type/id"}`, when it points at `resource_type`."""
    if not isinstance(reference, dict):
        return None
    value = reference.get("reference")
    if not isinstance(value, str) or "/" not in value:
        return None
    kind, _, rest = value.partition("/")
    if resource_type and kind != resource_type:
        return None
    return rest.split("/")[0]


def extensions(resource: dict[str, Any], url: str) -> Iterator[dict[str, Any]]:
    for ext in resource.get("extension") or []:
        if ext.get("url") == url:
            yield ext


def human_name(names: Any) -> tuple[str, str]:
    if not names:
        return "", ""
    chosen = next((n for n in names if n.get("use") in ("official", "usual")), names[0])
    given = " ".join(chosen.get("given") or [])
    family = chosen.get("family") or ""
    if not (given or family) and chosen.get("text"):
        return chosen["text"], ""
    return given, family


def organisation_sector(resource: dict[str, Any]) -> str:
    for concept in resource.get("type") or []:
        for coding in concept.get("coding") or []:
            if coding.get("system") == cv.SECTOR_SYSTEM:
                return str(coding.get("code"))
            if coding.get("code") in _HL7_ORG_TYPE_SECTOR:
                return _HL7_ORG_TYPE_SECTOR[coding["code"]]
    name = resource.get("name") or ""
    for pattern, sector in _NAME_SECTOR:
        if pattern.search(name):
            return sector
    return "unknown"


def organisation_fields(resource: dict[str, Any]) -> dict[str, Any]:
    ods = next(
        (i.get("value", "") for i in resource.get("identifier") or [] if i.get("system") == cv.ODS_SYSTEM), ""
    )
    return {
        "name": (resource.get("name") or "")[:255],
        "ods_code": ods[:32],
        "sector": organisation_sector(resource),
    }


def practitioner_fields(resource: dict[str, Any]) -> dict[str, Any]:
    given, family = human_name(resource.get("name"))
    prefix = " ".join((resource.get("name") or [{}])[0].get("prefix") or []) if resource.get("name") else ""
    identifier = next(
        (f"{i.get('system', '')}|{i.get('value', '')}" for i in resource.get("identifier") or []), ""
    )
    return {"name": " ".join(p for p in (prefix, given, family) if p)[:255], "identifier": identifier[:255]}


def patient_fields(resource: dict[str, Any]) -> dict[str, Any]:
    given, family = human_name(resource.get("name"))
    nhs_number = None
    others = []
    for ident in resource.get("identifier") or []:
        if ident.get("system") == cv.NHS_NUMBER_SYSTEM and ident.get("value"):
            nhs_number = normalise(ident["value"])
        elif ident.get("value"):
            others.append({"system": ident.get("system", ""), "value": ident["value"]})
    address = (resource.get("address") or [{}])[0]
    address_text = address.get("text") or ", ".join(
        [*(address.get("line") or []), *(x for x in (address.get("city"), address.get("district")) if x)]
    )
    ethnicity_code, ethnicity_display = "", ""
    for ext in extensions(resource, cv.UK_ETHNICITY_URL):
        coding = first_coding(ext.get("valueCodeableConcept"))
        ethnicity_code, ethnicity_display = coding.get("code", ""), coding.get("display", "")
    if not ethnicity_display:
        texts = [
            sub.get("valueString", "")
            for url in cv.US_ETHNICITY_URLS
            for ext in extensions(resource, url)
            for sub in ext.get("extension") or []
            if sub.get("url") == "text"
        ]
        ethnicity_display = " / ".join(t for t in texts if t)
    language = ""
    for comm in resource.get("communication") or []:
        coding = first_coding(comm.get("language"))
        if comm.get("preferred") or not language:
            language = coding.get("code") or coding.get("display") or ""
    interpreter = next((ext.get("valueBoolean") for ext in extensions(resource, cv.INTERPRETER_URL)), None)
    needs = [
        (ext.get("valueCoding") or {}).get("code")
        for ext in extensions(resource, cv.ACCESSIBLE_INFORMATION_NEED_URL)
        if (ext.get("valueCoding") or {}).get("code")
    ]
    digital = next((ext.get("valueCode") for ext in extensions(resource, cv.DIGITAL_ACCESS_URL)), "") or ""
    lsoa = next((ext.get("valueString") for ext in extensions(resource, cv.LSOA_URL)), "") or ""
    imd = next((ext.get("valueInteger") for ext in extensions(resource, cv.IMD_DECILE_URL)), None)
    opt_out = next(
        (ext.get("valueBoolean") for ext in extensions(resource, cv.NATIONAL_DATA_OPT_OUT_URL)), False
    )
    deceased_date = parse_date(resource.get("deceasedDateTime"))
    return {
        "nhs_number": nhs_number,
        "other_identifiers": others,
        "given_name": given[:255],
        "family_name": family[:255],
        "birth_date": parse_date(resource.get("birthDate")),
        "sex": resource.get("gender") or "",
        "ethnicity_code": ethnicity_code[:16],
        "ethnicity_display": ethnicity_display[:255],
        "address_text": address_text[:512],
        "postcode": (address.get("postalCode") or "")[:16],
        "lsoa": lsoa[:16],
        "imd_decile": imd if isinstance(imd, int) and 1 <= imd <= 10 else None,
        "preferred_language": language[:32],
        "interpreter_required": interpreter,
        "accessible_information_needs": needs,
        "digital_access": digital if digital in ("online", "phone-only", "none") else "",
        "national_data_opt_out": bool(opt_out),
        "deceased": bool(resource.get("deceasedBoolean")) or deceased_date is not None,
        "deceased_date": deceased_date,
    }


def registered_practice_id(resource: dict[str, Any]) -> str | None:
    for gp in resource.get("generalPractitioner") or []:
        org = ref_id(gp, "Organization")
        if org:
            return org
    return None


def coded(resource: dict[str, Any]) -> dict[str, Any]:
    """The system, code and display of a resource's `code`, with its clinical and verification status."""
    coding = first_coding(resource.get("code"))
    return {
        "system": (coding.get("system") or "")[:255],
        "code": (coding.get("code") or "")[:64],
        "display": (coding.get("display") or concept_text(resource.get("code")))[:512],
        "clinical_status": (first_coding(resource.get("clinicalStatus")).get("code") or "")[:32],
        "verification_status": (first_coding(resource.get("verificationStatus")).get("code") or "")[:32],
    }


def condition_fields(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        **coded(resource),
        "onset": parse_date(
            resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")
        ),
        "abatement": parse_date(
            resource.get("abatementDateTime") or (resource.get("abatementPeriod") or {}).get("start")
        ),
        "recorded_date": parse_date(resource.get("recordedDate")),
    }


def medication_fields(
    resource: dict[str, Any], medication_lookup: Callable[[str], dict[str, Any] | None]
) -> dict[str, Any]:
    concept = resource.get("medicationCodeableConcept")
    if concept is None:
        target = resource.get("medicationReference") or {}
        reference = target.get("reference", "") if isinstance(target, dict) else ""
        if reference.startswith("#"):
            contained = next(
                (c for c in resource.get("contained") or [] if c.get("id") == reference[1:]), None
            )
            concept = (contained or {}).get("code")
        elif reference:
            med = medication_lookup(reference.partition("/")[2])
            concept = (med or {}).get("code")
        if concept is None and isinstance(target, dict) and target.get("display"):
            concept = {"text": target["display"]}
    coding = first_coding(concept)
    dosage = (resource.get("dosageInstruction") or resource.get("dosage") or [{}])[0]
    if resource["resourceType"] == "MedicationRequest":
        start = resource.get("authoredOn")
        end = ((resource.get("dispenseRequest") or {}).get("validityPeriod") or {}).get("end")
        course = first_coding(resource.get("courseOfTherapyType")).get("code") or ""
    else:
        period = resource.get("effectivePeriod") or {}
        start = resource.get("effectiveDateTime") or period.get("start") or resource.get("dateAsserted")
        end = period.get("end")
        course = ""
    return {
        "kind": resource["resourceType"],
        "system": (coding.get("system") or "")[:255],
        "code": (coding.get("code") or "")[:64],
        "display": (coding.get("display") or concept_text(concept))[:512],
        "dose_text": (dosage.get("text") or "")[:512],
        "status": (resource.get("status") or "")[:32],
        "course": course[:32],
        "authored_on": parse_date(start),
        "end_date": parse_date(end),
    }


def _quantity(value: Any) -> tuple[float | None, str, list[str]]:
    """The value, the unit as sent (text, else code), and the units to convert from: the UCUM code first."""
    if not (isinstance(value, dict) and isinstance(value.get("value"), int | float)):
        return None, "", []
    code, text, system = str(value.get("code") or ""), str(value.get("unit") or ""), value.get("system")
    return float(value["value"]), text or code, [*([code] if system == UCUM_SYSTEM else []), text, code]


def observation_rows(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """A row for the observation and per component (BP: systolic, diastolic), values also canonical."""
    coding = first_coding(resource.get("code"))
    effective = parse_datetime(
        resource.get("effectiveDateTime")
        or (resource.get("effectivePeriod") or {}).get("start")
        or resource.get("issued")
    )
    category = ""
    for concept in resource.get("category") or []:
        category = first_coding(concept).get("code") or category
    base = {"category": category[:64], "status": (resource.get("status") or "")[:32], "effective": effective}

    def row(code_concept: Any, holder: dict[str, Any], component_of: str) -> dict[str, Any]:
        c = first_coding(code_concept)
        value, unit, units = _quantity(holder.get("valueQuantity"))
        text = holder.get("valueString") or concept_text(holder.get("valueCodeableConcept"))
        if value is None and isinstance(holder.get("valueInteger"), int):
            value = float(holder["valueInteger"])
        canonical = load_units().convert(c.get("system") or "", c.get("code") or "", value, units)
        if "valueBoolean" in holder:
            text = "yes" if holder["valueBoolean"] else "no"
        return {
            **base,
            "component_of": component_of[:64],
            "system": (c.get("system") or "")[:255],
            "code": (c.get("code") or "")[:64],
            "display": (c.get("display") or concept_text(code_concept))[:512],
            "value": value,
            "unit": unit[:64],
            "value_text": str(text or "")[:512],
            "value_canonical": canonical.value,
            "unit_canonical": canonical.unit,
            "unit_status": canonical.status,
        }

    rows = [row(resource.get("code"), resource, "")]
    for component in resource.get("component") or []:
        rows.append(row(component.get("code"), component, coding.get("code") or ""))
    return rows


def encounter_fields(resource: dict[str, Any]) -> dict[str, Any]:
    class_code = (resource.get("class") or {}).get("code") or ""
    type_coding = first_coding((resource.get("type") or [None])[0])
    priority = first_coding(resource.get("priority")).get("code") or ""
    period = resource.get("period") or {}
    unplanned = (
        class_code in UNPLANNED_CLASSES
        or priority in UNPLANNED_PRIORITIES
        or type_coding.get("code") in UNPLANNED_TYPE_CODES
    )
    return {
        "status": (resource.get("status") or "")[:32],
        "class_code": class_code[:16],
        "type_code": (type_coding.get("code") or "")[:64],
        "type_display": (type_coding.get("display") or "")[:512],
        "priority": priority[:16],
        "unplanned": unplanned,
        "start": parse_datetime(period.get("start")),
        "end": parse_datetime(period.get("end")),
    }


def encounter_practitioner_id(resource: dict[str, Any]) -> str | None:
    for participant in resource.get("participant") or []:
        found = ref_id(participant.get("individual"), "Practitioner")
        if found:
            return found
    return None


def appointment_fields(resource: dict[str, Any]) -> dict[str, Any]:
    description = resource.get("description") or concept_text((resource.get("serviceType") or [None])[0])
    return {
        "status": (resource.get("status") or "")[:32],
        "description": (description or "")[:512],
        "start": parse_datetime(resource.get("start")),
        "end": parse_datetime(resource.get("end")),
    }


def appointment_participant(resource: dict[str, Any], resource_type: str) -> str | None:
    for participant in resource.get("participant") or []:
        found = ref_id(participant.get("actor"), resource_type)
        if found:
            return found
    return None


def referral_fields(resource: dict[str, Any]) -> dict[str, Any]:
    reason = first_coding((resource.get("reasonCode") or [None])[0])
    return {
        "is_referral": not cv.is_test_request(resource),
        "status": (resource.get("status") or "")[:32],
        "priority": (resource.get("priority") or "")[:32],
        "code_display": concept_text(resource.get("code"))[:512],
        "reason_code": (reason.get("code") or "")[:64],
        "reason_display": (reason.get("display") or "")[:512],
        "authored_on": parse_date(resource.get("authoredOn") or resource.get("occurrenceDateTime")),
    }


def related_person_fields(resource: dict[str, Any]) -> dict[str, Any]:
    given, family = human_name(resource.get("name"))
    codes = [
        c.get("code", "")
        for concept in resource.get("relationship") or []
        for c in concept.get("coding") or []
    ]
    texts = " ".join(concept_text(concept) for concept in resource.get("relationship") or []).lower()
    first = first_coding((resource.get("relationship") or [None])[0])
    telecom = next((t.get("value", "") for t in resource.get("telecom") or []), "")
    return {
        "name": f"{given} {family}".strip()[:255],
        "relationship_code": (first.get("code") or "")[:64],
        "relationship_display": (first.get("display") or texts)[:255],
        "is_carer": any(c in CARER_CODES for c in codes) or "carer" in texts or "caregiver" in texts,
        "is_next_of_kin": any(c in NEXT_OF_KIN_CODES for c in codes) or "next of kin" in texts,
        "telecom": telecom[:255],
    }


def allergy_fields(resource: dict[str, Any]) -> dict[str, Any]:
    """AllergyIntolerance: the substance, how sure and how dangerous, and what it did."""
    manifestations = [
        concept_text(m) for reaction in resource.get("reaction") or [] for m in reaction.get("manifestation") or []
    ]
    onset = resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")
    return {
        **coded(resource),
        "criticality": (resource.get("criticality") or "")[:32],
        "category": " ".join(resource.get("category") or [])[:64],
        "onset": parse_date(onset),
        "recorded_date": parse_date(resource.get("recordedDate")),
        "reactions": "; ".join(dict.fromkeys(m for m in manifestations if m))[:512],
    }


def flag_fields(resource: dict[str, Any]) -> dict[str, Any]:
    """Flag: the warning, whether it stands, and for when."""
    category = next((first_coding(c).get("code") for c in resource.get("category") or []), "") or ""
    period = resource.get("period") or {}
    fields = coded(resource)
    del fields["clinical_status"], fields["verification_status"]
    return {
        **fields,
        "status": (resource.get("status") or "")[:32],
        "category": category[:64],
        "start": parse_date(period.get("start")),
        "end": parse_date(period.get("end")),
    }


@lru_cache(maxsize=1)
def social_need_index() -> dict[tuple[str, str], str]:
    """(system, code) -> social need id, from the reviewed terminology data."""
    from careweave.terminology import load_social_needs

    return {code: need.id for need in load_social_needs() for code in need.codes}


def social_circumstance_rows(resource: dict[str, Any]) -> list[dict[str, Any]]:
    index = social_need_index()
    rows = []
    concepts = [resource.get("code")]
    if resource["resourceType"] == "Observation":
        concepts.append(resource.get("valueCodeableConcept"))
        if resource.get("valueBoolean") is False:  # "lives alone: no" is not a need
            return []
    status = first_coding(resource.get("clinicalStatus")).get("code")
    if status in ("inactive", "resolved", "remission"):
        return []
    recorded = parse_date(
        resource.get("effectiveDateTime")
        or resource.get("recordedDate")
        or resource.get("onsetDateTime")
        or resource.get("issued")
    )
    for concept in concepts:
        for coding in (concept or {}).get("coding") or []:
            kind = index.get((coding.get("system", ""), coding.get("code", "")))
            if kind:
                rows.append(
                    {
                        "kind": kind,
                        "system": coding.get("system", "")[:255],
                        "code": coding.get("code", "")[:64],
                        "display": (coding.get("display") or "")[:512],
                        "recorded": recorded,
                    }
                )
    return rows

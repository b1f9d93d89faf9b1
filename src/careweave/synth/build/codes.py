"""FHIR code systems, extension URLs and the constant fragments the build steps share.

orjson serialises a shared object without copying it, so fragments used in every resource live here once.
"""

from __future__ import annotations

from typing import Any

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
DMD = "https://dmd.nhs.uk"
NHS_NUMBER = "https://fhir.nhs.uk/Id/nhs-number"
EXT_ETHNIC = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_CS = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
EXT_LSOA = "https://fhir.careweave.org/StructureDefinition/lsoa"
EXT_IMD = "https://fhir.careweave.org/StructureDefinition/imd-decile"
EXT_INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
EXT_AIN = "https://fhir.careweave.org/StructureDefinition/accessible-information-need"
AIN_CS = "https://fhir.careweave.org/CodeSystem/accessible-information-need"
EXT_DIGITAL = "https://fhir.careweave.org/StructureDefinition/digital-access"
EXT_OPT_OUT = "https://fhir.careweave.org/StructureDefinition/national-data-opt-out"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


# Shared constant fragments (orjson serialises shared objects without copying).
CLINICAL_ACTIVE = coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")
VERIFIED = coded("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed")
PROBLEM_LIST = [coded("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")]
VITAL_SIGNS = [coded(OBS_CATEGORY, "vital-signs")]
LABORATORY = [coded(OBS_CATEGORY, "laboratory")]
SOCIAL_HISTORY = [coded(OBS_CATEGORY, "social-history")]
EXAM = [coded(OBS_CATEGORY, "exam")]
REFERRAL_CATEGORY = [coded(SCT, "3457005", "Patient referral")]
CONTINUOUS = coded("http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy", "continuous")
CAREGIVER = coded(SCT, "133932002", "Caregiver")
NEXT_OF_KIN = coded("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")
CLASS = {
    "AMB": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "EMER": {"system": ACT_CODE, "code": "EMER", "display": "emergency"},
    "IMP": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
    "HH": {"system": ACT_CODE, "code": "HH", "display": "home health"},
    "VR": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
}
PRIORITY = {
    code: coded(ACT_PRIORITY, code, display)
    for code, display in (("EM", "emergency"), ("UR", "urgent"), ("R", "routine"), ("EL", "elective"))
}
ENCOUNTER_TYPE = {
    "review": [coded(SCT, "390906007", "Follow-up encounter")],
    "problem": [coded(SCT, "185347001", "Encounter for problem")],
    "home_visit": [coded(SCT, "439708006", "Home visit")],
    "emergency": [coded(SCT, "50849002", "Emergency room admission")],
    "emergency_admission": [coded(SCT, "183452005", "Emergency hospital admission")],
    "elective_admission": [coded(SCT, "32485007", "Hospital admission")],
    "consultation": [coded(SCT, "11429006", "Consultation")],
    "medication_review": [coded(SCT, "182836005", "Review of medication")],
}
VITALS = {"bp", "weight", "bmi"}
TIMES = [f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(1440)]  # minute of day -> time part

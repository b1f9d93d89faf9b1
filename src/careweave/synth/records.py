"""Build each person's FHIR R4 resources (shapes as in docs/fhir-conventions.md).

Per-person detail uses a `random.Random` seeded from (seed, person index): scalar draws in pure
Python are an order of magnitude cheaper than numpy scalar calls, and seeding per person keeps a
person's record independent of chunking.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

import numpy as np
import orjson

from careweave.synth.cohort import Cohort
from careweave.synth.names import FEMALE_GIVEN, INWARD_LETTERS, MALE_GIVEN, OTHER_LANGUAGES, STREETS, SURNAMES
from careweave.synth.organisations import Economy, Organisation
from careweave.synth.parameters import Parameters, Trait

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

RESOURCE_TYPES = (
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Patient",
    "RelatedPerson",
    "Condition",
    "MedicationRequest",
    "Observation",
    "Encounter",
    "Appointment",
    "ServiceRequest",
)


def _cc(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


# Shared constant fragments (orjson serialises shared objects without copying).
CLINICAL_ACTIVE = _cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")
VERIFIED = _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed")
PROBLEM_LIST = [_cc("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")]
VITAL_SIGNS = [_cc(OBS_CATEGORY, "vital-signs")]
LABORATORY = [_cc(OBS_CATEGORY, "laboratory")]
SOCIAL_HISTORY = [_cc(OBS_CATEGORY, "social-history")]
REFERRAL_CATEGORY = [_cc(SCT, "3457005", "Patient referral")]
CONTINUOUS = _cc("http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy", "continuous")
CAREGIVER = _cc(SCT, "133932002", "Caregiver")
NEXT_OF_KIN = _cc("http://terminology.hl7.org/CodeSystem/v2-0131", "N", "Next-of-Kin")
CLASS = {
    "AMB": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
    "EMER": {"system": ACT_CODE, "code": "EMER", "display": "emergency"},
    "IMP": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
    "HH": {"system": ACT_CODE, "code": "HH", "display": "home health"},
    "VR": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
}
PRIORITY = {
    code: _cc(ACT_PRIORITY, code, display)
    for code, display in (("EM", "emergency"), ("UR", "urgent"), ("R", "routine"), ("EL", "elective"))
}
ENCOUNTER_TYPE = {
    "review": [_cc(SCT, "390906007", "Follow-up encounter")],
    "problem": [_cc(SCT, "185347001", "Encounter for problem")],
    "home_visit": [_cc(SCT, "439708006", "Home visit")],
    "emergency": [_cc(SCT, "50849002", "Emergency room admission")],
    "emergency_admission": [_cc(SCT, "183452005", "Emergency hospital admission")],
    "elective_admission": [_cc(SCT, "32485007", "Hospital admission")],
    "consultation": [_cc(SCT, "11429006", "Consultation")],
    "medication_review": [_cc(SCT, "182836005", "Review of medication")],
}
# Specialty -> (referral procedure code, display, sector that receives it).
REFERRAL_TO: dict[str, tuple[str, str, str]] = {
    "cardiology": ("308471005", "Referral to cardiologist", "acute"),
    "endocrinology": ("306278007", "Referral to endocrinologist", "acute"),
    "respiratory": ("306275005", "Referral to respiratory physician", "acute"),
    "renal": ("306286007", "Referral to nephrologist", "acute"),
    "vascular": ("307777008", "Referral to vascular surgeon", "acute"),
    "rheumatology": ("306290009", "Referral to rheumatologist", "acute"),
    "neurology": ("308474002", "Referral to neurologist", "acute"),
    "oncology": ("310515004", "Referral to medical oncologist", "acute"),
    "urology": ("306318004", "Referral to urologist", "acute"),
    "gastroenterology": ("308476000", "Referral to gastroenterologist", "acute"),
    "orthopaedics": ("308481009", "Referral to orthopedic surgeon", "acute"),
    "care_of_older_people": ("308475001", "Referral to care of the elderly physician", "acute"),
    "mental_health": ("390866009", "Referral to mental health team", "mental-health"),
    "memory_service": ("183528001", "Referral to psychiatrist for the elderly mentally ill", "mental-health"),
    "learning_disability": ("306294000", "Referral to psychiatrist for mental handicap", "mental-health"),
    "pain": ("306109009", "Referral to pain management service", "community"),
    "weight_management": (
        "771491000000104",
        "Referral to local authority weight management programme",
        "social-care",
    ),
    "social_prescribing": ("871731000000106", "Referral to social prescribing service", "voluntary"),
    "social_services": ("306238000", "Referral to Social Services", "social-care"),
    "private_physiotherapy": ("416999007", "Private referral to physiotherapist", "private"),
}
# Monitoring kinds -> how an Observation is coded.
UNITS = {
    "hba1c": "mmol/mol",
    "egfr": "mL/min/{1.73_m2}",
    "acr": "mg/mmol",
    "weight": "kg",
    "bmi": "kg/m2",
    "cholesterol": "mmol/L",
}
VITALS = {"bp", "weight", "bmi"}
FLUSH_BYTES = 4 << 20
TIMES = [f"T{m // 60:02d}:{m % 60:02d}:00Z" for m in range(1440)]  # minute of day -> time part


@dataclass
class Batch:
    """Serialised NDJSON for one chunk, by resource type.

    Lines are appended to one bytearray per type: orjson returns each document in a generously
    sized buffer, so keeping millions of small `bytes` objects alive would cost ~4 KB apiece.
    """

    sinks: dict[str, BinaryIO] | None = None  # if given, full buffers are flushed here (bounded memory)
    buffers: dict[str, bytearray] = field(default_factory=lambda: {t: bytearray() for t in RESOURCE_TYPES})
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESOURCE_TYPES, 0))

    def add(self, resource_type: str, resource: dict[str, Any]) -> None:
        buffer = self.buffers[resource_type]
        buffer += orjson.dumps(resource)
        buffer += b"\n"
        self.counts[resource_type] += 1
        if self.sinks is not None and len(buffer) >= FLUSH_BYTES:
            self.sinks[resource_type].write(buffer)
            buffer.clear()

    def flush(self) -> None:
        if self.sinks is not None:
            for resource_type, buffer in self.buffers.items():
                self.sinks[resource_type].write(buffer)
                buffer.clear()


class RecordBuilder:
    """Turns sampled people into FHIR resources. One instance per run."""

    def __init__(self, *, params: Parameters, economy: Economy, seed: int, reference_date: date) -> None:
        self.params = params
        self.economy = economy
        self.seed = seed
        self.meta = {"source": f"urn:careweave:synth:{seed}"}
        self.ref_ordinal = reference_date.toordinal()
        self.reference_date = reference_date
        self._dates: dict[int, str] = {}
        self.conditions = params.conditions
        self.social = params.social
        self.n_conditions = len(params.conditions)
        self.keys = {t.key: i for i, t in enumerate(params.traits)}
        self.util = params.utilisation
        self.mon = params.monitoring
        self.history_days = int(self.util["history_years"]) * 365
        self.practice_refs = [{"reference": f"Organization/{p.id}"} for p in economy.practices]
        self.sector_org: dict[str, Organisation] = {
            "community": economy.community,
            "mental-health": economy.mental_health,
            "social-care": economy.social_care,
            "voluntary": economy.voluntary,
            "private": economy.private,
        }
        self.condition_code = [
            {"coding": [{"system": SCT, "code": t.snomed, "display": t.display}]} for t in params.conditions
        ]
        self.social_code = [
            {"coding": [{"system": SCT, "code": t.snomed, "display": t.display}]} for t in params.social
        ]
        self.medicine_code: dict[str, dict[str, Any]] = {}
        for t in params.conditions:
            for m in t.medicines:
                self.medicine_code[m.dmd] = {"coding": [{"system": DMD, "code": m.dmd, "display": m.display}]}
        self.observation_code = {
            k: {"coding": [{"system": LOINC, "code": str(v["loinc"]), "display": str(v["display"])}]}
            for k, v in self.mon.items()
            if isinstance(v, dict) and "loinc" in v
        }
        self.bp_components = (
            {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
            {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
        )

    # -- dates ---------------------------------------------------------------------------------
    def day(self, days_ago: int) -> str:
        s = self._dates.get(days_ago)
        if s is None:
            s = date.fromordinal(self.ref_ordinal - days_ago).isoformat()
            self._dates[days_ago] = s
        return s

    def when(self, days_ago: int, minute: int) -> str:
        return self.day(days_ago) + TIMES[minute]

    # -- the chunk -----------------------------------------------------------------------------
    def build(
        self,
        cohort: Cohort,
        nhs_numbers: list[str],
        rng: np.random.Generator,
        sinks: dict[str, BinaryIO] | None = None,
    ) -> Batch:
        batch = Batch(sinks=sinks)
        n = len(cohort)
        util = self.util
        n_cond = cohort.traits[:, : self.n_conditions].sum(axis=1)
        alive_days = np.minimum(self.history_days, cohort.birth_days_ago) - np.maximum(
            cohort.died_days_ago, 0
        )
        years = np.maximum(alive_days, 0) / 365.0
        over_50 = np.maximum(cohort.age - 50, 0) / 10.0
        deprivation = 5.5 - cohort.decile
        # Counts are drawn vectorised; details per person below.
        gp_rate = (
            util["gp_base_per_year"]
            + util["gp_per_condition"] * n_cond
            + util["gp_per_decade_over_50"] * over_50
        )
        n_gp = rng.poisson(gp_rate * years)
        unplanned_mult = np.maximum(0.2, 1.0 + util["deprivation_unplanned_per_decile"] * deprivation)
        ae_rate = (
            util["ae_base_per_year"] + util["ae_per_condition"] * n_cond + 0.03 * over_50
        ) * unplanned_mult
        n_ae = rng.poisson(ae_rate * years)
        n_elective = rng.poisson(util["elective_admission_per_year"] * (1 + 0.3 * n_cond) * years)
        for i in range(n):
            self.person(batch, cohort, i, nhs_numbers[i], int(n_gp[i]), int(n_ae[i]), int(n_elective[i]))
        batch.flush()
        return batch

    def person(
        self, batch: Batch, c: Cohort, i: int, nhs_number: str, n_gp: int, n_ae: int, n_elective: int
    ) -> None:
        g = c.start + i
        rnd = random.Random((self.seed << 32) | g)
        out = batch
        meta = self.meta
        pid = f"s{self.seed}-p{g}"
        subject = {"reference": f"Patient/{pid}"}
        female = bool(c.female[i])
        age = int(c.age[i])
        birth = int(c.birth_days_ago[i])
        died = int(c.died_days_ago[i])
        end = (
            died + 1 if died >= 0 else 0
        )  # most recent day with activity (days ago); none on the day of death
        start = max(end, min(self.history_days, birth))
        practice = self.economy.practices[int(c.practice[i])]
        practice_ref = self.practice_refs[int(c.practice[i])]
        decile = int(c.decile[i])
        traits = c.traits[i]
        has = {t.key for t, on in zip(self.params.traits, traits.tolist(), strict=True) if on}
        gps = practice.practitioners["gp"]
        counter = 0

        def next_id(kind: str) -> str:
            nonlocal counter
            counter += 1
            return f"{pid}-{kind}{counter}"

        def day_in_window() -> int:
            return rnd.randint(end, start)

        # -- Patient -------------------------------------------------------------------------
        given = rnd.choice(FEMALE_GIVEN if female else MALE_GIVEN)
        family = rnd.choice(SURNAMES)
        language_other = rnd.random() < (0.03 if c.ethnicity[i] == 0 else 0.25)
        digital = "online"
        if age >= 75:
            digital = "none" if rnd.random() < 0.3 else ("phone-only" if rnd.random() < 0.4 else "online")
        elif rnd.random() < 0.08:
            digital = "phone-only"
        extensions: list[dict[str, Any]] = [
            {
                "url": EXT_ETHNIC,
                "valueCodeableConcept": {
                    "coding": [
                        {"system": ETHNIC_CS, "code": self.params.ethnicity_codes[int(c.ethnicity[i])]}
                    ]
                },
            },
            {"url": EXT_LSOA, "valueString": practice.lsoas[int(c.lsoa[i])]},
            {"url": EXT_IMD, "valueInteger": decile},
            {"url": EXT_DIGITAL, "valueCode": digital},
        ]
        if language_other:
            extensions.append({"url": EXT_INTERPRETER, "valueBoolean": rnd.random() < 0.4})
        if rnd.random() < (0.12 if age >= 75 else 0.02):
            need = rnd.choice(("large-print", "easy-read", "telephone", "audio", "bsl", "braille", "email"))
            if "learning_disability" in has:
                need = "easy-read"
            extensions.append({"url": EXT_AIN, "valueCoding": {"system": AIN_CS, "code": need}})
        if rnd.random() < 0.054:  # NHS England national data opt-out rate, 2024
            extensions.append({"url": EXT_OPT_OUT, "valueBoolean": True})
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pid,
            "meta": meta,
            "extension": extensions,
            "identifier": [{"system": NHS_NUMBER, "value": nhs_number}],
            "active": True,
            "name": [{"use": "official", "family": family, "given": [given]}],
            "gender": "female" if female else "male",
            "birthDate": self.day(birth),
            "address": [
                {
                    "use": "home",
                    "line": [f"{rnd.randint(1, 250)} {rnd.choice(STREETS)}"],
                    "city": self.economy.town,
                    "postalCode": f"{self.economy.area}{rnd.choice(practice.districts)} {rnd.randint(1, 9)}"
                    f"{rnd.choice(INWARD_LETTERS)}{rnd.choice(INWARD_LETTERS)}",
                    "country": "GB",
                }
            ],
            "communication": [
                {
                    "language": {
                        "coding": [
                            {
                                "system": "urn:ietf:bcp:47",
                                "code": rnd.choice(OTHER_LANGUAGES) if language_other else "en-GB",
                            }
                        ]
                    },
                    "preferred": True,
                }
            ],
            "generalPractitioner": [practice_ref],
            "managingOrganization": practice_ref,
        }
        if died >= 0:
            patient["deceasedDateTime"] = self.when(died, rnd.randint(0, 1439))
        out.add("Patient", (patient))

        # -- Conditions and medicines --------------------------------------------------------
        condition_refs: dict[str, dict[str, str]] = {}
        medicines_seen: set[str] = set()
        on_statin = False
        n_meds = 0
        for k, trait in enumerate(self.conditions):
            if not traits[k]:
                continue
            cid = next_id("c")
            years_since = rnd.expovariate(1 / 8.0)
            onset = int(min(max(birth - 365, end + 30), max(end + 30, years_since * 365)))
            onset = min(onset, birth)
            onset_day = self.day(onset)
            out.add(
                "Condition",
                (
                    {
                        "resourceType": "Condition",
                        "id": cid,
                        "meta": meta,
                        "clinicalStatus": CLINICAL_ACTIVE,
                        "verificationStatus": VERIFIED,
                        "category": PROBLEM_LIST,
                        "code": self.condition_code[k],
                        "subject": subject,
                        "onsetDateTime": onset_day,
                        "recordedDate": onset_day,
                    }
                ),
            )
            ref = {"reference": f"Condition/{cid}"}
            condition_refs[trait.key] = ref
            for m in trait.medicines:
                if m.dmd in medicines_seen or rnd.random() >= m.probability:
                    continue
                medicines_seen.add(m.dmd)
                n_meds += 1
                on_statin = on_statin or "statin" in m.display
                authored = min(onset, end + rnd.randint(0, 56))
                out.add(
                    "MedicationRequest",
                    (
                        {
                            "resourceType": "MedicationRequest",
                            "id": next_id("m"),
                            "meta": meta,
                            "status": "stopped" if died >= 0 else "active",
                            "intent": "order",
                            "courseOfTherapyType": CONTINUOUS,
                            "medicationCodeableConcept": self.medicine_code[m.dmd],
                            "subject": subject,
                            "authoredOn": self.day(authored),
                            "requester": {"reference": f"Practitioner/{rnd.choice(gps)}"},
                            "reasonReference": [ref],
                            "dosageInstruction": [{"text": m.dose}],
                        }
                    ),
                )

        # -- Social circumstances and carers -------------------------------------------------
        for k, trait in enumerate(self.social):
            if not traits[self.n_conditions + k]:
                continue
            if trait.key == "has_carer":
                self.related_person(out, rnd, next_id("rp"), subject, CAREGIVER, family, female, age)
            out.add(
                "Observation",
                (
                    {
                        "resourceType": "Observation",
                        "id": next_id("s"),
                        "meta": meta,
                        "status": "final",
                        "category": SOCIAL_HISTORY,
                        "code": self.social_code[k],
                        "subject": subject,
                        "effectiveDateTime": self.day(day_in_window()),
                    }
                ),
            )
        if age >= 65 and rnd.random() < 0.5:
            self.related_person(out, rnd, next_id("rp"), subject, NEXT_OF_KIN, family, female, age)

        # -- Monitoring ----------------------------------------------------------------------
        self.monitoring(out, rnd, next_id, subject, has, age, female, on_statin, start, end)

        # -- Contacts ------------------------------------------------------------------------
        housebound = "housebound" in has
        n_cond = len(condition_refs)
        unplanned_share = min(
            0.85,
            float(self.util["unplanned_gp_share"])
            * (1 + float(self.util["deprivation_unplanned_per_decile"]) * (5.5 - decile))
            * (1 + 0.04 * n_cond),
        )
        dna_rate = float(self.util["dna_rate"]) * (1 + 0.08 * (5.5 - decile))
        nurses = practice.practitioners.get("practice_nurse", gps)
        cond_list = list(condition_refs.values())
        slot = 20 if n_cond >= 3 else (15 if n_cond else 10)
        for _ in range(n_gp):
            day = day_in_window()
            unplanned = rnd.random() < unplanned_share
            cls = "HH" if housebound and rnd.random() < 0.4 else ("VR" if rnd.random() < 0.35 else "AMB")
            who = rnd.choice(gps) if unplanned or rnd.random() < 0.6 else rnd.choice(nurses)
            minute = rnd.randrange(480, 1080, 10)
            kind = "home_visit" if cls == "HH" else ("problem" if unplanned else "review")
            reason = [rnd.choice(cond_list)] if (cond_list and not unplanned) else None
            self.contact(
                out,
                next_id,
                subject,
                practice,
                who,
                cls,
                "UR" if unplanned else "R",
                kind,
                day,
                minute,
                slot,
                reason,
                book=True,
            )
            if rnd.random() < dna_rate and not unplanned:
                self.appointment(
                    out, next_id, subject, who, "noshow", day_in_window(), rnd.randrange(480, 1080, 10), slot
                )
        if died < 0 and n_cond and rnd.random() < 0.6:
            # A review already booked in the coming weeks.
            self.appointment(
                out,
                next_id,
                subject,
                rnd.choice(nurses),
                "booked",
                -rnd.randint(1, 60),
                rnd.randrange(480, 1080, 10),
                slot,
            )

        acute = self.economy.acute[int(c.practice[i]) % len(self.economy.acute)]
        consultants = acute.practitioners["consultant"]
        for _ in range(n_ae):
            day = day_in_window()
            minute = rnd.randrange(0, 1440)
            self.contact(
                out,
                next_id,
                subject,
                acute,
                rnd.choice(consultants),
                "EMER",
                "EM",
                "emergency",
                day,
                minute,
                rnd.randint(60, 480),
                None,
            )
            if rnd.random() < float(self.util["admission_share_of_ae"]) * (1 + 0.1 * n_cond):
                stay = max(1, int(rnd.expovariate(1 / (3.0 + 0.5 * n_cond))))
                self.contact(
                    out,
                    next_id,
                    subject,
                    acute,
                    rnd.choice(consultants),
                    "IMP",
                    "EM",
                    "emergency_admission",
                    day,
                    minute,
                    stay * 1440,
                    None,
                    until=max(end, day - stay),
                )
        for _ in range(n_elective):
            day = day_in_window()
            stay = rnd.randint(0, 3)
            self.contact(
                out,
                next_id,
                subject,
                acute,
                rnd.choice(consultants),
                "IMP",
                "EL",
                "elective_admission",
                day,
                480,
                max(stay, 1) * 1440 if stay else 480,
                None,
                until=max(end, day - stay),
            )

        years = (start - end) / 365.0
        community = self.economy.community
        if housebound or ("heart_failure" in has and age >= 75):
            for _ in range(int(rnd.uniform(2, 8) * years)):
                self.contact(
                    out,
                    next_id,
                    subject,
                    community,
                    rnd.choice(community.practitioners["community_nurse"]),
                    "HH",
                    "R",
                    "home_visit",
                    day_in_window(),
                    rnd.randrange(480, 1020, 15),
                    30,
                    cond_list[:1] or None,
                    book=True,
                )
        if "schizophrenia" in has or "bipolar_disorder" in has:
            mh = self.economy.mental_health
            for _ in range(int(rnd.uniform(2, 6) * years)):
                self.contact(
                    out,
                    next_id,
                    subject,
                    mh,
                    rnd.choice(mh.practitioners["mental_health_nurse"]),
                    "AMB",
                    "R",
                    "review",
                    day_in_window(),
                    rnd.randrange(540, 1020, 15),
                    45,
                    cond_list[-1:],
                    book=True,
                )
        if "social_care_package" in has:
            la = self.economy.social_care
            for _ in range(max(1, int(years))):
                self.contact(
                    out,
                    next_id,
                    subject,
                    la,
                    rnd.choice(la.practitioners["social_worker"]),
                    "HH",
                    "R",
                    "home_visit",
                    day_in_window(),
                    rnd.randrange(540, 960, 30),
                    60,
                    None,
                    book=True,
                )
        if n_meds >= 4 and rnd.random() < 0.7:
            pharmacy = self.economy.pharmacies[int(c.practice[i]) % len(self.economy.pharmacies)]
            self.contact(
                out,
                next_id,
                subject,
                pharmacy,
                pharmacy.practitioners["pharmacist"][0],
                "AMB",
                "R",
                "medication_review",
                day_in_window(),
                rnd.randrange(540, 1020, 15),
                20,
                None,
            )

        # -- Referrals -----------------------------------------------------------------------
        requester = {"reference": f"Practitioner/{rnd.choice(gps)}"}
        rate = float(self.util["referral_per_condition_per_year"])
        for k, trait in enumerate(self.conditions):
            if traits[k] and rnd.random() < 1 - math.exp(
                -rate * years * (1.5 if trait.specialty.startswith("mental") else 1.0)
            ):
                self.referral(
                    out,
                    rnd,
                    next_id,
                    subject,
                    requester,
                    trait.specialty,
                    condition_refs[trait.key],
                    start,
                    end,
                    acute,
                )
        if "social_isolation" in has and rnd.random() < 0.5:
            self.referral(
                out, rnd, next_id, subject, requester, "social_prescribing", None, start, end, acute
            )
        if ("housebound" in has or "has_carer" in has) and rnd.random() < 0.3:
            self.referral(out, rnd, next_id, subject, requester, "social_services", None, start, end, acute)
        if "osteoarthritis" in has and rnd.random() < 0.15:
            self.referral(
                out,
                rnd,
                next_id,
                subject,
                requester,
                "private_physiotherapy",
                condition_refs["osteoarthritis"],
                start,
                end,
                acute,
            )

    # -- helpers -------------------------------------------------------------------------------
    def related_person(
        self,
        out: Batch,
        rnd: random.Random,
        rid: str,
        subject: dict[str, str],
        relationship: dict[str, Any],
        family: str,
        female: bool,
        age: int,
    ) -> None:
        carer_female = rnd.random() < 0.58  # Census 2021: 58% of unpaid carers are women
        out.add(
            "RelatedPerson",
            (
                {
                    "resourceType": "RelatedPerson",
                    "id": rid,
                    "meta": self.meta,
                    "active": True,
                    "patient": subject,
                    "relationship": [relationship],
                    "name": [
                        {
                            "family": family if rnd.random() < 0.7 else rnd.choice(SURNAMES),
                            "given": [rnd.choice(FEMALE_GIVEN if carer_female else MALE_GIVEN)],
                        }
                    ],
                    "gender": "female" if carer_female else "male",
                    "telecom": [
                        {"system": "phone", "value": f"07700 9{rnd.randint(0, 99999):05d}", "use": "mobile"}
                    ],
                }
            ),
        )

    def appointment(
        self,
        out: Batch,
        next_id: Callable[[str], str],
        subject: dict[str, str],
        practitioner: str,
        status: str,
        day: int,
        minute: int,
        length: int,
    ) -> str:
        aid = next_id("a")
        out.add(
            "Appointment",
            (
                {
                    "resourceType": "Appointment",
                    "id": aid,
                    "meta": self.meta,
                    "status": status,
                    "start": self.when(day, minute),
                    "end": self.when(day, minute + length)
                    if minute + length < 1440
                    else self.when(day, 1439),
                    "minutesDuration": length,
                    "participant": [
                        {"actor": subject, "status": "accepted"},
                        {"actor": {"reference": f"Practitioner/{practitioner}"}, "status": "accepted"},
                    ],
                }
            ),
        )
        return aid

    def contact(
        self,
        out: Batch,
        next_id: Callable[[str], str],
        subject: dict[str, str],
        org: Organisation,
        practitioner: str,
        cls: str,
        priority: str,
        kind: str,
        day: int,
        minute: int,
        minutes: int,
        reason: list[dict[str, str]] | None,
        *,
        book: bool = False,
        until: int | None = None,
        based_on: str | None = None,
    ) -> None:
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "id": next_id("e"),
            "meta": self.meta,
            "status": "finished",
            "class": CLASS[cls],
            "priority": PRIORITY[priority],
            "type": ENCOUNTER_TYPE[kind],
            "subject": subject,
            "participant": [{"individual": {"reference": f"Practitioner/{practitioner}"}}],
            "serviceProvider": {"reference": f"Organization/{org.id}"},
        }
        if until is not None:
            encounter["period"] = {
                "start": self.when(day, minute),
                "end": self.when(until, min(1439, minute + 120)),
            }
        else:
            finish = minute + minutes
            encounter["period"] = {
                "start": self.when(day, minute),
                "end": self.when(day - finish // 1440, finish % 1440)
                if day - finish // 1440 >= 0
                else self.when(0, 1439),
            }
        if book:
            aid = self.appointment(out, next_id, subject, practitioner, "fulfilled", day, minute, minutes)
            encounter["appointment"] = [{"reference": f"Appointment/{aid}"}]
        if reason:
            encounter["reasonReference"] = reason
        if based_on:
            encounter["basedOn"] = [{"reference": f"ServiceRequest/{based_on}"}]
        out.add("Encounter", (encounter))

    def referral(
        self,
        out: Batch,
        rnd: random.Random,
        next_id: Callable[[str], str],
        subject: dict[str, str],
        requester: dict[str, str],
        specialty: str,
        reason: dict[str, str] | None,
        start: int,
        end: int,
        acute: Organisation,
    ) -> None:
        if specialty not in REFERRAL_TO:
            return
        code, display, sector = REFERRAL_TO[specialty]
        org = acute if sector == "acute" else self.sector_org[sector]
        performer = [{"reference": f"Organization/{org.id}"}]
        concept = _cc(SCT, code, display)
        day = rnd.randint(end, start)
        previous: str | None = None
        rejected = float(self.util["referral_rejected"]) * (2.0 if sector == "mental-health" else 1.0)
        # A rejected referral is re-sent (replaces) after a few weeks; some bounce more than once.
        for attempt in range(4):
            sid = next_id("r")
            resource: dict[str, Any] = {
                "resourceType": "ServiceRequest",
                "id": sid,
                "meta": self.meta,
                "status": "active",
                "intent": "order",
                "category": REFERRAL_CATEGORY,
                "priority": "urgent" if rnd.random() < 0.1 else "routine",
                "code": concept,
                "subject": subject,
                "authoredOn": self.when(day, rnd.randrange(480, 1080)),
                "requester": requester,
                "performer": performer,
            }
            if reason:
                resource["reasonReference"] = [reason]
            if previous:
                resource["replaces"] = [{"reference": f"ServiceRequest/{previous}"}]
            bounce = day - 7 - int(rnd.expovariate(1 / 21.0))
            if attempt < 3 and bounce > end and rnd.random() < (rejected if attempt == 0 else 0.35):
                resource["status"] = "revoked"
                out.add("ServiceRequest", (resource))
                previous, day = sid, bounce
                continue
            wait = 14 + int(rnd.expovariate(1 / 100.0))
            if rnd.random() < float(self.util["referral_long_wait"]):
                wait = 400 + rnd.randint(0, 300)  # stuck on the list for over a year
            seen = day - wait
            if seen > end and org.practitioners:
                resource["status"] = "completed"
                role = next(iter(org.practitioners))
                self.contact(
                    out,
                    next_id,
                    subject,
                    org,
                    rnd.choice(org.practitioners[role]),
                    "AMB",
                    "R" if sector != "acute" else "EL",
                    "consultation",
                    seen,
                    rnd.randrange(540, 1020, 15),
                    30,
                    [reason] if reason else None,
                    book=True,
                    based_on=sid,
                )
            out.add("ServiceRequest", (resource))
            break

    def monitoring(
        self,
        out: Batch,
        rnd: random.Random,
        next_id: Callable[[str], str],
        subject: dict[str, str],
        has: set[str],
        age: int,
        female: bool,
        on_statin: bool,
        start: int,
        end: int,
    ) -> None:
        kinds: set[str] = set()
        for key in has:
            idx = self.keys[key]
            if idx < self.n_conditions:
                kinds.update(self.conditions[idx].monitoring)
        once: set[str] = set()
        if age >= 18 and not kinds and rnd.random() < 0.35:
            once = {"bp", "bmi"} | ({"cholesterol"} if 40 <= age < 75 else set())  # NHS Health Check
        if not kinds and not once:
            return
        mon = self.mon
        sys_cfg, dia_cfg = mon["bp"]["systolic"], mon["bp"]["diastolic"]
        sbp = (
            sys_cfg["mean"]
            + 0.35 * max(0, age - 40)
            + sum(v for k, v in sys_cfg["with"].items() if k in has)
            + rnd.gauss(0, sys_cfg["sd"])
        )
        dbp = (
            dia_cfg["mean"]
            + sum(v for k, v in dia_cfg["with"].items() if k in has)
            + rnd.gauss(0, dia_cfg["sd"])
        )
        bmi_cfg = mon["bmi"]["value"]
        obese = "obesity" in has
        bmi = (
            rnd.gauss(bmi_cfg["obese_mean"], bmi_cfg["obese_sd"])
            if obese
            else min(29.9, rnd.gauss(bmi_cfg["mean"], bmi_cfg["sd"]))
        )
        bmi = max(float(bmi_cfg["min"]), min(float(bmi_cfg["max"]), bmi))
        height = rnd.gauss(1.62, 0.065) if female else rnd.gauss(1.76, 0.07)
        a1c_cfg = mon["hba1c"]["value"]
        diabetic = [v for k, v in a1c_cfg["with"].items() if k in has]
        hba1c = rnd.gauss(
            a1c_cfg["mean"] + (diabetic[0] if diabetic else 0),
            a1c_cfg["sd_with_condition"] if diabetic else a1c_cfg["sd"],
        )
        egfr_cfg = mon["egfr"]["value"]
        if "chronic_kidney_disease" in has:
            egfr = rnd.uniform(*egfr_cfg["ckd_range"])
        else:
            egfr = max(
                61.0,
                rnd.gauss(
                    egfr_cfg["mean"] + egfr_cfg["age_slope_after_40"] * max(0, age - 40), egfr_cfg["sd"]
                ),
            )
        acr_cfg = mon["acr"]["value"]
        log_acr = rnd.gauss(
            acr_cfg["log_mean"] + sum(v for k, v in acr_cfg["with"].items() if k in has), acr_cfg["log_sd"]
        )
        chol_cfg = mon["cholesterol"]["value"]
        chol = rnd.gauss(
            chol_cfg["mean"] + (chol_cfg["on_statin_shift"] if on_statin else 0.0), chol_cfg["sd"]
        )

        def clip(v: float, cfg: dict[str, Any]) -> float:
            return max(float(cfg.get("min", -1e9)), min(float(cfg.get("max", 1e9)), v))

        for kind in sorted(kinds | once):
            interval = int(mon[kind]["interval_months"] * 30.4)
            if kind in once:
                days = [rnd.randint(end, start)]
            else:
                days = []
                d = start - rnd.randint(0, interval)
                while d >= end:
                    if rnd.random() > 0.15:  # some recalls are missed
                        days.append(d)
                    d -= interval + rnd.randint(-30, 30)
            for d in days:
                obs: dict[str, Any] = {
                    "resourceType": "Observation",
                    "id": next_id("o"),
                    "meta": self.meta,
                    "status": "final",
                    "category": VITAL_SIGNS if kind in VITALS else LABORATORY,
                    "code": self.observation_code[kind],
                    "subject": subject,
                    "effectiveDateTime": self.when(d, rnd.randrange(480, 1080, 5)),
                }
                if kind == "bp":
                    s = round(max(85.0, min(220.0, sbp + rnd.gauss(0, 7))))
                    dia = round(max(45.0, min(130.0, min(s - 20, dbp + rnd.gauss(0, 5)))))
                    obs["component"] = [
                        {
                            "code": self.bp_components[0],
                            "valueQuantity": {"value": s, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                        },
                        {
                            "code": self.bp_components[1],
                            "valueQuantity": {"value": dia, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                        },
                    ]
                else:
                    if kind == "hba1c":
                        value: float = round(clip(hba1c + rnd.gauss(0, 4), a1c_cfg))
                    elif kind == "egfr":
                        value = round(clip(egfr + rnd.gauss(0, 3), egfr_cfg))
                    elif kind == "acr":
                        value = round(clip(math.exp(log_acr + rnd.gauss(0, 0.3)), acr_cfg), 1)
                    elif kind == "bmi":
                        value = round(bmi + rnd.gauss(0, 0.4), 1)
                    elif kind == "weight":
                        value = round((bmi + rnd.gauss(0, 0.4)) * height * height, 1)
                    else:
                        value = round(clip(chol + rnd.gauss(0, 0.3), chol_cfg), 1)
                    unit = UNITS[kind]
                    obs["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
                out.add("Observation", (obs))


def trait_by_key(params: Parameters, key: str) -> Trait:
    for t in params.traits:
        if t.key == key:
            return t
    raise KeyError(key)

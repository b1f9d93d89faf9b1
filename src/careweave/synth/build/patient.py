"""The Patient resource: name, address, ethnicity, deprivation, language, access needs and opt-out."""

from __future__ import annotations

from typing import Any

from careweave.synth.build.codes import (
    AIN_CS,
    ETHNIC_CS,
    EXT_AIN,
    EXT_DIGITAL,
    EXT_ETHNIC,
    EXT_IMD,
    EXT_INTERPRETER,
    EXT_LSOA,
    EXT_OPT_OUT,
    NHS_NUMBER,
)
from careweave.synth.build.context import PersonContext
from careweave.synth.names import FEMALE_GIVEN, INWARD_LETTERS, MALE_GIVEN, OTHER_LANGUAGES, STREETS, SURNAMES


def add_patient(p: PersonContext, nhs_number: str) -> None:
    """Write the Patient and keep the family name for carers who share it."""
    run, rnd, practice, age = p.run, p.rnd, p.practice, p.age
    given = rnd.choice(FEMALE_GIVEN if p.female else MALE_GIVEN)
    p.family = family = rnd.choice(SURNAMES)
    language_other = rnd.random() < (0.03 if p.ethnicity == 0 else 0.25)
    digital = "online"
    if age >= 75:
        digital = "none" if rnd.random() < 0.3 else ("phone-only" if rnd.random() < 0.4 else "online")
    elif rnd.random() < 0.08:
        digital = "phone-only"
    extensions: list[dict[str, Any]] = [
        {
            "url": EXT_ETHNIC,
            "valueCodeableConcept": {
                "coding": [{"system": ETHNIC_CS, "code": run.params.ethnicity_codes[p.ethnicity]}]
            },
        },
        {"url": EXT_LSOA, "valueString": practice.lsoas[p.lsoa]},
        {"url": EXT_IMD, "valueInteger": p.decile},
        {"url": EXT_DIGITAL, "valueCode": digital},
    ]
    if language_other:
        extensions.append({"url": EXT_INTERPRETER, "valueBoolean": rnd.random() < 0.4})
    if rnd.random() < (0.12 if age >= 75 else 0.02):
        need = rnd.choice(("large-print", "easy-read", "telephone", "audio", "bsl", "braille", "email"))
        if "learning_disability" in p.has:
            need = "easy-read"
        extensions.append({"url": EXT_AIN, "valueCoding": {"system": AIN_CS, "code": need}})
    if rnd.random() < 0.054:  # NHS England national data opt-out rate, 2024
        extensions.append({"url": EXT_OPT_OUT, "valueBoolean": True})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.pid,
        "meta": run.meta,
        "extension": extensions,
        "identifier": [{"system": NHS_NUMBER, "value": nhs_number}],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": "female" if p.female else "male",
        "birthDate": run.day(p.birth),
        "address": [
            {
                "use": "home",
                "line": [f"{rnd.randint(1, 250)} {rnd.choice(STREETS)}"],
                "city": run.economy.town,
                "postalCode": f"{run.economy.area}{rnd.choice(practice.districts)} {rnd.randint(1, 9)}"
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
        "generalPractitioner": [p.practice_ref],
        "managingOrganization": p.practice_ref,
    }
    if p.died >= 0:
        patient["deceasedDateTime"] = run.when(p.died, rnd.randint(0, 1439))
    p.out.add("Patient", patient)

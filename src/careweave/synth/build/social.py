"""Social circumstances (coded social-history Observations) and the people around the person (RelatedPerson)."""

from __future__ import annotations

from typing import Any

from careweave.synth.build.codes import CAREGIVER, NEXT_OF_KIN, SOCIAL_HISTORY
from careweave.synth.build.context import PersonContext
from careweave.synth.names import FEMALE_GIVEN, MALE_GIVEN, SURNAMES


def add_social(p: PersonContext) -> None:
    """Write each social circumstance the person has, a carer if they have one, and next of kin."""
    run, traits = p.run, p.traits
    for k, trait in enumerate(run.social):
        if not traits[run.n_conditions + k]:
            continue
        if trait.key == "has_carer":
            add_related_person(p, p.next_id("rp"), CAREGIVER)
        p.add_coded_observation("s", SOCIAL_HISTORY, run.social_code[k])
    if p.age >= 65 and p.rnd.random() < 0.5:
        add_related_person(p, p.next_id("rp"), NEXT_OF_KIN)


def add_related_person(p: PersonContext, rid: str, relationship: dict[str, Any]) -> None:
    rnd = p.rnd
    carer_female = rnd.random() < 0.58  # Census 2021: 58% of unpaid carers are women
    p.out.add(
        "RelatedPerson",
        {
            "resourceType": "RelatedPerson",
            "id": rid,
            "meta": p.run.meta,
            "active": True,
            "patient": p.subject,
            "relationship": [relationship],
            "name": [
                {
                    "family": p.family if rnd.random() < 0.7 else rnd.choice(SURNAMES),
                    "given": [rnd.choice(FEMALE_GIVEN if carer_female else MALE_GIVEN)],
                }
            ],
            "gender": "female" if carer_female else "male",
            "telecom": [{"system": "phone", "value": f"07700 9{rnd.randint(0, 99999):05d}", "use": "mobile"}],
        },
    )

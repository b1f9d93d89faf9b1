"""The synthetic health and care economy: organisations across sectors and their practitioners.

One place (an ICB-like footprint) with general practices, an acute trust, a community trust, a
mental health trust, local authority adult social care, a voluntary organisation, a private
provider and community pharmacies. Codes look like ODS codes but are synthetic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from careweave.synth.names import AREAS, FEMALE_GIVEN, INWARD_LETTERS, MALE_GIVEN, STREETS, SURNAMES

SECTOR_SYSTEM = "https://fhir.careweave.org/CodeSystem/organisation-sector"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SCT = "http://snomed.info/sct"

# Practitioner roles: (key, SNOMED CT occupation code or "", display, identifier system, sector).
ROLES: dict[str, tuple[str, str, str]] = {
    "gp": ("62247001", "General practitioner", "https://fhir.hl7.org.uk/Id/gmc-number"),
    "practice_nurse": ("224535009", "Registered nurse", "https://fhir.hl7.org.uk/Id/nmc-number"),
    "pharmacist": ("46255001", "Pharmacist", "https://fhir.hl7.org.uk/Id/gphc-number"),
    "consultant": ("309343006", "Physician", "https://fhir.hl7.org.uk/Id/gmc-number"),
    "psychiatrist": ("80584001", "Psychiatrist", "https://fhir.hl7.org.uk/Id/gmc-number"),
    "community_nurse": ("224535009", "Registered nurse", "https://fhir.hl7.org.uk/Id/nmc-number"),
    "mental_health_nurse": ("224535009", "Registered nurse", "https://fhir.hl7.org.uk/Id/nmc-number"),
    "social_worker": ("106328005", "Social worker", "https://fhir.careweave.org/Id/social-work-england"),
    "physiotherapist": ("36682004", "Physiotherapist", "https://fhir.hl7.org.uk/Id/hcpc-number"),
    "link_worker": ("", "Social prescribing link worker", "https://fhir.careweave.org/Id/staff-number"),
}


@dataclass
class Organisation:
    id: str
    ods: str
    name: str
    sector: str
    practitioners: dict[str, list[str]] = field(default_factory=dict)  # role -> practitioner ids


@dataclass
class Practice(Organisation):
    lsoas: list[str] = field(default_factory=list)
    lsoa_deciles: list[int] = field(default_factory=list)
    districts: list[int] = field(default_factory=list)


@dataclass
class Economy:
    area: str
    town: str
    practices: list[Practice]
    acute: list[Organisation]
    community: Organisation
    mental_health: Organisation
    social_care: Organisation
    voluntary: Organisation
    private: Organisation
    pharmacies: list[Organisation]
    organizations: list[dict[str, Any]]
    practitioners: list[dict[str, Any]]
    practitioner_roles: list[dict[str, Any]]

    def all_organisations(self) -> list[Organisation]:
        return [
            *self.practices,
            *self.acute,
            self.community,
            self.mental_health,
            self.social_care,
            self.voluntary,
            self.private,
            *self.pharmacies,
        ]


def postcode(rng: random.Random, area: str, district: int) -> str:
    return f"{area}{district} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"


def build_economy(
    *, seed: int, people: int, practices: int | None, source: str, rng: random.Random
) -> Economy:
    """Build organisations and practitioners; sizes scale with the population."""
    n_practices = practices if practices is not None else max(2, round(people / 8000))
    if n_practices < 1:
        raise ValueError("practices must be at least 1")
    area, town = AREAS[seed % len(AREAS)]
    meta = {"source": source}
    organizations: list[dict[str, Any]] = []
    practitioners: list[dict[str, Any]] = []
    roles: list[dict[str, Any]] = []
    used_numbers: set[str] = set()

    def org(
        kind: str, index: int, ods: str, name: str, sector: str, cls: type[Organisation] = Organisation
    ) -> Any:
        oid = f"s{seed}-org-{kind}{index}"
        o = cls(id=oid, ods=ods, name=name, sector=sector)
        organizations.append(
            {
                "resourceType": "Organization",
                "id": oid,
                "meta": meta,
                "identifier": [{"system": ODS_SYSTEM, "value": ods}],
                "active": True,
                "type": [{"coding": [{"system": SECTOR_SYSTEM, "code": sector}]}],
                "name": name,
                "address": [
                    {
                        "line": [f"{rng.randint(1, 200)} {rng.choice(STREETS)}"],
                        "city": town,
                        "postalCode": postcode(rng, area, rng.randint(1, 30)),
                        "country": "GB",
                    }
                ],
            }
        )
        return o

    def staff(o: Organisation, role: str, count: int) -> None:
        code, display, system = ROLES[role]
        for _ in range(count):
            pid = f"s{seed}-prac-{len(practitioners)}"
            female = rng.random() < 0.55
            given = rng.choice(FEMALE_GIVEN if female else MALE_GIVEN)
            number = ""
            while not number or number in used_numbers:
                number = str(rng.randint(1000000, 7999999))
            used_numbers.add(number)
            name: dict[str, Any] = {"family": rng.choice(SURNAMES), "given": [given]}
            if system.endswith("gmc-number"):
                name["prefix"] = ["Dr"]
            practitioners.append(
                {
                    "resourceType": "Practitioner",
                    "id": pid,
                    "meta": meta,
                    "identifier": [{"system": system, "value": number}],
                    "active": True,
                    "name": [name],
                    "gender": "female" if female else "male",
                }
            )
            concept: dict[str, Any] = {"text": display if code else ROLES[role][1]}
            if code:
                concept["coding"] = [{"system": SCT, "code": code, "display": display}]
            roles.append(
                {
                    "resourceType": "PractitionerRole",
                    "id": f"{pid}-role",
                    "meta": meta,
                    "active": True,
                    "practitioner": {"reference": f"Practitioner/{pid}"},
                    "organization": {"reference": f"Organization/{o.id}"},
                    "code": [concept],
                }
            )
            o.practitioners.setdefault(role, []).append(pid)

    practice_list: list[Practice] = []
    centres = [0.5 + 10.0 * (k + rng.random()) / n_practices for k in range(n_practices)]
    rng.shuffle(centres)
    for i in range(n_practices):
        p: Practice = org(
            "gp",
            i,
            f"Y{9000 + i:05d}",
            f"{rng.choice(STREETS).split()[0]} {rng.choice(['Surgery', 'Medical Centre', 'Health Centre', 'Medical Practice'])}",
            "general-practice",
            Practice,
        )
        # Each practice draws its LSOAs around a centre decile, so practices differ in deprivation;
        # centres are stratified across deciles so the whole population stays close to uniform
        # across deciles (as England is, by construction of IMD deciles), even with 2 practices.
        centre = centres[i]
        p.districts = [rng.randint(1, 30) for _ in range(3)]
        for j in range(30):
            p.lsoas.append(f"E01{(seed * 7919 + i * 31 + j) % 1000000:06d}")
            if rng.random() < 0.3:  # every practice also serves a few LSOAs unlike its centre
                p.lsoa_deciles.append(rng.randint(1, 10))
            else:
                p.lsoa_deciles.append(min(10, max(1, round(centre + rng.gauss(0.0, 1.5)))))
        list_size = max(1, people // n_practices)
        staff(p, "gp", max(2, list_size // 1800))
        staff(p, "practice_nurse", max(1, list_size // 4000))
        staff(p, "pharmacist", 1)
        staff(p, "link_worker", 1)
        practice_list.append(p)

    scale = max(1, people // 100000)
    acute = []
    for i in range(max(1, -(-people // 500000))):
        a = org(
            "acute",
            i,
            f"RZ{i}",
            f"{town} {'Teaching Hospitals' if i == 0 else 'General Hospital'} NHS Trust",
            "acute",
        )
        staff(a, "consultant", 12 * scale)
        staff(a, "pharmacist", 2)
        acute.append(a)
    community = org("community", 0, "RZC", f"{town} Community Health Services NHS Trust", "community")
    staff(community, "community_nurse", 6 * scale)
    staff(community, "physiotherapist", 2 * scale)
    mental_health = org(
        "mh", 0, "RZM", f"{town} and District Mental Health NHS Foundation Trust", "mental-health"
    )
    staff(mental_health, "psychiatrist", 3 * scale)
    staff(mental_health, "mental_health_nurse", 5 * scale)
    social_care = org("la", 0, f"E0{seed % 10}Z", f"{town} City Council Adult Social Care", "social-care")
    staff(social_care, "social_worker", 5 * scale)
    voluntary = org("vol", 0, "8ZV01", f"{town} Age Concern and Carers Centre", "voluntary")
    staff(voluntary, "link_worker", 3 * scale)
    private = org("private", 0, "NZP", f"{town} Independent Physiotherapy and Diagnostics Ltd", "private")
    staff(private, "physiotherapist", 3 * scale)
    pharmacies = []
    for i in range(max(1, -(-n_practices // 2))):
        ph = org("pharm", i, f"FZ{i:03d}", f"{rng.choice(STREETS).split()[0]} Pharmacy", "pharmacy")
        staff(ph, "pharmacist", 1)
        pharmacies.append(ph)
    return Economy(
        area=area,
        town=town,
        practices=practice_list,
        acute=acute,
        community=community,
        mental_health=mental_health,
        social_care=social_care,
        voluntary=voluntary,
        private=private,
        pharmacies=pharmacies,
        organizations=organizations,
        practitioners=practitioners,
        practitioner_roles=roles,
    )

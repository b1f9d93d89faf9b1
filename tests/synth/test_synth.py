"""Tests for the synthetic population generator (Django-free; no database needed)."""

from __future__ import annotations

import collections
import datetime as dt
import importlib
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import yaml

from careweave.synth import generate
from careweave.synth.cohort import sample_cohort
from careweave.synth.nhs_numbers import nhs_numbers
from careweave.synth.organisations import build_economy
from careweave.synth.parameters import DATA_FILE, load_parameters
from careweave.terminology import TerminologyError

REFERENCE = dt.date(2026, 10, 1)
PEOPLE = 8_000
SECTORS = {
    "general-practice",
    "community",
    "acute",
    "mental-health",
    "social-care",
    "voluntary",
    "private",
    "pharmacy",
}


def read(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        return [orjson.loads(line) for line in f]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("synth")
    summary = generate(PEOPLE, 2024, directory)
    assert summary.people == PEOPLE
    return {p.stem: read(p) for p in summary.files}


def mod11_valid(number: str) -> bool:
    """Independent Modulus 11 check (NHS Data Dictionary)."""
    if len(number) != 10 or not number.isdigit():
        return False
    remainder = sum(int(number[i]) * (10 - i) for i in range(9)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    return check != 10 and check == int(number[9])


def age_on(birth: str) -> int:
    b = dt.date.fromisoformat(birth)
    return REFERENCE.year - b.year - ((REFERENCE.month, REFERENCE.day) < (b.month, b.day))


def test_same_seed_gives_byte_identical_files_and_other_seeds_differ(tmp_path: Path) -> None:
    a = generate(1500, 11, tmp_path / "a")
    b = generate(1500, 11, tmp_path / "b")
    generate(1500, 12, tmp_path / "c")
    for fa, fb in zip(a.files, b.files, strict=True):
        assert fa.read_bytes() == fb.read_bytes(), fa.name
    assert (tmp_path / "a" / "Patient.ndjson").read_bytes() != (
        tmp_path / "c" / "Patient.ndjson"
    ).read_bytes()
    assert a.resources == b.resources


def test_nhs_numbers_are_valid_unique_and_in_the_test_range(out: dict[str, list[dict[str, Any]]]) -> None:
    numbers = [p["identifier"][0]["value"] for p in out["Patient"]]
    assert all(p["identifier"][0]["system"] == "https://fhir.nhs.uk/Id/nhs-number" for p in out["Patient"])
    assert len(set(numbers)) == len(numbers)
    assert all(n.startswith("999") and mod11_valid(n) for n in numbers)
    # Past the ~909k valid numbers in the 999 block the sequence continues, still valid and unique.
    spill = nhs_numbers(905_000, 10_000)
    assert len(set(spill)) == len(spill) and all(mod11_valid(n) for n in spill)
    assert {n[:3] for n in spill} == {"999", "998"}


def test_resources_validate_against_fhir_r4b(out: dict[str, list[dict[str, Any]]]) -> None:
    module_of = {
        "Organization": "organization",
        "Practitioner": "practitioner",
        "PractitionerRole": "practitionerrole",
        "Patient": "patient",
        "RelatedPerson": "relatedperson",
        "Condition": "condition",
        "MedicationRequest": "medicationrequest",
        "Observation": "observation",
        "Encounter": "encounter",
        "Appointment": "appointment",
        "ServiceRequest": "servicerequest",
        "Task": "task",
        "DocumentReference": "documentreference",
    }
    rnd = random.Random(0)
    for resource_type, resources in out.items():
        assert resources, f"no {resource_type} written"
        model = getattr(
            importlib.import_module(f"fhir.resources.R4B.{module_of[resource_type]}"), resource_type
        )
        sample = resources[:50] + rnd.sample(resources, min(150, len(resources)))
        for resource in sample:
            assert resource["resourceType"] == resource_type
            model.model_validate(resource)
        # a Task is written once per version of its history (each with its own state)
        ids = [(r["id"], str(r.get("businessStatus"))) for r in resources]
        assert len(set(ids)) == len(ids), f"duplicate ids in {resource_type}"
        assert all(r["meta"]["source"] == "urn:careweave:synth:2024" for r in resources)


def test_references_resolve(out: dict[str, list[dict[str, Any]]]) -> None:
    known = {f"{t}/{r['id']}" for t, rs in out.items() for r in rs}
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str):
                refs.append(ref)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for resource_type in (
        "Encounter",
        "ServiceRequest",
        "MedicationRequest",
        "Appointment",
        "RelatedPerson",
        "PractitionerRole",
    ):
        walk(out[resource_type])
    missing = [r for r in refs if r not in known]
    assert refs and not missing, missing[:5]


def test_population_has_an_english_age_structure(out: dict[str, list[dict[str, Any]]]) -> None:
    ages = np.array([age_on(p["birthDate"]) for p in out["Patient"]])
    # ONS mid-2022 England: about 18.6% are 65+, 2.5% are 85+, 21% under 18.
    assert 0.16 < (ages >= 65).mean() < 0.215
    assert 0.015 < (ages >= 85).mean() < 0.035
    assert 0.18 < (ages < 18).mean() < 0.24
    assert 0.48 < np.mean([p["gender"] == "female" for p in out["Patient"]]) < 0.53
    deciles = collections.Counter(
        e["valueInteger"] for p in out["Patient"] for e in p["extension"] if e["url"].endswith("imd-decile")
    )
    assert set(deciles) == set(range(1, 11))


def test_prevalence_matches_the_data_file_by_age_band_and_sex() -> None:
    params = load_parameters()
    economy = build_economy(seed=1, people=200_000, practices=60, source="x", rng=random.Random(1))
    cohort = sample_cohort(params, economy, np.random.default_rng(99), 0, 200_000)
    band = np.searchsorted(np.array(params.prevalence_bands), cohort.age, side="right") - 1
    target = params.target_prevalence()
    keys = [t.key for t in params.traits]
    failures = []
    for t, key in enumerate(keys):
        if key == "type_2_diabetes":
            continue  # thinned slightly by the type 1 exclusion; checked by the others' machinery
        for b in range(len(params.prevalence_bands)):
            for sex in (0, 1):
                mask = (band == b) & (cohort.female == bool(sex))
                n = int(mask.sum())
                p = float(target[t, b, sex])
                observed = float(cohort.traits[mask, t].mean())
                tolerance = 4.5 * np.sqrt(max(p * (1 - p), 1e-4) / n) + 0.003
                if abs(observed - p) > tolerance:
                    failures.append((key, b, sex, round(observed, 4), p))
    assert not failures, failures


def test_prevalence_in_the_written_records(out: dict[str, list[dict[str, Any]]]) -> None:
    params = load_parameters()
    patients = {p["id"]: p for p in out["Patient"]}
    has: dict[str, set[str]] = collections.defaultdict(set)
    history: dict[str, set[str]] = collections.defaultdict(set)  # refuted, entered in error, resolved
    resolved_code = {str(e["code"]): k for k, e in params.history["resolved"].items()}
    for c in out["Condition"]:
        pid = c["subject"]["reference"].split("/")[1]
        code = c["code"]["coding"][0]["code"]
        if c["verificationStatus"]["coding"][0]["code"] != "confirmed":
            history[pid].add(code)
        elif code in resolved_code:
            snomed = {t.key: t.snomed for t in params.conditions}[resolved_code[code]]
            history[pid].add(snomed)
        else:
            has[pid].add(code)
    for pid in history:
        has[pid] -= history[pid]  # a past or refuted diagnosis is not the condition the person has
    bands = np.array(params.prevalence_bands)
    for trait in params.conditions:
        expected = 0.0
        for p in patients.values():
            b = int(np.searchsorted(bands, age_on(p["birthDate"]), side="right") - 1)
            expected += (trait.female if p["gender"] == "female" else trait.male)[b]
        observed = sum(trait.snomed in has[pid] for pid in patients)
        if expected >= 150:
            assert abs(observed - expected) < 0.2 * expected + 3 * np.sqrt(expected), (
                trait.key,
                observed,
                expected,
            )


def test_known_pairs_co_occur_above_independence_within_age_and_sex(
    out: dict[str, list[dict[str, Any]]],
) -> None:
    patients = out["Patient"]
    stratum = {p["id"]: (min(age_on(p["birthDate"]) // 10, 9), p["gender"]) for p in patients}
    has: dict[str, set[str]] = collections.defaultdict(set)
    for c in out["Condition"]:
        has[c["subject"]["reference"].split("/")[1]].add(c["code"]["coding"][0]["code"])
    pairs = {
        "diabetes+hypertension": ("44054006", "38341003"),
        "depression+anxiety": ("35489007", "197480006"),
        "ckd+hypertension": ("433144002", "38341003"),
        "copd+heart failure": ("13645005", "84114007"),
    }
    for name, (a, b) in pairs.items():
        groups: dict[tuple[int, str], list[tuple[bool, bool]]] = collections.defaultdict(list)
        for pid, s in stratum.items():
            groups[s].append((a in has[pid], b in has[pid]))
        observed = sum(x and y for g in groups.values() for x, y in g)
        expected = sum(sum(x for x, _ in g) * sum(y for _, y in g) / len(g) for g in groups.values())
        assert expected > 5, name
        assert observed / expected > 1.2, (name, observed, expected)


def test_every_medicine_is_for_a_condition_the_person_has(out: dict[str, list[dict[str, Any]]]) -> None:
    params = load_parameters()
    allowed = {t.snomed: {m.dmd for m in t.medicines} for t in params.conditions}
    conditions = {c["id"]: c for c in out["Condition"]}
    for m in out["MedicationRequest"]:
        assert m["intent"] in ("order", "instance-order") and m["dosageInstruction"][0]["text"]
        coding = m["medicationCodeableConcept"]["coding"][0]
        assert coding["system"] == "https://dmd.nhs.uk"
        if m["intent"] == "instance-order" or "reasonReference" not in m:
            continue  # an issue (its template has the reason), or a hazardous addition (below)
        condition = conditions[m["reasonReference"][0]["reference"].split("/")[1]]
        assert condition["subject"] == m["subject"]
        assert coding["code"] in allowed[condition["code"]["coding"][0]["code"]]


def test_referrals_include_loops_rejections_and_long_waits(out: dict[str, list[dict[str, Any]]]) -> None:
    referrals = {r["id"]: r for r in out["ServiceRequest"]}
    statuses = collections.Counter(r["status"] for r in referrals.values())
    assert {"active", "completed", "revoked"} <= set(statuses)
    replaced_by = {}
    for r in referrals.values():
        assert r["category"][0]["coding"][0]["code"] == "3457005"
        for ref in r.get("replaces", []):
            earlier = referrals[ref["reference"].split("/")[1]]
            assert earlier["status"] == "revoked" and earlier["subject"] == r["subject"]
            assert earlier["authoredOn"] < r["authoredOn"]
            replaced_by[earlier["id"]] = r["id"]
    assert replaced_by
    # Bounced more than once: a re-referral that was itself rejected and re-sent.
    assert any(later in replaced_by for later in replaced_by.values())
    year_ago = (REFERENCE - dt.timedelta(days=365)).isoformat()
    long_waits = [r for r in referrals.values() if r["status"] == "active" and r["authoredOn"] < year_ago]
    assert long_waits


def test_sectors_contacts_and_appointments(out: dict[str, list[dict[str, Any]]]) -> None:
    sector_of = {o["id"]: o["type"][0]["coding"][0]["code"] for o in out["Organization"]}
    assert set(sector_of.values()) == SECTORS
    assert all(
        o["identifier"][0]["system"] == "https://fhir.nhs.uk/Id/ods-organization-code"
        for o in out["Organization"]
    )
    encounter_sectors = {sector_of[e["serviceProvider"]["reference"].split("/")[1]] for e in out["Encounter"]}
    assert encounter_sectors == SECTORS
    classes = collections.Counter(e["class"]["code"] for e in out["Encounter"])
    assert {"AMB", "EMER", "IMP", "HH", "VR"} <= set(classes)
    priorities = collections.Counter(e["priority"]["coding"][0]["code"] for e in out["Encounter"])
    assert {"EM", "UR", "R", "EL"} <= set(priorities)
    appointment_status = collections.Counter(a["status"] for a in out["Appointment"])
    assert {"booked", "fulfilled", "noshow"} <= set(appointment_status)
    assert 0.01 < appointment_status["noshow"] / sum(appointment_status.values()) < 0.1


def test_unplanned_care_is_commoner_when_older_multimorbid_or_deprived(
    out: dict[str, list[dict[str, Any]]],
) -> None:
    patients = {p["id"]: p for p in out["Patient"]}
    n_conditions = collections.Counter(c["subject"]["reference"].split("/")[1] for c in out["Condition"])
    unplanned: collections.Counter[str] = collections.Counter()
    for e in out["Encounter"]:
        if e["priority"]["coding"][0]["code"] in {"EM", "UR"}:
            unplanned[e["subject"]["reference"].split("/")[1]] += 1

    def rate(ids: list[str]) -> float:
        return sum(unplanned[i] for i in ids) / max(1, len(ids))

    def decile(p: dict[str, Any]) -> int:
        return next(int(e["valueInteger"]) for e in p["extension"] if e["url"].endswith("imd-decile"))

    adults = [p for p in patients.values() if 18 <= age_on(p["birthDate"]) < 65]
    assert rate([p["id"] for p in adults if decile(p) <= 3]) > rate(
        [p["id"] for p in adults if decile(p) >= 8]
    )
    assert rate([i for i, p in patients.items() if age_on(p["birthDate"]) >= 75]) > rate(
        [p["id"] for p in adults]
    )
    assert rate([i for i in patients if n_conditions[i] >= 3]) > 2 * rate(
        [i for i in patients if n_conditions[i] == 0]
    )


def test_social_circumstances_carers_and_deaths(out: dict[str, list[dict[str, Any]]]) -> None:
    social = [o for o in out["Observation"] if o["category"][0]["coding"][0]["code"] == "social-history"]
    codes = {o["code"]["coding"][0]["code"] for o in social}
    assert {
        "105529008",
        "160689007",
        "224484003",
        "201481000000104",
        "81877007",
        "160932005",
        "422650009",
        "184156005",
    } <= codes
    carers = [r for r in out["RelatedPerson"] if r["relationship"][0]["coding"][0]["code"] == "133932002"]
    assert carers
    dead = {p["id"]: p["deceasedDateTime"] for p in out["Patient"] if "deceasedDateTime" in p}
    assert 0 < len(dead) < 0.03 * PEOPLE
    for e in out["Encounter"]:
        pid = e["subject"]["reference"].split("/")[1]
        if pid in dead:
            assert e["period"]["start"] <= dead[pid]
    patients = {p["id"]: p for p in out["Patient"]}
    lives_alone = collections.Counter(
        age_on(patients[o["subject"]["reference"].split("/")[1]]["birthDate"]) >= 75
        for o in social
        if o["code"]["coding"][0]["code"] == "105529008"
    )
    n_old = sum(age_on(p["birthDate"]) >= 75 for p in patients.values())
    assert lives_alone[True] / n_old > lives_alone[False] / (len(patients) - n_old)


def write_broken(tmp_path: Path, change: Any) -> Path:
    """The packaged data file with one change, written where `load_parameters` can read it."""
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "population.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_the_packaged_data_file_carries_the_review_header() -> None:
    raw = load_parameters().raw
    assert raw["schema"] == "careweave.synth.population/1"
    for key in ("authored_by", "checked_by", "date_reviewed", "date_next_review", "version"):
        assert raw[key]
    for block in raw["conditions"] + raw["social"]:
        assert block["sources"]


def test_an_unchanged_copy_of_the_data_file_loads(tmp_path: Path) -> None:
    params = load_parameters(write_broken(tmp_path, lambda raw: None))
    assert [t.key for t in params.traits] == [t.key for t in load_parameters().traits]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda raw: raw.pop("checked_by"), "checked_by"),
        (lambda raw: raw.pop("date_next_review"), "date_next_review"),
        (lambda raw: raw.update(date_next_review="next spring"), "date_next_review"),
        (lambda raw: raw.update(schema="careweave.terminology.conditions/1"), "schema"),
        (lambda raw: raw.update(unexpected=1), "<root>"),
        (lambda raw: raw["conditions"][0].pop("sources"), "conditions[0]"),
        (lambda raw: raw["conditions"][0].update(sources=["made-up"]), "conditions[0].sources"),
        (lambda raw: raw["social"][0].update(sources=[]), "social[0].sources"),
        (lambda raw: raw["conditions"][0].update(colour="red"), "conditions[0]"),
        (lambda raw: raw["utilisation"].pop("sources"), "utilisation"),
        (lambda raw: raw["references"].update(ons_mid_2022=""), "references.ons_mid_2022"),
        (lambda raw: raw["conditions"][0].update(snomed="hypertension"), "conditions[0].snomed"),
        (lambda raw: raw["referrals"]["to"]["renal"].update(sector="hospital"), "referrals.to.renal.sector"),
        (lambda raw: raw["referrals"].pop("sources"), "referrals"),
    ],
)
def test_data_file_is_refused_without_its_header_or_a_source(tmp_path: Path, change: Any, where: str) -> None:
    with pytest.raises(TerminologyError) as refused:
        load_parameters(write_broken(tmp_path, change))
    assert refused.value.path == where
    assert refused.value.file.endswith("population.yaml")

"""The synthetic population exercises the rules: repeat prescriptions with an issue history, drug
monitoring with some people overdue, hazardous combinations at the parameterised rate, and diagnoses
that count nowhere (refuted, entered in error) or no longer count (resolved)."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from careweave.synth import generate
from careweave.synth.parameters import DATA_FILE, load_parameters

REFERENCE = dt.date(2026, 10, 1)
PEOPLE = 4_000
# Rates raised in a copy of the data file so that a few thousand people show them clearly.
HAZARD_PERCENT = 50
REFUTED_PERCENT = 10.0
RESOLVED_PERCENT = 20.0


def read(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as f:
        return [orjson.loads(line) for line in f]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    for hazard in raw["hazards"].values():
        if isinstance(hazard, dict):
            hazard["percent"] = HAZARD_PERCENT
    raw["history"]["refuted_percent"] = REFUTED_PERCENT
    for entry in raw["history"]["resolved"].values():
        entry["percent"] = RESOLVED_PERCENT
    folder = tmp_path_factory.mktemp("synth-rules")
    changed = folder / "population.yaml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    summary = generate(PEOPLE, 11, folder / "out", parameters=changed)
    return {p.stem: read(p) for p in summary.files}


def who(resource: dict[str, Any]) -> str:
    return str(resource["subject"]["reference"].split("/")[1])


def day(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def medicines_by_person(out: dict[str, list[dict[str, Any]]]) -> dict[str, set[str]]:
    taken: dict[str, set[str]] = collections.defaultdict(set)
    for m in out["MedicationRequest"]:
        if m["intent"] == "order":
            taken[who(m)].add(m["medicationCodeableConcept"]["coding"][0]["display"].lower())
    return taken


def test_every_issue_is_based_on_a_repeat_template_of_the_same_medicine(
    out: dict[str, list[dict[str, Any]]],
) -> None:
    templates = {m["id"]: m for m in out["MedicationRequest"] if m["intent"] == "order"}
    issues = [m for m in out["MedicationRequest"] if m["intent"] == "instance-order"]
    assert len(issues) > 5 * len(templates) > 0
    for template in templates.values():
        assert template["courseOfTherapyType"]["coding"][0]["code"] == "continuous"
    by_template: dict[str, list[dt.date]] = collections.defaultdict(list)
    for issue in issues:
        (based_on,) = issue["basedOn"]
        template = templates[based_on["reference"].split("/")[1]]
        assert who(issue) == who(template)
        assert issue["medicationCodeableConcept"] == template["medicationCodeableConcept"]
        assert day(issue["authoredOn"]) >= day(template["authoredOn"])
        assert day(issue["authoredOn"]) <= REFERENCE
        by_template[template["id"]].append(day(issue["authoredOn"]))
    low, high = load_parameters().prescribing["issue_interval_days"]
    for dates in by_template.values():
        dates.sort()
        assert all(low <= (b - a).days <= high for a, b in zip(dates, dates[1:], strict=False))


def test_medicine_defined_conditions_have_enough_issues_in_the_last_year(
    out: dict[str, list[dict[str, Any]]],
) -> None:
    # Barnett's medicine rules need 4+ issues in 12 months: most active repeats of living people meet it.
    alive = {p["id"] for p in out["Patient"] if "deceasedDateTime" not in p}
    year_ago = REFERENCE - dt.timedelta(days=365)
    counts: collections.Counter[str] = collections.Counter()
    for m in out["MedicationRequest"]:
        if m["intent"] == "instance-order" and who(m) in alive and day(m["authoredOn"]) > year_ago:
            counts[m["basedOn"][0]["reference"].split("/")[1]] += 1
    active = [m["id"] for m in out["MedicationRequest"] if m["intent"] == "order" and m["status"] == "active"]
    meeting = sum(counts[t] >= 4 for t in active)
    assert meeting > 0.6 * len(active)
    ppi = [
        m
        for m in out["MedicationRequest"]
        if "prazole" in m["medicationCodeableConcept"]["coding"][0]["display"]
    ]
    assert ppi, "treated dyspepsia needs proton pump inhibitor issues"


def test_nsaid_with_anticoagulant_at_the_parameterised_rate(out: dict[str, list[dict[str, Any]]]) -> None:
    taken = medicines_by_person(out)
    anticoagulated = [
        p
        for p, meds in taken.items()
        if any(a in m for m in meds for a in ("apixaban", "edoxaban", "warfarin"))
    ]
    with_nsaid = [p for p in anticoagulated if any("ibuprofen" in m for m in taken[p])]
    assert len(anticoagulated) >= 40
    share = len(with_nsaid) / len(anticoagulated)
    assert abs(share - HAZARD_PERCENT / 100) < 0.15, share
    # ibuprofen is given only as the hazard: nobody else has it
    assert all(p in anticoagulated for p, meds in taken.items() if any("ibuprofen" in m for m in meds))


def test_methotrexate_with_a_low_egfr_at_the_parameterised_rate(out: dict[str, list[dict[str, Any]]]) -> None:
    taken = medicines_by_person(out)
    on_methotrexate = {p for p, meds in taken.items() if any("methotrexate" in m for m in meds)}
    readings: dict[str, list[float]] = collections.defaultdict(list)
    for o in out["Observation"]:
        if o["code"]["coding"][0]["code"] == "33914-3":
            readings[who(o)].append(o["valueQuantity"]["value"])
    # The hazard's level is 15-25 mL/min; CKD stage 3 is 30-59, so a mean under 27 is the hazard.
    low = {p for p, values in readings.items() if sum(values) / len(values) < 27}
    assert len(on_methotrexate) >= 10
    share = len(low & on_methotrexate) / len(on_methotrexate)
    assert abs(share - HAZARD_PERCENT / 100) < 0.35, share


def test_duplicate_statin_strengths_and_two_ssris_are_written(out: dict[str, list[dict[str, Any]]]) -> None:
    taken = medicines_by_person(out)
    duplicated = [p for p, meds in taken.items() if sum("atorvastatin" in m for m in meds) >= 2]
    ssris = [
        p
        for p, meds in taken.items()
        if sum(any(s in m for s in ("sertraline", "citalopram", "fluoxetine")) for m in meds) >= 2
    ]
    assert duplicated and ssris


def test_drug_monitoring_follows_the_medicines_and_some_people_are_overdue(
    out: dict[str, list[dict[str, Any]]],
) -> None:
    taken = medicines_by_person(out)
    latest: dict[tuple[str, str], dt.date] = {}
    for o in out["Observation"]:
        key = (who(o), o["code"]["coding"][0]["code"])
        when = day(o["effectiveDateTime"])
        latest[key] = max(latest.get(key, when), when)
    lithium_tested = {p for p, code in latest if code == "14334-7"}
    on_lithium = {p for p, meds in taken.items() if any("lithium" in m for m in meds)}
    assert lithium_tested and lithium_tested <= on_lithium
    inr_tested = {p for p, code in latest if code == "34714-6"}
    assert inr_tested and inr_tested <= {p for p, meds in taken.items() if any("warfarin" in m for m in meds)}
    tsh = [when for (p, code), when in latest.items() if code == "3016-3"]
    overdue = sum((REFERENCE - when).days > 365 for when in tsh)
    assert tsh and 0 < overdue < 0.5 * len(tsh)


def test_refuted_and_resolved_diagnoses_are_written(out: dict[str, list[dict[str, Any]]]) -> None:
    params = load_parameters()
    statuses = collections.Counter(c["verificationStatus"]["coding"][0]["code"] for c in out["Condition"])
    assert statuses["refuted"] > 0 and statuses["entered-in-error"] >= 0
    refuted_people = {
        who(c) for c in out["Condition"] if c["verificationStatus"]["coding"][0]["code"] == "refuted"
    }
    assert abs(len(refuted_people) / PEOPLE - REFUTED_PERCENT / 100) < 0.04
    resolved_codes = {str(e["code"]): k for k, e in params.history["resolved"].items()}
    snomed = {t.key: t.snomed for t in params.conditions}
    diagnosed: dict[tuple[str, str], dt.date] = {}
    for c in out["Condition"]:
        diagnosed[(who(c), c["code"]["coding"][0]["code"])] = day(c["onsetDateTime"])
    resolved = [c for c in out["Condition"] if c["code"]["coding"][0]["code"] in resolved_codes]
    assert {c["code"]["coding"][0]["code"] for c in resolved} == set(resolved_codes)
    for c in resolved:
        assert c["clinicalStatus"]["coding"][0]["code"] == "resolved"
        condition = snomed[resolved_codes[c["code"]["coding"][0]["code"]]]
        # the resolved code follows the diagnosis it ends
        assert day(c["onsetDateTime"]) > diagnosed[(who(c), condition)]


def test_care_homes_palliative_care_and_falls_are_recorded(out: dict[str, list[dict[str, Any]]]) -> None:
    codes = collections.Counter(o["code"]["coding"][0]["code"] for o in out["Observation"])
    assert codes["248171000000108"] > 0  # lives in care home
    assert codes["526631000000108"] > 0  # on end of life care register
    assert codes["1912002"] > codes["248171000000108"]  # falls, some more than once

"""Exclusions as QOF and NICE apply them (issue 10, item 3), hand-worked, on DuckDB and on Spark.

Each case would have failed before: refuted, entered-in-error and provisional codes counted, resolved
codes were ignored, nobody was set aside, and a person who died after the reference date was dropped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from careweave.population.compute import compute_outputs
from careweave.population.features import EngineName
from careweave.population.worklists import compute_worklists
from careweave.terminology import TerminologyError
from careweave.terminology.exclusions import EXCLUSIONS_FILE, load_exclusions
from careweave.terminology.models import WorklistCriterion, WorklistRule
from tests.population.test_features import AS_OF, KNOWLEDGE, SCT, dx, extract, obs, person

HTN, DM, DEPRESSION = "38341003", "44054006", "35489007"
HTN_RESOLVED, DM_RESOLVED = "162659009", "315051004"
PALLIATIVE, CARE_HOME = "414937009", "248171000000108"
DEFICIT_0, DEFICIT_1 = "9000", "9001"  # eFI deficits of the hand-made knowledge


def verified(row: dict[str, object], status: str) -> dict[str, object]:
    return {**row, "verification_status": status}


def run(engine: EngineName) -> tuple[dict[int, dict[str, object]], set[int], set[int]]:
    ex = extract(
        person=[
            *(person(i) for i in range(1, 11)),
            person(11, practice_id=0),  # no registered practice
            person(12, deceased=True, deceased_date=AS_OF + dt.timedelta(days=10)),  # alive on as_of
            person(13, deceased=True, deceased_date=AS_OF - dt.timedelta(days=1)),
            person(14, deceased=True),  # no date: dead on as_of
        ],
        condition=[
            verified(dx(1, HTN, dt.date(2010, 1, 1)), "refuted"),
            dx(1, DM, dt.date(2012, 1, 1)),
            verified(dx(2, HTN, dt.date(2010, 1, 1)), "entered-in-error"),
            verified(dx(2, DM, dt.date(2012, 1, 1)), "confirmed"),
            verified(dx(3, HTN, dt.date(2010, 1, 1)), "provisional"),
            verified(dx(3, DEFICIT_0, dt.date(2010, 1, 1)), "provisional"),  # the eFI counts it
            verified(dx(3, DEFICIT_1, dt.date(2010, 1, 1)), "refuted"),  # nothing counts it
            # Resolved later: ended. Resolved, then diagnosed again: current. Same day: ended.
            dx(4, HTN, dt.date(2010, 1, 1)),
            dx(4, HTN_RESOLVED, dt.date(2015, 1, 1)),
            dx(4, DM, dt.date(2010, 1, 1)),
            dx(4, DM_RESOLVED, dt.date(2011, 1, 1)),
            dx(4, DM, dt.date(2020, 1, 1)),
            dx(5, HTN, dt.date(2018, 5, 5)),
            dx(5, HTN_RESOLVED, dt.date(2018, 5, 5)),
            dx(5, DM, dt.date(2018, 5, 5)),
            dx(5, DM_RESOLVED, AS_OF + dt.timedelta(days=1)),  # after as_of: not yet resolved
            # A missing clinical status is current.
            dx(6, HTN, dt.date(2010, 1, 1), status=None),
            dx(6, DM, dt.date(2010, 1, 1), status=None),
            # Palliative care register: on the MLTC register, off the lists.
            dx(7, HTN, dt.date(2010, 1, 1)),
            dx(7, DM, dt.date(2010, 1, 1)),
            # Care home: its own flag, nothing set aside.
            dx(8, HTN, dt.date(2010, 1, 1)),
            dx(8, DM, dt.date(2010, 1, 1)),
            dx(8, CARE_HOME, dt.date(2020, 1, 1)),
            # Deregistered: not on the register, still has conditions.
            dx(11, HTN, dt.date(2010, 1, 1)),
            dx(11, DM, dt.date(2010, 1, 1)),
            dx(12, HTN, dt.date(2010, 1, 1)),
            dx(12, DEPRESSION, dt.date(2023, 12, 1)),
            dx(13, HTN, dt.date(2010, 1, 1)),
            dx(14, HTN, dt.date(2010, 1, 1)),
        ],
        observation=[obs(7, PALLIATIVE, dt.datetime(2024, 1, 5, 10, 0))],
    )
    out = compute_outputs(ex, AS_OF, ("features", "register", "condition_evidence"), engine, knowledge=KNOWLEDGE)
    features = {r["person_id"]: r for r in out["features"].to_pylist()}
    register = {r["person_id"] for r in out["register"].to_pylist()}
    evidence = {r["person_id"] for r in out["condition_evidence"].to_pylist()}
    return features, register, evidence


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def results(request: pytest.FixtureRequest) -> tuple[dict[int, dict[str, object]], set[int], set[int]]:
    if request.param == "spark":
        request.getfixturevalue("spark_session_once")
    return run(request.param)


def test_verification_status(results: tuple[dict[int, dict[str, object]], set[int], set[int]]) -> None:
    f, _, _ = results
    assert f[1]["condition_count"] == 1 and not f[1]["cond_hypertension"]  # refuted
    assert f[2]["condition_count"] == 1 and not f[2]["cond_hypertension"]  # entered in error
    assert f[2]["cond_diabetes"]  # confirmed counts
    assert f[3]["condition_count"] == 0  # provisional: not for the register...
    assert f[3]["efi_deficits"] == 1  # ...but the eFI counts it; the refuted deficit counts nowhere


def test_resolved_codes_end_a_condition(results: tuple[dict[int, dict[str, object]], set[int], set[int]]) -> None:
    f, register, _ = results
    assert not f[4]["cond_hypertension"]  # resolved after the latest diagnosis
    assert f[4]["cond_diabetes"]  # diagnosed again after the resolved code
    assert not f[5]["cond_hypertension"]  # resolved the same day: ended, as QOF's rule reads
    assert f[5]["cond_diabetes"]  # the resolved code is after as_of
    assert 4 not in register and 5 not in register


def test_missing_clinical_status_is_current(results: tuple[dict[int, dict[str, object]], set[int], set[int]]) -> None:
    f, register, _ = results
    assert f[6]["condition_count"] == 2 and f[6]["mltc"] and 6 in register


def test_person_rules(results: tuple[dict[int, dict[str, object]], set[int], set[int]]) -> None:
    f, register, evidence = results
    # Palliative care register: kept on the register, set aside from the proactive lists.
    assert f[7]["palliative_care"] and f[7]["mltc"] and 7 in register
    assert f[7]["excluded"] is None and f[7]["worklist_excluded"] == "palliative_care"
    # Care home: a flag of its own, nothing set aside.
    assert f[8]["care_home"] and f[8]["mltc"] and f[8]["excluded"] is None and f[8]["worklist_excluded"] is None
    assert not f[1]["care_home"] and not f[1]["palliative_care"] and not f[1]["deregistered"]
    # Deregistered: conditions counted, off the register and the lists, with the reason.
    assert f[11]["deregistered"] and f[11]["condition_count"] == 2 and not f[11]["mltc"]
    assert f[11]["excluded"] == "deregistered" and f[11]["worklist_excluded"] == "deregistered"
    assert 11 not in register and 11 in evidence
    # Deceased: alive on as_of if they died after it; otherwise in nothing.
    assert f[12]["mltc"] and 12 in register
    assert 13 not in f and 14 not in f and not {13, 14} & evidence


def test_worklists_skip_people_set_aside(results: tuple[dict[int, dict[str, object]], set[int], set[int]]) -> None:
    import pyarrow as pa

    f, _, _ = results
    features = pa.Table.from_pylist(list(f.values()))
    rule = WorklistRule("mltc", "MLTC review", "", "any", (WorklistCriterion("mltc", "is_true", None, "on the register"),), ("s",))
    listed = set(compute_worklists(features, [rule]).column("person_id").to_pylist())
    assert {6, 8, 12} <= listed  # care home residents stay on the lists
    assert 7 not in listed and 11 not in listed


def test_exclusions_file_cites_every_rule_and_refuses_a_bad_one(tmp_path: Path) -> None:
    rules = load_exclusions()
    assert rules.ignored_everywhere == ("refuted", "entered-in-error")
    assert set(rules.ignored_for_register) == {"provisional", "differential"}
    assert {"asthma", "hypertension", "depression", "diabetes"} <= set(rules.resolved_codes)
    assert all(rule.sources for rule in rules.person_rules)
    assert (SCT, "162660004") in rules.resolved_codes["asthma"]
    broken = tmp_path / "exclusions.yaml"
    broken.write_text(EXCLUSIONS_FILE.read_text().replace("register: keep", "register: maybe", 1))
    with pytest.raises(TerminologyError, match="exclude' or 'keep"):
        load_exclusions(broken)
    uncited = tmp_path / "uncited.yaml"
    uncited.write_text(EXCLUSIONS_FILE.read_text().replace("    sources: [ehch, ng56, snomed_uk]\n", ""))
    with pytest.raises(TerminologyError, match="sources"):
        load_exclusions(uncited)

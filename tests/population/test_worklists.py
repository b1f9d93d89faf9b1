"""Worklists: rules over features, reasons in words, clinicians' overrides that survive re-runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from careweave.population.compute import compute_features
from careweave.population.features import FeatureKnowledge
from careweave.population.medicines.inputs import ReviewInputs
from careweave.population.medicines.worklist import with_medicines_features, worklist_features
from careweave.population.synthetic_extract import generate_extract
from careweave.population.worklists import (
    CLINICIAN_SOURCE,
    WORKLIST_SCHEMA,
    WorklistOverride,
    compute_worklists,
)
from careweave.terminology import load_worklist_rules
from careweave.terminology.models import WorklistCriterion, WorklistRule

RULES = (
    WorklistRule(
        id="care_coordination",
        title="Care co-ordination candidates",
        description="",
        match="any",
        criteria=(
            WorklistCriterion("physical_and_mental", "is_true", None, "Has physical and mental conditions"),
            WorklistCriterion("unplanned_contacts_12m", ">=", 3, "{value} unplanned contacts in 12 months"),
        ),
        sources=("NICE NG56",),
    ),
    WorklistRule(
        id="mdt",
        title="MDT discussion",
        description="",
        match="all",
        criteria=(
            WorklistCriterion("mltc", "is_true", None, "Two or more long-term conditions"),
            WorklistCriterion("efi_category", "==", "severe", "Severe frailty"),
        ),
        sources=("BGS Fit for Frailty", "NHS England"),
    ),
)


def features(rows: list[dict[str, Any]]) -> pa.Table:
    defaults: dict[str, Any] = {"physical_and_mental": False, "unplanned_contacts_12m": 0, "mltc": False, "efi_category": "fit"}
    return pa.Table.from_pylist(
        [{**defaults, **row} for row in rows],
        schema=pa.schema(
            [
                ("person_id", pa.int64()),
                ("physical_and_mental", pa.bool_()),
                ("unplanned_contacts_12m", pa.int32()),
                ("mltc", pa.bool_()),
                ("efi_category", pa.string()),
            ]
        ),
    )


FEATURES = features(
    [
        {"person_id": 1, "physical_and_mental": True, "unplanned_contacts_12m": 5},
        {"person_id": 2, "unplanned_contacts_12m": 3, "mltc": True, "efi_category": "severe"},
        {"person_id": 3, "unplanned_contacts_12m": 2, "mltc": True, "efi_category": "moderate"},
        {"person_id": 4, "physical_and_mental": None, "unplanned_contacts_12m": None},
    ]
)


def entries(table: pa.Table) -> dict[tuple[str, int], dict[str, Any]]:
    return {(row["list_id"], row["person_id"]): row for row in table.to_pylist()}


def test_rules_match_any_and_all_with_reasons_in_words() -> None:
    result = compute_worklists(FEATURES, RULES)
    assert result.schema == WORKLIST_SCHEMA
    got = entries(result)
    assert set(got) == {("care_coordination", 1), ("care_coordination", 2), ("mdt", 2)}
    assert got[("care_coordination", 1)]["reasons"] == [
        "Has physical and mental conditions",
        "5 unplanned contacts in 12 months",
    ]
    assert got[("care_coordination", 2)]["reasons"] == ["3 unplanned contacts in 12 months"]
    assert got[("mdt", 2)]["reasons"] == ["Two or more long-term conditions", "Severe frailty"]
    assert got[("mdt", 2)]["source"] == "BGS Fit for Frailty; NHS England"
    assert not any(row["overridden"] for row in got.values())


def test_vectorised_rules_agree_with_the_criterion_semantics() -> None:
    result = entries(compute_worklists(FEATURES, RULES))
    for rule in RULES:
        for row in FEATURES.to_pylist():
            met = [c.evaluate(row[c.feature]) for c in rule.criteria]
            expected = any(met) if rule.match == "any" else all(met)
            assert ((rule.id, row["person_id"]) in result) == expected


def test_overrides_add_and_remove_with_reasons() -> None:
    overrides = [
        WorklistOverride(3, "care_coordination", "add", "Carer reports she is not coping"),
        WorklistOverride(1, "care_coordination", "remove", "Already has a named co-ordinator"),
        WorklistOverride(2, "mdt", "add", "Discussed at huddle"),
        WorklistOverride(4, "no_such_list", "add", "List retired"),
    ]
    got = entries(compute_worklists(FEATURES, RULES, overrides))
    assert ("care_coordination", 1) not in got
    added = got[("care_coordination", 3)]
    assert added["overridden"] and added["source"] == CLINICIAN_SOURCE
    assert added["reasons"] == ["Added by a clinician: Carer reports she is not coping"]
    kept = got[("mdt", 2)]
    assert kept["overridden"]
    assert kept["reasons"][-1] == "Added by a clinician: Discussed at huddle"
    assert len(kept["reasons"]) == 3
    assert all(row["reasons"] for row in got.values())


def test_the_last_override_for_a_person_and_list_wins() -> None:
    overrides = [
        WorklistOverride(1, "care_coordination", "remove", "Moved away"),
        WorklistOverride(1, "care_coordination", "add", "Moved back"),
    ]
    got = entries(compute_worklists(FEATURES, RULES, overrides))
    assert got[("care_coordination", 1)]["overridden"]


def test_overrides_survive_recomputation_on_new_features() -> None:
    overrides = [
        WorklistOverride(3, "care_coordination", "add", "Clinical judgement"),
        WorklistOverride(2, "care_coordination", "remove", "Declined"),
    ]
    first = entries(compute_worklists(FEATURES, RULES, overrides))
    later = features(
        [
            {"person_id": 2, "unplanned_contacts_12m": 9},
            {"person_id": 3},
            {"person_id": 5, "physical_and_mental": True},
        ]
    )
    second = entries(compute_worklists(later, RULES, overrides))
    for got in (first, second):
        assert ("care_coordination", 3) in got and ("care_coordination", 2) not in got
    assert ("care_coordination", 5) in second


def test_override_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        WorklistOverride(1, "mdt", "add", "  ")
    with pytest.raises(ValueError, match="action"):
        WorklistOverride(1, "mdt", "keep", "why")  # type: ignore[arg-type]


def test_a_rule_naming_a_missing_feature_is_an_error() -> None:
    rule = WorklistRule("x", "X", "", "any", (WorklistCriterion("no_such_feature", "is_true", None, "r"),), ("s",))
    with pytest.raises(ValueError, match="no_such_feature"):
        compute_worklists(FEATURES, [rule])


def test_reviewed_rules_run_on_computed_features() -> None:
    knowledge = FeatureKnowledge.from_terminology()
    as_of = dt.date(2024, 3, 31)
    extract = generate_extract(knowledge, 1500, seed=7, as_of=as_of)
    computed = compute_features(extract, as_of, knowledge=knowledge)
    # the medicines review's findings, as careweave segment adds them (issue 13)
    computed = with_medicines_features(computed, worklist_features(ReviewInputs.from_extract(extract), as_of))
    rules = load_worklist_rules()
    result = compute_worklists(computed, rules)
    assert result.num_rows > 0
    assert "medicines_review" in set(result.column("list_id").to_pylist())
    assert set(result.column("list_id").to_pylist()) <= {r.id for r in rules}
    for row in result.to_pylist():
        assert row["reasons"] and all(isinstance(r, str) and r.strip() for r in row["reasons"])
        assert row["source"]
    by_id = {r.id: r for r in rules}
    rows = {row["person_id"]: row for row in computed.to_pylist()}
    listed = {(row["list_id"], row["person_id"]) for row in result.to_pylist()}
    for rule in rules:
        for person_id, row in rows.items():
            applies = (row["age"] >= (rule.min_age or 0) and (row["mltc"] or not rule.on_register)
                       and row["worklist_excluded"] is None)
            met = [c.evaluate(row[c.feature]) and row["age"] >= (c.min_age or 0) for c in by_id[rule.id].criteria]
            expected = applies and (any(met) if rule.match == "any" else all(met))
            assert ((rule.id, person_id) in listed) == expected
    for row in result.to_pylist():
        assert row["priority"] == pytest.approx(sum(p["points"] for p in row["priority_parts"]))
        assert all(p["points"] > 0 and p["reason"] for p in row["priority_parts"])

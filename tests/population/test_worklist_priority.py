"""Worklists ranked by need: who a rule applies to (adults on the MLTC register, the eFI from 65),
reasons that name other feature columns with a fallback, the priority score and its parts, and a
removal that lasts until its review date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from careweave.population.worklists import WorklistOverride, compute_worklists
from careweave.terminology import load_removal_settings, load_worklist_rules
from careweave.terminology.models import WorklistCriterion, WorklistRule

SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("age", pa.int32()),
        ("mltc", pa.bool_()),
        ("complex_mltc", pa.bool_()),
        ("physical_and_mental", pa.bool_()),
        ("condition_count", pa.int32()),
        ("efi_score", pa.float64()),
        ("efi_category", pa.string()),
        ("frailty_moderate_or_severe", pa.bool_()),
        ("falls", pa.bool_()),
        ("care_home", pa.bool_()),
        ("medicine_count_3m", pa.int32()),
        ("polypharmacy_5_9", pa.bool_()),
        ("polypharmacy_10_plus", pa.bool_()),
        ("unplanned_admissions_12m", pa.int32()),
        ("ae_attendances_12m", pa.int32()),
        ("unplanned_contacts_12m", pa.int32()),
        ("organisations_12m", pa.int32()),
        ("overdue_monitoring_count", pa.int32()),
        ("discharged_30d", pa.bool_()),
    ]
)
DEFAULTS: dict[str, Any] = {
    "age": 70, "mltc": True, "complex_mltc": False, "physical_and_mental": False, "condition_count": 2,
    "efi_score": 0.1, "efi_category": "fit", "frailty_moderate_or_severe": False, "falls": False,
    "care_home": False, "medicine_count_3m": 2, "polypharmacy_5_9": False, "polypharmacy_10_plus": False,
    "unplanned_admissions_12m": 0, "ae_attendances_12m": 0, "unplanned_contacts_12m": 0,
    "organisations_12m": 1, "overdue_monitoring_count": 0, "discharged_30d": False,
}
RULES = {rule.id: rule for rule in load_worklist_rules()}


def features(*rows: dict[str, Any], extra: dict[str, pa.Array] | None = None) -> pa.Table:
    table = pa.Table.from_pylist([{**DEFAULTS, **row} for row in rows], schema=SCHEMA)
    for name, column in (extra or {}).items():
        table = table.append_column(name, column)
    return table


def listed(table: pa.Table, *rule_ids: str, **kwargs: Any) -> dict[int, dict[str, Any]]:
    result = compute_worklists(table, [RULES[r] for r in rule_ids], **kwargs)
    return {row["person_id"]: row for row in result.to_pylist()}


def severe(person_id: int, age: int, **values: Any) -> dict[str, Any]:
    return {"person_id": person_id, "age": age, "efi_score": 0.4, "efi_category": "severe",
            "frailty_moderate_or_severe": True, **values}


# -- who a rule applies to -------------------------------------------------------------------------


def test_care_coordination_is_for_adults_on_the_mltc_register() -> None:
    indicator = {"physical_and_mental": True}
    table = features(
        {"person_id": 1, "age": 17, **indicator},  # a child with both: not this rule
        {"person_id": 2, "age": 18, **indicator},
        {"person_id": 3, "age": 40, "mltc": False, **indicator},  # not on the register
        {"person_id": 4, "age": 40, "mltc": None, **indicator},  # unknown: not on it
    )
    assert set(listed(table, "care_coordination")) == {2}
    assert RULES["care_coordination"].min_age == 18 and RULES["care_coordination"].on_register
    assert RULES["care_coordination"].eligibility_sources


def test_frailty_counts_only_from_65() -> None:
    table = features(severe(1, 64), severe(2, 65), severe(3, 64, falls=True))
    got = listed(table, "care_coordination")
    assert set(got) == {2, 3}  # 3 is there for the fall, not the frailty
    assert got[3]["reasons"] == ["A fall recorded in the last 12 months"]
    assert got[2]["reasons"] == ["Frailty on the electronic Frailty Index: severe (eFI 0.40)"]
    mdt = compute_worklists(table, [RULES["mdt_discussion"]]).column("person_id").to_pylist()
    assert mdt == [2]


def test_polypharmacy_with_frailty_is_for_people_65_and_over() -> None:
    poly = {"polypharmacy_5_9": True, "medicine_count_3m": 7}
    table = features(severe(1, 50, **poly), severe(2, 80, **poly), severe(3, 80, mltc=False, **poly))
    got = listed(table, "medicines_review_frailty")
    assert set(got) == {2}
    assert got[2]["reasons"][0] == "7 regular medicines (5 to 9)"


def test_medicines_review_applies_at_any_age() -> None:
    table = features({"person_id": 1, "age": 12, "mltc": False, "polypharmacy_10_plus": True, "medicine_count_3m": 11})
    assert set(listed(table, "medicines_review")) == {1}


def test_a_rule_with_an_age_limit_needs_an_age_column() -> None:
    rule = WorklistRule("x", "X", "", "any", (WorklistCriterion("falls", "is_true", None, "fell"),), ("s",), min_age=18)
    with pytest.raises(ValueError, match="age"):
        compute_worklists(pa.table({"person_id": [1], "falls": [True]}), [rule])


# -- reasons with the values behind them -------------------------------------------------------------


def test_overdue_monitoring_reason_uses_the_detail_column_when_present() -> None:
    detail = "HbA1c last recorded 14 March 2025, due every 6 months"
    rows = ({"person_id": 1, "overdue_monitoring_count": 1}, {"person_id": 2, "overdue_monitoring_count": 2})
    with_detail = features(*rows, extra={"overdue_monitoring_detail": pa.array([detail, None], pa.string())})
    got = listed(with_detail, "overdue_monitoring")
    assert got[1]["reasons"] == [f"Overdue: {detail}"]
    assert got[2]["reasons"] == ["2 overdue monitoring check(s)"]  # empty for this person: the count
    without = listed(features(*rows), "overdue_monitoring")
    assert without[1]["reasons"] == ["1 overdue monitoring check(s)"]


def test_unplanned_care_reason_says_which_contacts() -> None:
    table = features({"person_id": 1, "age": 50, "unplanned_contacts_12m": 4, "unplanned_admissions_12m": 3,
                      "ae_attendances_12m": 1})
    assert listed(table, "care_coordination")[1]["reasons"] == [
        "4 emergency admissions or A&E attendances in the last 12 months "
        "(emergency admissions: 3; A&E attendances: 1)"
    ]


# -- the priority score and its parts ---------------------------------------------------------------


def test_priority_is_the_weighted_sum_of_the_criteria_met_with_its_parts() -> None:
    rule = RULES["care_coordination"]
    weight = {c.feature: c for c in rule.criteria}
    table = features(
        {"person_id": 1, "age": 50, "physical_and_mental": True},
        severe(2, 80, falls=True, unplanned_contacts_12m=9, unplanned_admissions_12m=5, ae_attendances_12m=4),
    )
    got = listed(table, "care_coordination")
    assert got[1]["priority"] == weight["physical_and_mental"].weight
    assert got[1]["priority_parts"] == [
        {"reason": "Has both long-term physical and mental health conditions", "points": weight["physical_and_mental"].weight}
    ]
    unplanned = weight["unplanned_contacts_12m"]
    assert unplanned.per_unit and unplanned.max_points is not None and 9 * unplanned.weight > unplanned.max_points
    expected = weight["frailty_moderate_or_severe"].weight + weight["falls"].weight + unplanned.max_points
    assert got[2]["priority"] == expected
    assert [p["points"] for p in got[2]["priority_parts"]] == [
        weight["frailty_moderate_or_severe"].weight, weight["falls"].weight, unplanned.max_points
    ]
    assert got[2]["priority"] > got[1]["priority"]


def test_priority_factors_rank_people_already_on_the_list_and_list_no_one() -> None:
    poly = {"polypharmacy_10_plus": True}
    table = features(
        {"person_id": 1, "medicine_count_3m": 10, **poly},
        {"person_id": 2, "medicine_count_3m": 10, "care_home": True, **poly},
        {"person_id": 3, "medicine_count_3m": 3, "care_home": True},  # the factor alone lists no one
    )
    got = listed(table, "medicines_review")
    assert set(got) == {1, 2}
    factor = next(f for f in RULES["medicines_review"].priority_factors if f.feature == "care_home")
    assert got[2]["priority"] - got[1]["priority"] == factor.weight
    assert {"reason": "Lives in a care home", "points": factor.weight} in got[2]["priority_parts"]
    assert "Lives in a care home" not in got[2]["reasons"]


def test_every_weight_is_cited_or_a_stated_default() -> None:
    for rule in RULES.values():
        for criterion in (*rule.criteria, *rule.priority_factors):
            basis = criterion.weight_basis
            assert basis.startswith("CareWeave default for local review: ") or len(basis) > 40, (rule.id, criterion)


def test_a_clinicians_addition_is_its_own_part() -> None:
    table = features({"person_id": 1, "age": 50}, {"person_id": 2, "age": 50, "physical_and_mental": True})
    overrides = [
        WorklistOverride(1, "care_coordination", "add", "Carer not coping"),
        WorklistOverride(2, "care_coordination", "add", "Also lonely"),
    ]
    got = listed(table, "care_coordination", overrides=overrides, added_weight=5)
    assert got[1]["priority"] == 5 and got[1]["priority_parts"] == [
        {"reason": "Added by a clinician: Carer not coping", "points": 5}
    ]
    assert got[2]["priority"] == 5 + RULES["care_coordination"].criteria[0].weight
    assert len(got[2]["priority_parts"]) == 2


# -- a removal lasts until its review date ----------------------------------------------------------


def test_a_removal_lasts_until_its_review_date_then_the_person_returns() -> None:
    table = features({"person_id": 1, "age": 50, "physical_and_mental": True})
    review = dt.date(2025, 6, 1)
    removal = [WorklistOverride(1, "care_coordination", "remove", "Has a co-ordinator", review_on=review)]
    before = listed(table, "care_coordination", overrides=removal, as_of=review - dt.timedelta(days=1))
    on_the_day = listed(table, "care_coordination", overrides=removal, as_of=review)
    assert 1 not in before
    assert 1 in on_the_day and not on_the_day[1]["overridden"]


def test_a_removal_without_a_review_date_lasts() -> None:
    table = features({"person_id": 1, "age": 50, "physical_and_mental": True})
    removal = [WorklistOverride(1, "care_coordination", "remove", "Declined")]
    assert not listed(table, "care_coordination", overrides=removal, as_of=dt.date(2040, 1, 1))


def test_the_default_review_is_six_months_and_cited() -> None:
    settings = load_removal_settings()
    assert settings.review_months == 6
    assert settings.sources and "CareWeave default for local review" in settings.note

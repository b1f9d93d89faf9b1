"""The consolidated review planner (issue 14) on hand-built extracts and the reviewed schedules
(monitoring.yaml, drug_monitoring.yaml, review_planning.yaml). Expected answers are worked out by hand
from the intervals the files cite; the worked case runs on DuckDB and on Spark (``engine``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from careweave.population.features import EngineName
from careweave.population.reviews import (
    Review,
    plan_from_tables,
    plan_reviews,
    requisition,
    reviews_from_plan,
    usual_clinicians,
)
from careweave.population.reviews.dates import add_months, overdue_from_months, working_days_before
from careweave.terminology.loading.reviews import load_review_planning
from careweave.terminology.loading.schedules import Interval, months_before
from tests.population.test_monitoring import (
    AS_OF,
    CKD,
    DIABETES,
    EGFR,
    HBA1C,
    KNOWLEDGE,
    LITHIUM_LEVEL,
    SCT,
    _has,
    dx,
    extract,
    issues,
    obs,
    person,
)

PLANNING = load_review_planning()
HYPERTENSION = "38341003"
ACR = "1023491000000104"
BP = "75367002"
CHOLESTEROL = "77068002"
TSH = "1022791000000101"
CALCIUM = "935051000000108"


def plan(ex: Any, engine: EngineName = "duckdb", **kwargs: Any) -> dict[int, Review]:
    result = plan_reviews(ex, AS_OF, engine, knowledge=KNOWLEDGE, planning=PLANNING, **kwargs)
    return {r.person_id: r for r in reviews_from_plan(result, PLANNING)}


def test_diabetes_ckd_hypertension_and_lithium_make_one_review_and_one_blood_set(engine: EngineName) -> None:
    _has("diabetes", DIABETES)
    _has("chronic_kidney_disease", CKD)
    _has("hypertension", HYPERTENSION)
    ex = extract(
        person=[person(1)],
        condition=[dx(1, DIABETES), dx(1, CKD), dx(1, HYPERTENSION)],
        medication=issues(1, "Priadel 400mg modified-release tablets", dt.date(2020, 1, 10)),
        observation=[
            obs(1, HBA1C, dt.date(2023, 8, 15), 58.0),  # 6-monthly: due 15 Feb, overdue
            obs(1, EGFR, dt.date(2023, 10, 20), 38.0),  # G3b: 6-monthly (CKD and lithium): 20 April
            obs(1, ACR, dt.date(2023, 5, 10), 10.0),  # yearly (diabetes and CKD): 10 May
            obs(1, BP, dt.date(2023, 6, 1)),  # yearly (diabetes and hypertension): 1 June
            obs(1, LITHIUM_LEVEL, dt.date(2023, 12, 1), 0.6),  # 6-monthly after the first year: 1 June
            obs(1, TSH, dt.date(2023, 11, 15), 2.1),  # 6-monthly on lithium: 15 May
            obs(1, CALCIUM, dt.date(2023, 9, 30), 2.4),  # 6-monthly on lithium: 30 March, overdue
            # cholesterol never recorded: due on the planning date
        ],
    )
    review = plan(ex, engine)[1]
    # One review, on the planning date because items are overdue; everything due by 30 June comes with it.
    assert review.review_date == AS_OF
    due = {(i.rule, i.due) for i in review.items}
    assert due == {
        ("diabetes_hba1c", dt.date(2024, 2, 15)),
        ("lithium_bloods.calcium", dt.date(2024, 3, 30)),
        ("diabetes_cholesterol", AS_OF),
        ("ckd_egfr", dt.date(2024, 4, 20)),
        ("lithium_bloods.renal_function", dt.date(2024, 4, 20)),
        ("diabetes_acr", dt.date(2024, 5, 10)),
        ("ckd_acr", dt.date(2024, 5, 10)),
        ("lithium_bloods.tsh", dt.date(2024, 5, 15)),
        ("diabetes_bp", dt.date(2024, 6, 1)),
        ("hypertension_bp", dt.date(2024, 6, 1)),
        ("lithium_level", dt.date(2024, 6, 1)),
    }
    # Overdue first, then by due date.
    assert [i.overdue for i in review.items] == [True] * 3 + [False] * 8
    assert [i.due for i in review.items] == sorted(i.due for i in review.items)
    hba1c = review.items[0]
    assert (hba1c.rule, hba1c.last_done, hba1c.last_value, hba1c.interval.text) == (
        "diabetes_hba1c", dt.date(2023, 8, 15), 58.0, "every 6 months",
    )  # fmt: skip
    bloods = {b.test: [rule for rule, _ in b.reasons] for b in review.bloods}
    assert bloods == {
        "hba1c": ["diabetes_hba1c"],
        "u_and_e": ["ckd_egfr", "lithium_bloods.renal_function"],
        "lipids": ["diabetes_cholesterol"],
        "tft": ["lithium_bloods.tsh"],
        "calcium": ["lithium_bloods.calcium"],
        "lithium": ["lithium_level"],
        "urine_acr": ["ckd_acr", "diabetes_acr"],  # due the same day: in rule order
    }
    # Blood pressure is checked at the review, not sent to the laboratory.
    assert not any("bp" in rule for b in review.bloods for rule, _ in b.reasons)
    # Four areas (three conditions and a drug): a double slot; nurse and pharmacist items: the GP.
    assert review.slot_minutes == PLANNING.double_minutes
    assert "3 or more conditions or medicines to review" in review.slot_reasons
    assert review.clinician_type == "gp"
    # The review is on the planning date: the bloods cannot be earlier.
    assert review.phlebotomy_date == AS_OF


def _diabetes_with_bp(person_id: int, bp_on: dt.date) -> list[dict[str, Any]]:
    return [obs(person_id, HBA1C, dt.date(2023, 8, 1), 50.0), obs(person_id, BP, bp_on)]


def test_window_edge_three_months_is_in_and_a_day_more_is_not() -> None:
    edge = months_before(AS_OF, -3)  # 30 June 2024
    assert edge == dt.date(2024, 6, 30)
    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(1, DIABETES), dx(2, DIABETES)],
        observation=[*_diabetes_with_bp(1, dt.date(2023, 6, 30)), *_diabetes_with_bp(2, dt.date(2023, 7, 1))],
    )
    reviews = plan(ex)
    assert reviews[1].review_date == reviews[2].review_date == AS_OF  # HbA1c overdue for both
    first = {i.rule: i.due for i in reviews[1].items}
    second = {i.rule: i.due for i in reviews[2].items}
    assert first["diabetes_bp"] == edge  # due exactly 3 months after the review: brought forward
    assert "diabetes_bp" not in second  # due 1 July: left for the next review


def test_review_is_on_the_earliest_due_date_with_bloods_five_working_days_before() -> None:
    ex = extract(
        person=[person(1)],
        condition=[dx(1, DIABETES)],
        observation=[
            obs(1, HBA1C, dt.date(2023, 11, 10), 48.0),  # due Friday 10 May 2024
            obs(1, CHOLESTEROL, dt.date(2023, 6, 15), 4.1),  # due 15 June: brought forward
            obs(1, ACR, dt.date(2023, 12, 1), 1.0),  # due 1 December: outside the window
            obs(1, BP, dt.date(2023, 8, 20)),  # due 20 August: 10 days after the window closes
        ],
    )
    review = plan(ex)[1]
    assert review.review_date == dt.date(2024, 5, 10)
    assert [i.rule for i in review.items] == ["diabetes_hba1c", "diabetes_cholesterol"]
    assert not any(i.overdue for i in review.items)
    assert review.phlebotomy_date == dt.date(2024, 5, 3)  # Friday to Friday: 5 working days
    assert (review.slot_minutes, review.slot_reasons, review.clinician_type) == (15, (), "nurse")


def test_an_overdue_item_is_never_delayed_and_nobody_without_a_due_item_is_planned() -> None:
    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(1, CKD), dx(2, DIABETES)],
        observation=[
            obs(1, EGFR, dt.date(2023, 3, 1), 70.0),  # G1-G2: yearly: overdue since 1 March 2024
            obs(1, ACR, dt.date(2023, 6, 20), 1.0),  # due 20 June
            obs(2, HBA1C, dt.date(2024, 1, 5), 48.0),  # due 5 July: beyond the 12-week horizon
            obs(2, ACR, dt.date(2023, 9, 1), 1.0),
            obs(2, BP, dt.date(2023, 9, 1)),
            obs(2, CHOLESTEROL, dt.date(2023, 9, 1), 4.0),
        ],
    )
    reviews = plan(ex)
    assert set(reviews) == {1}
    review = reviews[1]
    assert review.review_date == AS_OF
    assert [(i.rule, i.overdue) for i in review.items] == [("ckd_egfr", True), ("ckd_acr", False)]


def _due_rows(rows: list[tuple[int, str, str, str, str]]) -> pa.Table:
    """Hand-made ``monitoring_due`` rows (person, rule, kind, subject, check), all never recorded."""
    return pa.table(
        {
            "person_id": pa.array([r[0] for r in rows], pa.int64()),
            "rule_id": [r[1] for r in rows],
            "kind": [r[2] for r in rows],
            "subject_id": [r[3] for r in rows],
            "check_id": [r[4] for r in rows],
            "name": [r[4] for r in rows],
            "interval_count": pa.array([12] * len(rows), pa.int32()),
            "interval_unit": ["month"] * len(rows),
            "last_system": pa.nulls(len(rows), pa.string()),
            "last_code": pa.nulls(len(rows), pa.string()),
            "last_date": pa.nulls(len(rows), pa.date32()),
            "last_value": pa.nulls(len(rows), pa.float64()),
            "overdue": [True] * len(rows),
        }
    )


def test_slot_rules_each_ask_for_a_double_slot_on_their_own() -> None:
    people = range(1, 9)
    due = _due_rows(
        [(p, "hypertension_bp", "condition", "hypertension", "blood_pressure") for p in people]
        + [
            (8, "asthma_review", "condition", "asthma", "asthma_review"),
            (8, "copd_review", "condition", "copd", "copd_review"),
        ]
    )
    flags = {2: "complex_mltc", 3: "frailty_moderate_or_severe", 4: "cond_learning_disability"}
    features = pa.table(
        {
            "person_id": pa.array(list(people), pa.int64()),
            **{name: [flags.get(p) == name for p in people] for name in flags.values()},
        }
    )
    usual = pa.table({"person_id": pa.array([], pa.int64()), "practitioner_id": pa.array([], pa.int64())})
    result = plan_from_tables(
        due, features, as_of=AS_OF, planning=PLANNING, usual=usual, interpreter={5}, adjustments={6}
    )
    reviews = {r.person_id: r for r in reviews_from_plan(result, PLANNING)}
    expected = {
        1: (),
        2: ("Complex multiple long-term conditions (4 or more, or physical and mental health together)",),
        3: ("Moderate or severe frailty (eFI)",),
        4: ("Learning disability",),
        5: ("Needs an interpreter",),
        6: ("A reasonable adjustment is recorded",),
        7: (),
        8: ("3 or more conditions or medicines to review",),
    }
    assert {p: r.slot_reasons for p, r in reviews.items()} == expected
    assert {p: r.slot_minutes for p, r in reviews.items()} == {
        p: 15 if not v else 30 for p, v in expected.items()
    }
    assert (
        reviews[1].clinician_type == "nurse"
        and reviews[1].phlebotomy_date is None
        and reviews[1].bloods == ()
    )
    assert requisition(reviews[1], PLANNING, patient="Patient/p1") is None  # nothing for the laboratory


def test_clinician_type_is_the_one_every_area_needs_else_the_combined_type() -> None:
    due = _due_rows(
        [
            (1, "hypertension_bp", "condition", "hypertension", "blood_pressure"),
            (1, "asthma_review", "condition", "asthma", "asthma_review"),
            (2, "warfarin_inr", "drug", "warfarin", "inr"),
            (3, "warfarin_inr", "drug", "warfarin", "inr"),
            (3, "asthma_review", "condition", "asthma", "asthma_review"),
        ]
    )
    features = pa.table({"person_id": pa.array([1, 2, 3], pa.int64())})
    planning = load_review_planning()
    rules = tuple(r for r in planning.double_slot_rules if r.feature is None)
    from dataclasses import replace

    usual = pa.table({"person_id": pa.array([2], pa.int64()), "practitioner_id": pa.array([41], pa.int64())})
    result = plan_from_tables(
        due, features, as_of=AS_OF, planning=replace(planning, double_slot_rules=rules), usual=usual
    )
    reviews = {r.person_id: r for r in reviews_from_plan(result, planning)}
    assert [reviews[p].clinician_type for p in (1, 2, 3)] == ["nurse", "pharmacist", "gp"]
    assert [reviews[p].usual_practitioner_id for p in (1, 2, 3)] == [None, 41, None]
    assert [b.test for b in reviews[2].bloods] == ["inr"]


def _visit(person_id: int, practitioner: int, on: dt.date, organisation: int = 1) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "start": dt.datetime.combine(on, dt.time(10)),
        "unplanned": False,
        "organisation_id": organisation,
        "practitioner_id": practitioner,
    }


def test_usual_clinician_is_the_one_seen_most_at_the_practice_over_two_years() -> None:
    recent = [dt.date(2023, 5, 1), dt.date(2023, 9, 1), dt.date(2024, 1, 10)]
    long_ago = [dt.date(2021, 1, 5), dt.date(2021, 6, 5), dt.date(2022, 3, 31)]  # 31 March 2022: outside
    ex = extract(
        person=[person(p) for p in (1, 2, 3, 4)],
        encounter=[
            *(_visit(1, 7, d) for d in recent),
            *(_visit(1, 8, d) for d in [*long_ago, dt.date(2024, 2, 1)]),  # 4 visits, 1 in the window
            *(_visit(1, 9, dt.date(2023, 10, d), organisation=55) for d in range(1, 6)),  # another organisation
            # a tie (2 each): the one seen most recently
            _visit(2, 5, dt.date(2022, 6, 1)), _visit(2, 5, dt.date(2023, 1, 1)),
            _visit(2, 6, dt.date(2023, 2, 1)), _visit(2, 6, dt.date(2024, 2, 1)),
            # a tie on count and last visit: the lower id
            _visit(3, 12, dt.date(2024, 3, 1)), _visit(3, 11, dt.date(2024, 3, 1)),
        ],
    )  # fmt: skip
    usual = dict(zip(*usual_clinicians(ex, AS_OF, 24).to_pydict().values(), strict=True))
    assert usual == {1: 7, 2: 6, 3: 11}


def test_column_dates_agree_with_the_one_date_rules() -> None:
    days = np.arange(np.datetime64("2023-01-01"), np.datetime64("2025-01-01"), dtype="datetime64[D]")
    for months in (1, 3, 4, 6, 12):
        counts = np.full(len(days), months, dtype=np.int64)
        overdue = overdue_from_months(days, counts)
        later = add_months(days, months)
        for index in range(0, len(days), 3):
            d = days[index].astype(dt.date)
            assert overdue[index].astype(dt.date) == Interval(months, "month").overdue_from(d), (d, months)
            assert later[index].astype(dt.date) == months_before(d, -months), (d, months)
    saturday = np.array([np.datetime64("2024-05-11")])
    assert working_days_before(saturday, 5)[0] == np.datetime64("2024-05-03")  # from Friday 10 May


def test_people_with_nothing_due_get_no_review_and_every_check_has_a_place() -> None:
    from careweave.terminology.loading.drug_monitoring import load_monitoring_schedules

    schedules = load_monitoring_schedules()
    placed = set(PLANNING.test_of_check) | set(PLANNING.review_checks)
    assert placed == {c.id for c in schedules.checks}
    assert plan(extract(person=[person(1)], condition=[dx(1, "0")])) == {}
    assert SCT  # the shared helpers' code system


def test_horizon_edge_the_last_day_of_twelve_weeks_is_in_and_a_day_more_is_not() -> None:
    edge = AS_OF + dt.timedelta(weeks=PLANNING.horizon_weeks)  # 23 June 2024
    done = [dt.date(2023, 9, 1)] * 3

    def diabetes(person_id: int, hba1c_on: dt.date) -> list[dict[str, Any]]:
        acr, bp, cholesterol = done
        return [
            obs(person_id, HBA1C, hba1c_on, 48.0),  # every 6 months
            obs(person_id, ACR, acr, 1.0),
            obs(person_id, BP, bp),
            obs(person_id, CHOLESTEROL, cholesterol, 4.0),
        ]

    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(1, DIABETES), dx(2, DIABETES)],
        observation=[*diabetes(1, dt.date(2023, 12, 23)), *diabetes(2, dt.date(2023, 12, 24))],
    )
    reviews = plan(ex)
    assert set(reviews) == {1}  # due 24 June: beyond the horizon, planned next time
    assert reviews[1].review_date == edge and [i.rule for i in reviews[1].items][0] == "diabetes_hba1c"
    assert not reviews[1].items[0].overdue

"""Monitoring schedules by stage and by drug (issue 10, item 5), on hand-built extracts and the
reviewed schedules (monitoring.yaml, drug_monitoring.yaml). The expected answers are worked out by
hand from the intervals the files cite; every case runs on DuckDB and on Spark (``engine``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from careweave.population.compute import compute_outputs
from careweave.population.extract_schema import EXTRACT_SCHEMAS, Extract
from careweave.population.features import EngineName, FeatureKnowledge, months_before
from careweave.population.monitoring_due import DueItem, due_items

SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"
DMD = "https://dmd.nhs.uk"
AS_OF = dt.date(2024, 3, 31)
KNOWLEDGE = FeatureKnowledge.from_terminology()

CKD = "433144002"  # Chronic kidney disease stage 3
HEART_FAILURE = "84114007"
DIABETES = "44054006"
EGFR = "1011481000000105"
ACR = "1023491000000104"  # mg/mmol
SYNTHEA_ACR = "14959-1"  # LOINC, mg/g
HBA1C = "999791000000106"
LITHIUM_LEVEL = "1006681000000100"
CREATININE = "1000731000000107"
FBC = "26604007"
ALT = "1018251000000107"


def _has(condition_id: str, code: str) -> None:
    library = {c.id: c for c in KNOWLEDGE.conditions}
    assert (SCT, code) in library[condition_id].codes, (condition_id, code)


def person(person_id: int, born: dt.date = dt.date(1960, 6, 1)) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "practice_id": 1,
        "birth_date": born,
        "sex": "female",
        "deceased": False,
        "national_opt_out": False,
    }


def dx(person_id: int, code: str) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "system": SCT,
        "code": code,
        "onset_date": dt.date(2015, 1, 1),
        "clinical_status": "active",
        "verification_status": "confirmed",
    }


def rx(person_id: int, display: str, on: dt.date, status: str = "active") -> dict[str, Any]:
    return {"person_id": person_id, "system": DMD, "code": "0", "display": display, "authored_on": on, "status": status}


def issues(person_id: int, display: str, first: dt.date, last: dt.date = AS_OF - dt.timedelta(days=20)) -> list[dict[str, Any]]:
    """Monthly issues from ``first`` to ``last``."""
    rows, day = [], first
    while day <= last:
        rows.append(rx(person_id, display, day))
        day += dt.timedelta(days=28)
    return rows


def obs(person_id: int, code: str, on: dt.date, value: float | None = None, system: str = SCT) -> dict[str, Any]:
    when = dt.datetime.combine(on, dt.time(9, 30))
    return {"person_id": person_id, "system": system, "code": code, "effective": when, "value": value}


def extract(**rows: list[dict[str, Any]]) -> Extract:
    tables = {}
    for name, value in rows.items():
        schema = EXTRACT_SCHEMAS[name]
        tables[name] = pa.Table.from_pylist([{f.name: r.get(f.name) for f in schema} for r in value], schema=schema)
    return Extract.from_tables(**tables)


def run(ex: Extract, engine: EngineName) -> tuple[dict[int, dict[str, Any]], dict[tuple[int, str], dict[str, Any]]]:
    out = compute_outputs(ex, AS_OF, ("features", "monitoring_due"), engine, knowledge=KNOWLEDGE)
    features = {row["person_id"]: row for row in out["features"].to_pylist()}
    due = {(row["person_id"], row["rule_id"]): row for row in out["monitoring_due"].to_pylist()}
    return features, due


def months_ago(months: int, days: int = 0) -> dt.date:
    day: dt.date = months_before(AS_OF, months)
    return day - dt.timedelta(days=days)


def test_ckd_interval_follows_the_gfr_and_acr_category(engine: EngineName) -> None:
    _has("chronic_kidney_disease", CKD)
    tested = months_ago(7)  # an eGFR seven months ago
    ex = extract(
        person=[person(i) for i in range(1, 6)],
        condition=[dx(i, CKD) for i in range(1, 6)],
        observation=[
            obs(1, EGFR, tested, 38.0),  # G3b: NG203 2 a year -> 6 months: overdue
            obs(2, EGFR, tested, 50.0),  # G3a, no ACR: 1 a year -> 12 months: not overdue
            obs(3, EGFR, tested, 50.0),
            obs(3, ACR, tested, 45.0),  # G3a A3 (mg/mmol): 2 a year -> 6 months
            obs(4, EGFR, tested, 50.0),
            obs(4, SYNTHEA_ACR, tested, 400.0, system=LOINC),  # 400 mg/g = 45.2 mg/mmol: A3 too
            obs(5, EGFR, months_ago(4), 12.0),  # G5: 4 a year -> 3 months: overdue at 4 months
            obs(5, EGFR, months_ago(9), 50.0),  # an older value does not set the stage
        ],
    )
    features, due = run(ex, engine)
    g3b, g3a = due[(1, "ckd_egfr")], due[(2, "ckd_egfr")]
    assert (g3b["interval_count"], g3b["interval_unit"], g3b["overdue"]) == (6, "month", True)
    assert (g3a["interval_count"], g3a["overdue"]) == (12, False)
    assert (due[(3, "ckd_egfr")]["interval_count"], due[(3, "ckd_egfr")]["overdue"]) == (6, True)
    assert (due[(4, "ckd_egfr")]["interval_count"], due[(4, "ckd_egfr")]["overdue"]) == (6, True)
    assert (due[(5, "ckd_egfr")]["interval_count"], due[(5, "ckd_egfr")]["overdue"]) == (3, True)
    assert due[(1, "ckd_egfr")]["last_value"] == 38.0 and due[(1, "ckd_egfr")]["last_date"] == tested
    # Person 1: eGFR and urine ACR (never) overdue; person 2 only the ACR.
    assert features[1]["overdue_monitoring_count"] == 2
    assert features[2]["overdue_monitoring_count"] == 1
    assert "eGFR" not in features[2]["overdue_monitoring_detail"]


def test_lithium_level_is_three_monthly_in_the_first_year_then_six_monthly(engine: EngineName) -> None:
    level = months_ago(4)
    ex = extract(
        person=[person(1), person(2)],
        medication=[
            *issues(1, "Lithium carbonate 400mg modified-release tablets", months_ago(5)),  # started 5 months ago
            *issues(2, "Priadel 400mg modified-release tablets", dt.date(2020, 1, 10)),  # on it for years
        ],
        observation=[obs(1, LITHIUM_LEVEL, level, 0.6), obs(2, LITHIUM_LEVEL, level, 0.7)],
    )
    _, due = run(ex, engine)
    first_year, later = due[(1, "lithium_level")], due[(2, "lithium_level")]
    assert (first_year["interval_count"], first_year["overdue"]) == (3, True)
    assert (later["interval_count"], later["overdue"]) == (6, False)
    # Renal, thyroid and calcium every 6 months for both, never recorded here.
    for person_id in (1, 2):
        for check in ("renal_function", "tsh", "calcium"):
            item = due[(person_id, f"lithium_bloods.{check}")]
            assert (item["interval_count"], item["overdue"], item["last_date"]) == (6, True, None)


def test_methotrexate_bloods_monthly_when_new_then_twelve_weekly(engine: EngineName) -> None:
    ex = extract(
        person=[person(1), person(2)],
        medication=[
            *issues(1, "Methotrexate 2.5mg tablets", dt.date(2021, 5, 1)),
            *issues(2, "Methotrexate 2.5mg tablets", months_ago(2)),
        ],
        observation=[
            obs(1, FBC, AS_OF - dt.timedelta(weeks=10)),  # within 12 weeks
            obs(1, ALT, AS_OF - dt.timedelta(weeks=12)),  # exactly 12 weeks: outside
            obs(1, CREATININE, AS_OF - dt.timedelta(weeks=12) + dt.timedelta(days=1), 80.0),
            obs(2, FBC, AS_OF - dt.timedelta(weeks=5)),  # new starter: monthly, so overdue
        ],
    )
    _, due = run(ex, engine)
    assert due[(1, "methotrexate_bloods.fbc")]["interval_unit"] == "week"
    assert not due[(1, "methotrexate_bloods.fbc")]["overdue"]
    assert due[(1, "methotrexate_bloods.lft")]["overdue"]
    assert not due[(1, "methotrexate_bloods.renal_function")]["overdue"]
    new = due[(2, "methotrexate_bloods.fbc")]
    assert (new["interval_count"], new["interval_unit"], new["overdue"]) == (1, "month", True)


def test_a_drug_not_current_is_not_due(engine: EngineName) -> None:
    ex = extract(
        person=[person(1), person(2), person(3)],
        medication=[
            rx(1, "Lithium carbonate 400mg modified-release tablets", months_ago(6, days=1)),  # stopped
            rx(2, "Lithium carbonate 400mg modified-release tablets", months_ago(1), status="cancelled"),
            rx(3, "Lithium carbonate 400mg modified-release tablets", months_ago(6) + dt.timedelta(days=1)),
        ],
    )
    features, due = run(ex, engine)
    assert not any(person_id in (1, 2) for person_id, _ in due)
    assert features[1]["overdue_monitoring_count"] == 0 and features[1]["overdue_monitoring_detail"] is None
    assert (3, "lithium_level") in due  # issued within the 6 months: current


def test_detail_lists_each_overdue_check_exactly(engine: EngineName) -> None:
    _has("diabetes", DIABETES)
    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(1, DIABETES)],
        medication=issues(2, "Lithium carbonate 400mg modified-release tablets", months_ago(2)),
        observation=[obs(1, HBA1C, dt.date(2023, 9, 14), 58.0)],
    )
    features, _ = run(ex, engine)
    assert features[1]["overdue_monitoring_detail"] == (
        "HbA1c last recorded 14 September 2023, due every 6 months; "
        "Urine albumin:creatinine ratio never recorded, due every 12 months; "
        "Blood pressure never recorded, due every 12 months; "
        "Cholesterol never recorded, due every 12 months"
    )
    assert features[1]["overdue_monitoring_count"] == 4
    assert features[2]["overdue_monitoring_detail"] == (
        "Renal function (creatinine or eGFR) never recorded, due every 6 months; "
        "Thyroid function (TSH) never recorded, due every 6 months; "
        "Lithium level never recorded, due every 3 months; "
        "Calcium never recorded, due every 6 months"
    )


def test_a_check_due_for_two_reasons_counts_once_at_the_shorter_interval(engine: EngineName) -> None:
    _has("heart_failure", HEART_FAILURE)
    ex = extract(
        person=[person(1)],
        condition=[dx(1, HEART_FAILURE)],
        medication=issues(1, "Ramipril 5mg capsules", dt.date(2022, 1, 3)),
        observation=[obs(1, CREATININE, months_ago(8), 90.0)],
    )
    features, due = run(ex, engine)
    assert due[(1, "heart_failure_renal")]["overdue"]  # 6-monthly in heart failure (NG106)
    assert not due[(1, "ace_arb_bloods.renal_function")]["overdue"]  # yearly on an ACE inhibitor
    detail = features[1]["overdue_monitoring_detail"]
    assert detail.count("Renal function") == 1
    assert "Renal function (creatinine or eGFR) last recorded " in detail and "due every 6 months" in detail
    assert features[1]["overdue_monitoring_count"] == 2  # renal function and potassium


def test_doac_renal_function_by_age_and_egfr(engine: EngineName) -> None:
    apixaban = "Apixaban 5mg tablets"
    ex = extract(
        person=[person(1, born=dt.date(1944, 1, 1)), person(2), person(3)],
        medication=[row for i in (1, 2, 3) for row in issues(i, apixaban, dt.date(2022, 1, 3))],
        observation=[
            obs(1, EGFR, months_ago(7), 70.0),  # 80 years old: 6-monthly
            obs(2, EGFR, months_ago(7), 70.0),  # 63, eGFR 70: yearly
            obs(3, EGFR, months_ago(3, days=1), 35.0),  # eGFR 35: CrCl/10 -> 3 months
        ],
    )
    _, due = run(ex, engine)
    assert (due[(1, "doac_renal")]["interval_count"], due[(1, "doac_renal")]["overdue"]) == (6, True)
    assert (due[(2, "doac_renal")]["interval_count"], due[(2, "doac_renal")]["overdue"]) == (12, False)
    assert (due[(3, "doac_renal")]["interval_count"], due[(3, "doac_renal")]["overdue"]) == (3, True)


def test_due_items_give_the_due_date_and_the_reason(engine: EngineName) -> None:
    tested = dt.date(2023, 8, 31)
    ex = extract(
        person=[person(1), person(2)],
        condition=[dx(1, CKD)],
        observation=[obs(1, EGFR, tested, 40.0)],
    )
    items = due_items(ex, AS_OF, engine, knowledge=KNOWLEDGE)
    assert set(items) == {1}
    egfr = next(i for i in items[1] if i.rule_id == "ckd_egfr")
    assert isinstance(egfr, DueItem)
    assert (egfr.kind, egfr.subject_id, egfr.name, egfr.interval.text) == ("condition", "chronic_kidney_disease", "eGFR", "every 6 months")
    assert (egfr.last_system, egfr.last_code, egfr.last_value) == (SCT, EGFR, 40.0)
    # 31 August + 6 months: on 29 February the window still starts at 29 August, so 1 March.
    assert egfr.due_date == dt.date(2024, 3, 1)
    assert egfr.overdue and egfr.reason == "eGFR last recorded 31 August 2023, due every 6 months"
    acr = next(i for i in items[1] if i.rule_id == "ckd_acr")
    assert acr.last_date is None and acr.due_date == AS_OF and acr.overdue


@pytest.mark.spark
def test_monitoring_due_identical_on_duckdb_and_spark() -> None:
    from careweave.population.synthetic_extract import generate_extract

    generated = generate_extract(KNOWLEDGE, 400, seed=5, as_of=AS_OF)
    drugs = extract(
        person=[person(i + 10_000) for i in range(4)],
        condition=[dx(10_000, CKD), dx(10_001, HEART_FAILURE)],
        medication=[
            *issues(10_001, "Lithium carbonate 400mg modified-release tablets", months_ago(5)),
            *issues(10_002, "Methotrexate 2.5mg tablets", dt.date(2021, 5, 1)),
            *issues(10_003, "Apixaban 5mg tablets", dt.date(2022, 1, 3)),
        ],
        observation=[obs(10_000, EGFR, months_ago(7), 38.0), obs(10_003, EGFR, months_ago(2), 45.0)],
    )
    combined = Extract.from_tables(
        **{
            name: pa.concat_tables([generated.tables()[name], drugs.tables()[name]])
            for name in EXTRACT_SCHEMAS
        }
    )
    duck = compute_outputs(combined, AS_OF, ("features", "monitoring_due"), "duckdb", knowledge=KNOWLEDGE)
    spark = compute_outputs(combined, AS_OF, ("features", "monitoring_due"), "spark", knowledge=KNOWLEDGE)
    assert duck["monitoring_due"].num_rows > 0 and duck["monitoring_due"].equals(spark["monitoring_due"])
    for column in ("overdue_monitoring_count", "overdue_monitoring_detail"):
        assert duck["features"].column(column).equals(spark["features"].column(column)), column
    assert {"lithium_level", "methotrexate_bloods.fbc", "doac_renal"} <= set(duck["monitoring_due"].column("rule_id").to_pylist())

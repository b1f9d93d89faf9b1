"""The burden of care (issue 17, item 3): contacts, organisations, clinicians and days with a contact
per person over a period, and the duplicated-test flag (the same test within the reviewed interval at
another organisation), on DuckDB; and the same rows on Spark."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from careweave.population.burden import CONTACT_SCHEMA, TEST_SCHEMA, BurdenQuestion, run_duckdb, run_spark
from careweave.population.continuity.extract import day_number
from careweave.terminology import TerminologyError
from careweave.terminology.care_burden import CARE_BURDEN_FILE, load_care_burden

JAN = dt.date(2025, 1, 1)
YEAR = BurdenQuestion.of(JAN, dt.date(2025, 12, 31))
LOINC, SNOMED = "http://loinc.org", "http://snomed.info/sct"
HBA1C_LOINC, HBA1C_IFCC = "4548-4", "999791000000106"


def day(offset: int) -> int:
    value = day_number(JAN + dt.timedelta(days=offset))
    assert value is not None
    return value


def contacts(*rows: tuple[str, int, str, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"person": p, "day": day(d), "organisation": o, "clinician": c} for p, d, o, c in rows],
        schema=CONTACT_SCHEMA,
    )


def results(*rows: tuple[str, int, str, str, str]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"person": p, "day": day(d), "organisation": o, "system": s, "code": c} for p, d, o, s, c in rows],
        schema=TEST_SCHEMA,
    )


NO_CONTACTS, NO_TESTS = contacts(), results()


def window() -> int:
    [hba1c] = load_care_burden().duplicate_tests
    return hba1c.window_days


def test_contacts_organisations_clinicians_and_days_per_person() -> None:
    burden, _ = run_duckdb(
        contacts(
            ("p", 0, "GP1", "A"), ("p", 0, "HOSP", None), ("p", 40, "GP1", "B"), ("p", 40, "GP1", "B"),
            ("q", 3, "GP1", "A"), ("q", 400, "GP1", "A"),  # the second is outside the year
        ),
        NO_TESTS,
        YEAR,
    )  # fmt: skip
    p, q = burden.to_pylist()
    assert (p["contacts"], p["organisations"], p["clinicians"], p["contact_days"]) == (4, 2, 2, 2)
    assert p["contacts_per_year"] == pytest.approx(4 * 365.25 / 365)
    assert (q["person"], q["contacts"], q["duplicate_tests"]) == ("q", 1, 0)


def test_contacts_per_year_scale_with_the_period() -> None:
    quarter = BurdenQuestion.of(JAN, JAN + dt.timedelta(days=90))
    burden, _ = run_duckdb(contacts(("p", 1, "GP1", "A"), ("p", 2, "GP1", "A")), NO_TESTS, quarter)
    assert burden.to_pylist()[0]["contacts_per_year"] == pytest.approx(2 * 365.25 / 91)


def test_hba1c_twice_within_the_window_at_two_organisations_is_flagged_once() -> None:
    w = window()
    burden, duplicates = run_duckdb(
        NO_CONTACTS,
        results(
            ("p", 0, "GP1", LOINC, HBA1C_LOINC),
            ("p", 0, "GP1", SNOMED, HBA1C_IFCC),  # the same result under its other code: one test
            ("p", w, "HOSP", SNOMED, HBA1C_IFCC),  # the last day of the window: a repeat
        ),
        YEAR,
    )
    assert duplicates.to_pylist() == [
        {
            "person": "p", "test": "hba1c", "first_day": day(0), "first_organisation": "GP1",
            "repeat_day": day(w), "repeat_organisation": "HOSP", "window_days": w,
        }
    ]  # fmt: skip
    assert burden.to_pylist()[0]["duplicate_tests"] == 1  # a person with no contacts still has a row


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ((("p", 0, "GP1"), ("p", 10, "GP1")), "the same organisation repeats its own test"),
        ((("p", 0, "GP1"), ("p", 31, "HOSP")), "a day beyond the window"),
        ((("p", 0, "GP1"), ("q", 5, "HOSP")), "two people"),
    ],
)
def test_not_a_duplicate(rows: tuple[tuple[str, int, str], ...], why: str) -> None:
    assert window() == 30  # the rows below are written for the reviewed 30 days
    _, duplicates = run_duckdb(NO_CONTACTS, results(*((p, d, o, LOINC, HBA1C_LOINC) for p, d, o in rows)), YEAR)
    assert duplicates.num_rows == 0, why


def test_other_tests_and_the_same_day_at_two_places() -> None:
    _, duplicates = run_duckdb(
        NO_CONTACTS,
        results(
            ("p", 0, "GP1", LOINC, "2160-0"), ("p", 1, "HOSP", LOINC, "2160-0"),  # creatinine: not listed
            ("p", 5, "HOSP", LOINC, HBA1C_LOINC), ("p", 5, "GP1", LOINC, HBA1C_LOINC),  # same day, two places
            ("p", 9, "LAB", LOINC, HBA1C_LOINC),  # a third: flagged against the latest earlier one
        ),
        YEAR,
    )  # fmt: skip
    assert [
        (r["first_organisation"], r["repeat_organisation"], r["repeat_day"]) for r in duplicates.to_pylist()
    ] == [
        ("GP1", "HOSP", day(5)),
        ("GP1", "LAB", day(9)),
    ]


def test_the_period_and_the_reviewed_file() -> None:
    with pytest.raises(ValueError, match="ends"):
        BurdenQuestion.of(JAN, JAN - dt.timedelta(days=1))
    assert load_care_burden().measures == tuple(YEAR.rules.measures)
    wrong = pa.table({"person": ["p"], "day": pa.array([1], pa.int32())})
    with pytest.raises(ValueError, match="contact table"):
        run_duckdb(wrong, NO_TESTS, YEAR)


def test_an_unknown_measurement_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(CARE_BURDEN_FILE.read_text(encoding="utf-8"))
    data["duplicate_tests"][0]["measurement"] = "haemoglobin"
    copy = tmp_path / "care_burden.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(
        TerminologyError, match="care_burden.yaml: duplicate_tests.*measurement: 'haemoglobin'"
    ):
        load_care_burden(copy)


@pytest.mark.spark
def test_duckdb_and_spark_give_the_same_rows(spark_session_once: Any) -> None:
    contact_rows = [
        (f"p{i % 40}", (i * 7) % 500 - 60, f"ORG{i % 5}", f"C{i % 9}" if i % 4 else None) for i in range(600)
    ]
    codes = ((LOINC, HBA1C_LOINC), (SNOMED, HBA1C_IFCC), (LOINC, "2160-0"))
    test_rows = [(f"p{i % 40}", (i * 11) % 400 - 20, f"ORG{i % 3}", *codes[i % 3]) for i in range(500)]
    question = BurdenQuestion.of(JAN, dt.date(2025, 9, 30))
    duck = run_duckdb(contacts(*contact_rows), results(*test_rows), question)
    sparks = run_spark(contacts(*contact_rows), results(*test_rows), question, spark_session_once)
    assert duck[1].num_rows > 0
    for mine, theirs in zip(duck, sparks, strict=True):
        assert mine.schema == theirs.schema
        assert mine.to_pylist() == theirs.to_pylist()

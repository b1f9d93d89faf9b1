"""Continuity by practice: people, contacts, mean UPC, COC and SECON of the practice's people, and
SLICC (the share of contacts of people with a listed GP that were with that GP); the same figures on
Spark."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from careweave.population.continuity import ContinuityQuestion, contacts, synthetic
from careweave.population.continuity.practices import (
    REGISTRATION_SCHEMA,
    PracticeQuestion,
    practices_duckdb,
    practices_spark,
)
from tests.population.test_continuity import sequence


def registrations(*rows: tuple[str, str, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"person": p, "practice": practice, "listed_gp": gp} for p, practice, gp in rows],
        schema=REGISTRATION_SCHEMA,
    )


CONTACTS = contacts(
    sequence("AAB", "p1") + sequence("A", "p2") + sequence("CC", "p3") + sequence("AB", "stranger")
)
REGISTERED = registrations(("p1", "X", "A"), ("p2", "X", "B"), ("p3", "Y", None))


def test_a_practice_with_personal_lists_and_one_without() -> None:
    x, y = practices_duckdb(CONTACTS, REGISTERED, PracticeQuestion.of()).to_pylist()
    # X: p1 (A, A, B; listed A) and p2 (A; listed B): 2 of 4 contacts with the listed GP
    assert (x["practice"], x["people"], x["contacts"], x["slicc"], x["slicc_contacts"]) == ("X", 2, 4, 0.5, 4)
    assert x["mean_upc"] == pytest.approx((2 / 3 + 1) / 2)
    assert x["mean_coc"] == pytest.approx(1 / 3) and x["mean_secon"] == pytest.approx(
        0.5
    )  # p2 has one contact
    # Y keeps no personal lists: no SLICC; the person unregistered anywhere is in no practice
    assert (y["practice"], y["people"], y["contacts"], y["slicc"], y["slicc_contacts"]) == (
        "Y",
        1,
        2,
        None,
        0,
    )
    assert y["mean_coc"] == 1.0


def test_the_period_applies_to_slicc_too() -> None:
    start = sequence("AAB")[2][1]  # the day of p1's third contact, with B
    question = PracticeQuestion.of(ContinuityQuestion.of(start, start))
    [x] = practices_duckdb(CONTACTS, REGISTERED, question).to_pylist()  # Y's contacts are before it
    assert (x["people"], x["contacts"], x["slicc"], x["slicc_contacts"]) == (1, 1, 0.0, 1)


def test_a_registration_table_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="registration table"):
        practices_duckdb(CONTACTS, pa.table({"person": ["p1"], "practice": ["X"]}), PracticeQuestion.of())


@pytest.mark.spark
def test_duckdb_and_spark_agree_by_practice(spark_session_once: Any) -> None:
    table = synthetic.generate(3000, contacts_per_person=5, seed=4)
    people = sorted(set(table["person"].to_pylist()))
    registered = registrations(
        *((p, f"PR{i % 7}", None if i % 7 == 6 else f"G{(i % 7) * 6 + i % 3}") for i, p in enumerate(people))
    )
    question = PracticeQuestion.of(ContinuityQuestion.of(dt.date(2022, 1, 1), dt.date(2023, 12, 31)))
    duck = practices_duckdb(table, registered, question).to_pylist()
    sparks = practices_spark(table, registered, question, spark_session_once).to_pylist()
    assert len(duck) == 7 and any(row["slicc"] for row in duck)
    for mine, theirs in zip(duck, sparks, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in mine.items():  # means: the engines may add in another order
            assert theirs[key] == (pytest.approx(value, rel=1e-12) if isinstance(value, float) else value), (
                key
            )

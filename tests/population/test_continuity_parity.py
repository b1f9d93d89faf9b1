"""The continuity indices are the same on DuckDB and Spark, bit for bit: on synthetic contacts with
ties in dates and rows in any order, over a period, and for the worked cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from careweave.population.continuity import ContinuityQuestion, contacts, run_duckdb, run_spark, synthetic
from tests.population.test_continuity import sequence

pytestmark = pytest.mark.spark


def test_synthetic_contacts_give_the_same_rows(spark_session_once: Any) -> None:
    table = synthetic.generate(600, contacts_per_person=12, seed=21, days=120)  # many same-day ties
    for question in (
        ContinuityQuestion.of(),
        ContinuityQuestion.of(dt.date(2022, 1, 1), dt.date(2022, 2, 15)),
    ):
        duck, sparks = run_duckdb(table, question), run_spark(table, question, spark_session_once)
        assert duck.num_rows > 0
        assert duck.schema == sparks.schema
        assert duck.to_pylist() == sparks.to_pylist()


def test_worked_cases_agree(spark_session_once: Any) -> None:
    rows = (
        sequence("AAB", "aab")
        + sequence("ABAB", "abab")
        + sequence("AAAABBBB", "a4b4")
        + sequence("A", "one")
    )
    question = ContinuityQuestion.of()
    table = contacts(rows)
    assert (
        run_duckdb(table, question).to_pylist() == run_spark(table, question, spark_session_once).to_pylist()
    )

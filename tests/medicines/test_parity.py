"""The medicines review gives identical rows, current medicines and findings on DuckDB and Spark,
on a synthetic population that exercises every rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from careweave.population.engines.spark_engine import spark_session
from careweave.population.medicines import MedicinesReview, run
from careweave.population.medicines.findings import findings_from_rows
from careweave.population.medicines.synthetic import synthetic_inputs
from tests.medicines.cases import RULES

pytestmark = pytest.mark.spark
AS_OF = dt.date(2026, 2, 28)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    yield spark_session()


def test_synthetic_population_gives_the_same_rows_and_findings(spark: Any) -> None:
    inputs = synthetic_inputs(400, seed=23, as_of=AS_OF, rules=RULES)
    question = MedicinesReview.of(AS_OF, rules=RULES)
    duck_rows, duck_current = run(inputs, question, "duckdb")
    spark_rows, spark_current = run(inputs, question, "spark", session=spark)
    assert duck_rows.schema == spark_rows.schema
    assert duck_rows.to_pylist() == spark_rows.to_pylist()
    assert duck_current.to_pylist() == spark_current.to_pylist()
    found = findings_from_rows(duck_rows, question)
    assert [f.as_json() for f in found] == [f.as_json() for f in findings_from_rows(spark_rows, question)]
    families = {f.family for f in found}
    assert families == {"PINCER", "ACB", "DUPLICATE", "POLYPHARMACY", "STOPP", "DDI"}


def test_one_person_agrees(spark: Any) -> None:
    inputs = synthetic_inputs(100, seed=5, as_of=AS_OF, rules=RULES)
    question = MedicinesReview.of(AS_OF, rules=RULES, person_id=7)
    duck_rows, _ = run(inputs, question, "duckdb")
    spark_rows, _ = run(inputs, question, "spark", session=spark)
    assert duck_rows.to_pylist() == spark_rows.to_pylist()
    assert set(duck_rows.column("person_id").to_pylist()) <= {7}

"""Engine parity: DuckDB and Spark compute identical features, register, pattern counts and assignments.

The extract is synthetic, drawn from the reviewed terminology, with deliberate edge cases (nulls,
dates on every window boundary, future dates, resolved conditions, cancelled prescriptions,
duplicate rows, unlisted codes, people born on the reference day's anniversary).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careweave.population.compute import PopulationFeatures
from careweave.population.engines.duckdb_engine import DuckDBEngine
from careweave.population.engines.spark_engine import SparkEngine, spark_session
from careweave.population.extract_schema import Extract
from careweave.population.features import FeatureKnowledge, FeatureSpecification
from careweave.population.synthetic_extract import generate_extract

pytestmark = pytest.mark.spark

AS_OF = dt.date(2024, 3, 31)
KNOWLEDGE = FeatureKnowledge.from_terminology()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    yield spark_session()


def evaluate_both(extract: Extract, spark: Any, as_of: dt.date = AS_OF) -> tuple[PopulationFeatures, PopulationFeatures]:
    spec = FeatureSpecification(KNOWLEDGE, as_of)
    with DuckDBEngine() as duck:
        d = duck.evaluate(extract, spec, ("features", "register"))
    with SparkEngine(spark) as engine:
        s = engine.evaluate(extract, spec, ("features", "register"))
    return (
        PopulationFeatures(d["features"], d["register"]),
        PopulationFeatures(s["features"], s["register"]),
    )


def assert_tables_equal(left: pa.Table, right: pa.Table, what: str) -> None:
    assert left.schema == right.schema, what
    assert left.num_rows == right.num_rows, what
    for name in left.column_names:
        a, b = left.column(name), right.column(name)
        if pa.types.is_floating(a.type):
            x = a.to_numpy(zero_copy_only=False)
            y = b.to_numpy(zero_copy_only=False)
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-9, err_msg=f"{what}: {name}")
        else:
            assert a.equals(b), f"{what}: column {name} differs"


@pytest.fixture(scope="module")
def synthetic() -> Extract:
    return generate_extract(KNOWLEDGE, 3000, seed=20240331, as_of=AS_OF)


@pytest.fixture(scope="module")
def both(synthetic: Extract, spark: Any) -> tuple[PopulationFeatures, PopulationFeatures]:
    return evaluate_both(synthetic, spark)


def test_features_identical_on_duckdb_and_spark(both: tuple[PopulationFeatures, PopulationFeatures]) -> None:
    duck, spark_result = both
    assert_tables_equal(duck.features, spark_result.features, "features")


def test_register_identical_on_duckdb_and_spark(both: tuple[PopulationFeatures, PopulationFeatures]) -> None:
    duck, spark_result = both
    assert_tables_equal(duck.register, spark_result.register, "register")


def test_the_synthetic_extract_exercises_the_features(both: tuple[PopulationFeatures, PopulationFeatures]) -> None:
    """Parity means little if the features are all zero: check each is populated."""
    features = both[0].features
    for name in ("mltc", "complex_mltc", "falls", "discharged_30d", "polypharmacy_5_9", "lives_alone"):
        assert pc.sum(features.column(name).cast(pa.int64())).as_py() > 0, name
    for name in ("cond_treated_dyspepsia", "cond_cancer", "cond_depression", "cond_painful_condition", "cond_asthma"):
        assert pc.sum(features.column(name).cast(pa.int64())).as_py() > 0, name
    for name in ("cms_score", "efi_score", "unplanned_admissions_12m", "overdue_monitoring_count", "clinicians_12m"):
        assert pc.max(features.column(name)).as_py() > 0, name
    register = both[0].register
    assert set(register.column("evidence").to_pylist()) == {"diagnosis", "medicine", "diagnosis_ever"}


def test_pattern_counts_and_assignment_identical(
    both: tuple[PopulationFeatures, PopulationFeatures], spark: Any
) -> None:
    features = both[0].features
    indicators = ["cond_hypertension", "cond_diabetes", "cond_depression", "lives_alone", "housebound"]

    def assign_patterns(patterns: pa.Table) -> pa.Table:
        weight = np.sum([patterns.column(c).to_numpy(zero_copy_only=False) for c in indicators], axis=0)
        return patterns.append_column("cluster", pa.array(weight.astype(np.int32)))

    with DuckDBEngine() as duck:
        duck_patterns = duck.pattern_counts(features, indicators)
        duck_assigned = duck.assign(features, indicators, assign_patterns)
    with SparkEngine(spark) as engine:
        spark_patterns = engine.pattern_counts(features, indicators)
        spark_assigned = engine.assign(features, indicators, assign_patterns)
    assert_tables_equal(duck_patterns, spark_patterns, "patterns")
    assert pc.sum(duck_patterns.column("people")).as_py() == features.num_rows
    assert duck_patterns.num_rows == len({tuple(r.values()) for r in features.select(indicators).to_pylist()})
    assert_tables_equal(duck_assigned, spark_assigned, "assignment")
    expected = np.sum([features.column(c).to_numpy(zero_copy_only=False) for c in indicators], axis=0)
    assert duck_assigned.column("person_id").equals(features.column("person_id"))
    np.testing.assert_array_equal(duck_assigned.column("cluster").to_numpy(), expected)


def test_parity_from_a_parquet_directory(synthetic: Extract, spark: Any, tmp_path: Path) -> None:
    """The path a national run takes: both engines scan the same Parquet files."""
    small = Extract.from_tables(**{n: t.slice(0, 400) for n, t in synthetic.tables().items()})
    small.to_parquet_dir(tmp_path)
    opened = Extract.from_parquet_dir(tmp_path)
    duck, spark_result = evaluate_both(opened, spark)
    assert_tables_equal(duck.features, spark_result.features, "features from parquet")
    assert_tables_equal(duck.register, spark_result.register, "register from parquet")
    in_memory, _ = evaluate_both(small, spark)
    assert_tables_equal(duck.features, in_memory.features, "parquet against memory")


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.integers(min_value=0, max_value=40),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    as_of=st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2026, 12, 31)),
)
def test_generated_extracts_agree(spark: Any, people: int, seed: int, as_of: dt.date) -> None:
    extract = generate_extract(KNOWLEDGE, people, seed=seed, as_of=as_of)
    duck, spark_result = evaluate_both(extract, spark, as_of)
    assert_tables_equal(duck.features, spark_result.features, "features")
    assert_tables_equal(duck.register, spark_result.register, "register")

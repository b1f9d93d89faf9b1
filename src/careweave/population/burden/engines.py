"""DuckDB and Spark run the burden steps (``spec.BurdenQuestion``) unchanged, through the shared step
runner: each returns the per-person measures and the duplicated tests."""

from __future__ import annotations

from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.dataset as ds

from careweave.population.engines.steps import conform, run_steps_duckdb_many, run_steps_spark_many

from .spec import BURDEN_SCHEMA, CONTACT_SCHEMA, DUPLICATE_SCHEMA, TEST_SCHEMA, BurdenQuestion

Input: TypeAlias = pa.Table | ds.Dataset


def _tables(contacts: Input, tests: Input, question: BurdenQuestion) -> dict[str, Input]:
    for name, table, schema in (("contact", contacts, CONTACT_SCHEMA), ("test", tests, TEST_SCHEMA)):
        if not table.schema.equals(schema):
            raise ValueError(f"{name} table has schema {table.schema}, expected {schema}")
    return {"contact": contacts, "test": tests, **question.lookups()}


def _shaped(tables: list[pa.Table]) -> tuple[pa.Table, pa.Table]:
    burden, duplicates = tables
    return conform(burden, BURDEN_SCHEMA), conform(duplicates, DUPLICATE_SCHEMA)


def run_duckdb(
    contacts: Input, tests: Input, question: BurdenQuestion, *, threads: int | None = None
) -> tuple[pa.Table, pa.Table]:
    """(per-person measures, duplicated tests), each in a stable order."""
    queries = (question.burden_query(), question.duplicates_query())
    tables = _tables(contacts, tests, question)
    return _shaped(run_steps_duckdb_many(tables, question.steps(), queries, threads=threads))


def run_spark(
    contacts: Input, tests: Input, question: BurdenQuestion, session: Any | None = None
) -> tuple[pa.Table, pa.Table]:
    queries = (question.burden_query(), question.duplicates_query())
    tables = _tables(contacts, tests, question)
    return _shaped(run_steps_spark_many(tables, question.steps(), queries, session))

"""DuckDB and Spark run the review's steps (``spec.MedicinesReview``) unchanged.

The inputs are in-memory Arrow tables; materialized steps become temporary tables (DuckDB) or
cached frames (Spark). Besides the findings' rows, either engine can hand back the current
medicines (``current_medicine``) of the same run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from careweave.population.sql.common import Step

from .findings import Finding, findings_from_rows
from .inputs import ReviewInputs
from .spec import CURRENT, MedicinesReview, shape

Engine = Literal["duckdb", "spark"]
CURRENT_QUERY = "SELECT * FROM current_medicine"


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _local_files(table: pa.Table | ds.Dataset) -> list[str] | None:
    if isinstance(table, ds.FileSystemDataset) and type(table.filesystem).__name__ == "LocalFileSystem":
        return list(table.files)
    return None


def _duckdb(
    tables: dict[str, pa.Table | ds.Dataset], steps: Sequence[Step], queries: Sequence[str]
) -> list[pa.Table]:
    connection = duckdb.connect(":memory:")
    spill = tempfile.mkdtemp(prefix="careweave-medicines-")
    try:
        threads = int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0"))
        if threads:
            connection.execute(f"SET threads = {threads}")
        connection.execute(
            f"SET memory_limit = {_quoted(os.environ.get('CAREWEAVE_DUCKDB_MEMORY_LIMIT', '2GB'))}"
        )
        connection.execute(f"SET temp_directory = {_quoted(spill)}")
        connection.execute("SET preserve_insertion_order = false")
        for name, table in tables.items():
            files = _local_files(table)
            if files is None:
                connection.register(name, table)
            else:  # scanned in place, never loaded whole
                listed = ", ".join(_quoted(f) for f in files)
                connection.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{listed}])')
        for step in steps:
            connection.execute(
                f'CREATE TEMP {"TABLE" if step.materialize else "VIEW"} "{step.name}" AS {step.sql}'
            )
        return [connection.sql(query).to_arrow_table() for query in queries]
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def _spark(
    tables: dict[str, pa.Table], steps: Sequence[Step], queries: Sequence[str], session: Any
) -> list[pa.Table]:
    from careweave.population.engines.spark_engine import spark_session

    spark = session or spark_session()
    workdir = Path(tempfile.mkdtemp(prefix="careweave-medicines-spark-"))
    views: list[str] = []
    cached: list[Any] = []
    try:
        for name, table in tables.items():
            files = _local_files(table)
            if files is None:
                path = workdir / f"{name}.parquet"
                pq.write_table(table if isinstance(table, pa.Table) else table.to_table(), path)
                files = [str(path)]
            spark.read.parquet(*files).createOrReplaceTempView(name)
            views.append(name)
        for step in steps:
            frame = spark.sql(step.sql)
            if step.materialize:
                # computed now and its lineage cut, so later steps plan over a small relation
                frame = frame.localCheckpoint(eager=True)
                cached.append(frame)
            frame.createOrReplaceTempView(step.name)
            views.append(step.name)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
            )
            return [spark.sql(query).toArrow() for query in queries]
    finally:
        for frame in cached:
            frame.unpersist()
        for view in views:
            spark.catalog.dropTempView(view)
        shutil.rmtree(workdir, ignore_errors=True)


def run(
    inputs: ReviewInputs, question: MedicinesReview, engine: Engine = "duckdb", *, session: Any = None
) -> tuple[pa.Table, pa.Table]:
    """The finding rows (``spec.OUTPUT``) and the current medicines (``spec.CURRENT``)."""
    tables = {**inputs.tables, **question.lookups()}
    queries = [question.output_query(), CURRENT_QUERY]
    if engine == "duckdb":
        rows, current = _duckdb(tables, question.steps(), queries)
    elif engine == "spark":
        rows, current = _spark(tables, question.steps(), queries, session)
    else:
        raise ValueError(f"unknown engine {engine!r}: expected duckdb or spark")
    return shape(rows), shape(current, CURRENT)


def review(inputs: ReviewInputs, question: MedicinesReview, engine: Engine = "duckdb") -> list[Finding]:
    """Every finding, explained and cited, in a stable order."""
    rows, _current = run(inputs, question, engine)
    return findings_from_rows(rows, question)

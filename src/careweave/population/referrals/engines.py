"""DuckDB and Spark run the referral scan's steps (``spec.ReferralScan``) unchanged.

Inputs are Arrow tables or Parquet datasets; a local Parquet dataset is scanned in place by either
engine. Materialized steps become temporary tables (DuckDB) or cached frames (Spark).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from .extract import ReferralExtract
from .findings import Finding, findings_from_rows
from .spec import ReferralScan, shape

Engine = Literal["duckdb", "spark"]


def _local_files(table: pa.Table | ds.Dataset) -> list[str] | None:
    local = isinstance(table, ds.FileSystemDataset) and type(table.filesystem).__name__ == "LocalFileSystem"
    return list(table.files) if local and table.files else None


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_duckdb(
    extract: ReferralExtract,
    scan: ReferralScan,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pa.Table:
    """The long-form finding rows, computed in an in-memory DuckDB database."""
    connection = duckdb.connect(":memory:")
    spill = tempfile.mkdtemp(prefix="careweave-referrals-")
    try:
        threads = threads or int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0")) or None
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        limit = memory_limit or os.environ.get("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
        connection.execute(f"SET memory_limit = {_sql_string(limit)}")
        connection.execute(f"SET temp_directory = {_sql_string(spill)}")
        for name, table in {**extract.tables, **scan.lookups()}.items():
            files = _local_files(table)
            if files is not None:
                listed = ", ".join(_sql_string(f) for f in files)
                connection.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{listed}])')
            else:
                connection.register(name, table)
        for step in scan.steps():
            kind = "TABLE" if step.materialize else "VIEW"
            connection.execute(f'CREATE TEMP {kind} "{step.name}" AS {step.sql}')
        return shape(connection.sql(scan.output_query()).to_arrow_table())
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def run_spark(extract: ReferralExtract, scan: ReferralScan, session: Any | None = None) -> pa.Table:
    """The same rows as Spark SQL over temporary views (the population engine's session)."""
    from careweave.population.engines.spark_engine import spark_session

    spark = session or spark_session()
    workdir = Path(tempfile.mkdtemp(prefix="careweave-referrals-spark-"))
    views: list[str] = []
    cached: list[Any] = []
    try:
        for name, table in {**extract.tables, **scan.lookups()}.items():
            files = _local_files(table)
            if files is None:
                path = workdir / f"{name}.parquet"
                arrow = table if isinstance(table, pa.Table) else table.to_table()
                pq.write_table(arrow, path)
                files = [str(path)]
            spark.read.parquet(*files).createOrReplaceTempView(name)
            views.append(name)
        for step in scan.steps():
            frame = spark.sql(step.sql)
            if step.materialize:
                frame = frame.cache()
                cached.append(frame)
            frame.createOrReplaceTempView(step.name)
            views.append(step.name)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
            )
            table = spark.sql(scan.output_query()).toArrow()
        return shape(table)
    finally:
        for frame in cached:
            frame.unpersist()
        for view in views:
            spark.catalog.dropTempView(view)
        shutil.rmtree(workdir, ignore_errors=True)


def run(extract: ReferralExtract, scan: ReferralScan, engine: Engine = "duckdb") -> pa.Table:
    if engine == "duckdb":
        return run_duckdb(extract, scan)
    if engine == "spark":
        return run_spark(extract, scan)
    raise ValueError(f"unknown engine {engine!r}: expected duckdb or spark")


def scan(extract: ReferralExtract, question: ReferralScan, engine: Engine = "duckdb") -> list[Finding]:
    """Every finding, explained and cited, in a stable order."""
    return findings_from_rows(run(extract, question, engine), question)

"""Run a question written as portable SQL steps on DuckDB or Spark, unchanged.

A question is its input tables (Arrow tables or Parquet datasets; a local Parquet dataset is scanned in
place by either engine), its steps (:class:`~careweave.population.sql.common.Step`, each reading the
tables and earlier steps) and an output query. Materialized steps become temporary tables (DuckDB) or
cached frames (Spark). Used by the referral scan and the continuity indices.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from careweave.population.sql.common import Step

Tables = Mapping[str, pa.Table | ds.Dataset]


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """An engine's answer with exactly ``schema``'s columns and types (engines differ in integer widths)."""
    return pa.Table.from_arrays([table.column(f.name).cast(f.type) for f in schema], schema=schema)


def _local_files(table: pa.Table | ds.Dataset) -> list[str] | None:
    local = isinstance(table, ds.FileSystemDataset) and type(table.filesystem).__name__ == "LocalFileSystem"
    return list(table.files) if local and table.files else None


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def run_steps_duckdb(
    tables: Tables,
    steps: Sequence[Step],
    output_query: str,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pa.Table:
    """The output query's rows, computed in an in-memory DuckDB database that spills to a temporary
    directory (``CAREWEAVE_DUCKDB_THREADS``, ``CAREWEAVE_DUCKDB_MEMORY_LIMIT``, default 2GB)."""
    [table] = run_steps_duckdb_many(
        tables, steps, (output_query,), threads=threads, memory_limit=memory_limit
    )
    return table


def run_steps_duckdb_many(
    tables: Tables,
    steps: Sequence[Step],
    output_queries: Sequence[str],
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> list[pa.Table]:
    """Several output queries over the same steps (materialized steps computed once)."""
    connection = duckdb.connect(":memory:")
    spill = tempfile.mkdtemp(prefix="careweave-steps-")
    try:
        threads = threads or int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0")) or None
        if threads:
            connection.execute(f"SET threads = {int(threads)}")
        limit = memory_limit or os.environ.get("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
        connection.execute(f"SET memory_limit = {_sql_string(limit)}")
        connection.execute(f"SET temp_directory = {_sql_string(spill)}")
        connection.execute("SET preserve_insertion_order = false")
        for name, table in tables.items():
            files = _local_files(table)
            if files is not None:
                listed = ", ".join(_sql_string(f) for f in files)
                connection.execute(f'CREATE TEMP VIEW "{name}" AS SELECT * FROM read_parquet([{listed}])')
            else:
                connection.register(name, table)
        for step in steps:
            kind = "TABLE" if step.materialize else "VIEW"
            connection.execute(f'CREATE TEMP {kind} "{step.name}" AS {step.sql}')
        return [connection.sql(query).to_arrow_table() for query in output_queries]
    finally:
        connection.close()
        shutil.rmtree(spill, ignore_errors=True)


def run_steps_spark(
    tables: Tables, steps: Sequence[Step], output_query: str, session: Any | None = None
) -> pa.Table:
    """The same rows as Spark SQL over temporary views (the population engine's session)."""
    [table] = run_steps_spark_many(tables, steps, (output_query,), session)
    return table


def run_steps_spark_many(
    tables: Tables, steps: Sequence[Step], output_queries: Sequence[str], session: Any | None = None
) -> list[pa.Table]:
    """Several output queries over the same steps, on Spark."""
    from careweave.population.engines.spark_engine import spark_session

    spark = session or spark_session()
    workdir = Path(tempfile.mkdtemp(prefix="careweave-steps-spark-"))
    views: list[str] = []
    cached: list[Any] = []
    try:
        for name, table in tables.items():
            files = _local_files(table)
            if files is None:
                path = workdir / f"{name}.parquet"
                arrow = table if isinstance(table, pa.Table) else table.to_table()
                pq.write_table(arrow, path)
                files = [str(path)]
            spark.read.parquet(*files).createOrReplaceTempView(name)
            views.append(name)
        for step in steps:
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
            results: list[pa.Table] = [spark.sql(query).toArrow() for query in output_queries]
        return results
    finally:
        for frame in cached:
            frame.unpersist()
        for view in views:
            spark.catalog.dropTempView(view)
        shutil.rmtree(workdir, ignore_errors=True)

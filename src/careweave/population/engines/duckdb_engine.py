"""DuckDB in-process engine: the default.

Extract tables are registered as Arrow tables, or scanned straight from Parquet when the extract was
opened from a directory (so a 1M-person extract is never held in memory). Materialized steps become
temporary tables; the rest are views that DuckDB plans together.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from careweave.population.engines.base import (
    EngineLifecycle,
    PatternAssigner,
    check_assignment,
    check_indicators,
    needed_steps,
)
from careweave.population.extract_schema import Extract
from careweave.population.features import PATTERN_COUNT_COLUMN, FeatureSpecification
from careweave.population.sql import (
    DUCKDB_DIALECT,
    Step,
    compile_steps,
    shape_patterns,
)


def _quote(identifier: str) -> str:
    return DUCKDB_DIALECT.quote(identifier)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBEngine(EngineLifecycle):
    """Runs feature specifications in an in-memory DuckDB database.

    ``CAREWEAVE_DUCKDB_THREADS`` and ``CAREWEAVE_DUCKDB_MEMORY_LIMIT`` (e.g. ``3GB``) tune it.
    """

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self._connection = duckdb.connect(":memory:")
        threads = threads or int(os.environ.get("CAREWEAVE_DUCKDB_THREADS", "0")) or None
        # 2 GB keeps a 1M-person run under the 4 GB goal (DuckDB spills to disk beyond it); the
        # default would be 80% of RAM, which on a shared server is not ours to take.
        memory_limit = memory_limit or os.environ.get("CAREWEAVE_DUCKDB_MEMORY_LIMIT", "2GB")
        if threads:
            self._connection.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self._connection.execute(f"SET memory_limit = {_sql_string(memory_limit)}")
        self._connection.execute("SET preserve_insertion_order = false")
        self._spill_dir = tempfile.mkdtemp(prefix="careweave-duckdb-")
        self._connection.execute(f"SET temp_directory = {_sql_string(self._spill_dir)}")
        self._registered: list[str] = []
        self._views: set[str] = set()
        self._created: list[tuple[str, str]] = []
        self._spec: FeatureSpecification | None = None
        self._prepared: frozenset[str] | None = None

    # context management -------------------------------------------------------------------------

    def close(self) -> None:
        self._connection.close()
        shutil.rmtree(self._spill_dir, ignore_errors=True)

    # inputs -------------------------------------------------------------------------------------

    def _register(self, name: str, table: pa.Table | ds.Dataset) -> None:
        if isinstance(table, ds.FileSystemDataset) and table.files and _is_local(table):
            files = ", ".join(_sql_string(f) for f in table.files)
            self._connection.execute(
                f"CREATE OR REPLACE TEMP VIEW {_quote(name)} AS SELECT * FROM read_parquet([{files}])"
            )
            self._views.add(name)
        else:
            self._connection.register(name, table)
        self._registered.append(name)

    def _load(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str] | None
    ) -> tuple[Step, ...]:
        compiled = compile_steps(spec, DUCKDB_DIALECT)
        steps = needed_steps(compiled.steps, outputs)
        for name, table in extract.tables().items():
            self._register(name, table)
        for name, table in compiled.lookups.items():
            self._connection.register(name, table)
            self._registered.append(name)
        return steps

    # evaluation ---------------------------------------------------------------------------------

    def prepare(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str] | None = None
    ) -> None:
        """Register the inputs and run the steps ``outputs`` need, all of them when None
        (materialized steps are computed here)."""
        for step in self._load(extract, spec, outputs):
            kind = "TABLE" if step.materialize else "VIEW"
            self._connection.execute(f"CREATE OR REPLACE TEMP {kind} {_quote(step.name)} AS {step.sql}")
            self._created.append((step.name, kind))
        self._prepared_for(spec, outputs)

    def _query(self, sql: str) -> pa.Table:
        return self._connection.sql(sql).to_arrow_table()

    def release(self) -> None:
        """Drop the prepared steps and inputs (their memory), keeping the connection."""
        for name, kind in reversed(self._created):
            self._connection.execute(f"DROP {kind} IF EXISTS {_quote(name)}")
        self._created.clear()
        for name in self._registered:
            if name in self._views:
                self._connection.execute(f"DROP VIEW IF EXISTS {_quote(name)}")
            else:
                self._connection.unregister(name)
        self._registered.clear()
        self._views.clear()
        self._spec = None
        self._prepared = None

    def pattern_counts(self, features: pa.Table, indicator_columns: Sequence[str]) -> pa.Table:
        check_indicators(features, indicator_columns)
        self._connection.register("pattern_features", features.select(list(indicator_columns)))
        columns = ", ".join(_quote(c) for c in indicator_columns)
        group = f"GROUP BY {columns}" if indicator_columns else ""
        select = f"{columns}, " if indicator_columns else ""
        table = self._connection.sql(
            f"SELECT {select}COUNT(*) AS {PATTERN_COUNT_COLUMN} FROM pattern_features {group}"
        ).to_arrow_table()
        self._connection.unregister("pattern_features")
        return shape_patterns(table, indicator_columns)

    def assign(
        self, features: pa.Table, indicator_columns: Sequence[str], assign_patterns: PatternAssigner
    ) -> pa.Table:
        patterns = self.pattern_counts(features, indicator_columns)
        assigned = assign_patterns(patterns.select(list(indicator_columns)))
        added = check_assignment(patterns, assigned, indicator_columns)
        self._connection.register("assign_people", features.select(["person_id", *indicator_columns]))
        self._connection.register("assign_patterns", assigned.select([*indicator_columns, *added]))
        on = " AND ".join(f"p.{_quote(c)} = a.{_quote(c)}" for c in indicator_columns) or "TRUE"
        selected = ", ".join(f"a.{_quote(c)}" for c in added)
        table = self._connection.sql(
            f"SELECT p.person_id, {selected} FROM assign_people p JOIN assign_patterns a ON {on} "
            "ORDER BY p.person_id"
        ).to_arrow_table()
        self._connection.unregister("assign_people")
        self._connection.unregister("assign_patterns")
        if table.num_rows != features.num_rows:
            raise ValueError("some people's patterns were not assigned")
        return table


def _is_local(dataset: ds.FileSystemDataset) -> bool:
    return type(dataset.filesystem).__name__ == "LocalFileSystem"

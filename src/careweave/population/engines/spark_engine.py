"""Apache Spark engine: the same feature specification at national scale.

The extract is read from Parquet (the extract's own directory when it was opened from one, otherwise
written to a temporary directory first); lookups are written beside it. Steps run as Spark SQL over
temporary views; materialized steps are cached. Results come back with ``DataFrame.toArrow``.

Configuration (environment):

- ``CAREWEAVE_SPARK_MASTER``: master URL (default ``local[*]``);
- ``CAREWEAVE_SPARK_SHUFFLE_PARTITIONS``: ``spark.sql.shuffle.partitions`` (default 8);
- ``CAREWEAVE_SPARK_DRIVER_MEMORY``: ``spark.driver.memory`` for a local session (default 2g).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

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
    SPARK_DIALECT,
    compile_steps,
    shape_patterns,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_session_lock = threading.Lock()


def spark_session() -> SparkSession:
    """The process's Spark session, created on first use (bound to 127.0.0.1, no UI, UTC)."""
    from pyspark.sql import SparkSession

    with _session_lock:
        builder: Any = SparkSession.builder
        session: SparkSession = (
            builder.master(os.environ.get("CAREWEAVE_SPARK_MASTER", "local[*]"))
            .appName("careweave-population")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", os.environ.get("CAREWEAVE_SPARK_SHUFFLE_PARTITIONS", "8"))
            .config("spark.driver.memory", os.environ.get("CAREWEAVE_SPARK_DRIVER_MEMORY", "2g"))
            .config("spark.sql.adaptive.enabled", "true")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return session


def _to_arrow(frame: DataFrame) -> pa.Table:
    """Collect as Arrow. PySpark warns about pandas 3 on the way, though no pandas is involved."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        return frame.toArrow()


def _dataset_files(table: Any) -> list[str] | None:
    local = isinstance(table, ds.FileSystemDataset) and type(table.filesystem).__name__ == "LocalFileSystem"
    return list(table.files) if local and table.files else None


class SparkEngine(EngineLifecycle):
    """Runs feature specifications as Spark SQL. The Spark session outlives the engine."""

    name = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        self._session = session or spark_session()
        self._workdir = Path(tempfile.mkdtemp(prefix="careweave-spark-"))
        self._views: list[str] = []
        self._cached: list[DataFrame] = []
        self._spec: FeatureSpecification | None = None
        self._prepared: frozenset[str] | None = None

    def release(self) -> None:
        """Unpersist the cached steps and drop the views, keeping the session."""
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()
        catalog = self._session.catalog
        for view in self._views:
            catalog.dropTempView(view)
        self._views.clear()
        self._spec = None
        self._prepared = None

    def close(self) -> None:
        self.release()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # inputs -------------------------------------------------------------------------------------

    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self._views.append(name)

    def _arrow_view(self, name: str, table: pa.Table) -> None:
        """Register an Arrow table by way of Parquet (exact types, no pandas round trip)."""
        path = self._workdir / f"{name}.parquet"
        pq.write_table(table, path)
        self._view(name, self._session.read.parquet(str(path)))

    def _register_extract(self, extract: Extract) -> None:
        for name, table in extract.tables().items():
            files = _dataset_files(table)
            if files is not None:
                self._view(name, self._session.read.parquet(*files))
            else:
                arrow = table if isinstance(table, pa.Table) else table.to_table()
                self._arrow_view(name, arrow)

    # evaluation ---------------------------------------------------------------------------------

    def prepare(
        self, extract: Extract, spec: FeatureSpecification, outputs: Sequence[str] | None = None
    ) -> None:
        """Register the inputs and define the steps ``outputs`` need, all of them when None (Spark
        computes lazily, on fetch)."""
        compiled = compile_steps(spec, SPARK_DIALECT)
        steps = needed_steps(compiled.steps, outputs)
        self._register_extract(extract)
        for name, table in compiled.lookups.items():
            self._arrow_view(name, table)
        for step in steps:
            frame = self._session.sql(step.sql)
            if step.materialize:
                frame = frame.cache()
                self._cached.append(frame)
            self._view(step.name, frame)
        self._prepared_for(spec, outputs)

    def _query(self, sql: str) -> pa.Table:
        return _to_arrow(self._session.sql(sql))

    def _features_frame(self, features: pa.Table | DataFrame, columns: Sequence[str]) -> DataFrame:
        if isinstance(features, pa.Table):
            name = f"pattern_input_{len(self._views)}"
            self._arrow_view(name, features.select(list(columns)))
            return self._session.table(name)
        return features.select(*columns)

    def pattern_counts(self, features: pa.Table | DataFrame, indicator_columns: Sequence[str]) -> pa.Table:
        """Distinct patterns by ``groupBy``; ``features`` may be Arrow or a Spark DataFrame."""
        if isinstance(features, pa.Table):
            check_indicators(features, indicator_columns)
        frame = self._features_frame(features, list(indicator_columns))
        grouped = frame.groupBy(*indicator_columns).count().withColumnRenamed("count", PATTERN_COUNT_COLUMN)
        return shape_patterns(_to_arrow(grouped), indicator_columns)

    def assign(
        self,
        features: pa.Table | DataFrame,
        indicator_columns: Sequence[str],
        assign_patterns: PatternAssigner,
    ) -> pa.Table:
        """The assigner runs once on the distinct patterns (one node); Spark joins the answer to people."""
        patterns = self.pattern_counts(features, indicator_columns)
        assigned = assign_patterns(patterns.select(list(indicator_columns)))
        added = check_assignment(patterns, assigned, indicator_columns)
        people = self._features_frame(features, ["person_id", *indicator_columns])
        name = f"assigned_patterns_{len(self._views)}"
        self._arrow_view(name, assigned.select([*indicator_columns, *added]))
        joined = people.join(self._session.table(name), on=list(indicator_columns), how="inner")
        table = _to_arrow(joined.select("person_id", *added).orderBy("person_id"))
        expected = features.num_rows if isinstance(features, pa.Table) else people.count()
        if table.num_rows != expected:
            raise ValueError("some people's patterns were not assigned")
        return pa.Table.from_arrays(list(table.columns), names=table.column_names).sort_by("person_id")

"""Population engine adapters: DuckDB (in-process, the default) and Apache Spark (national scale)."""

from __future__ import annotations

from careweave.population.engines.base import PopulationEngine
from careweave.population.features import EngineName


def get_engine(name: EngineName) -> PopulationEngine:
    """A new engine of the given name; use it as a context manager."""
    if name == "duckdb":
        from careweave.population.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from careweave.population.engines.spark_engine import SparkEngine

        return SparkEngine()
    raise ValueError(f"unknown population engine {name!r}; expected 'duckdb' or 'spark'")


__all__ = ["PopulationEngine", "get_engine"]

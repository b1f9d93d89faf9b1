"""DuckDB and Spark run the referral scan's steps (``spec.ReferralScan``) unchanged, through the
shared step runner (``careweave.population.engines.steps``)."""

from __future__ import annotations

from typing import Any, Literal

import pyarrow as pa

from careweave.population.engines.steps import run_steps_duckdb, run_steps_spark

from .extract import ReferralExtract
from .findings import Finding, findings_from_rows
from .spec import ReferralScan, shape

Engine = Literal["duckdb", "spark"]


def run_duckdb(
    extract: ReferralExtract,
    scan: ReferralScan,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pa.Table:
    """The long-form finding rows, computed in an in-memory DuckDB database."""
    tables = {**extract.tables, **scan.lookups()}
    return shape(
        run_steps_duckdb(
            tables, scan.steps(), scan.output_query(), threads=threads, memory_limit=memory_limit
        )
    )


def run_spark(extract: ReferralExtract, scan: ReferralScan, session: Any | None = None) -> pa.Table:
    """The same rows as Spark SQL over temporary views (the population engine's session)."""
    tables = {**extract.tables, **scan.lookups()}
    return shape(run_steps_spark(tables, scan.steps(), scan.output_query(), session))


def run(extract: ReferralExtract, scan: ReferralScan, engine: Engine = "duckdb") -> pa.Table:
    if engine == "duckdb":
        return run_duckdb(extract, scan)
    if engine == "spark":
        return run_spark(extract, scan)
    raise ValueError(f"unknown engine {engine!r}: expected duckdb or spark")


def scan(extract: ReferralExtract, question: ReferralScan, engine: Engine = "duckdb") -> list[Finding]:
    """Every finding, explained and cited, in a stable order."""
    return findings_from_rows(run(extract, question, engine), question)

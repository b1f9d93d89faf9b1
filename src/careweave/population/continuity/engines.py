"""DuckDB and Spark run the continuity steps (``spec.ContinuityQuestion``) unchanged, through the
shared step runner; ``indices`` gives one :class:`PersonContinuity` per person."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.dataset as ds

from careweave.population.engines.steps import run_steps_duckdb, run_steps_spark

from .extract import CONTACT_SCHEMA
from .spec import ContinuityQuestion, shape

Engine = Literal["duckdb", "spark"]


@dataclass(frozen=True)
class PersonContinuity:
    person: str
    visits: int
    clinicians: int
    upc: float
    coc: float | None
    hhi: float
    mmci: float
    secon: float | None

    def as_json(self, places: int | None = 6) -> dict[str, Any]:
        """The printed object, floats rounded to ``places`` (None: unrounded), null where undefined."""
        values = asdict(self)
        if places is not None:
            for key, value in values.items():
                if isinstance(value, float):
                    values[key] = round(value, places)
        return values


def contact_tables(contacts: pa.Table | ds.Dataset) -> dict[str, pa.Table | ds.Dataset]:
    if not contacts.schema.equals(CONTACT_SCHEMA):
        raise ValueError(f"contact table has schema {contacts.schema}, expected {CONTACT_SCHEMA}")
    return {"contact": contacts}


def run_duckdb(
    contacts: pa.Table | ds.Dataset,
    question: ContinuityQuestion,
    *,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> pa.Table:
    """One row per person (:data:`~.spec.INDICES_SCHEMA`), ordered by person."""
    return shape(
        run_steps_duckdb(
            contact_tables(contacts),
            question.steps(),
            question.output_query(),
            threads=threads,
            memory_limit=memory_limit,
        )
    )


def run_spark(
    contacts: pa.Table | ds.Dataset, question: ContinuityQuestion, session: Any | None = None
) -> pa.Table:
    return shape(
        run_steps_spark(contact_tables(contacts), question.steps(), question.output_query(), session)
    )


def run(contacts: pa.Table | ds.Dataset, question: ContinuityQuestion, engine: Engine = "duckdb") -> pa.Table:
    if engine == "duckdb":
        return run_duckdb(contacts, question)
    if engine == "spark":
        return run_spark(contacts, question)
    raise ValueError(f"unknown engine {engine!r}: expected duckdb or spark")


def indices(
    contacts: pa.Table | ds.Dataset, question: ContinuityQuestion | None = None, engine: Engine = "duckdb"
) -> list[PersonContinuity]:
    """Every person's indices, ordered by person."""
    table = run(contacts, question or ContinuityQuestion.of(), engine)
    return [PersonContinuity(**row) for row in table.to_pylist()]

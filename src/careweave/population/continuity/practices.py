"""Continuity by practice: each practice's people with a GP contact, their contacts, the mean UPC,
COC and SECON of its people, and the St Leonard's Index of Continuity of Care (SLICC: the share of GP
contacts, of people with a listed GP, that were with that GP). Formulas and sources in the
``practice_indices`` of ``terminology/data/continuity.yaml``.

Inputs: the contact table (as for the person indices) and ``registration`` (one row per person: the
practice and the listed GP, null where the practice keeps no personal lists). Contacts of people
with no registration are left out of the practice figures. The same steps run on DuckDB and Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import pyarrow as pa
import pyarrow.dataset as ds

from careweave.population.engines.steps import conform, run_steps_duckdb, run_steps_spark
from careweave.population.sql.common import Step

from .engines import contact_tables
from .spec import ContinuityQuestion, as_double

REGISTRATION_SCHEMA: Final = pa.schema(
    [("person", pa.string()), ("practice", pa.string()), ("listed_gp", pa.string())]
)
PRACTICE_SCHEMA: Final = pa.schema(
    [
        ("practice", pa.string()),
        ("people", pa.int64()),
        ("contacts", pa.int64()),
        ("mean_upc", pa.float64()),
        ("mean_coc", pa.float64()),
        ("mean_secon", pa.float64()),
        ("slicc", pa.float64()),
        ("slicc_contacts", pa.int64()),
    ]
)


@dataclass(frozen=True)
class PracticeQuestion:
    """The person question (period, reviewed definitions) asked by practice."""

    person: ContinuityQuestion

    @classmethod
    def of(cls, person: ContinuityQuestion | None = None) -> PracticeQuestion:
        question = person or ContinuityQuestion.of()
        listed = tuple(index.id for index in question.definitions.practice_indices)
        if listed != tuple(PRACTICE_SCHEMA.names[1:]):
            raise ValueError(
                f"continuity.yaml lists the practice indices {listed}, the engines compute others"
            )
        return cls(question)

    def steps(self) -> tuple[Step, ...]:
        person_indices = Step("person_continuity", self.person.indices_sql())
        slicc = Step(
            "practice_slicc",
            f"""SELECT r.practice, COUNT(*) AS slicc_contacts,
              SUM(CASE WHEN c.clinician = r.listed_gp THEN 1 ELSE 0 END) AS with_listed_gp
            FROM contact c JOIN registration r ON r.person = c.person
            WHERE {self.person.period("c.day")} AND r.listed_gp IS NOT NULL AND r.listed_gp <> ''
            GROUP BY r.practice""",
        )
        practice = Step(
            "practice_indices",
            """SELECT r.practice, COUNT(*) AS people, SUM(p.visits) AS contacts, AVG(p.upc) AS mean_upc,
              AVG(p.coc) AS mean_coc, AVG(p.secon) AS mean_secon
            FROM person_continuity p JOIN registration r ON r.person = p.person GROUP BY r.practice""",
        )
        return (*self.person.steps(), person_indices, slicc, practice)

    def output_query(self) -> str:
        return f"""SELECT p.practice, CAST(p.people AS BIGINT) AS people, CAST(p.contacts AS BIGINT) AS contacts,
          p.mean_upc, p.mean_coc, p.mean_secon,
          CASE WHEN s.slicc_contacts IS NULL THEN NULL
               ELSE {as_double("s.with_listed_gp")} / {as_double("s.slicc_contacts")} END AS slicc,
          CAST(COALESCE(s.slicc_contacts, 0) AS BIGINT) AS slicc_contacts
        FROM practice_indices p LEFT JOIN practice_slicc s ON s.practice = p.practice
        ORDER BY p.practice"""


def _tables(
    contacts: pa.Table | ds.Dataset, registrations: pa.Table | ds.Dataset
) -> dict[str, pa.Table | ds.Dataset]:
    if not registrations.schema.equals(REGISTRATION_SCHEMA):
        raise ValueError(
            f"registration table has schema {registrations.schema}, expected {REGISTRATION_SCHEMA}"
        )
    return {**contact_tables(contacts), "registration": registrations}


def practices_duckdb(
    contacts: pa.Table | ds.Dataset, registrations: pa.Table | ds.Dataset, question: PracticeQuestion
) -> pa.Table:
    """One row per practice (:data:`PRACTICE_SCHEMA`), ordered by practice."""
    tables = _tables(contacts, registrations)
    return conform(run_steps_duckdb(tables, question.steps(), question.output_query()), PRACTICE_SCHEMA)


def practices_spark(
    contacts: pa.Table | ds.Dataset,
    registrations: pa.Table | ds.Dataset,
    question: PracticeQuestion,
    session: Any | None = None,
) -> pa.Table:
    tables = _tables(contacts, registrations)
    return conform(
        run_steps_spark(tables, question.steps(), question.output_query(), session), PRACTICE_SCHEMA
    )

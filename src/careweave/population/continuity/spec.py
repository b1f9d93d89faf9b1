"""The continuity indices, written once as SQL steps that DuckDB and Spark SQL both run unchanged.

The input is one table, ``contact`` (:data:`~.extract.CONTACT_SCHEMA`): one row per contact. The
formulas, their sources and when each is undefined are in ``terminology/data/continuity.yaml``; for
a person with N contacts, n_j of them with clinician j and s clinicians:

- ``upc`` = max n_j / N; ``hhi`` = sum (n_j / N)^2; ``mmci`` = (1 - s/(N+0.1)) / (1 - 1/(N+0.1));
- ``coc`` = (sum n_j^2 - N) / (N (N-1)) and ``secon`` = same-clinician consecutive pairs / (N-1),
  both NULL when N < 2.

Contacts are put in order by (day, clinician): the row order of a file never changes an answer, and
two contacts on one day are ordered by clinician (ADR 0014). All arithmetic is on integers until one
division in DOUBLE, so both engines give the same bits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from careweave.population.engines.steps import conform
from careweave.population.sql.common import Step
from careweave.terminology.continuity import ContinuityDefinitions, load_continuity

from .extract import day_number

INDICES_SCHEMA: Final = pa.schema(
    [
        ("person", pa.string()),
        ("visits", pa.int64()),
        ("clinicians", pa.int64()),
        ("upc", pa.float64()),
        ("coc", pa.float64()),
        ("hhi", pa.float64()),
        ("mmci", pa.float64()),
        ("secon", pa.float64()),
    ]
)
#: The indices this module computes, which must be exactly those the reviewed file defines.
COMPUTED: Final = tuple(INDICES_SCHEMA.names[1:])
_DOUBLE: Final = "CAST({} AS DOUBLE)"


def as_double(expression: str) -> str:
    return _DOUBLE.format(expression)


@dataclass(frozen=True)
class ContinuityQuestion:
    """Which contacts: those from ``start`` to ``end`` inclusive (either open)."""

    definitions: ContinuityDefinitions
    start: dt.date | None = None
    end: dt.date | None = None

    @classmethod
    def of(cls, start: dt.date | None = None, end: dt.date | None = None) -> ContinuityQuestion:
        definitions = load_continuity()
        listed = tuple(index.id for index in definitions.indices)
        if listed != COMPUTED:
            raise ValueError(f"continuity.yaml lists the indices {listed}, the engines compute {COMPUTED}")
        return cls(definitions, start, end)

    def period(self, column: str = "day") -> str:
        """The period as a SQL condition on ``column``."""
        bounds = []
        if self.start is not None:
            bounds.append(f"{column} >= {day_number(self.start)}")
        if self.end is not None:
            bounds.append(f"{column} <= {day_number(self.end)}")
        return " AND ".join(bounds) or "1 = 1"

    def steps(self) -> tuple[Step, ...]:
        ordered = Step(
            "contact_sequence",
            f"""SELECT person, clinician,
              CASE WHEN LAG(clinician) OVER (PARTITION BY person ORDER BY day, clinician) = clinician
                   THEN 1 ELSE 0 END AS same_as_previous
            FROM contact WHERE {self.period()}""",
        )
        per_clinician = Step(
            "per_clinician",
            """SELECT person, clinician, COUNT(*) AS n, SUM(same_as_previous) AS same_pairs
            FROM contact_sequence GROUP BY person, clinician""",
        )
        per_person = Step(
            "per_person",
            """SELECT person, SUM(n) AS visits, COUNT(*) AS clinicians, MAX(n) AS usual,
              SUM(n * n) AS squares, SUM(same_pairs) AS same_pairs
            FROM per_clinician GROUP BY person""",
        )
        return (ordered, per_clinician, per_person)

    def indices_sql(self) -> str:
        """Each person's indices (after :meth:`steps`), unordered: a step for the practice figures."""
        n, tenth = as_double("visits"), as_double("0.1")
        return f"""SELECT person, CAST(visits AS BIGINT) AS visits, CAST(clinicians AS BIGINT) AS clinicians,
          {as_double("usual")} / {n} AS upc,
          CASE WHEN visits < 2 THEN NULL ELSE {as_double("squares - visits")} / ({n} * {as_double("visits - 1")}) END AS coc,
          {as_double("squares")} / ({n} * {n}) AS hhi,
          ({as_double("1")} - {as_double("clinicians")} / ({n} + {tenth})) / ({as_double("1")} - {as_double("1")} / ({n} + {tenth})) AS mmci,
          CASE WHEN visits < 2 THEN NULL ELSE {as_double("same_pairs")} / {as_double("visits - 1")} END AS secon
        FROM per_person"""

    def output_query(self) -> str:
        return f"{self.indices_sql()} ORDER BY person"


def shape(table: pa.Table) -> pa.Table:
    """An engine's answer (already ordered by person) as :data:`INDICES_SCHEMA`."""
    return conform(table, INDICES_SCHEMA)

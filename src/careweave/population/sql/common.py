"""What every SQL builder shares: the dialect, the step, the compile context and literal helpers.

The steps are written in the portable subset of SQL that DuckDB and Spark SQL both run unchanged;
the only dialect difference, identifier quoting, goes through :class:`Dialect`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from careweave.population.extract_schema import ACTIVE_CLINICAL_STATUSES
from careweave.population.features import FeatureKnowledge, FeatureSpecification, Windows
from careweave.terminology.models import Code


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines' SQL: only how an identifier is quoted."""

    name: str
    quote_char: str

    def quote(self, identifier: str) -> str:
        return f"{self.quote_char}{identifier}{self.quote_char}"


DUCKDB_DIALECT: Final = Dialect("duckdb", '"')
SPARK_DIALECT: Final = Dialect("spark", "`")


@dataclass(frozen=True)
class Step:
    """A named relation. ``materialize``: the engine stores it (it is read more than once)."""

    name: str
    sql: str
    materialize: bool = False


_IDENTIFIER_TOKEN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def identifiers(sql: str) -> frozenset[str]:
    """Every whole identifier-like word in ``sql`` (quoted or not, in any clause, even in a literal).

    Matching whole words means a step named ``monitoring`` is not found inside ``monitoring_due``.
    A word that only happens to spell a step's name (a column alias, a literal) counts too: that can
    only keep a step that was not needed, never drop one that was.
    """
    return frozenset(_IDENTIFIER_TOKEN.findall(sql))


def step_dependencies(steps: Sequence[Step]) -> dict[str, frozenset[str]]:
    """Each step's direct dependencies: the other steps whose names its SQL mentions as identifiers."""
    names = {step.name for step in steps}
    return {step.name: (identifiers(step.sql) & names) - {step.name} for step in steps}


def steps_needed(steps: Sequence[Step], queries: Iterable[str]) -> tuple[Step, ...]:
    """The steps ``queries`` read, directly or through other steps, in their original order.

    Pruning the rest changes no answer: a step that no kept step and no query names cannot be read.
    """
    dependencies = step_dependencies(steps)
    names = set(dependencies)
    wanted: set[str] = set()
    pending = [name for query in queries for name in identifiers(query) & names]
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(dependencies[name] - wanted)
    return tuple(step for step in steps if step.name in wanted)


def date_literal(day: dt.date | None) -> str:
    return "NULL" if day is None else f"DATE '{day.isoformat()}'"


def string_list(values: Sequence[str]) -> str:
    """Comma-separated SQL string literals (``NULL`` for none); refuses values holding a quote."""
    for value in values:
        if "'" in value:
            raise ValueError(f"value {value!r} cannot be a SQL literal")
    return ", ".join(f"'{v}'" for v in values) if values else "NULL"


def flag(condition: str) -> str:
    """An aggregate that is 1 when any row of the group meets ``condition``, else 0."""
    return f"MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)"


#: A condition's date: its onset, else when it was recorded.
CONDITION_DATE: Final = "COALESCE(c.onset_date, c.recorded_date)"
#: The clinical statuses in which a coded condition counts, as a SQL list.
ACTIVE_STATUSES: Final = string_list(ACTIVE_CLINICAL_STATUSES)


@dataclass(frozen=True)
class Context:
    """One compilation: the specification, the dialect, and the windows resolved once."""

    spec: FeatureSpecification
    dialect: Dialect
    windows: Windows
    #: ``spec.as_of`` as a SQL date literal.
    as_of: str

    @classmethod
    def of(cls, spec: FeatureSpecification, dialect: Dialect) -> Context:
        windows = spec.windows
        return cls(spec, dialect, windows, date_literal(windows.as_of))

    @property
    def knowledge(self) -> FeatureKnowledge:
        return self.spec.knowledge


def code_table(pairs: Sequence[tuple[Code, str]], id_column: str) -> pa.Table:
    """A code list lookup: distinct ``(system, code) -> id`` rows in sorted order."""
    unique = sorted(set(pairs))
    return pa.table(
        {
            "system": pa.array([c[0][0] for c in unique], pa.string()),
            "code": pa.array([c[0][1] for c in unique], pa.string()),
            id_column: pa.array([c[1] for c in unique], pa.string()),
        }
    )

"""Worked cases for the medicines review: a few people with prescriptions and coded events, built
as the review's input tables and run on an engine. Codes come from the reviewed rules, so a case
tracks the data it tests."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from careweave.population.features import months_before
from careweave.population.medicines import Finding, MedicinesReview, ReviewInputs, review
from careweave.population.medicines.engines import Engine
from careweave.population.medicines.inputs import EVENT, MEDICATION, PERSON, day_number
from careweave.terminology.loading.medicines_rules import load_medicines_rules

AS_OF = dt.date(2026, 6, 30)
RULES = load_medicines_rules()
SNOMED = "http://snomed.info/sct"
DMD = "https://dmd.nhs.uk"


def months(n: int, days: int = 0) -> dt.date:
    """``n`` calendar months before AS_OF, then ``days`` more days back (negative: forward)."""
    return months_before(AS_OF, n) - dt.timedelta(days=days)


def code_of(fact_id: str, *, unless: bool = False) -> tuple[str, str]:
    """The first SNOMED CT code of a fact's code list (or of its 'unless later' list)."""
    fact = RULES.fact(fact_id)
    return sorted(c for c in (fact.unless_codes if unless else fact.codes) if c[0] == SNOMED)[0]


def born(age: int) -> dt.date:
    """Born so as to turn ``age`` on AS_OF."""
    return AS_OF.replace(year=AS_OF.year - age)


@dataclass
class Case:
    people: list[dict[str, Any]] = field(default_factory=list)
    medication: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def person(self, pid: int, age: int = 70, sex: str = "female", *, birth: dt.date | None = None) -> Case:
        day = birth or born(age)
        self.people.append(
            {
                "person_id": pid,
                "birth_ymd": int(day.strftime("%Y%m%d")),
                "sex": sex,
                "deceased": False,
                "deceased_day": None,
            }
        )
        return self

    def med(
        self,
        pid: int,
        display: str,
        on: dt.date,
        *,
        status: str | None = "active",
        course: str | None = None,
        code: str | None = None,
    ) -> Case:
        self.medication.append(
            {
                "person_id": pid,
                "system": DMD,
                "code": code or str(10_000_000 + zlib.crc32(display.encode()) % 10_000_000),
                "display": display,
                "day": day_number(on),
                "status": status,
                "course": course,
            }
        )
        return self

    def event(self, pid: int, code: tuple[str, str], on: dt.date, value: float | None = None) -> Case:
        self.events.append(
            {"person_id": pid, "system": code[0], "code": code[1], "day": day_number(on), "value": value}
        )
        return self

    def inputs(self) -> ReviewInputs:
        return ReviewInputs(
            {
                "person": pa.Table.from_pylist(self.people, schema=PERSON),
                "medication": pa.Table.from_pylist(self.medication, schema=MEDICATION),
                "event": pa.Table.from_pylist(self.events, schema=EVENT),
            }
        )

    def findings(self, engine: Engine = "duckdb", as_of: dt.date = AS_OF) -> list[Finding]:
        return review(self.inputs(), MedicinesReview.of(as_of, rules=RULES), engine)

    def rules_for(self, pid: int, engine: Engine = "duckdb") -> set[str]:
        return {f.rule for f in self.findings(engine) if f.person_id == pid}

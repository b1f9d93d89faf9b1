"""The burden measures and the duplicated-test flag, written once as SQL steps that DuckDB and Spark
SQL both run unchanged.

Inputs (dates as day numbers since 1970-01-01):

- ``contact``: one row per contact with a service: person, day, organisation, clinician (may be null);
- ``test``: one row per test result: person, day, organisation, system, code.

Per person, over the period (both ends inclusive): ``contacts``, ``contacts_per_year`` (contacts /
period days x 365.25), ``organisations``, ``clinicians`` (named ones), ``contact_days`` and
``duplicate_tests``. A **duplicated test** is a test (the same test by any of its codes) taken within
``window_days`` after (or on the same day as) the same test at a *different* organisation; each repeat
is flagged once, against the latest such earlier test. Results of one test carried under two codes on
one day at one organisation are one test. A person with a duplicated test but no contact in the
period still gets a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from careweave.population.continuity.extract import day_number
from careweave.population.sql.common import Step
from careweave.terminology.care_burden import CareBurdenRules, load_care_burden

CONTACT_SCHEMA: Final = pa.schema(
    [("person", pa.string()), ("day", pa.int32()), ("organisation", pa.string()), ("clinician", pa.string())]
)
TEST_SCHEMA: Final = pa.schema(
    [
        ("person", pa.string()),
        ("day", pa.int32()),
        ("organisation", pa.string()),
        ("system", pa.string()),
        ("code", pa.string()),
    ]
)
BURDEN_SCHEMA: Final = pa.schema(
    [
        ("person", pa.string()),
        ("contacts", pa.int64()),
        ("contacts_per_year", pa.float64()),
        ("organisations", pa.int64()),
        ("clinicians", pa.int64()),
        ("contact_days", pa.int64()),
        ("duplicate_tests", pa.int64()),
    ]
)
DUPLICATE_SCHEMA: Final = pa.schema(
    [
        ("person", pa.string()),
        ("test", pa.string()),
        ("first_day", pa.int32()),
        ("first_organisation", pa.string()),
        ("repeat_day", pa.int32()),
        ("repeat_organisation", pa.string()),
        ("window_days", pa.int32()),
    ]
)
DAYS_PER_YEAR: Final = 365.25


@dataclass(frozen=True)
class BurdenQuestion:
    """The reviewed rules and the period, ``start`` to ``end`` inclusive."""

    rules: CareBurdenRules
    start: dt.date
    end: dt.date

    @classmethod
    def of(cls, start: dt.date, end: dt.date) -> BurdenQuestion:
        if end < start:
            raise ValueError(f"the period ends ({end}) before it starts ({start})")
        rules = load_care_burden()
        computed = tuple(BURDEN_SCHEMA.names[1:])
        if rules.measures != computed:
            raise ValueError(
                f"care_burden.yaml lists the measures {rules.measures}, the engines compute {computed}"
            )
        return cls(rules, start, end)

    def lookups(self) -> dict[str, pa.Table]:
        rows = [
            {"system": system, "code": code, "test": test.id, "window_days": test.window_days}
            for test in self.rules.duplicate_tests
            for system, code in sorted(test.codes)
        ]
        schema = pa.schema(
            [
                ("system", pa.string()),
                ("code", pa.string()),
                ("test", pa.string()),
                ("window_days", pa.int32()),
            ]
        )
        return {"duplicate_test_code": pa.Table.from_pylist(rows, schema=schema)}

    def _period(self, alias: str) -> str:
        return f"{alias}.day BETWEEN {day_number(self.start)} AND {day_number(self.end)}"

    def steps(self) -> tuple[Step, ...]:
        tests = Step(
            "coded_test",
            f"""SELECT DISTINCT t.person, c.test, c.window_days, t.day, t.organisation
            FROM test t JOIN duplicate_test_code c ON c.system = t.system AND c.code = t.code
            WHERE {self._period("t")} AND t.organisation IS NOT NULL AND t.organisation <> ''""",
            materialize=True,
        )
        pairs = Step(
            "test_pair",
            """SELECT b.person, b.test, a.day AS first_day, a.organisation AS first_organisation,
              b.day AS repeat_day, b.organisation AS repeat_organisation, b.window_days,
              ROW_NUMBER() OVER (PARTITION BY b.person, b.test, b.day, b.organisation
                                 ORDER BY a.day DESC, a.organisation) AS latest
            FROM coded_test b JOIN coded_test a ON a.person = b.person AND a.test = b.test
              AND a.organisation <> b.organisation AND b.day - a.day BETWEEN 0 AND b.window_days
              AND (a.day < b.day OR a.organisation < b.organisation)""",
        )
        duplicates = Step(
            "duplicate_test",
            """SELECT person, test, first_day, first_organisation, repeat_day, repeat_organisation, window_days
            FROM test_pair WHERE latest = 1""",
            materialize=True,
        )
        contacts = Step(
            "contact_burden",
            f"""SELECT person, COUNT(*) AS contacts, COUNT(DISTINCT organisation) AS organisations,
              COUNT(DISTINCT clinician) AS clinicians, COUNT(DISTINCT day) AS contact_days
            FROM contact c WHERE {self._period("c")} GROUP BY person""",
        )
        return (tests, pairs, duplicates, contacts)

    def burden_query(self) -> str:
        days = (self.end - self.start).days + 1
        return f"""SELECT COALESCE(c.person, d.person) AS person,
          CAST(COALESCE(c.contacts, 0) AS BIGINT) AS contacts,
          CAST(COALESCE(c.contacts, 0) AS DOUBLE) * CAST({DAYS_PER_YEAR} AS DOUBLE) / CAST({days} AS DOUBLE)
            AS contacts_per_year,
          CAST(COALESCE(c.organisations, 0) AS BIGINT) AS organisations,
          CAST(COALESCE(c.clinicians, 0) AS BIGINT) AS clinicians,
          CAST(COALESCE(c.contact_days, 0) AS BIGINT) AS contact_days,
          CAST(COALESCE(d.duplicate_tests, 0) AS BIGINT) AS duplicate_tests
        FROM contact_burden c
        FULL OUTER JOIN (SELECT person, COUNT(*) AS duplicate_tests FROM duplicate_test GROUP BY person) d
          ON d.person = c.person
        ORDER BY person"""

    def duplicates_query(self) -> str:
        return """SELECT person, test, first_day, first_organisation, repeat_day, repeat_organisation, window_days
        FROM duplicate_test ORDER BY person, test, repeat_day, repeat_organisation"""

"""The outcomes page's aggregates, from one row per person and one row per month and group, in DuckDB:
counts, rates, means and medians by cluster, age band, sex, deprivation quintile and ethnic group, and
the monthly series, suppressed and rounded (`outcomes_rules`) before they are kept. Nothing about a
person leaves this module: its output is what the page and the CSV show.

Inputs (Arrow tables, see PEOPLE_SCHEMA and MONTHLY_SCHEMA): the planning population only (people
with a national data opt-out are never in them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import duckdb
import pyarrow as pa

from careweave.web.outcomes_rules import ETHNIC_ORDER, rate_per, shown_mean, suppress

PEOPLE_SCHEMA: Final = pa.schema(
    [
        pa.field("cluster", pa.string()),
        pa.field("age_band", pa.string()),
        pa.field("sex", pa.string()),
        pa.field("imd", pa.string()),
        pa.field("ethnicity", pa.string()),
        pa.field("emergency", pa.int32()),  # emergency admissions in the 12 months
        pa.field("ae", pa.int32()),  # A&E attendances
        pa.field("died", pa.bool_()),  # died in the 12 months
        pa.field("prem", pa.float64()),  # latest co-ordination PREM score, if answered
        pa.field("upc", pa.float64()),  # continuity with the usual GP (UPC), if 1+ GP contacts
        pa.field("medicines", pa.int32()),  # medicines review findings (null: not available)
        pa.field("wait_weeks", pa.float64()),  # longest open referral wait, if waiting
        pa.field("contacts", pa.int32()),  # contacts with any service
        pa.field("organisations", pa.int32()),  # organisations seen
    ]
)
MONTHLY_SCHEMA: Final = pa.schema(
    [
        pa.field("month", pa.string()),  # YYYY-MM
        pa.field("imd", pa.string()),
        pa.field("emergency", pa.int64()),
        pa.field("ae", pa.int64()),
    ]
)

MOST_DEPRIVED: Final = "1 (most deprived)"
QUINTILES: Final = (MOST_DEPRIVED, "2", "3", "4", "5 (least deprived)", "Not known")
AGE_ORDER: Final = ("Under 45", "45 to 64", "65 to 74", "75 and over", "Not recorded")
SEX_ORDER: Final = ("female", "male", "other", "unknown", "Not recorded")


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    kind: str  # rate (per 1,000 people) | mean | median
    unit: str
    higher_is_better: bool | None = None


MEASURES: Final = (
    Measure("emergency", "Emergency admissions", "rate", "per 1,000 people a year", False),
    Measure("ae", "A&E attendances", "rate", "per 1,000 people a year", False),
    Measure("deaths", "Deaths", "rate", "per 1,000 people a year", False),
    Measure("prem", "Co-ordination PREM score", "mean", "mean, 0 to 12 (higher is more joined-up)", True),
    Measure("upc", "Continuity with the usual GP", "mean", "mean UPC, 0 to 1", True),
    Measure("medicines", "People with a medicines review finding", "rate", "per 1,000 people", False),
    Measure("waits", "Referral waits", "median", "median weeks, people waiting", False),
    Measure("contacts", "Contacts with services", "mean", "mean per person a year", None),
    Measure("organisations", "Organisations seen", "mean", "mean per person a year", None),
)
DIMENSIONS: Final = (
    ("cluster", "Cluster"),
    ("age_band", "Age band"),
    ("sex", "Sex"),
    ("imd", "Deprivation (IMD quintile)"),
    ("ethnicity", "Ethnic group"),
)
ORDERS: Final[dict[str, tuple[str, ...]]] = {
    "age_band": AGE_ORDER,
    "sex": SEX_ORDER,
    "imd": QUINTILES,
    "ethnicity": ETHNIC_ORDER,
}

_SQL: Final = """
SELECT {group} AS grp,
       count(*) AS people,
       sum(emergency) AS emergency_events,
       sum(ae) AS ae_events,
       count(*) FILTER (WHERE died) AS deaths,
       count(prem) AS prem_n, avg(prem) AS prem,
       count(upc) AS upc_n, avg(upc) AS upc,
       count(medicines) AS medicines_n, count(*) FILTER (WHERE medicines > 0) AS medicines_people,
       count(wait_weeks) AS waits_n, median(wait_weeks) AS waits,
       avg(contacts) AS contacts, avg(organisations) AS organisations
FROM people GROUP BY ALL
"""


def _row(raw: dict[str, Any], medicines_available: bool) -> dict[str, Any]:
    people = int(raw["people"])
    values = {
        "emergency": rate_per(int(raw["emergency_events"] or 0), people),
        "ae": rate_per(int(raw["ae_events"] or 0), people),
        "deaths": rate_per(int(raw["deaths"] or 0), people),
        "prem": shown_mean(raw["prem"], int(raw["prem_n"])),
        "upc": shown_mean(raw["upc"], int(raw["upc_n"])),
        "medicines": rate_per(int(raw["medicines_people"] or 0), int(raw["medicines_n"]))
        if medicines_available
        else None,
        "waits": shown_mean(raw["waits"], int(raw["waits_n"])),
        "contacts": shown_mean(raw["contacts"], people),
        "organisations": shown_mean(raw["organisations"], people),
    }
    counted = {
        "emergency": suppress(int(raw["emergency_events"] or 0)),
        "ae": suppress(int(raw["ae_events"] or 0)),
        "deaths": suppress(int(raw["deaths"] or 0)),
        "prem": suppress(int(raw["prem_n"])),
        "upc": suppress(int(raw["upc_n"])),
        "medicines": suppress(int(raw["medicines_people"] or 0)) if medicines_available else None,
        "waits": suppress(int(raw["waits_n"])),
        "contacts": suppress(people),
        "organisations": suppress(people),
    }
    return {"people": suppress(people), "values": values, "counts": counted}


def _query(con: duckdb.DuckDBPyConnection, group: str) -> list[dict[str, Any]]:
    cursor = con.execute(_SQL.format(group=group))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def aggregate(
    people: pa.Table, monthly: pa.Table, *, months: list[str], medicines_available: bool
) -> dict[str, Any]:
    """The page's data: every figure already suppressed (None where hidden)."""
    con = duckdb.connect()
    try:
        con.register("people", people)
        con.register("monthly", monthly)
        overall = _query(con, "'All people'")
        dimensions = []
        for key, title in DIMENSIONS:
            found = {str(r["grp"]): r for r in _query(con, f"coalesce({key}, 'Not recorded')")}
            order = ORDERS.get(key)
            names = (
                [n for n in order if n in found] + sorted(set(found) - set(order)) if order else sorted(found)
            )
            rows = [
                {
                    "group": name,
                    "highlight": key == "imd" and name == MOST_DEPRIVED,
                    **_row(found[name], medicines_available),
                }
                for name in names
            ]
            dimensions.append({"key": key, "title": title, "rows": rows})
        denominators = dict(con.execute("SELECT imd, count(*) FROM people GROUP BY ALL").fetchall())
        by_month: dict[str, dict[str, dict[str, int]]] = {}
        for month, imd, emergency, ae in con.execute(
            "SELECT month, imd, emergency, ae FROM monthly"
        ).fetchall():
            slot = by_month.setdefault(month, {})
            for name in ("All people", *((MOST_DEPRIVED,) if imd == MOST_DEPRIVED else ())):
                totals = slot.setdefault(name, {"emergency": 0, "ae": 0})
                totals["emergency"] += int(emergency)
                totals["ae"] += int(ae)
    finally:
        con.close()
    population = {"All people": people.num_rows, MOST_DEPRIVED: int(denominators.get(MOST_DEPRIVED, 0))}
    series = []
    for measure, group, title in (
        ("emergency", "All people", "Emergency admissions per 1,000 people a month"),
        (
            "emergency",
            MOST_DEPRIVED,
            "Emergency admissions per 1,000 people a month: the most deprived fifth",
        ),
        ("ae", "All people", "A&E attendances per 1,000 people a month"),
    ):
        points = []
        for month in months:
            events = by_month.get(month, {}).get(group, {}).get(measure, 0)
            points.append(
                {"month": month, "events": suppress(events), "rate": rate_per(events, population[group])}
            )
        series.append({"measure": measure, "group": group, "title": title, "points": points})
    return {
        "measures": [m.__dict__ for m in MEASURES],
        "overall": {"group": "All people", "highlight": False, **_row(overall[0], medicines_available)}
        if overall
        else None,
        "dimensions": dimensions,
        "series": series,
        "medicines_available": medicines_available,
    }

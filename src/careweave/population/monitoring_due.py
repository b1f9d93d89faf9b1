"""Each person's monitoring items, as plain values: what is due, why, when it was last done and when
it falls due. Django-free; the review planner brings these together into one visit.

:func:`due_items` runs the same specification as the features (``monitoring_due`` output, on DuckDB
or Spark) and adds the due date: the first reference date on which the last check falls outside
the interval (for a check never recorded, the reference date itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

import pyarrow as pa

from careweave.population.compute import compute_outputs
from careweave.population.extract_schema import Extract
from careweave.population.features import EngineName, FeatureKnowledge
from careweave.population.sql.monitoring import MONTH_NAMES
from careweave.terminology.loading.schedules import Interval, IntervalUnit

__all__ = ["DueItem", "due_items", "items_from_table"]


@dataclass(frozen=True)
class DueItem:
    """One monitoring rule that applies to a person."""

    person_id: int
    #: The rule (monitoring.yaml or drug_monitoring.yaml requirement id, ``<id>.<check>`` for a
    #: drug requirement with several checks).
    rule_id: str
    #: ``condition`` or ``drug``, and the condition id or medicine class id it is due for.
    kind: Literal["condition", "drug"]
    subject_id: str
    check_id: str
    #: What is checked, e.g. ``HbA1c``, ``Lithium level``.
    name: str
    #: The interval the person's stage calls for.
    interval: Interval
    last_system: str | None
    last_code: str | None
    last_date: dt.date | None
    last_value: float | None
    #: From this date the item is overdue (as_of for a check never recorded).
    due_date: dt.date
    overdue: bool

    @property
    def reason(self) -> str:
        """``HbA1c last recorded 14 March 2025, due every 6 months`` (the detail column's wording)."""
        when = (
            "never recorded"
            if self.last_date is None
            else f"last recorded {self.last_date.day} {MONTH_NAMES[self.last_date.month - 1]} {self.last_date.year}"
        )
        return f"{self.name} {when}, due {self.interval.text}"


def items_from_table(table: pa.Table, as_of: dt.date) -> dict[int, list[DueItem]]:
    """The ``monitoring_due`` output as items per person (in person, then rule order)."""
    result: dict[int, list[DueItem]] = {}
    for row in table.to_pylist():
        interval = Interval(int(row["interval_count"]), cast(IntervalUnit, row["interval_unit"]))
        last_date = row["last_date"]
        item = DueItem(
            person_id=int(row["person_id"]),
            rule_id=row["rule_id"],
            kind=row["kind"],
            subject_id=row["subject_id"],
            check_id=row["check_id"],
            name=row["name"],
            interval=interval,
            last_system=row["last_system"],
            last_code=row["last_code"],
            last_date=last_date,
            last_value=row["last_value"],
            due_date=as_of if last_date is None else interval.overdue_from(last_date),
            overdue=bool(row["overdue"]),
        )
        result.setdefault(item.person_id, []).append(item)
    return result


def due_items(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
    people: Iterable[int] | None = None,
) -> dict[int, list[DueItem]]:
    """Every applicable monitoring item per person alive on ``as_of`` (overdue or not), optionally
    only for ``people``."""
    table = compute_outputs(extract, as_of, ("monitoring_due",), engine, knowledge=knowledge)[
        "monitoring_due"
    ]
    items = items_from_table(table, as_of)
    if people is None:
        return items
    wanted = set(people)
    return {person: found for person, found in items.items() if person in wanted}

"""A person's review as plain values (what the command line prints and a page shows), read from the
plan's Arrow tables for the people asked for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc

from careweave.terminology.loading.reviews import ReviewPlanning
from careweave.terminology.loading.schedules import Interval, IntervalUnit

from .plan import ReviewPlan

__all__ = ["BloodTest", "PlannedItem", "Review", "reviews_from_plan"]


@dataclass(frozen=True)
class PlannedItem:
    """One monitoring item in the review, with the rule that asks for it and when it was last done."""

    item: str
    rule: str
    kind: str
    subject: str
    interval: Interval
    last_done: dt.date | None
    last_code: str | None
    last_value: float | None
    due: dt.date
    overdue: bool
    clinician_type: str


@dataclass(frozen=True)
class BloodTest:
    """One laboratory test, once, with every rule that asks for it (``reasons``: rule id, item)."""

    test: str
    name: str
    sample: str
    reasons: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Review:
    person_id: int
    review_date: dt.date
    #: None when no laboratory test is due.
    phlebotomy_date: dt.date | None
    items: tuple[PlannedItem, ...]
    bloods: tuple[BloodTest, ...]
    slot_minutes: int
    #: The labels of the double-slot rules that hold (empty for a standard slot).
    slot_reasons: tuple[str, ...]
    clinician_type: str
    usual_practitioner_id: int | None

    def as_json(self, *, nhs_number: str | None, usual_clinician: dict[str, Any] | None) -> dict[str, Any]:
        """The printed object (``careweave reviews plan --json``); dates as ISO strings."""
        return {
            "nhs_number": nhs_number,
            "review_date": self.review_date.isoformat(),
            "phlebotomy_date": self.phlebotomy_date.isoformat() if self.phlebotomy_date else None,
            "items": [
                {
                    "item": i.item,
                    "rule": i.rule,
                    "for": i.subject,
                    "interval": i.interval.text,
                    "last_done": i.last_done.isoformat() if i.last_done else None,
                    "last_code": i.last_code,
                    "last_value": i.last_value,
                    "due": i.due.isoformat(),
                    "overdue": i.overdue,
                    "clinician_type": i.clinician_type,
                }
                for i in self.items
            ],
            "bloods": [
                {
                    "test": b.name,
                    "id": b.test,
                    "sample": b.sample,
                    "reasons": [{"rule": rule, "item": item} for rule, item in b.reasons],
                }
                for b in self.bloods
            ],
            "slot_minutes": self.slot_minutes,
            "slot_reasons": list(self.slot_reasons),
            "clinician_type": self.clinician_type,
            "usual_clinician": usual_clinician,
        }


def _rows(table: pa.Table, people: pa.Array | None) -> list[dict[str, Any]]:
    if people is not None:
        table = table.filter(pc.is_in(table["person_id"], value_set=people))
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def reviews_from_plan(
    plan: ReviewPlan, planning: ReviewPlanning, people: Collection[int] | None = None
) -> list[Review]:
    """The reviews (all, or of ``people``) in person order, each with its items and blood set."""
    wanted = None if people is None else pa.array(sorted(people), pa.int64())
    items: dict[int, list[PlannedItem]] = {}
    for row in _rows(plan.items, wanted):
        items.setdefault(row["person_id"], []).append(
            PlannedItem(
                item=row["name"],
                rule=row["rule_id"],
                kind=row["kind"],
                subject=row["subject_id"],
                interval=Interval(row["interval_count"], cast(IntervalUnit, row["interval_unit"])),
                last_done=row["last_date"],
                last_code=row["last_code"],
                last_value=row["last_value"],
                due=row["due"],
                overdue=bool(row["overdue"]),
                clinician_type=row["clinician_type"],
            )
        )
    bloods: dict[int, list[BloodTest]] = {}
    for row in _rows(plan.bloods, wanted):
        test = planning.test(row["test_id"])
        reasons = tuple(zip(row["rule_id_list"], row["name_list"], strict=True))
        bloods.setdefault(row["person_id"], []).append(BloodTest(test.id, test.name, test.sample, reasons))
    order = {t.id: i for i, t in enumerate(planning.tests)}
    labels = {f"double_{rule.id}": rule.label for rule in planning.double_slot_rules}
    reviews: list[Review] = []
    for row in sorted(_rows(plan.reviews, wanted), key=lambda r: r["person_id"]):
        person = row["person_id"]
        reviews.append(
            Review(
                person_id=person,
                review_date=row["review_date"],
                phlebotomy_date=row["phlebotomy_date"],
                items=tuple(items.get(person, ())),
                bloods=tuple(sorted(bloods.get(person, ()), key=lambda b: order[b.test])),
                slot_minutes=row["slot_minutes"],
                slot_reasons=tuple(label for column, label in labels.items() if row.get(column)),
                clinician_type=row["clinician_type"],
                usual_practitioner_id=row["usual_practitioner_id"],
            )
        )
    return reviews

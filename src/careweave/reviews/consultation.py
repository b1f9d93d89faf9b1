"""The review template (issue 14, item 6): one consultation that walks through every merged item
(the last result, the check to do, the rule that asks for it), the person's priorities from their
care plan, and the prompts due; one save records each result as a coded Observation, marks the
Appointment fulfilled and writes the care plan's next review date, all or nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from django.db import transaction
from django.utils import timezone

from careweave.care import services as care
from careweave.fhir.outcome import Refused
from careweave.governance.access import Permission, open_record
from careweave.record import models as rm
from careweave.reviews.models import Booking
from careweave.reviews.services import PlannerError, importer_for, write_bundle
from careweave.terminology.loading.drug_monitoring import load_monitoring_schedules
from careweave.terminology.models import SNOMED
from careweave.ui.format import format_date, format_nhs_number

MAX_VALUE = 200


class ReviewError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@functools.cache
def _rule_codes() -> dict[str, tuple[str, str]]:
    """rule id -> the code its check is recorded with (SNOMED CT first, then the lowest code)."""
    codes: dict[str, tuple[str, str]] = {}
    for rule in load_monitoring_schedules().rules:
        ordered = sorted(rule.check.codes, key=lambda c: (c[0] != SNOMED, c[0], c[1]))
        if ordered:
            codes[rule.id] = ordered[0]
    return codes


@dataclass(frozen=True)
class ItemResult:
    rule: str
    item: str
    done: bool
    value: str


@dataclass(frozen=True)
class ReviewForm:
    results: tuple[ItemResult, ...]
    next_review: dt.date | None
    next_raw: tuple[str, str, str]

    @classmethod
    def from_post(cls, post: Mapping[str, str], booking: Booking) -> ReviewForm:
        results = tuple(
            ItemResult(
                rule=item["rule"],
                item=item["item"],
                done=post.get(f"item-{i}-done") == "yes",
                value=(post.get(f"item-{i}-value") or "").strip(),
            )
            for i, item in enumerate(booking.items)
        )
        raw = (post.get("next-day", ""), post.get("next-month", ""), post.get("next-year", ""))
        try:
            next_review: dt.date | None = dt.date(int(raw[2]), int(raw[1]), int(raw[0]))
        except (TypeError, ValueError, OverflowError):
            next_review = None
        return cls(results, next_review, raw)


def _value(result: ItemResult, index: int) -> dict[str, Any]:
    if len(result.value) > MAX_VALUE:
        raise ReviewError(f"{result.item}: keep the result to {MAX_VALUE} characters", f"item-{index}-value")
    try:
        number = float(result.value)
    except ValueError:
        return {"valueString": result.value or "Done at the review"}
    if number != number or number in (float("inf"), float("-inf")):
        raise ReviewError(f"{result.item}: enter a number or words", f"item-{index}-value")
    return {"valueQuantity": {"value": number}}


def _observation(person: rm.Person, result: ItemResult, index: int, now: dt.datetime) -> dict[str, Any]:
    code = _rule_codes().get(result.rule)
    if code is None:
        raise ReviewError(
            f"{result.item}: no code to record it with (rule {result.rule})", f"item-{index}-value"
        )
    return {
        "id": str(uuid.uuid4()),
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": code[0], "code": code[1]}], "text": result.item},
        "subject": {"reference": f"Patient/{person.resource.logical_id}"},
        "effectiveDateTime": now.isoformat(),
        **_value(result, index),
    }


def record_review(*, user: Any, booking: Booking, form: ReviewForm) -> None:
    """Every item done (or given a result) as a coded Observation, the review Appointment fulfilled,
    and the care plan's next review date, in one transaction."""
    person = booking.person
    if form.next_review is None:
        raise ReviewError("Enter the date of the next review, for example 15 3 2027", "next-day")
    today = timezone.localdate()
    if not today < form.next_review <= today + dt.timedelta(days=731):
        raise ReviewError("The next review must be after today and within 2 years", "next-day")
    done = [(i, r) for i, r in enumerate(form.results) if r.done or r.value]
    if not done:
        raise ReviewError("Record at least one item of the review", "item-0-done")
    access = open_record(
        user=user,
        person=person,
        action="create",
        resource_type="Observation",
        permission=Permission.WRITE_RECORDS,
        audit=False,
    )
    now = timezone.now()
    resources = [_observation(person, r, i, now) for i, r in done]
    with transaction.atomic():
        try:
            ids = write_bundle(user, resources, "item-0-done")
        except PlannerError as problem:
            raise ReviewError(str(problem), problem.field) from None
        _fulfil(user, booking)
        plan = care.current_care_plan(person)
        data = care.plan_data_from(plan)
        care.save_care_plan(user=user, person=person, data=replace(data, review_date=form.next_review))
        booking.completed_at = now
        booking.save(update_fields=["completed_at"])
        for logical_id in ids:
            access.audit(
                action="create", resource_type="Observation", resource_id=logical_id, reason="review"
            )
        access.audit(
            action="update", resource_type="Appointment", resource_id=booking.appointment_id, reason="review"
        )


def _fulfil(user: Any, booking: Booking) -> None:
    """The review Appointment becomes fulfilled: its stored body, status changed, written as an update."""
    stored = rm.StoredResource.objects.filter(
        resource_type="Appointment", logical_id=booking.appointment_id
    ).first()
    if stored is None:
        return
    body: dict[str, Any] = orjson.loads(stored.body)
    body["status"] = "fulfilled"
    body.pop("meta", None)
    try:
        importer_for(user).import_resource(body, method="PUT", url=f"Appointment/{booking.appointment_id}")
    except Refused as refused:  # a refusal of our own update: nothing is kept (the caller's atomic block)
        message = refused.issues[0].message
        raise ReviewError(f"The record refused the appointment update: {message}", "item-0-done") from None


@dataclass(frozen=True)
class ReviewPage:
    booking: Booking
    name: str
    nhs_number: str
    when: str
    items: list[dict[str, Any]]
    bloods: list[dict[str, Any]]
    priorities: list[str]
    what_matters: str
    review_date: str
    next_form: dict[str, str]
    posted: dict[str, str]


def review_page(user: Any, booking: Booking, posted: Mapping[str, str] | None) -> ReviewPage:
    person = booking.person
    plan = care.current_care_plan(person)
    suggested = max(timezone.localdate(), booking.review_start.date()) + dt.timedelta(days=365)
    raw = posted or {}
    items = [
        {
            "index": i,
            "item": item["item"],
            "rule": item["rule"],
            "for": item.get("for", ""),
            "interval": item.get("interval", ""),
            "last": (
                f"{format_date(dt.date.fromisoformat(item['last_done']))}"
                + (f": {item['last_value']:g}" if item.get("last_value") is not None else "")
                if item.get("last_done")
                else "Never recorded"
            ),
            "overdue": item.get("overdue", False),
            "done": raw.get(f"item-{i}-done") == "yes",
            "value": raw.get(f"item-{i}-value", ""),
        }
        for i, item in enumerate(booking.items)
    ]
    return ReviewPage(
        booking=booking,
        name=person.display_name,
        nhs_number=format_nhs_number(person.nhs_number),
        when=format_date(timezone.localtime(booking.review_start)),
        items=items,
        bloods=[],
        priorities=[p.text for p in plan.priorities.all()] if plan else [],
        what_matters=plan.what_matters if plan else "",
        review_date=format_date(plan.review_date) if plan and plan.review_date else "Not set",
        next_form={
            "day": raw.get("next-day", str(suggested.day)),
            "month": raw.get("next-month", str(suggested.month)),
            "year": raw.get("next-year", str(suggested.year)),
        },
        posted=dict(raw),
    )

"""``careweave medicines review``: the record read into the review's three tables (dates as day
numbers, the prescription's course kept for repeat versus acute), the Django-free rules run on them,
and the findings with NHS numbers. Audited as a system event with counts only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pyarrow as pa
from django.db.models import DateField, F, FloatField, Value
from django.db.models.functions import Cast, Coalesce

from careweave.governance.audit import record_system_event
from careweave.population.medicines import MedicinesReview, ReviewInputs, review
from careweave.population.medicines.engines import Engine
from careweave.population.medicines.inputs import EVENT, MEDICATION, NOT_EVENTS, PERSON, day_number
from careweave.record import models as rm

CHUNK = 50_000


class UnknownPerson(LookupError):
    """No person in the record has that NHS number or id."""


def _rows(queryset: Any, fields: tuple[str, ...], person_pk: int | None) -> Iterable[tuple[Any, ...]]:
    if person_pk is not None:
        queryset = queryset.filter(person_id=person_pk)
    rows: Iterable[tuple[Any, ...]] = queryset.values_list(*fields).iterator(chunk_size=CHUNK)
    return rows


def _columns(schema: pa.Schema, rows: Iterable[tuple[Any, ...]]) -> pa.Table:
    listed: list[list[Any]] = [[] for _ in schema]
    for row in rows:
        for index, value in enumerate(row):
            listed[index].append(value)
    return pa.table([pa.array(v, type=f.type) for v, f in zip(listed, schema, strict=True)], schema=schema)


def _day(value: dt.date | dt.datetime | None) -> int | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    return day_number(value)


def review_inputs(person_pk: int | None = None) -> ReviewInputs:
    """The review's tables from the record (everyone, or one person)."""
    people = rm.Person.objects.filter(birth_date__isnull=False)
    if person_pk is not None:
        people = people.filter(pk=person_pk)
    person = _columns(
        PERSON,
        (
            (pk, int(born.strftime("%Y%m%d")) if born else None, sex or None, deceased, _day(died))
            for pk, born, sex, deceased, died in people.values_list(
                "pk", "birth_date", "sex", "deceased", "deceased_date"
            ).iterator(chunk_size=CHUNK)
        ),
    )
    medication = _columns(
        MEDICATION,
        (
            (pid, system or None, code, display or None, _day(authored), status or None, course or None)
            for pid, system, code, display, authored, status, course in _rows(
                rm.Medication.objects.exclude(code=""),
                ("person_id", "system", "code", "display", "authored_on", "status", "course"),
                person_pk,
            )
        ),
    )
    conditions = (
        (pid, system or None, code, _day(onset or recorded), None)
        for pid, system, code, onset, recorded, verification in _rows(
            rm.Condition.objects.exclude(code=""),
            ("person_id", "system", "code", "onset", "recorded_date", "verification_status"),
            person_pk,
        )
        if verification not in NOT_EVENTS
    )
    observations = (
        (pid, system or None, code, _day(effective), value)
        for pid, system, code, effective, value in _rows(
            rm.Observation.objects.exclude(code=""),
            ("person_id", "system", "code", "effective", "value_canonical"),
            person_pk,
        )
    )
    event = pa.concat_tables([_columns(EVENT, conditions), _columns(EVENT, observations)])
    return ReviewInputs({"person": person, "medication": medication, "event": event})


def person_inputs(person: rm.Person) -> ReviewInputs:
    """One person's review tables in two queries (their medicines; their conditions and observations
    as one union), for pages that show one person's findings within a query budget."""
    born = person.birth_date
    person_table = _columns(
        PERSON,
        [
            (
                person.pk,
                int(born.strftime("%Y%m%d")) if born else None,
                person.sex or None,
                person.deceased,
                _day(person.deceased_date),
            )
        ]
        if born
        else [],
    )
    medication = _columns(
        MEDICATION,
        (
            (person.pk, system or None, code, display or None, _day(authored), status or None, course or None)
            for system, code, display, authored, status, course in rm.Medication.objects.filter(person=person)
            .exclude(code="")
            .values_list("system", "code", "display", "authored_on", "status", "course")
        ),
    )
    conditions = (
        rm.Condition.objects.filter(person=person)
        .exclude(code="")
        .exclude(verification_status__in=NOT_EVENTS)
        .annotate(day=Coalesce("onset", "recorded_date"), number=Value(None, output_field=FloatField()))
        .values_list("system", "code", "day", "number")
    )
    observations = (
        rm.Observation.objects.filter(person=person)
        .exclude(code="")
        .annotate(day=Cast("effective", DateField()), number=F("value_canonical"))
        .values_list("system", "code", "day", "number")
    )
    event = _columns(
        EVENT,
        (
            (person.pk, system or None, code, _day(day), number)
            for system, code, day, number in conditions.union(observations, all=True)
        ),
    )
    return ReviewInputs({"person": person_table, "medication": medication, "event": event})


def find_person(identifier: str) -> int:
    """The record's person for an NHS number or a Patient logical id; UnknownPerson otherwise."""
    found = rm.Person.objects.filter(nhs_number=identifier).values_list("pk", flat=True).first()
    if found is None:
        found = rm.Person.objects.filter(resource__logical_id=identifier).values_list("pk", flat=True).first()
    if found is None:
        raise UnknownPerson(identifier)
    return int(found)


def medicines_findings(
    *, as_of: dt.date | None = None, person: str | None = None, engine: Engine = "duckdb"
) -> list[dict[str, Any]]:
    """Every finding on ``as_of`` (default today) as the printed objects, audited with counts only."""
    when = as_of or dt.date.today()
    person_pk = find_person(person) if person is not None else None
    inputs = review_inputs(person_pk)
    found = review(inputs, MedicinesReview.of(when, person_id=person_pk), engine)
    people = inputs.tables["person"]
    people_count = people.num_rows if isinstance(people, pa.Table) else people.count_rows()
    numbers = dict(
        rm.Person.objects.filter(pk__in={f.person_id for f in found}).values_list("pk", "nhs_number")
    )
    counts: dict[str, int] = {}
    for finding in found:
        counts[finding.family] = counts.get(finding.family, 0) + 1
    record_system_event(
        "medicines-review",
        "careweave medicines review",
        detail=f"as of {when.isoformat()}: {people_count} people, "
        + (", ".join(f"{n} {family}" for family, n in sorted(counts.items())) or "no findings"),
        person_id=person_pk,
    )
    return [{**f.as_json(), "nhs_number": numbers.get(f.person_id) or None} for f in found]

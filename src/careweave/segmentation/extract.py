"""The population extract: the shared care record as the six Arrow tables of the analytics contract
(`careweave.population.extract_schema`). Streams rows from the database in chunks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
from django.db.models import QuerySet

from careweave.population.extract_schema import ALLOWED_VALUES, EXTRACT_SCHEMAS, Extract
from careweave.record import models as rm

CHUNK = 50_000
# A verification status outside FHIR's value set is "not recorded" (the code counts), not an error.
_VERIFICATION_STATUSES = ALLOWED_VALUES[("condition", "verification_status")]


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _table(name: str, rows: Iterable[Sequence[Any]], convert: dict[int, Any] | None = None) -> pa.Table:
    schema = EXTRACT_SCHEMAS[name]
    columns: list[list[Any]] = [[] for _ in schema]
    for row in rows:
        for i, value in enumerate(row):
            columns[i].append(convert[i](value) if convert and i in convert else value)
    return pa.table(
        [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)], schema=schema
    )


def _stream(qs: QuerySet[Any], *fields: str) -> Iterable[tuple[Any, ...]]:
    return qs.values_list(*fields).iterator(chunk_size=CHUNK)


def build_extract() -> Extract:
    people = _stream(
        rm.Person.objects.filter(birth_date__isnull=False).order_by("pk"),
        "pk",
        "registered_practice_id",
        "birth_date",
        "sex",
        "ethnicity_code",
        "imd_decile",
        "lsoa",
        "deceased",
        "national_data_opt_out",
        "deceased_date",
    )
    person = _table(
        "person",
        people,
        {
            1: lambda v: v or 0,
            3: lambda v: v if v in ("male", "female", "other") else "unknown",
            4: lambda v: v or None,
            6: lambda v: v or None,
        },
    )
    condition = _table(
        "condition",
        _stream(
            rm.Condition.objects.exclude(code=""),
            "person_id",
            "system",
            "code",
            "onset",
            "recorded_date",
            "clinical_status",
            "verification_status",
        ),
        {5: lambda v: v or None, 6: lambda v: v if v in _VERIFICATION_STATUSES else None},
    )
    medication = _table(
        "medication",
        _stream(
            rm.Medication.objects.exclude(code=""),
            "person_id",
            "system",
            "code",
            "display",
            "authored_on",
            "status",
        ),
        {3: lambda v: v or None, 5: lambda v: v or None},
    )
    encounter = _table(
        "encounter",
        _stream(
            rm.Encounter.objects.all(),
            "person_id",
            "start",
            "end",
            "class_code",
            "unplanned",
            "organisation_id",
            "organisation__sector",
            "practitioner_id",
            "priority",
            "type_code",
        ),
        {1: _naive_utc, 2: _naive_utc, 3: lambda v: v or None, 8: lambda v: v or None, 9: lambda v: v or None},
    )
    observation = _table(
        "observation",
        # the value in the record's canonical unit for the code; null when it could not be converted
        _stream(rm.Observation.objects.exclude(code=""), "person_id", "system", "code", "effective", "value_canonical"),
        {3: _naive_utc},
    )
    social = _table("social", _stream(rm.SocialCircumstance.objects.all(), "person_id", "kind", "recorded"))
    return Extract(person, condition, medication, encounter, observation, social).validate()


def default_as_of() -> date:
    return date.today()

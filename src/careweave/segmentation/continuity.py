"""Continuity of care from the record: the GP contacts that count (``terminology/data/continuity.yaml``:
Encounters of the listed classes and statuses with a participant Practitioner who holds a GP role),
fed to the Django-free core (``careweave.population.continuity``).

- :func:`person_gp_contacts`: one person's contacts, in one query, for the summary's sentence (the
  caller has opened the record through ``governance.access``);
- :func:`continuity_from_record`: everyone's indices (a system run, audited with counts only).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from django.db.models import QuerySet
from django.utils import timezone

from careweave.governance.audit import record_system_event
from careweave.population.continuity import CONTACT_SCHEMA, ContinuityQuestion, PersonContinuity, indices
from careweave.population.continuity.engines import Engine
from careweave.population.continuity.extract import day_number
from careweave.record import models as rm
from careweave.terminology.continuity import load_continuity

#: The most recent contacts read for one person's sentence (far more than it uses, so a cut never
#: falls inside the last appointments unless a person had hundreds of GP contacts on one day).
PERSON_CONTACT_LIMIT = 200


def gp_encounters() -> QuerySet[rm.Encounter]:
    """Encounters that count as GP contacts, each once."""
    rules = load_continuity()
    return rm.Encounter.objects.filter(
        class_code__in=rules.encounter_classes,
        status__in=rules.encounter_statuses,
        start__isnull=False,
        practitioner__isnull=False,
        practitioner__practitionerrole__role_code__in=sorted(code for _, code in rules.clinician_roles),
    ).distinct()


def _day(start: dt.datetime | None) -> dt.date:
    assert start is not None  # gp_encounters() keeps only encounters with a start
    return timezone.localdate(start) if timezone.is_aware(start) else start.date()


def person_gp_contacts(person: rm.Person) -> list[tuple[dt.date, str]]:
    """One person's GP contacts as (date, clinician), most recent first; one query."""
    rows = (
        gp_encounters()
        .filter(person=person)
        .order_by("-start", "-pk")
        .values_list("pk", "start", "practitioner_id")[:PERSON_CONTACT_LIMIT]
    )
    return [(_day(start), str(practitioner)) for _, start, practitioner in rows]


def gp_contact_extract() -> pa.Table:
    """Everyone's GP contacts as the core's contact table (person: the record's person id)."""
    people: list[str] = []
    days: list[int | None] = []
    clinicians: list[str] = []
    rows = gp_encounters().values_list("pk", "person_id", "start", "practitioner_id")
    for _, person, start, practitioner in rows.iterator(chunk_size=20_000):
        people.append(str(person))
        days.append(day_number(_day(start)))
        clinicians.append(str(practitioner))
    return pa.table({"person": people, "day": days, "clinician": clinicians}, schema=CONTACT_SCHEMA)


def continuity_from_record(
    *, start: dt.date | None = None, end: dt.date | None = None, engine: Engine = "duckdb"
) -> list[PersonContinuity]:
    """Everyone's continuity indices from their GP contacts in the record (audited: counts only)."""
    contacts = gp_contact_extract()
    found = indices(contacts, ContinuityQuestion.of(start, end), engine)
    record_system_event(
        "continuity",
        "measures",
        detail=f"{contacts.num_rows} GP contacts, {len(found)} people, engine {engine}",
    )
    return found

"""Keeping `CareRelationship` (organisation -> person in its care) in step with the record rows.

Creates only ever add relationships, so the importer adds the pairs it has just written. An update or
a delete may take one away (an encounter moved to another provider, a person re-registered), so
those recompute the relationships of the people concerned from the rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from careweave.record import models as rm

# Every way an organisation comes to have a person in its care, as (person_id, organisation_id).
_SOURCES = (
    "SELECT id, registered_practice_id FROM record_person WHERE registered_practice_id IS NOT NULL{person}",
    "SELECT person_id, organisation_id FROM record_encounter WHERE organisation_id IS NOT NULL{item}",
    "SELECT person_id, organisation_id FROM record_appointment WHERE organisation_id IS NOT NULL{item}",
    "SELECT person_id, to_organisation_id FROM record_referral WHERE to_organisation_id IS NOT NULL{item}",
    "SELECT person_id, from_organisation_id FROM record_referral WHERE from_organisation_id IS NOT NULL{item}",
)
_CHUNK = 500


def _insert_from_rows(person_pks: list[int] | None) -> None:
    if person_pks is None:
        person_filter = item_filter = ""
        params: list[int] = []
    else:
        marks = ", ".join(["%s"] * len(person_pks))
        person_filter, item_filter = f" AND id IN ({marks})", f" AND person_id IN ({marks})"
        params = person_pks * len(_SOURCES)
    union = " UNION ".join(s.format(person=person_filter, item=item_filter) for s in _SOURCES)
    table = rm.CareRelationship._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (person_id, organisation_id) {union}", params)


def rebuild_care_relationships() -> None:
    """Recompute every relationship from the record rows (after a migration, or rows written by hand)."""
    rm.CareRelationship.objects.all().delete()
    _insert_from_rows(None)


def refresh_care_relationships(person_pks: Iterable[int]) -> None:
    """Recompute the relationships of these people from their rows (after updates or deletes)."""
    pks = sorted(set(person_pks))
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        rm.CareRelationship.objects.filter(person_id__in=chunk).delete()
        _insert_from_rows(chunk)


def add_care_relationships(pairs: Iterable[tuple[int, int]]) -> None:
    """Record (person, organisation) pairs from newly written rows; pairs already known are left alone."""
    rows = [rm.CareRelationship(person_id=p, organisation_id=o) for p, o in set(pairs)]
    if rows:
        rm.CareRelationship.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)

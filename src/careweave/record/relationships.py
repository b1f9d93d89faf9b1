"""Keeping `CareRelationship` (organisation -> person in its care) in step with the record rows.

Creates only ever add relationships, so the importer adds the pairs it has just written. An update or
a delete may take one away (an encounter moved to another provider, a person re-registered), so
those recompute the relationships of the people concerned from the rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from careweave.record import models as rm

# Every way an organisation comes to have a person in its care, as (person_id, organisation_id). A row
# counts only if the version that says so was not written under break-glass, nor by a member of staff of
# the organisation it names: access comes from the record, never from one's own writes (ADR 0006).
_GRANTS = (
    " AND NOT r.written_under_break_glass"
    " AND (r.author_organisation IS NULL OR r.author_organisation <> {org})"
)
_SOURCES = (
    "SELECT p.id, p.registered_practice_id FROM record_person p JOIN record_storedresource r ON r.id = p.resource_id"
    " WHERE p.registered_practice_id IS NOT NULL" + _GRANTS.format(org="p.registered_practice_id") + "{person}",
    *(
        f"SELECT i.person_id, i.{column} FROM {table} i JOIN record_storedresource r ON r.id = i.resource_id"
        f" WHERE i.{column} IS NOT NULL" + _GRANTS.format(org=f"i.{column}") + "{item}"
        for table, column in (
            ("record_encounter", "organisation_id"),
            ("record_appointment", "organisation_id"),
            ("record_referral", "to_organisation_id"),
            ("record_referral", "from_organisation_id"),
        )
    ),
)
_CHUNK = 500


def _insert_from_rows(person_pks: list[int] | None) -> None:
    if person_pks is None:
        person_filter = item_filter = ""
        params: list[int] = []
    else:
        marks = ", ".join(["%s"] * len(person_pks))
        person_filter, item_filter = f" AND p.id IN ({marks})", f" AND i.person_id IN ({marks})"
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

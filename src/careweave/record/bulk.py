"""The bulk write path: plain `executemany` without Django's per-row SQL compilation.

Django's `bulk_create` compiles one SQL statement per batch, preparing every value through the
query compiler; for millions of rows that is a quarter of the import time. Here each field's value
is prepared once with the field's own `get_db_prep_save` (so dates, times, JSON and booleans are
stored exactly as Django would store them) and sent with `executemany`.
Primary keys are allocated up front so rows that refer to each other can be written in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection, models


def allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """Reserve `n` primary keys. Call inside the import's transaction."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, n]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: the import holds the write lock (IMMEDIATE transactions), so max(id) is stable.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + n))


def analyze(models_: Sequence[type[models.Model]]) -> None:
    """Refresh PostgreSQL's planner statistics for these tables (a sampled, cheap ANALYZE). After a
    bulk write the statistics still describe the old sizes and lookups get planned as scans."""
    if connection.vendor != "postgresql" or not models_:
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models_))


def insert_rows(
    model: type[models.Model], objects: Sequence[models.Model], *, skip_conflicts: bool = False
) -> int:
    """Insert model instances (with their primary keys already set) in one executemany per 5,000;
    returns the number of rows inserted. With `skip_conflicts` a row that would break a unique
    constraint is left out (ON CONFLICT DO NOTHING, PostgreSQL and SQLite alike) instead of raising,
    so a concurrent writer never puts a unique violation, and the key values with it (an NHS
    number), into the database server's log; the caller compares the count to decide."""
    if not objects:
        return 0
    pk = model._meta.pk
    # rows without a primary key get one from the database
    fields = [f for f in model._meta.concrete_fields if not (f is pk and objects[0].pk is None)]
    # a concrete field always has a column (the stubs allow None for the non-concrete relations)
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({placeholders})"
    if skip_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    prepared: list[list[Any]] = []
    for obj in objects:
        prepared.append([f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields])
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start : start + 5000])
            inserted += max(cursor.rowcount, 0)
    return inserted

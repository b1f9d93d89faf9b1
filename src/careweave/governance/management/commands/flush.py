"""`flush` that can empty an append-only audit on SQLite.

Flushing wipes the whole database (the test runner does it after every transactional test). On
PostgreSQL it truncates, which the row triggers of migration 0003 do not see; on SQLite it deletes row
by row, which they refuse. So on SQLite the governance triggers are lifted for the flush, inside the
same transaction, and put back exactly as they were. No other code path lifts them.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

GUARDED_TABLES = ("governance_auditentry", "governance_breakglass")


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        with transaction.atomic(using=connection.alias):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s)",
                    GUARDED_TABLES,
                )
                triggers = cursor.fetchall()
                for name, _ in triggers:
                    cursor.execute(f'DROP TRIGGER "{name}"')
            super().handle(**options)
            with connection.cursor() as cursor:
                for _, sql in triggers:
                    cursor.execute(sql)

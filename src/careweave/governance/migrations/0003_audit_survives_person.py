"""The audit survives the person it is about, and the database itself refuses to change it.

A transaction `DELETE Patient/x` used to null the person on audit rows (SET_NULL) and delete an
unreviewed break-glass record (CASCADE). The person's id is now kept with no constraint and no deletion
rule, next to their Patient id (person_ref, filled here for existing rows), and triggers refuse every
UPDATE and DELETE of an audit entry and every change of a break-glass record but its one review.

Only row-level UPDATE and DELETE are refused: TRUNCATE (PostgreSQL's flush) needs the table owner,
and SQLite's flush lifts the triggers for its whole-database wipe (governance/management/commands/flush.py).
On SQLite a later migration that rebuilds either table drops its triggers: the tests in
tests/governance/test_append_only.py fail if that happens, so such a migration must recreate them.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

REFUSED = "refused: the audit is append-only"

# A break-glass row may change once: its review written, from empty, and nothing else.
_REVIEW_ONLY = (
    "OLD.reviewed_at IS NULL AND OLD.reviewed_by_id IS NULL AND OLD.review_note = '' "
    "AND NEW.reviewed_at IS NOT NULL AND NEW.reviewed_by_id IS NOT NULL AND "
    + " AND ".join(
        f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}"
        for c in ("id", "user_id", "person_id", "person_ref", "reason", "started_at", "expires_at")
    )
)

_PG_RAISE = f"""RAISE EXCEPTION USING MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' {REFUSED}',
        ERRCODE = 'restrict_violation';"""
POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION governance_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {_PG_RAISE}
    END $$""",
    f"""CREATE OR REPLACE FUNCTION governance_review_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            IF {_REVIEW_ONLY} THEN
                RETURN NEW;
            END IF;
        END IF;
        {_PG_RAISE}
    END $$""",
    """CREATE TRIGGER governance_auditentry_append_only BEFORE UPDATE OR DELETE ON governance_auditentry
    FOR EACH ROW EXECUTE FUNCTION governance_refuse_change()""",
    """CREATE TRIGGER governance_breakglass_append_only BEFORE UPDATE OR DELETE ON governance_breakglass
    FOR EACH ROW EXECUTE FUNCTION governance_review_only()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS governance_auditentry_append_only ON governance_auditentry",
    "DROP TRIGGER IF EXISTS governance_breakglass_append_only ON governance_breakglass",
    "DROP FUNCTION IF EXISTS governance_refuse_change()",
    "DROP FUNCTION IF EXISTS governance_review_only()",
]

# SQLite has no IS NOT DISTINCT FROM before 3.39; IS means the same.
_SQLITE_REVIEW_ONLY = _REVIEW_ONLY.replace("IS NOT DISTINCT FROM", "IS")
SQLITE = [
    f"""CREATE TRIGGER governance_auditentry_no_update BEFORE UPDATE ON governance_auditentry
    BEGIN SELECT RAISE(ABORT, 'UPDATE on governance_auditentry {REFUSED}'); END""",
    f"""CREATE TRIGGER governance_auditentry_no_delete BEFORE DELETE ON governance_auditentry
    BEGIN SELECT RAISE(ABORT, 'DELETE on governance_auditentry {REFUSED}'); END""",
    f"""CREATE TRIGGER governance_breakglass_review_only BEFORE UPDATE ON governance_breakglass
    WHEN NOT ({_SQLITE_REVIEW_ONLY})
    BEGIN SELECT RAISE(ABORT, 'UPDATE on governance_breakglass {REFUSED}'); END""",
    f"""CREATE TRIGGER governance_breakglass_no_delete BEFORE DELETE ON governance_breakglass
    BEGIN SELECT RAISE(ABORT, 'DELETE on governance_breakglass {REFUSED}'); END""",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "governance_auditentry_no_update",
        "governance_auditentry_no_delete",
        "governance_breakglass_review_only",
        "governance_breakglass_no_delete",
    )
]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"no append-only triggers written for {vendor}")
        for sql in statements[vendor]:
            schema_editor.execute(sql, params=None)

    return run


def fill_person_ref(apps: Any, schema_editor: Any) -> None:
    Person = apps.get_model("record", "Person")
    logical_id = Subquery(Person.objects.filter(pk=OuterRef("person_id")).values("resource__logical_id")[:1])
    for name in ("AuditEntry", "BreakGlass"):
        model = apps.get_model("governance", name)
        model.objects.filter(person__isnull=False, person_ref="").update(person_ref=logical_id)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0002_break_glass_review_note"),
        ("record", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="person_ref",
            field=models.CharField(
                blank=True, help_text="The person's Patient id, kept if their record is removed.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="breakglass",
            name="person_ref",
            field=models.CharField(
                blank=True, help_text="The person's Patient id, kept if their record is removed.", max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="person",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="record.person",
            ),
        ),
        migrations.AlterField(
            model_name="breakglass",
            name="person",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="record.person",
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["person_ref"], name="audit_person_ref_idx"),
        ),
        migrations.AddConstraint(
            model_name="breakglass",
            constraint=models.CheckConstraint(
                condition=models.Q(("person__isnull", False)), name="break_glass_has_person"
            ),
        ),
        migrations.RunPython(fill_person_ref, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]

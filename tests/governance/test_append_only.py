"""The audit is append-only in fact: it outlives the person it is about, and neither the ORM nor raw
SQL can change or delete an entry, or a break-glass record beyond its one review (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.access import open_break_glass, review_break_glass
from careweave.governance.models import ApiToken, AppendOnlyError, AuditEntry, BreakGlass
from careweave.record import models as rm
from tests.web.conftest import person, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen(world: dict[str, Any]) -> dict[str, Any]:
    """Dewi, registered at Riverside: read by its GP, opened under break-glass at Hilltop (unreviewed)."""
    dewi = person("Dewi", "Marchbanks", "9434765870", world["practice_a"])
    signed_in(world["gp_a"]).get(f"/people/{dewi.pk}/")
    client = signed_in(world["gp_b"])
    client.post(f"/people/{dewi.pk}/break-glass/", {"reason": "Seen at our walk-in centre, unwell"})
    client.get(f"/people/{dewi.pk}/")
    assert AuditEntry.objects.filter(person_id=dewi.pk).count() == 3
    return {**world, "dewi": dewi, "patient_id": dewi.resource.logical_id}


def _delete_patient_by_transaction(patient_id: str) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": f"Patient/{patient_id}"}}],
    }
    (entry,) = Importer().import_bundle(bundle)
    assert entry.outcome == "deleted"


def _assert_audit_survives(pk: int, patient_id: str) -> None:
    assert not rm.Person.objects.filter(pk=pk).exists()
    kept = list(AuditEntry.objects.filter(person_id=pk).values_list("action", "person_ref"))
    assert sorted(kept) == [("break-glass", patient_id), ("read", patient_id), ("read", patient_id)]
    glass = BreakGlass.objects.get()
    assert (glass.person_id, glass.person_ref, glass.reviewed_at) == (pk, patient_id, None)


def test_a_transaction_deleting_a_patient_keeps_their_audit_and_break_glass(seen: dict[str, Any]) -> None:
    _delete_patient_by_transaction(seen["patient_id"])
    _assert_audit_survives(seen["dewi"].pk, seen["patient_id"])


def test_deleting_a_person_with_the_orm_keeps_their_audit_and_break_glass(seen: dict[str, Any]) -> None:
    rm.Person.objects.filter(pk=seen["dewi"].pk).delete()
    _assert_audit_survives(seen["dewi"].pk, seen["patient_id"])


def test_a_removed_persons_audit_is_still_shown(seen: dict[str, Any]) -> None:
    dewi, patient_id = seen["dewi"], seen["patient_id"]
    _delete_patient_by_transaction(patient_id)
    admin = signed_in(seen["admin"])
    removed = f"Patient/{patient_id}, record since removed"

    for found_by in (str(dewi.pk), f"Patient/{patient_id}"):
        page = admin.get("/audit/", {"person": found_by})
        assert page.status_code == 200
        text = page.content.decode()
        assert removed in text and "gp.hilltop" in text and "break-glass" in text
    listing = admin.get("/audit/").content.decode()
    awaiting = listing[listing.index("awaiting review"):]
    assert removed in awaiting  # the unreviewed break-glass is still listed for review
    glass = BreakGlass.objects.get()
    review = admin.get(f"/audit/break-glass/{glass.pk}/")
    assert review.status_code == 200 and removed in review.content.decode()
    report = admin.get(f"/audit/people/{dewi.pk}/report/")
    assert report.status_code == 200
    assert "Opened your record in an emergency" in report.content.decode()
    # the FHIR audit still finds it by the Patient, and names them
    token = ApiToken.issue(seen["admin"])
    found = Client().get("/fhir/AuditEvent", {"patient": f"Patient/{patient_id}"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert found.status_code == 200
    events = [e["resource"] for e in found.json()["entry"]]
    assert len(events) == 6  # the three accesses, then the administrator's two audit pages and the report
    assert {e["entity"][0]["what"]["reference"] for e in events} == {f"Patient/{patient_id}"}


def test_every_audit_entry_knows_its_patient_id(world: dict[str, Any]) -> None:
    alice = world["alice"]
    signed_in(world["gp_a"]).get(f"/people/{alice.pk}/")
    open_break_glass(user=world["gp_b"], person=alice, reason="Seen in the urgent treatment centre")
    refs = set(AuditEntry.objects.filter(person_id=alice.pk).values_list("person_ref", flat=True))
    assert refs == {alice.resource.logical_id}
    assert BreakGlass.objects.get().person_ref == alice.resource.logical_id


def test_the_orm_refuses_to_change_or_delete_an_audit_entry(world: dict[str, Any]) -> None:
    signed_in(world["gp_a"]).get(f"/people/{world['alice'].pk}/")
    entry = AuditEntry.objects.get()
    entries = AuditEntry.objects.all()
    entry.action = "nothing"
    for attempt in (
        entry.save,
        entry.delete,
        entries.delete,
        lambda: entries.update(action="nothing"),
        lambda: AuditEntry.objects.bulk_update([entry], ["action"]),
        lambda: AuditEntry.objects.update_or_create(pk=entry.pk, defaults={"action": "nothing"}),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()
    assert AuditEntry.objects.get().action == "read"


def test_the_orm_refuses_to_change_or_delete_break_glass_except_its_review(world: dict[str, Any]) -> None:
    glass = open_break_glass(user=world["gp_b"], person=world["alice"], reason="Seen in the urgent treatment centre")
    rows = BreakGlass.objects.filter(pk=glass.pk)
    glass.reason = "something else entirely"
    for attempt in (
        glass.save,
        glass.delete,
        rows.delete,
        lambda: rows.update(expires_at=glass.started_at),
        lambda: BreakGlass.objects.bulk_update([glass], ["reason"]),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()
    review_break_glass(reviewer=world["admin"], glass=glass, note="Justified: attended out of hours")
    glass.refresh_from_db()
    assert glass.reason == "Seen in the urgent treatment centre" and glass.reviewed_at is not None


def _refused_by_the_database(sql: str, *params: Any) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE governance_auditentry SET action = 'nothing'",
        "UPDATE governance_auditentry SET person_id = NULL",
        "DELETE FROM governance_auditentry",
        "DELETE FROM governance_auditentry WHERE id = (SELECT MIN(id) FROM governance_auditentry)",
    ],
)
def test_raw_sql_cannot_change_or_delete_an_audit_entry(world: dict[str, Any], sql: str) -> None:
    signed_in(world["gp_a"]).get(f"/people/{world['alice'].pk}/")
    before = list(AuditEntry.objects.values_list())
    _refused_by_the_database(sql)
    assert list(AuditEntry.objects.values_list()) == before


def test_raw_sql_can_only_review_a_break_glass_record_once(world: dict[str, Any]) -> None:
    glass = open_break_glass(user=world["gp_b"], person=world["alice"], reason="Seen in the urgent treatment centre")
    admin = world["admin"].pk
    for sql, params in [
        ("UPDATE governance_breakglass SET reason = %s", ["nothing to see"]),
        ("UPDATE governance_breakglass SET expires_at = started_at", []),
        ("UPDATE governance_breakglass SET person_id = NULL", []),
        ("DELETE FROM governance_breakglass", []),
        # a review that also moves the expiry is not a review
        ("UPDATE governance_breakglass SET reviewed_by_id = %s, reviewed_at = started_at, review_note = %s, "
         "expires_at = started_at", [admin, "Justified: out of hours"]),
    ]:
        _refused_by_the_database(sql, *params)
    review = "UPDATE governance_breakglass SET reviewed_by_id = %s, reviewed_at = started_at, review_note = %s"
    with connection.cursor() as cursor:
        cursor.execute(review, [admin, "Justified: attended out of hours"])
    _refused_by_the_database(review, admin, "Not justified, on reflection")  # once only
    glass.refresh_from_db()
    assert glass.review_note == "Justified: attended out of hours" and glass.reason.startswith("Seen in")

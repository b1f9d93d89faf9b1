"""One person's record: shown to those caring for them, audited every time, break-glass for others."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from careweave.governance.models import AuditEntry, BreakGlass
from careweave.record import models as rm
from tests.web.conftest import PASSWORD, signed_in

pytestmark = pytest.mark.django_db


def test_the_record_shows_the_joined_up_picture(world: dict[str, Any]) -> None:
    alice = world["alice"]
    # everything recorded: the world's contacts are from 2025, before the timeline's default 12 months
    response = signed_in(world["gp_a"]).get(f"/people/{alice.pk}/", {"period": "all"})
    assert response.status_code == 200
    page = response.content.decode()
    for expected in [
        "Alice Zephyrine", "943 476 5919", "15 June 1950", "Female", "Welsh", "Requires large print", "Phone only",
        "Riverside Surgery", "Type 2 diabetes mellitus", "1 March 2012", "Metformin 500mg tablets",
        "One tablet twice a day", "142/88 mmHg", "58 mmol/mol", "County General Hospital", "Acute hospital",
        "General practice", "Emergency admission", "Diabetic eye screening", "10 weeks", "Lives alone",
        "Carys Zephyrine", "Carer",
    ]:
        assert expected in page, expected
    # Active conditions come before resolved ones; stopped medicines are not listed (the HbA1c trend
    # with its earlier readings is checked in test_summary.py).
    assert page.index("Hypertensive disorder") < page.index("Acute viral pharyngitis")
    assert "Amoxicillin" not in page
    # One timeline across organisations, most recent first.
    assert page.index("Emergency admission") < page.index("Diabetes review")


def test_reading_a_record_writes_an_audit_entry(world: dict[str, Any]) -> None:
    alice, gp = world["alice"], world["gp_a"]
    signed_in(gp).get(f"/people/{alice.pk}/")
    entry = AuditEntry.objects.get(action="read")
    assert (entry.actor, entry.person_id, entry.resource_type, entry.resource_id) == (
        gp, alice.pk, "Patient", alice.resource.logical_id
    )
    assert (entry.purpose, entry.channel, entry.break_glass, entry.outcome) == ("direct-care", "web", False, "success")


def test_another_practices_gp_is_refused_then_can_break_glass(world: dict[str, Any]) -> None:
    alice, gp_b = world["alice"], world["gp_b"]
    client = signed_in(gp_b)

    refused = client.get(f"/people/{alice.pk}/")
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "Zephyrine" not in page and "Type 2 diabetes" not in page
    assert f'action="/people/{alice.pk}/break-glass/"' in page and 'name="reason"' in page
    assert "every break-glass access is reviewed" in page
    assert AuditEntry.objects.get(actor=gp_b, action="read").outcome == "denied"

    # A reason is required.
    too_short = client.post(f"/people/{alice.pk}/break-glass/", {"reason": "need"})
    assert too_short.status_code == 403 and "at least 10 characters" in too_short.content.decode()
    assert not BreakGlass.objects.exists()

    reason = "Collapsed in our waiting room; need her medicines list"
    opened = client.post(f"/people/{alice.pk}/break-glass/", {"reason": reason})
    assert opened.status_code == 302 and opened["Location"] == f"/people/{alice.pk}/"
    glass = BreakGlass.objects.get()
    assert (glass.user, glass.person, glass.reason) == (gp_b, alice, reason)
    audited = AuditEntry.objects.get(action="break-glass")
    assert (audited.actor, audited.person_id, audited.break_glass, audited.reason) == (gp_b, alice.pk, True, reason)

    record = client.get(f"/people/{alice.pk}/")
    assert record.status_code == 200
    assert "break-glass access" in record.content.decode() and "Type 2 diabetes" in record.content.decode()
    assert AuditEntry.objects.filter(actor=gp_b, action="read", break_glass=True, outcome="success").count() == 1

    # The administrator sees who viewed the record, and the break-glass awaiting review.
    audit = signed_in(world["admin"]).get("/audit/", {"person": alice.pk})
    assert audit.status_code == 200
    page = audit.content.decode()
    assert "gp.hilltop" in page and reason in page and "Break-glass access awaiting review" in page
    review_list = page[page.index("Break-glass access awaiting review"):]
    assert "gp.hilltop" in review_list and reason in review_list


def test_break_glass_is_not_offered_to_analysts(world: dict[str, Any]) -> None:
    client = signed_in(world["analyst"])
    alice = world["alice"]
    response = client.get(f"/people/{alice.pk}/")
    assert response.status_code == 403
    assert "aggregate" in response.content.decode() and "Zephyrine" not in response.content.decode()
    assert client.post(f"/people/{alice.pk}/break-glass/", {"reason": "curious about this person"}).status_code == 403
    assert not BreakGlass.objects.exists()


@pytest.mark.parametrize("user", ["gp_a", "analyst"])
def test_only_administrators_see_the_audit_log(world: dict[str, Any], user: str) -> None:
    assert signed_in(world[user]).get("/audit/", {"person": world["alice"].pk}).status_code == 403


def test_audit_page_without_a_person_lists_break_glass_only(world: dict[str, Any]) -> None:
    response = signed_in(world["admin"]).get("/audit/")
    assert response.status_code == 200
    assert "No break-glass access is awaiting review" in response.content.decode()
    assert signed_in(world["admin"]).get("/audit/", {"person": "abc"}).status_code == 200


def test_no_patient_data_in_logs(world: dict[str, Any], client: Any, caplog: pytest.LogCaptureFixture) -> None:
    alice = world["alice"]
    caplog.set_level(logging.DEBUG)
    client.post("/login/", {"username": "gp.hilltop", "password": "wrong-password"})
    client.post("/login/", {"username": "gp.hilltop", "password": PASSWORD})
    client.get("/people/", {"q": "Zephyrine"})
    client.get(f"/people/{alice.pk}/")
    client.post(f"/people/{alice.pk}/break-glass/", {"reason": "Alice Zephyrine collapsed in clinic"})
    client.get(f"/people/{alice.pk}/")
    client.get("/people/", {"q": "9434765919"})
    assert caplog.records, "expected the views to log something (ids and counts)"
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    for secret in ["Alice", "Zephyrine", "9434765919", "943 476 5919", "Carys", "diabetes", PASSWORD, "wrong-password"]:
        assert secret not in logged, secret


def test_an_administrator_reviews_break_glass_once_with_a_finding(world: dict[str, Any]) -> None:
    alice, gp_b, admin = world["alice"], world["gp_b"], world["admin"]
    reason = "Seen in the urgent treatment centre out of hours"
    signed_in(gp_b).post(f"/people/{alice.pk}/break-glass/", {"reason": reason})
    glass = BreakGlass.objects.get()
    review_url = f"/audit/break-glass/{glass.pk}/"

    # only administrators review, and not the person who broke the glass
    assert signed_in(gp_b).get(review_url).status_code == 403
    assert signed_in(gp_b).post(review_url, {"review_note": "I say it was fine"}).status_code == 403

    client = signed_in(admin)
    listing = client.get("/audit/").content.decode()
    assert f'href="{review_url}"' in listing
    page = client.get(review_url).content.decode()
    assert reason in page and "gp.hilltop" in page and 'name="review_note"' in page

    too_short = client.post(review_url, {"review_note": "ok"})
    assert too_short.status_code == 400 and "There is a problem" in too_short.content.decode()
    glass.refresh_from_db()
    assert glass.reviewed_at is None

    finding = "Justified: attended the urgent treatment centre, GP record needed"
    done = client.post(review_url, {"review_note": finding})
    assert done.status_code == 302 and done["Location"] == "/audit/"
    glass.refresh_from_db()
    assert (glass.reviewed_by, glass.review_note) == (admin, finding) and glass.reviewed_at is not None
    entry = AuditEntry.objects.get(action="break-glass-review")
    assert (entry.actor, entry.person_id, entry.purpose, entry.reason) == (admin, alice.pk, "audit", finding)

    after = client.get("/audit/").content.decode()
    assert "No break-glass access is awaiting review" in after and "Break-glass access marked as reviewed" in after
    assert finding in after[after.index("Recently reviewed"):]

    # a second review does not overwrite the first
    again = client.post(review_url, {"review_note": "Not justified, on reflection"})
    assert again.status_code == 409 and "already been reviewed" in again.content.decode()
    assert "Mark as reviewed" not in again.content.decode()
    glass.refresh_from_db()
    assert glass.review_note == finding
    assert client.get("/audit/break-glass/999999/").status_code == 404


def test_a_legitimate_relationship_is_not_audited_as_break_glass(world: dict[str, Any]) -> None:
    from careweave.governance.access import decide, open_break_glass

    alice, gp_a = world["alice"], world["gp_a"]
    open_break_glass(user=gp_a, person=alice, reason="Opened before she registered with us")
    assert decide(gp_a, alice).break_glass is False and decide(gp_a, alice).allowed
    signed_in(gp_a).get(f"/people/{alice.pk}/")
    assert AuditEntry.objects.get(action="read", actor=gp_a).break_glass is False
    # the relationship goes (she leaves the practice and was never seen there): now it is break-glass
    rm.CareRelationship.objects.filter(person=alice, organisation=world["practice_a"]).delete()
    assert decide(gp_a, alice).break_glass is True


def test_the_person_can_be_given_the_list_of_who_saw_their_record(world: dict[str, Any]) -> None:
    alice, gp_a, gp_b, admin = world["alice"], world["gp_a"], world["gp_b"], world["admin"]
    gp_a.first_name, gp_a.last_name = "Gwen", "Price"
    gp_a.save()
    signed_in(gp_a).get(f"/people/{alice.pk}/")
    signed_in(gp_b).get(f"/people/{alice.pk}/")  # refused: outside her care
    signed_in(gp_b).post(f"/people/{alice.pk}/break-glass/", {"reason": "Came to our walk-in clinic unwell"})

    assert signed_in(gp_a).get(f"/audit/people/{alice.pk}/report/").status_code == 403
    client = signed_in(admin)
    assert f'href="/audit/people/{alice.pk}/report/"' in client.get("/audit/", {"person": alice.pk}).content.decode()
    response = client.get(f"/audit/people/{alice.pk}/report/")
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index("<table"):]
    assert "Alice Zephyrine" in page and "943 476 5919" in page
    assert "Gwen Price, GP" in table and "Riverside Surgery" in table and "Looked at your record" in table
    assert "Hilltop Medical Centre" in table and "Tried to look at your record, and was refused" in table
    assert "Opened your record in an emergency" in table and "Came to our walk-in clinic unwell" in table
    # producing the copy is itself recorded
    assert AuditEntry.objects.filter(action="audit-read", person_id=alice.pk, purpose="subject-access").count() == 1
    assert client.get("/audit/people/999999/report/").status_code == 404

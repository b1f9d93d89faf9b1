"""contact_person end to end against the stand-in: the record's needs choose the channel, failures
and unread app messages fall back, letters go as precompiled PDFs in the right format and language,
carers get the copy when asked, interpreters and phone calls become staff Tasks, and each attempt is
a Communication (with its CommunicationRequest) in the record, audited."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pikepdf
import pytest
from django.utils import timezone

from careweave.contact.models import ContactPreference, StaffTask
from careweave.contact.notify import NotifyGateway
from careweave.contact.notify_standin import NotifyStandIn
from careweave.contact.services import ContactError, chase_unread, contact_person, mark_read
from careweave.governance.models import AuditEntry, Role
from careweave.record import models as rm
from tests.contact.conftest import EMAIL, MOBILE, add_carer, make_person
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db
SYSTEM = "careweave contact test"


def test_app_message_unread_after_24_hours_falls_back_to_sms(gateway: NotifyGateway) -> None:
    person = make_person(telecom=MOBILE)
    ContactPreference.objects.create(person=person, app_registered=True)
    sent = timezone.now() - timedelta(hours=30)
    request = contact_person(
        person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway, now=sent
    )
    app = request.attempts.get()
    assert app.channel == "app" and app.status == "in-progress"
    assert chase_unread(now=sent + timedelta(hours=23), gateway=gateway) == 0
    assert chase_unread(now=sent + timedelta(hours=24), gateway=gateway) == 1
    app.refresh_from_db()
    assert app.status == "stopped"
    assert [a.channel for a in request.attempts.order_by("pk")] == ["app", "sms"]


def test_a_read_app_message_is_not_chased(gateway: NotifyGateway) -> None:
    person = make_person(telecom=MOBILE)
    ContactPreference.objects.create(person=person, app_registered=True)
    sent = timezone.now() - timedelta(days=2)
    request = contact_person(
        person=person, purpose="results-letter", system_actor=SYSTEM, gateway=gateway, now=sent
    )
    mark_read(request.attempts.get(), when=sent + timedelta(hours=2))
    assert chase_unread(gateway=gateway) == 0
    request.refresh_from_db()
    assert request.status == "completed"


def test_letter_only_large_print_goes_as_a_precompiled_letter(
    standin: NotifyStandIn, gateway: NotifyGateway
) -> None:
    person = make_person(telecom=MOBILE, needs=["936721000000107", "957331000000109"])
    request = contact_person(person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway)
    comm = request.attempts.get()
    assert comm.channel == "letter" and comm.notify_id and request.letter_format == "large_print"
    assert standin.notifications[comm.notify_id].type == "letter"
    assert request.route["excluded"]["sms"].startswith("the person asked to be contacted only by letter")


def test_no_mobile_number_and_no_email_sends_a_letter(gateway: NotifyGateway) -> None:
    request = contact_person(
        person=make_person(),
        purpose="appointment-reminder",
        system_actor=SYSTEM,
        gateway=gateway,
        details={"when": "Monday 4 January at 10:30"},
    )
    assert [a.channel for a in request.attempts.all()] == ["letter"]


def test_via_carer_sends_to_the_carers_mobile(standin: NotifyStandIn, gateway: NotifyGateway) -> None:
    person = make_person(telecom=MOBILE, needs=["719561001"])
    add_carer(person)
    request = contact_person(person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway)
    comm = request.attempts.get()
    assert request.recipient == "carer" and comm.channel == "sms"
    assert standin.notifications[comm.notify_id].to == "07700900222"
    assert json.loads(comm.resource.body)["recipient"][0]["reference"].startswith("RelatedPerson/")


def test_interpreter_needed_makes_a_booking_task_with_a_double_slot(gateway: NotifyGateway) -> None:
    person = make_person(telecom=EMAIL, needs=["204331000000107"], interpreter_required=True)
    request = contact_person(
        person=person, purpose="appointment-reminder", system_actor=SYSTEM, gateway=gateway
    )
    task = StaffTask.objects.get(request=request, kind="book-interpreter")
    assert (
        "British Sign Language" in task.description
        and "double slot" in task.description
        and "video link" in task.description
    )
    assert request.interpreter == "bsl" and "phone" not in request.route["channels"]


def test_phone_only_route_makes_a_call_task_and_braille_a_format_task(gateway: NotifyGateway) -> None:
    person = make_person(
        telecom=[{"system": "phone", "use": "home", "value": "01632 960001"}], needs=["telephone", "braille"]
    )
    request = contact_person(person=person, purpose="results-letter", system_actor=SYSTEM, gateway=gateway)
    comm = request.attempts.get()
    assert comm.channel == "phone" and comm.status == "preparation"
    kinds = set(StaffTask.objects.filter(request=request).values_list("kind", flat=True))
    assert kinds == {"phone-call", "accessible-format"}


def test_unreachable_person_gets_a_staff_task(gateway: NotifyGateway) -> None:
    person = make_person(needs=["936721000000107"])
    rm.Person.objects.filter(pk=person.pk).update(address_text="")
    body = json.loads(person.resource.body)
    body["address"] = []
    person.resource.body = json.dumps(body)
    person.resource.save()
    person.refresh_from_db()
    request = contact_person(person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway)
    request.refresh_from_db()
    assert request.status == "completed" and not request.attempts.exists()
    assert StaffTask.objects.filter(request=request, kind="phone-call").exists()


def test_welsh_speaker_gets_a_welsh_letter(
    standin: NotifyStandIn, gateway: NotifyGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[bytes] = []
    original = gateway.letter
    monkeypatch.setattr(gateway, "letter", lambda pdf, ref: (captured.append(pdf), original(pdf, ref))[1])
    person = make_person(needs=["letter"], preferred_language="cy")
    request = contact_person(person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway)
    assert request.language == "cy"
    with pikepdf.open(io.BytesIO(captured[0])) as pdf:
        assert str(pdf.Root.Lang) == "cy"
        assert "Trefnwch" in str(pdf.open_metadata().get("dc:title"))
    assert standin.notifications[request.attempts.get().notify_id].type == "letter"


def test_staff_contact_is_audited_and_refused_outside_their_care(gateway: NotifyGateway) -> None:
    person = make_person(telecom=MOBILE)
    gp = StaffFactory(role=Role.GP, organisation=person.registered_practice)
    contact_person(person=person, purpose="review-invitation", user=gp, gateway=gateway)
    assert AuditEntry.objects.filter(
        actor=gp, person_id=person.pk, action="contact", outcome="success"
    ).exists()
    stranger = StaffFactory(role=Role.GP, organisation=None)
    with pytest.raises(Exception, match="."):
        contact_person(person=person, purpose="review-invitation", user=stranger, gateway=gateway)
    assert AuditEntry.objects.filter(actor=stranger, outcome="denied").exists()
    with pytest.raises(ContactError, match="Unknown purpose"):
        contact_person(person=person, purpose="spam", system_actor=SYSTEM, gateway=gateway)

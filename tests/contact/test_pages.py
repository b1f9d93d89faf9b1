"""The summary's top line names the person's communication needs (interpreter first), its timeline
shows each communication with the channel used and its status, and the huddle agenda flags
"needs an interpreter" (issue 18, items 1, 3 and 7)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careweave.contact.notify import NotifyGateway
from careweave.contact.services import contact_person
from careweave.governance.models import Role
from careweave.huddles.models import AgendaItem, Huddle
from tests.contact.conftest import MOBILE, make_person
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _gp(person: Any) -> Any:
    return StaffFactory(role=Role.GP, organisation=person.registered_practice)


def test_summary_top_line_and_timeline(gateway: NotifyGateway) -> None:
    person = make_person(
        telecom=MOBILE, needs=["957331000000109", "203311000000101"], preferred_language="pl"
    )
    gp = _gp(person)
    contact_person(person=person, purpose="review-invitation", user=gp, gateway=gateway)
    client = Client()
    client.force_login(gp)
    page = client.get(f"/people/{person.pk}/").content.decode()
    top = page[
        page.index("careweave-identity-strip") : page.index("</dl>", page.index("careweave-identity-strip"))
    ]
    assert "Communication needs" in top
    assert "Needs an interpreter; Requires information in large print (20 point)" in top
    assert "Text message" in page and "Review invitation: sent" in page


def test_huddle_agenda_flags_an_interpreter() -> None:
    person = make_person(needs=["204331000000107"])
    gp = _gp(person)
    huddle = Huddle.objects.create(team_name="MDT", scheduled_for=timezone.now(), created_by=gp)
    huddle.members.add(gp)
    AgendaItem.objects.create(huddle=huddle, person=person, nominated_by=gp, reason="Falls")
    client = Client()
    client.force_login(gp)
    page = client.get(f"/huddles/{huddle.pk}/").content.decode()
    assert "Needs a BSL interpreter" in page


def test_recording_a_need_writes_a_flag_that_changes_the_route(gateway: NotifyGateway, settings: Any) -> None:
    from careweave.contact.notify_standin import API_KEY
    from careweave.record import models as rm

    settings.CAREWEAVE_NOTIFY_BASE_URL, settings.CAREWEAVE_NOTIFY_API_KEY = gateway.client.base_url, API_KEY
    person = make_person(telecom=MOBILE)
    gp = _gp(person)
    client = Client()
    client.force_login(gp)
    page = client.get(f"/contact/people/{person.pk}/").content.decode()
    assert "In this order: Text message, then Letter" in page
    response = client.post(f"/contact/people/{person.pk}/", {"action": "need", "need": "contact_by_letter"})
    assert response.status_code == 302
    flag = rm.Flag.objects.get(person=person)
    assert flag.code == "936721000000107" and flag.status == "active"
    page = client.get(f"/contact/people/{person.pk}/").content.decode()
    assert "In this order: Letter." in page and "Requires contact by letter" in page
    sent = client.post(f"/contact/people/{person.pk}/", {"action": "send", "purpose": "results-letter"})
    assert sent.status_code == 302
    page = client.get(f"/contact/people/{person.pk}/").content.decode()
    assert "Results letter" in page and "Letter: sent" in page
    bad = client.post(f"/contact/people/{person.pk}/", {"action": "need", "need": "nonsense"})
    assert bad.status_code == 400 and "Choose a communication need" in bad.content.decode()
    stranger = StaffFactory(role=Role.GP, organisation=None)
    client.force_login(stranger)
    assert client.get(f"/contact/people/{person.pk}/").status_code in (403, 404)

"""GOV.UK Notify's official Python client against the local stand-in (in-process, loopback): text,
email, precompiled letter, status, the delivery-status callback into CareWeave, and failures."""

from __future__ import annotations

import json
from io import BytesIO
from typing import Any

import pytest
from django.test import Client
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from careweave.contact.models import Communication
from careweave.contact.notify import NotifyGateway
from careweave.contact.notify_standin import API_KEY, NotifyStandIn
from careweave.contact.services import contact_person
from tests.contact.conftest import EMAIL, MOBILE, make_person

pytestmark = pytest.mark.django_db
SYSTEM = "careweave contact test"


def test_the_real_client_sends_and_reads_status(standin: NotifyStandIn, gateway: NotifyGateway) -> None:
    sent = gateway.sms("07700900111", "Hello", "ref-1")
    assert sent.notify_id and not sent.refused
    assert gateway.status(sent.notify_id) == "created"
    standin.settle(post=lambda payload: None)
    assert gateway.status(sent.notify_id) == "delivered"
    email = gateway.email("alex@example.org", "Hello", "ref-2")
    letter = gateway.letter(b"%PDF-1.7 tiny", "ref-3")
    assert email.notify_id and letter.notify_id
    assert gateway.status(letter.notify_id) == "accepted"


def test_the_standin_refuses_a_wrong_key_and_bad_input(
    standin: NotifyStandIn, gateway: NotifyGateway
) -> None:
    wrong = NotificationsAPIClient(
        API_KEY[:-36] + "00000000-0000-0000-0000-000000000000", base_url=standin.base_url
    )
    with pytest.raises(HTTPError) as raised:
        wrong.send_sms_notification("07700900111", "f33517ff-2a88-4f6e-b855-c550268ce08a")
    assert raised.value.status_code == 403
    assert "not a uk mobile" in gateway.sms("12345", "Hello", "r").refused.lower()
    assert "not a valid pdf" in gateway.letter(b"plain text", "r").refused.lower()
    with pytest.raises(HTTPError):
        NotificationsAPIClient(API_KEY, base_url=standin.base_url).send_precompiled_letter_notification(
            "r", BytesIO(b"x")
        )


def _callback(client: Client, token: str = "careweave-standin-callback") -> Any:
    def post(payload: dict[str, Any]) -> None:
        response = client.post(
            "/contact/notify/callback",
            json.dumps(payload),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 204, response.content

    return post


def test_delivered_text_completes_the_communication(standin: NotifyStandIn, gateway: NotifyGateway) -> None:
    person = make_person(telecom=MOBILE)
    request = contact_person(person=person, purpose="review-invitation", system_actor=SYSTEM, gateway=gateway)
    comm = request.attempts.get()
    assert comm.channel == "sms" and comm.status == "in-progress" and comm.notify_id
    assert standin.settle(post=_callback(Client())) == 1
    comm.refresh_from_db()
    request.refresh_from_db()
    assert comm.status == "completed" and comm.delivery == "delivered" and comm.received
    assert request.status == "completed"
    body = json.loads(comm.resource.body)
    assert body["status"] == "completed" and body["medium"][0]["coding"][0]["code"] == "sms"
    assert body["identifier"][0]["value"] == comm.notify_id and comm.resource.version == 2


def test_failed_delivery_falls_back_to_the_next_channel(
    standin: NotifyStandIn, gateway: NotifyGateway, settings: Any
) -> None:
    settings.CAREWEAVE_NOTIFY_BASE_URL, settings.CAREWEAVE_NOTIFY_API_KEY = standin.base_url, API_KEY
    failing = [{"system": "phone", "use": "mobile", "value": "07700900002", "rank": 1}]
    person = make_person(telecom=failing + EMAIL)
    request = contact_person(
        person=person,
        purpose="appointment-reminder",
        system_actor=SYSTEM,
        gateway=gateway,
        details={"when": "Monday 4 January at 10:30"},
    )
    standin.settle(post=_callback(Client()))
    attempts = list(Communication.objects.filter(request=request).order_by("pk"))
    assert [(a.channel, a.status) for a in attempts] == [("sms", "not-done"), ("email", "in-progress")]
    assert attempts[0].delivery == "permanent-failure" and "permanent-failure" in attempts[0].status_reason
    standin.settle(post=_callback(Client()))
    attempts[1].refresh_from_db()
    assert attempts[1].status == "completed"


def test_a_refused_number_falls_back_at_once(gateway: NotifyGateway) -> None:
    person = make_person(telecom=[{"system": "sms", "value": "0770", "rank": 1}] + EMAIL)
    request = contact_person(person=person, purpose="results-letter", system_actor=SYSTEM, gateway=gateway)
    assert [(a.channel, a.status) for a in request.attempts.order_by("pk")] == [
        ("sms", "not-done"),
        ("email", "in-progress"),
    ]


def test_the_callback_refuses_a_wrong_token_and_bad_bodies() -> None:
    client = Client()
    assert client.post("/contact/notify/callback", "{}", content_type="application/json").status_code == 401
    auth = {"Authorization": "Bearer careweave-standin-callback"}
    assert (
        client.post(
            "/contact/notify/callback", "not json", content_type="application/json", headers=auth
        ).status_code
        == 400
    )
    missing = client.post(
        "/contact/notify/callback", json.dumps({"id": "x"}), content_type="application/json", headers=auth
    )
    assert missing.status_code == 400 and b"status" in missing.content
    unknown = client.post(
        "/contact/notify/callback",
        json.dumps({"id": "x", "status": "delivered"}),
        content_type="application/json",
        headers=auth,
    )
    assert unknown.status_code == 404

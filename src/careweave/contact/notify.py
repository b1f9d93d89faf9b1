"""Sending through GOV.UK Notify with its official Python client (notifications-python-client),
configured by the CAREWEAVE_NOTIFY_* settings. By default those point at the local stand-in
(`notify_standin`), so nothing here ever calls a real host unless an operator sets a live key and URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient


@dataclass(frozen=True)
class Sent:
    """Notify's answer: the notification id, or why it refused (a validation error: try the next channel)."""

    notify_id: str = ""
    refused: str = ""


class NotifyGateway:
    """One client per gateway (the client keeps a connection pool; it is not thread-safe)."""

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key or settings.CAREWEAVE_NOTIFY_API_KEY
        if not key:
            raise ImproperlyConfigured("set CAREWEAVE_NOTIFY_API_KEY to send through GOV.UK Notify (see dotenv-sample)")
        self.client = NotificationsAPIClient(  # type: ignore[no-untyped-call]
            key,
            base_url=base_url or settings.CAREWEAVE_NOTIFY_BASE_URL,
            timeout=10,
        )

    @staticmethod
    def _call(send: Any, *args: Any, **kwargs: Any) -> Sent:
        try:
            reply = send(*args, **kwargs)
        except HTTPError as error:
            message = (
                error.message
                if isinstance(error.message, str)
                else "; ".join(str(e.get("message", "")) for e in error.message or [] if isinstance(e, dict))
            )
            return Sent(refused=f"Notify refused it ({error.status_code}): {message}"[:255])
        return Sent(notify_id=str(reply["id"]))

    def sms(self, phone: str, body: str, reference: str) -> Sent:
        return self._call(
            self.client.send_sms_notification,
            phone_number=phone,
            template_id=settings.CAREWEAVE_NOTIFY_SMS_TEMPLATE,
            personalisation={"body": body},
            reference=reference,
        )

    def email(self, address: str, body: str, reference: str) -> Sent:
        return self._call(
            self.client.send_email_notification,
            email_address=address,
            template_id=settings.CAREWEAVE_NOTIFY_EMAIL_TEMPLATE,
            personalisation={"body": body},
            reference=reference,
        )

    def letter(self, pdf: bytes, reference: str) -> Sent:
        return self._call(
            self.client.send_precompiled_letter_notification,
            reference=reference,
            pdf_file=BytesIO(pdf),
            postage="second",
        )

    def status(self, notify_id: str) -> str:
        return str(self.client.get_notification_by_id(notify_id)["status"])  # type: ignore[no-untyped-call]

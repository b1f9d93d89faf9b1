"""A local stand-in for GOV.UK Notify's REST API (v2), so the official client's code path runs without
calling a real host: the embedded default, the tests and the bench all send to it on loopback.

Implements what CareWeave's client calls: POST /v2/notifications/sms, /email and /letter (a template
letter, or a precompiled PDF letter given as base64 `content`), GET /v2/notifications/{id}, and the
delivery-status callback Notify makes to the service's callback URL (`settle`). Requests are
authenticated as Notify does: a JWT (HS256) whose `iss` is the service id, signed with the key's
secret, issued within 30 seconds (Notify's own decode_jwt_token checks it).

Outcomes follow Notify's documented test recipients: 07700900002 and perm-fail@simulator.notify fail
permanently, 07700900003 and temp-fail@simulator.notify temporarily; everything else is delivered
(letters: received). Letters that are not PDFs, and numbers or addresses that are not valid, are
refused with Notify's 400 ValidationError body.

Run alone: ``python -m careweave.contact.notify_standin [--port 6011] [--callback URL]``.
Django-free; keeps no personal data beyond the process's memory.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from notifications_python_client.authentication import decode_jwt_token, get_token_issuer
from notifications_python_client.errors import TokenError

#: The stand-in's service and key (its own, never a real service's): the default API key matches.
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"careweave_standin-{SERVICE_ID}-{SECRET}"

PERMANENT_FAILURES = frozenset({"07700900002", "+447700900002", "perm-fail@simulator.notify"})
TEMPORARY_FAILURES = frozenset({"07700900003", "+447700900003", "temp-fail@simulator.notify"})
_UK_MOBILE = re.compile(r"^(?:\+44|0044|0)7\d{9}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@simulator\.notify$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Notification:
    id: str
    type: str  # sms | email | letter
    to: str
    reference: str | None
    template_id: str | None
    body: str
    status: str
    outcome: str
    created_at: str = field(default_factory=_now)
    completed_at: str | None = None
    postage: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference": self.reference,
            "type": self.type,
            "status": self.status,
            "body": self.body,
            "created_at": self.created_at,
            "sent_at": self.created_at if self.status != "created" else None,
            "completed_at": self.completed_at,
            "template": {"id": self.template_id, "version": 1, "uri": ""} if self.template_id else None,
            "phone_number": self.to if self.type == "sms" else None,
            "email_address": self.to if self.type == "email" else None,
            "postage": self.postage,
        }


class NotifyStandIn:
    """The service: its notifications in memory, and the HTTP server on loopback."""

    def __init__(
        self, *, port: int = 0, callback_url: str = "", callback_token: str = "", settle_on_read: bool = False
    ) -> None:
        self.notifications: dict[str, Notification] = {}
        self.settle_on_read = settle_on_read  # a status read finds the message delivered (or failed)
        self.callback_url = callback_url
        self.callback_token = callback_token
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> NotifyStandIn:
        self._thread = threading.Thread(target=self.server.serve_forever, name="notify-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- the API ------------------------------------------------------------------------------------

    def create(self, kind: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        template_id = data.get("template_id")
        reference = data.get("reference")
        if kind == "letter" and "content" in data:
            try:
                pdf = base64.b64decode(str(data["content"]), validate=True)
            except ValueError:
                pdf = b""
            if not pdf.startswith(b"%PDF"):
                return _error(400, "ValidationError", "Letter content is not a valid PDF")
            if not reference:
                return _error(400, "ValidationError", "reference is a required property")
            to, body, template_id = "precompiled letter", "", None
        elif kind == "letter":
            address = data.get("personalisation") or {}
            if not address.get("address_line_1") or not address.get("address_line_2"):
                return _error(400, "ValidationError", "Address must be at least 2 lines")
            to, body = str(address.get("address_line_1")), json.dumps(address)
        else:
            key = "phone_number" if kind == "sms" else "email_address"
            to = str(data.get(key) or "").replace(" ", "")
            valid = _UK_MOBILE if kind == "sms" else _EMAIL
            if not valid.match(to):
                what = (
                    "phone_number Not a UK mobile number"
                    if kind == "sms"
                    else "email_address Not a valid email address"
                )
                return _error(400, "ValidationError", what)
            if not template_id:
                return _error(400, "ValidationError", "template_id is a required property")
            body = str((data.get("personalisation") or {}).get("body", ""))
        outcome = "delivered" if kind != "letter" else "received"
        if to in PERMANENT_FAILURES:
            outcome = "permanent-failure"
        elif to in TEMPORARY_FAILURES:
            outcome = "temporary-failure"
        note = Notification(
            id=str(uuid.uuid4()),
            type=kind,
            to=to,
            reference=reference,
            template_id=template_id,
            body=body,
            status="accepted" if kind == "letter" else "created",
            outcome=outcome,
            postage=str(data.get("postage") or "second") if kind == "letter" else None,
        )
        with self._lock:
            self.notifications[note.id] = note
        reply: dict[str, Any] = {
            "id": note.id,
            "reference": reference,
            "uri": f"{self.base_url}/v2/notifications/{note.id}",
        }
        if kind == "letter":
            reply["postage"] = note.postage
        else:
            reply["content"] = {
                "body": body,
                **({"from_number": "CareWeave"} if kind == "sms" else {"subject": "CareWeave"}),
            }
            reply["template"] = {"id": template_id, "version": 1, "uri": ""}
        return 201, reply

    def settle(self, post: Callable[[dict[str, Any]], None] | None = None) -> int:
        """Deliver (or fail) every pending notification, and make Notify's status callback for each:
        to ``post`` when given, else an HTTP POST to the callback URL with the bearer token."""
        with self._lock:
            pending = [n for n in self.notifications.values() if n.status != n.outcome]
            for note in pending:
                note.status, note.completed_at = note.outcome, _now()
        for note in pending:
            payload = {
                "id": note.id,
                "reference": note.reference,
                "to": note.to,
                "status": note.status,
                "created_at": note.created_at,
                "completed_at": note.completed_at,
                "sent_at": note.created_at,
                "notification_type": note.type,
            }
            if post is not None:
                post(payload)
            elif self.callback_url:
                request = urllib.request.Request(
                    self.callback_url,
                    data=json.dumps(payload).encode(),
                    headers={
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {self.callback_token}",
                    },
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=10):  # noqa: S310 (our own configured URL)
                    pass
        return len(pending)


def _error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"status_code": status, "errors": [{"error": error, "message": message}]}


def _authorised(header: str) -> str:
    """An empty string when the JWT is good, else Notify's error message."""
    if not header.startswith("Bearer "):
        return "Unauthorized: authentication token must be provided"
    token = header.removeprefix("Bearer ").strip()
    try:
        if get_token_issuer(token) != SERVICE_ID:  # type: ignore[no-untyped-call]
            return "Invalid token: service not found"
        decode_jwt_token(token, SECRET)  # type: ignore[no-untyped-call]
    except TokenError as error:
        return f"Invalid token: {error.message}"
    return ""


def _handler(service: NotifyStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            return  # no request lines (they carry notification ids) on stderr

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _guard(self) -> bool:
            problem = _authorised(self.headers.get("Authorization", ""))
            if problem:
                self._reply(*_error(403, "AuthError", problem))
            return not problem

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if not self._guard():
                return
            kind = self.path.rstrip("/").removeprefix("/v2/notifications/")
            if kind not in ("sms", "email", "letter"):
                self._reply(*_error(404, "NotFound", "Not Found"))
                return
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                self._reply(*_error(400, "BadRequestError", "Invalid JSON supplied in POST data"))
                return
            self._reply(*service.create(kind, data if isinstance(data, dict) else {}))

        def do_GET(self) -> None:
            if not self._guard():
                return
            match = re.fullmatch(r"/v2/notifications/([0-9a-f-]{36})", self.path)
            note = service.notifications.get(match.group(1)) if match else None
            if note is None:
                self._reply(*_error(404, "NoResultFound", "No result found"))
                return
            if service.settle_on_read and note.status != note.outcome:
                note.status, note.completed_at = note.outcome, _now()
            self._reply(200, note.as_json())

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for GOV.UK Notify (loopback only)")
    parser.add_argument("--port", type=int, default=6011)
    parser.add_argument("--callback", default="", help="CareWeave's delivery-status callback URL")
    parser.add_argument("--callback-token", default="careweave-standin-callback")
    parser.add_argument(
        "--settle-on-read", action="store_true", help="a status read finds the message settled"
    )
    parser.add_argument(
        "--settle-every", type=float, default=5.0, help="seconds between receipts (with --callback)"
    )
    args = parser.parse_args(argv)
    service = NotifyStandIn(
        port=args.port,
        callback_url=args.callback,
        callback_token=args.callback_token,
        settle_on_read=args.settle_on_read,
    )
    print(f"Notify stand-in on {service.base_url} (service {SERVICE_ID})", flush=True)  # noqa: T201
    if args.callback:

        def deliver() -> None:  # Notify's receipts, every few seconds, to CareWeave's callback URL
            while True:
                time.sleep(args.settle_every)
                try:
                    service.settle()
                except OSError as error:  # CareWeave not up: those receipts are lost, as a stand-in may
                    print(f"callback failed: {type(error).__name__}", flush=True)  # noqa: T201

        threading.Thread(target=deliver, name="notify-standin-receipts", daemon=True).start()
    service.server.serve_forever()


if __name__ == "__main__":
    main()

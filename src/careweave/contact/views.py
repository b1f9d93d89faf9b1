"""GOV.UK Notify's delivery-status callback: Notify POSTs each receipt with the bearer token the
service set; the Communication is updated and a failure falls back to the next channel."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from careweave.contact.services import record_delivery


def _problem(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt  # a server-to-server callback authenticated by its bearer token, not a browser form
@require_POST
def notify_callback(request: HttpRequest) -> HttpResponse:
    token = str(settings.CAREWEAVE_NOTIFY_CALLBACK_TOKEN or "")
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return _problem(401, "callback token missing or wrong")
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _problem(400, "body: not JSON")
    if not isinstance(data, dict):
        return _problem(400, "body: expected a JSON object")
    for field in ("id", "status"):
        if not isinstance(data.get(field), str) or not data[field]:
            return _problem(400, f"{field}: required (a string)")
    completed = parse_datetime(str(data.get("completed_at") or "")) if data.get("completed_at") else None
    comm = record_delivery(notify_id=data["id"], status=data["status"], completed_at=completed)
    if comm is None:
        return _problem(404, "id: no communication was sent with this notification id")
    return HttpResponse(status=204)

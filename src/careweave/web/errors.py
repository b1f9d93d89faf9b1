"""Error pages in the NHS.UK style (400, 403, 404, 500), and a FHIR OperationOutcome for the same
errors under /fhir, so that no caller ever meets Django's bare pages.

The 500 page is rendered without the signed-in user's navigation: whatever failed (the database, the
session) must not fail the error page too.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

#: Per status: the page heading and what the person can do next, in plain words.
PAGES: dict[int, tuple[str, str, str]] = {
    400: ("Sorry, there is a problem with this request", "The address or the form sent was not understood.",
          "invalid"),
    403: ("You cannot do this", "Your account does not allow this. Ask your administrator if you think it should.",
          "forbidden"),
    404: ("Page not found", "If you typed the web address, check it is correct. If you pasted it, check you "
          "copied the entire address.", "not-found"),
    500: ("Sorry, there is a problem with the service", "Try again later. If the problem continues, tell your "
          "local IT service desk the time it happened.", "exception"),
}


def _fhir(status: int) -> HttpResponse:
    heading, explanation, code = PAGES[status]
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": f"{heading}. {explanation}"}],
    }
    return HttpResponse(json.dumps(outcome), status=status, content_type="application/fhir+json")


def error_page(request: HttpRequest, status: int) -> HttpResponse:
    if request.path == "/fhir" or request.path.startswith("/fhir/"):
        return _fhir(status)
    heading, explanation, _ = PAGES[status]
    context: dict[str, Any] = {"heading": heading, "explanation": explanation, "status": status}
    if status == 500:
        html = render_to_string("web/error_plain.html", context)
    else:
        html = render_to_string("web/error.html", context, request=request)
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    logger.error("server error path_kind=%s", "fhir" if request.path.startswith("/fhir") else "web")
    return error_page(request, 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """The form was sent without its security token (often a page left open too long)."""
    if request.path.startswith("/fhir"):
        return _fhir(403)
    context = {
        "heading": "Your form could not be sent",
        "explanation": "The page had been open too long, or cookies are blocked. Go back, reload the page "
        "and try again.",
        "status": 403,
    }
    return HttpResponse(render_to_string("web/error.html", context, request=request), status=403)

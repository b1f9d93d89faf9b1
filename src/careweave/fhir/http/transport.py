"""Transport: bearer-token authentication, FHIR JSON, OperationOutcome for every failure, paging.

A refusal from governance (`AccessRefused`) is translated here and nowhere else: one the caller may
not learn exists (`hide`) is the 404 of an unknown id; any other is a 403 OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from careweave.fhir.outcome import Issue, Refused, operation_outcome
from careweave.governance.access import AccessRefused, Permission, RecordAccess, open_record
from careweave.governance.models import ApiToken
from careweave.record import models as rm

FHIR_JSON = "application/fhir+json; charset=utf-8"
DEFAULT_COUNT, MAX_COUNT = 50, 500
MAX_OFFSET = 10_000_000  # deep paging past this is a bulk export, not a search
# _totalMethod: fhirpy's count() sends it (an Aidbox parameter); the total is always counted here
CONTROL_PARAMS = frozenset(
    {
        "_count",
        "_offset",
        "_format",
        "_summary",
        "_elements",
        "_total",
        "_pretty",
        "_sort",
        "_totalMethod",
        "_include",
        "_revinclude",
    }
)


def fhir_response(
    body: dict[str, Any] | bytes, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def outcome(status: int, code: str, message: str, expression: str | None = None) -> HttpResponse:
    return fhir_response(operation_outcome([Issue("error", code, message, expression=expression)]), status)


def refused_response(refused: Refused) -> HttpResponse:
    status = refused.http_status
    if status == 400 and any(
        i.code in ("required", "value", "code-invalid", "not-found", "invalid") for i in refused.issues
    ):
        status = 422 if all(i.code != "structure" for i in refused.issues) else 400
    return fhir_response(operation_outcome(refused.issues), status)


def not_known(kind: str, logical_id: str) -> HttpResponse:
    """The one answer for "no such id" and "not yours to see", so ids cannot be probed (as HAPI and
    Medplum do). It says how to open emergency access without saying whether the record exists."""
    return outcome(
        404,
        "not-found",
        f"{kind}/{logical_id} is not known, or is not in your organisation's or care team's care "
        "(send X-Break-Glass-Reason to open emergency access)",
    )


def _addressed(request: HttpRequest) -> tuple[str, str]:
    """The type and id a request's URL names (…/fhir/Type/id…), for the answer to a hidden refusal:
    the URL's own, never the person's Patient id behind it."""
    parts = request.path_info.split("/")
    at = parts.index("fhir") if "fhir" in parts else 0
    kind = parts[at + 1] if len(parts) > at + 1 else ""
    logical_id = parts[at + 2] if len(parts) > at + 2 else ""
    return kind or "resource", logical_id


def refusal_response(request: HttpRequest, refused: AccessRefused) -> HttpResponse:
    if refused.hide:
        return not_known(*_addressed(request))
    return outcome(403, "forbidden", refused.reason)


def unacceptable(request: HttpRequest) -> HttpResponse | None:
    """A 406 OperationOutcome when `_format` or Accept asks only for what is not served (XML, Turtle,
    HTML): this server answers in FHIR JSON."""
    fmt = request.GET.get("_format")
    if fmt is not None:
        wanted = [fmt]
    else:
        accept = request.headers.get("Accept", "")
        wanted = [part.split(";")[0] for part in accept.split(",")] if accept.strip() else []
    wanted = [w.strip().lower() for w in wanted if w.strip()]
    if not wanted or any(w in ("*/*", "application/*", "*") or "json" in w for w in wanted):
        return None
    return outcome(
        406,
        "not-supported",
        f"{'_format' if fmt is not None else 'Accept'} asks for a format not served here: "
        "this server answers in FHIR JSON (application/fhir+json, _format=json)",
        "_format" if fmt is not None else None,
    )


def unknown_url(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every /fhir URL that names nothing served: an OperationOutcome, never an HTML page."""
    return outcome(404, "not-found", "no FHIR interaction is served at this URL (see /fhir/metadata)")


def api_view(handler: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Bearer-token authentication and OperationOutcome for every failure."""

    @csrf_exempt
    @wraps(handler)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            response = outcome(401, "login", "a bearer token is required (Authorization: Bearer <token>)")
            response["WWW-Authenticate"] = 'Bearer realm="careweave"'
            return response
        user = ApiToken.user_for(header.removeprefix("Bearer ").strip())
        if user is None:
            response = outcome(401, "login", "the bearer token is not valid or has been revoked")
            response["WWW-Authenticate"] = 'Bearer realm="careweave", error="invalid_token"'
            return response
        request.user = user
        refused_format = unacceptable(request)
        if refused_format is not None:
            return refused_format
        try:
            return handler(request, *args, **kwargs)
        except AccessRefused as refused:
            return refusal_response(request, refused)
        except Refused as refused:
            return refused_response(refused)
        except orjson.JSONDecodeError as error:
            return outcome(400, "structure", f"the request body is not valid JSON: {error}")

    return wrapper


def purpose(request: HttpRequest) -> str:
    return request.headers.get("X-Request-Purpose", "direct-care")[:64]


def open_for(
    request: HttpRequest,
    person: rm.Person,
    *,
    action: str,
    resource_type: str = "Patient",
    resource_id: str = "",
    audit: bool = True,
) -> RecordAccess:
    """Open a person's record for an API request, through governance: the request's purpose, its
    break-glass reason (X-Break-Glass-Reason) if any, and the API channel. Raises AccessRefused."""
    return open_record(
        user=request.user,
        person=person,
        action=action,
        purpose=purpose(request),
        channel="api",
        resource_type=resource_type,
        resource_id=resource_id,
        break_glass_reason=request.headers.get("X-Break-Glass-Reason") or None,
        permission=Permission.READ_RECORDS,
        audit=audit,
    )


def paging(request: HttpRequest) -> tuple[int, int]:
    """_count (capped at MAX_COUNT) and _offset, refused unless whole numbers in range: a negative
    slice or an offset past PostgreSQL's bigint is a server error, not an empty page."""
    values = {"_count": DEFAULT_COUNT, "_offset": 0}
    for name in values:
        raw = request.GET.get(name)
        if raw is None:
            continue
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            limit = f"0 to {MAX_COUNT}" if name == "_count" else f"0 to {MAX_OFFSET}"
            raise Refused(
                [Issue("error", "processing", f"{name} must be a whole number from {limit}", expression=name)]
            )
        values[name] = int(raw)
    if values["_offset"] > MAX_OFFSET:
        raise Refused(
            [Issue("error", "processing", f"_offset must be at most {MAX_OFFSET}", expression="_offset")]
        )
    return min(values["_count"], MAX_COUNT), values["_offset"]


def searchset_bytes(
    total: int | None,
    links: list[dict[str, str]],
    entries: list[tuple[str, str]],
    *,
    outcome_resource: dict[str, Any] | None = None,
    included: list[tuple[str, str]] | None = None,
) -> bytes:
    """Assemble the Bundle from stored JSON text without parsing it again (fast $everything); an
    `outcome_resource` (an OperationOutcome, e.g. a warning) is its last entry, in search mode outcome."""
    head: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if total is not None:
        head["total"] = total
    parts = [orjson.dumps(head)[:-1], b',"entry":[']
    parts.append(
        b",".join(
            b'{"fullUrl":'
            + orjson.dumps(url)
            + b',"resource":'
            + body.encode()
            + b',"search":{"mode":"match"}}'
            for url, body in entries
        )
    )
    if included:
        parts.append(
            (b"," if entries else b"")
            + b",".join(
                b'{"fullUrl":'
                + orjson.dumps(url)
                + b',"resource":'
                + body.encode()
                + b',"search":{"mode":"include"}}'
                for url, body in included
            )
        )
    if outcome_resource is not None:
        parts.append(
            (b"," if entries or included else b"")
            + b'{"resource":'
            + orjson.dumps(outcome_resource)
            + b',"search":{"mode":"outcome"}}'
        )
    parts.append(b"]}")
    return b"".join(parts)

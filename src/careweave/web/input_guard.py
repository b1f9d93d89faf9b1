"""Refuse input the database cannot store or the parsers cannot survive, before any view sees it.

PostgreSQL text cannot hold a NUL character, and UTF-8 cannot carry a lone surrogate (JSON can
spell both: "\\u0000", "\\ud800"); either reaching a query is a server error, and on the way it can
put the value into the database's own log. JSON nested without limit costs recursion in the
validators (FHIR resources nest a handful of levels; 64 is far beyond any real one). So a NUL or
lone surrogate anywhere in the query string, a form or a JSON body, or JSON nested deeper than
`MAX_JSON_DEPTH`, is refused with 400: an OperationOutcome under /fhir, a plain page elsewhere.
The refusal names the part of the request, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.html import escape

MAX_JSON_DEPTH = 64
FHIR_PREFIXES = ("/fhir", "/care/fhir")
# a NUL, or a UTF-16 surrogate code point (only ever lone in a Python str decoded from bad input)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def json_problem(value: Any, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON value cannot be accepted, or None. Iterative, so depth itself is safe."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if unstorable(node):
                return "contains a NUL character or an unpaired surrogate"
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > limit:
            return f"is nested more than {limit} levels deep"
        if isinstance(node, dict):
            for key, item in node.items():
                if unstorable(key):
                    return "contains a NUL character or an unpaired surrogate"
                stack.append((item, depth + 1))
        else:
            stack.extend((item, depth + 1) for item in node)
    return None


def _raw_depth(body: bytes, limit: int) -> bool:
    """True if the raw JSON text opens more than `limit` arrays/objects at once (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def _fields_problem(data: QueryDict) -> bool:
    # Django decodes query strings and urlencoded forms with errors="replace", so a surrogate
    # cannot arrive that way; a NUL (%00) can
    return any(unstorable(key) or any(unstorable(v) for v in values) for key, values in data.lists())


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            problem = self.problem(request)
        except RequestDataTooBig:  # over DATA_UPLOAD_MAX_MEMORY_SIZE: 413, not Django's HTML 400
            return self.refuse(request, "body", "the request body is larger than this server accepts", 413)
        if problem is not None:
            return self.refuse(request, *problem)
        return self.get_response(request)

    @staticmethod
    def problem(request: HttpRequest) -> tuple[str, str] | None:
        """(element, what is wrong) for the first unacceptable part of the request."""
        if unstorable(request.path) or _fields_problem(request.GET):
            return "query", "the query string contains a NUL character or an unpaired surrogate"
        if request.method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return None
        content_type = (request.content_type or "").lower()
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if _fields_problem(request.POST):
                return "form", "a form field contains a NUL character or an unpaired surrogate"
            return None
        body = request.body
        if not body or not ("json" in content_type or body.lstrip()[:1] in (b"{", b"[")):
            return None
        if _raw_depth(body, MAX_JSON_DEPTH):
            return "body", f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep"
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            # malformed JSON is the view's to refuse (it names the position); a lone surrogate
            # spelt "\\ud800" is what orjson refuses here, so look for that ourselves
            if re.search(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}", body) or b"\\u0000" in body:
                return "body", "the JSON body contains a NUL character or an unpaired surrogate"
            return None
        why = json_problem(parsed)
        return None if why is None else ("body", f"the JSON body {why}")

    @staticmethod
    def refuse(request: HttpRequest, element: str, message: str, status: int = 400) -> HttpResponse:
        if request.path.startswith(FHIR_PREFIXES):
            code = "too-long" if status == 413 else "invalid"
            body = {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "error", "code": code, "diagnostics": message, "expression": [element]}
                ],
            }
            return HttpResponse(
                orjson.dumps(body), status=status, content_type="application/fhir+json; charset=utf-8"
            )
        title = "Request too large" if status == 413 else "Bad request"
        page = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1><p>{escape(message)}.</p></body></html>"
        )
        return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")

"""Headers every response carries, and error reports that never show a caller's secrets.

- A strict Content-Security-Policy: scripts and styles from our own origin only (the one inline
  script of the NHS.UK page template carries a per-response nonce), no external hosts, no framing,
  forms post only to us. Injected markup (a stored XSS that escaping missed) cannot run script.
- `Cache-Control: no-store` on everything that is not a static file: pages and FHIR responses carry
  patient data, which must not stay in a shared computer's browser cache or a proxy.
- Django's error reports (the technical 500 page with DEBUG on in development, and the e-mailed
  reports) never show the Authorization header, cookies, the break-glass reason, or any value that
  contains them, such as a local variable holding the token.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable, ItemsView
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# style-src has no 'unsafe-inline': our templates have no style attributes (the charts are styled by
# classes in careweave.css), htmx's indicator CSS is ours (htmx-config includeIndicatorCSS:false) and the
# NHS.UK scripts set styles through the CSSOM, which CSP allows. img-src allows data: for the SVG
# icons the NHS.UK scripts build. font-src 'self' refuses the Frutiger font the NHS.UK stylesheet asks for
# from assets.nhs.uk: no external host, and the service must look the same offline (Arial, NHS.UK's fallback).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "font-src 'self'; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "frame-ancestors 'none'; "
    "form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # base.html passes it to the NHS.UK template as cspNonce; a new one for every response.
        nonce = secrets.token_urlsafe(18)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(nonce=nonce)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        if not request.path.startswith(settings.STATIC_URL):
            # Every other response may carry patient data: never stored, by the browser or a proxy.
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


def _request_secrets(request: HttpRequest | None) -> list[str]:
    """The values of this request that must never appear in a report (longest first)."""
    if request is None or not hasattr(request, "META"):
        return []
    found: set[str] = set()
    authorization = str(request.META.get("HTTP_AUTHORIZATION", ""))
    found.add(authorization)
    found.add(authorization.partition(" ")[2].strip())  # the token alone, after "Bearer"
    found.add(str(request.META.get("HTTP_X_BREAK_GLASS_REASON", "")))
    cookies = getattr(request, "COOKIES", {}) or {}
    found.update(str(v) for v in cookies.values())
    # Short values (an empty header, a cookie such as "1") would blank out ordinary text.
    return sorted((s for s in found if len(s) >= 8), key=len, reverse=True)


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Cleanses credentials in every report, DEBUG on or off."""

    SECRET_HEADERS = frozenset({"HTTP_AUTHORIZATION", "HTTP_COOKIE", "HTTP_X_BREAK_GLASS_REASON"})

    def is_active(self, request: HttpRequest | None) -> bool:
        # Django's filter switches itself off under DEBUG; a developer's screen is shared and
        # screenshotted too, so the credentials stay hidden there as well.
        return True

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        meta: dict[str, Any] = super().get_safe_request_meta(request)
        for key in self.SECRET_HEADERS & meta.keys():
            meta[key] = self.cleansed_substitute
        return meta

    def get_safe_cookies(self, request: HttpRequest) -> dict[str, Any]:
        return {name: self.cleansed_substitute for name in getattr(request, "COOKIES", {})}

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> ItemsView[str, Any]:
        hidden = _request_secrets(request)
        cleansed: dict[str, Any] = {}
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if hidden:
                try:
                    text = repr(value)
                except Exception:  # a broken __repr__ must not break the error report
                    text = ""
                if any(secret in text for secret in hidden):
                    value = self.cleansed_substitute
            cleansed[name] = value
        return cleansed.items()


class SecretsExceptionReporter(ExceptionReporter):
    """Belt and braces: removes the request's secrets from the finished report, wherever they
    appear (the exception's message, a setting, a template's context)."""

    def _redact(self, report: str) -> SafeString:
        for secret in _request_secrets(self.request):
            report = report.replace(secret, "********").replace(html.escape(secret), "********")
        # Still the escaped report Django rendered: only whole secrets were replaced, by asterisks.
        return mark_safe(report)

    def get_traceback_html(self) -> SafeString:
        return self._redact(super().get_traceback_html())

    def get_traceback_text(self) -> SafeString:
        return self._redact(super().get_traceback_text())

"""Production hardening (issue 8, finding 8): the deploy checks pass, DEBUG is refused in production,
every response carries a strict Content-Security-Policy and `Cache-Control: no-store`, pages have no
inline script, style or event handler, and error reports never show a caller's token or cookies."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from careweave.web.security_headers import CONTENT_SECURITY_POLICY, SecurityHeadersMiddleware
from tests.web.conftest import signed_in, world  # noqa: F401 (fixture)

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "CAREWEAVE_ENV": "production",
    "SECRET_KEY": "production-test-key-" + "k7Qw9zX2pL4vN8rT6yB1mC3hJ5dF0gS" * 2,
    "DATABASE_URL": "postgres://careweave@127.0.0.1:5432/careweave",
    "ALLOWED_HOSTS": "careweave.example.nhs.uk",
    "DJANGO_SETTINGS_MODULE": "careweave.config.settings",
}


def run_in_production(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter, configured as a production deployment is (settings are read at import)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "CAREWEAVE_ENV", "DJANGO_SETTINGS_MODULE"}}
    env.update(PRODUCTION_ENV, **extra)
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )


DEPLOY_CHECK = """
from careweave.cli import setup_django
setup_django(migrate=False)
from django.core.management import call_command
call_command("check", deploy=True, fail_level="WARNING")
"""


def test_deploy_checks_are_clean_in_production() -> None:
    result = run_in_production(DEPLOY_CHECK)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr + result.stdout


def test_hsts_preload_is_the_domain_owners_choice() -> None:
    # Opting in sets the header's preload flag, and the deploy checks stay clean without silencing.
    result = run_in_production(DEPLOY_CHECK, SECURE_HSTS_PRELOAD="true")
    assert result.returncode == 0, result.stderr
    assert "no issues (0 silenced)" in result.stdout


def test_debug_is_refused_in_production() -> None:
    result = run_in_production("import careweave.config.settings", DEBUG="true")
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG must be false when CAREWEAVE_ENV=production" in result.stderr


def test_production_cookies_and_transport() -> None:
    names = [
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "CSRF_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE", "SESSION_COOKIE_NAME", "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER", "DEBUG",
    ]
    code = f"from careweave.config import settings as s; import json; print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))"
    result = run_in_production(code, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert result.returncode == 0, result.stderr
    values: dict[str, Any] = json.loads(result.stdout)
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["SECURE_SSL_REDIRECT"] is True and values["DEBUG"] is False
    assert values["SECURE_HSTS_SECONDS"] >= 365 * 24 * 60 * 60 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_redirects_to_https_and_sends_hsts() -> None:
    code = """
from careweave.cli import setup_django
setup_django(migrate=False)
from django.test import Client
c = Client()
plain = c.get("/login/", HTTP_HOST="careweave.example.nhs.uk")
secure = c.get("/fhir/metadata", HTTP_HOST="careweave.example.nhs.uk", HTTP_X_FORWARDED_PROTO="https")
print(plain.status_code, plain["Location"])
print(secure["Strict-Transport-Security"])
"""
    result = run_in_production(code, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert result.returncode == 0, result.stderr
    redirect, hsts = result.stdout.strip().splitlines()
    assert redirect == "301 https://careweave.example.nhs.uk/login/"
    assert hsts == "max-age=31536000; includeSubDomains"


def csp_of(response: Any) -> dict[str, str]:
    directives = [d.strip().split(" ", 1) for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


@pytest.mark.django_db
def test_every_response_has_a_strict_csp_and_no_store(client: Client, world: dict[str, Any]) -> None:  # noqa: F811
    gp = signed_in(world["gp_a"])
    responses = {
        "sign-in page": client.get("/login/"),
        "summary": gp.get(f"/people/{world['alice'].pk}/"),
        "people list": gp.get("/people/"),
        "FHIR": client.get("/fhir/metadata"),
        "FHIR refused": client.get(f"/fhir/Patient/{world['alice'].pk}"),
    }
    for name, response in responses.items():
        policy = csp_of(response)
        assert policy["default-src"] == "'self'", name
        assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'", name
        assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'", name
        assert "unsafe-inline" not in response["Content-Security-Policy"], name
        assert "http" not in response["Content-Security-Policy"], name  # no external host
        assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache", name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Referrer-Policy"] == "same-origin", name
    # A fresh nonce for each response.
    assert csp_of(client.get("/login/"))["script-src"] != csp_of(client.get("/login/"))["script-src"]


def test_the_policy_is_strict() -> None:
    policy = CONTENT_SECURITY_POLICY.format(nonce="n")
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy and "*" not in policy


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/login/", "/people/", "/people/{alice}/", "/worklists/", "/huddles/"])
def test_pages_have_no_inline_script_style_or_handler(world: dict[str, Any], page: str) -> None:  # noqa: F811
    client = signed_in(world["gp_a"]) if page != "/login/" else Client()
    response = client.get(page.format(alice=world["alice"].pk))
    assert response.status_code == 200
    html = response.content.decode()
    nonce = csp_of(response)["script-src"].split("'nonce-")[1].rstrip("'")
    for attributes, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S):
        # Either a file from our origin, or the NHS.UK template's one-line script with this response's nonce.
        assert ("src=" in attributes and not body.strip()) or f'nonce="{nonce}"' in attributes, attributes
    assert len(re.findall(r"nonce=", html)) == 1
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", html), "style attribute"
    assert "<style" not in html
    assert "javascript:" not in html


def test_static_files_may_be_cached() -> None:
    middleware = SecurityHeadersMiddleware(lambda request: HttpResponse("body"))
    static = middleware(RequestFactory().get("/static/careweave.css"))
    page = middleware(RequestFactory().get("/people/"))
    assert "Cache-Control" not in static and page["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in static


TOKEN = "cw_live_Zq8mYt3KdP0xWv7RbN2sLg5H"
SESSION = "sessionvalue8k2j4h6g"
REASON = "Unconscious at the front desk, Alice Zephyrine"
# Not written out near the raise: the technical page shows the source lines around each frame.
SECRETS = (TOKEN, SESSION, "csrf1234567890abcdef", REASON.split()[-1])


def raise_while_holding_the_token(request: Any) -> None:
    header = request.META["HTTP_AUTHORIZATION"]
    token = header.removeprefix("Bearer ")  # a local variable holding the secret, as a view would have
    raise ValueError(f"could not check the token ending {token[-6:]} for {len(token)} characters")


def test_technical_500_page_never_shows_the_token_or_cookies(settings: Any) -> None:
    from django.views.debug import technical_500_response

    settings.DEBUG = True  # development with DEBUG on: the page that shows local variables and headers
    request = RequestFactory().get(
        "/fhir/Patient/1",
        HTTP_AUTHORIZATION=f"Bearer {TOKEN}",
        HTTP_COOKIE=f"sessionid={SESSION}; csrftoken=csrf1234567890abcdef",
        HTTP_X_BREAK_GLASS_REASON=REASON,
    )
    try:
        raise_while_holding_the_token(request)
    except ValueError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "raise_while_holding_the_token" in page  # it is the technical page, with the frame shown
    for secret in SECRETS:
        assert secret not in page
    assert "HTTP_AUTHORIZATION" in page and "********" in page


def test_error_reports_for_e_mail_never_show_the_token(settings: Any) -> None:
    from django.views.debug import ExceptionReporter

    from careweave.web.security_headers import SecretsExceptionReporter

    settings.DEBUG = False
    request = RequestFactory().get("/fhir/Patient/1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    try:
        raise ValueError(f"token {TOKEN} refused")  # even in the message
    except ValueError:
        reporter: ExceptionReporter = SecretsExceptionReporter(request, *sys.exc_info())
    assert TOKEN not in reporter.get_traceback_text()
    assert TOKEN not in reporter.get_traceback_html()

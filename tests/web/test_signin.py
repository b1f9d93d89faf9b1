"""Signing in: every page needs it, CSRF is enforced, and 5 failures lock an account for 15 minutes from
the address they came from, with one answer for every refusal (no account oracle)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from careweave.governance.models import AuditEntry
from careweave.web.models import SignInFailure
from careweave.web.signin import (
    LOCKOUT_PERIOD,
    MAX_FAILED_SIGN_INS,
    MAX_FAILURES_PER_ADDRESS,
    SIGN_IN_REFUSED,
)
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


GP_OFFICE = "10.1.1.1"
ELSEWHERE = "203.0.113.9"


def sign_in(client: Client, username: str, password: str, address: str = GP_OFFICE) -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def refusal(response: Any) -> tuple[int, str]:
    """The status and the page, without what differs between any two renderings (the typed username
    echoed back, the CSRF token)."""
    page = re.sub(r'(name="(?:username|csrfmiddlewaretoken)"[^>]*value=")[^"]*"', r'\1"', response.content.decode())
    page = re.sub(r'(value=")[^"]*("[^>]*name="(?:username|csrfmiddlewaretoken)")', r"\1\2", page)
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    return response.status_code, page


@pytest.mark.parametrize("path", ["/", "/people/", "/people/1/", "/audit/", "/audit/?person=1"])
def test_pages_need_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_break_glass_needs_sign_in(client: Client, world: dict[str, Any]) -> None:
    response = client.post(f"/people/{world['bob'].pk}/break-glass/", {"reason": "emergency at the front desk"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_sign_in_page_is_the_nhs_design_system(client: Client) -> None:
    page = client.get("/login/").content.decode()
    assert '<html lang="en-GB"' in page
    assert "Skip to main content" in page
    assert "CareWeave" in page
    assert "/static/nhsuk/nhsuk-frontend.min.css" in page and "/static/careweave.css" in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_sign_in_redirects_to_the_page_asked_for(client: Client, world: dict[str, Any]) -> None:
    response = client.post("/login/?next=/people/", {"username": "gp.riverside", "password": PASSWORD, "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert client.get("/people/").status_code == 200
    assert AuditEntry.objects.filter(actor=world["gp_a"], action="login").count() == 1


def test_sign_in_refuses_an_offsite_next(client: Client, world: dict[str, Any]) -> None:
    response = client.post("/login/", {"username": "gp.riverside", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/today/"


def test_csrf_is_enforced(world: dict[str, Any]) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert sign_in(strict, "gp.riverside", PASSWORD).status_code == 403


def test_sign_out_needs_post_and_ends_the_session(client: Client, world: dict[str, Any]) -> None:
    client.force_login(world["gp_a"])
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/people/").status_code == 302


def test_session_expires_after_the_configured_age(client: Client, world: dict[str, Any]) -> None:
    sign_in(client, "gp.riverside", PASSWORD)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    session = client.session
    session.set_expiry(timezone.now() - timedelta(seconds=1))
    session.save()
    assert client.get("/people/").status_code == 302


def test_wrong_password_is_refused_and_audited_without_the_password(client: Client, world: dict[str, Any]) -> None:
    response = sign_in(client, "gp.riverside", "not-the-password-9")
    assert response.status_code == 400
    assert SIGN_IN_REFUSED in response.content.decode()
    entry = AuditEntry.objects.get(action="login-failed")
    assert entry.actor == world["gp_a"] and entry.outcome == "failure"
    assert "not-the-password-9" not in str(AuditEntry.objects.values_list())


def test_unknown_account_is_audited_without_the_typed_name(client: Client, world: dict[str, Any]) -> None:
    sign_in(client, "Alice Zephyrine 9434765919", "x")
    entry = AuditEntry.objects.get(action="login-failed")
    assert entry.actor is None and entry.system_actor == "web-sign-in" and entry.outcome == "unknown-account"
    assert entry.channel == "web"
    assert "Zephyrine" not in str(AuditEntry.objects.values_list())
    assert "Zephyrine" not in str(SignInFailure.objects.values_list())


def test_no_account_oracle(client: Client, world: dict[str, Any]) -> None:
    """A wrong password, an unknown username and a locked account get the same status and page
    (before, the lockout said "This account is locked", so locking told anyone the username existed)."""
    wrong = refusal(sign_in(client, "gp.riverside", "wrong-password"))
    unknown = refusal(sign_in(client, "no.such.person", "wrong-password"))
    for _ in range(MAX_FAILED_SIGN_INS):
        sign_in(client, "gp.hilltop", "wrong-password")
    locked = refusal(sign_in(client, "gp.hilltop", "wrong-password"))
    locked_right_password = refusal(sign_in(client, "gp.hilltop", PASSWORD))
    assert wrong[0] == 400 and SIGN_IN_REFUSED in wrong[1]
    assert wrong == unknown == locked == locked_right_password
    assert "locked" not in wrong[1].lower()
    assert AuditEntry.objects.filter(actor=world["gp_b"], action="login-failed", outcome="locked").count() == 3


def test_five_failures_lock_the_account_for_fifteen_minutes_from_that_address(
    client: Client, world: dict[str, Any]
) -> None:
    assert MAX_FAILED_SIGN_INS == 5
    assert LOCKOUT_PERIOD.total_seconds() == 15 * 60
    for _ in range(4):
        sign_in(client, "gp.riverside", "wrong-password", ELSEWHERE)
    assert SignInFailure.objects.filter(account=world["gp_a"], address=ELSEWHERE).count() == 4
    sign_in(client, "gp.riverside", "wrong-password", ELSEWHERE)
    assert AuditEntry.objects.filter(actor=world["gp_a"], outcome="locked").count() == 1

    # While locked, even the right password is refused from that address
    assert sign_in(client, "gp.riverside", PASSWORD, ELSEWHERE).status_code == 400
    assert client.get("/people/").status_code == 302
    assert AuditEntry.objects.filter(action="login-failed", actor=world["gp_a"]).count() == 6
    # ... but the GP at their own practice is not locked out by someone elsewhere.
    assert sign_in(client, "gp.riverside", PASSWORD, GP_OFFICE).status_code == 302
    client.post("/logout/")

    # After 15 minutes the right password works from there too, and the count starts again.
    SignInFailure.objects.update(at=timezone.now() - LOCKOUT_PERIOD - timedelta(seconds=1))
    assert sign_in(client, "gp.riverside", PASSWORD, ELSEWHERE).status_code == 302
    assert not SignInFailure.objects.filter(account=world["gp_a"], address=ELSEWHERE).exists()


def test_a_success_resets_the_failure_count(client: Client, world: dict[str, Any]) -> None:
    for _ in range(4):
        sign_in(client, "gp.riverside", "wrong-password")
    assert sign_in(client, "gp.riverside", PASSWORD).status_code == 302
    assert not SignInFailure.objects.filter(account=world["gp_a"]).exists()


def test_guessing_across_many_usernames_throttles_the_address(client: Client, world: dict[str, Any]) -> None:
    for n in range(MAX_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess.{n}", "wrong-password", ELSEWHERE)
    # Every sign-in from that address is refused now, a real account with its right password too
    response = sign_in(client, "gp.riverside", PASSWORD, ELSEWHERE)
    assert response.status_code == 400 and SIGN_IN_REFUSED in response.content.decode()
    # while other addresses are unaffected.
    assert sign_in(client, "gp.riverside", PASSWORD, GP_OFFICE).status_code == 302


def test_the_client_address_behind_a_proxy_is_the_last_forwarded_entry(client: Client, world: dict[str, Any], settings: Any) -> None:
    settings.CLIENT_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    for _ in range(MAX_FAILED_SIGN_INS):
        # The proxy (REMOTE_ADDR) appends the real client; the client forged the first entry.
        client.post(
            "/login/", {"username": "gp.riverside", "password": "wrong"},
            REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=f"{GP_OFFICE}, {ELSEWHERE}",
        )
    assert set(SignInFailure.objects.values_list("address", flat=True)) == {ELSEWHERE}
    assert sign_in(client, "gp.riverside", PASSWORD, "10.9.9.9").status_code == 302  # another client, same proxy

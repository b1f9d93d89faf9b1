"""Signing in: every page needs it, CSRF is enforced, and 5 failures lock an account for 15 minutes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from careweave.governance.models import AuditEntry
from careweave.web.signin import LOCKOUT_PERIOD, MAX_FAILED_SIGN_INS
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(client: Client, username: str, password: str) -> Any:
    return client.post("/login/", {"username": username, "password": password})


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
    assert response["Location"] == "/people/"


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
    assert "Enter a correct username and password" in response.content.decode()
    entry = AuditEntry.objects.get(action="login-failed")
    assert entry.actor == world["gp_a"] and entry.outcome == "failure" and entry.person is None
    assert "not-the-password-9" not in str(AuditEntry.objects.values_list())


def test_unknown_account_is_audited_without_the_typed_name(client: Client, world: dict[str, Any]) -> None:
    sign_in(client, "Alice Zephyrine 9434765919", "x")
    entry = AuditEntry.objects.get(action="login-failed")
    assert entry.actor is None and entry.system_actor == "web-sign-in"
    assert "Zephyrine" not in str(AuditEntry.objects.values_list())


def test_five_failures_lock_the_account_for_fifteen_minutes(client: Client, world: dict[str, Any]) -> None:
    assert MAX_FAILED_SIGN_INS == 5
    assert LOCKOUT_PERIOD.total_seconds() == 15 * 60
    for _ in range(4):
        sign_in(client, "gp.riverside", "wrong-password")
    profile = world["gp_a"].staff_profile
    profile.refresh_from_db()
    assert profile.failed_logins == 4 and profile.locked_until is None

    response = sign_in(client, "gp.riverside", "wrong-password")
    assert "locked" in response.content.decode()
    profile.refresh_from_db()
    assert profile.locked_until is not None
    assert timedelta(minutes=14) < profile.locked_until - timezone.now() <= timedelta(minutes=15)

    # While locked, even the right password is refused.
    response = sign_in(client, "gp.riverside", PASSWORD)
    assert response.status_code == 400 and "locked" in response.content.decode()
    assert client.get("/people/").status_code == 302
    assert AuditEntry.objects.filter(action="login-failed", actor=world["gp_a"]).count() == 6

    # After the lockout the right password works and the count starts again.
    profile.locked_until = timezone.now() - timedelta(seconds=1)
    profile.save()
    assert sign_in(client, "gp.riverside", PASSWORD).status_code == 302
    profile.refresh_from_db()
    assert profile.failed_logins == 0 and profile.locked_until is None


def test_a_success_resets_the_failure_count(client: Client, world: dict[str, Any]) -> None:
    for _ in range(4):
        sign_in(client, "gp.riverside", "wrong-password")
    assert sign_in(client, "gp.riverside", PASSWORD).status_code == 302
    profile = world["gp_a"].staff_profile
    profile.refresh_from_db()
    assert profile.failed_logins == 0

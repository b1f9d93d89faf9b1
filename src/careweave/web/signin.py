"""Signing in with a lockout: 5 failed attempts lock an account for 15 minutes.

Failed attempts are audited ("login-failed") by account id only: never the password, and never the
typed username of an unknown account (people type passwords and patient details into the wrong box).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from careweave.governance.audit import record_access
from careweave.governance.models import AuditEntry, StaffProfile

MAX_FAILED_SIGN_INS = 5
LOCKOUT_PERIOD = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInResult:
    user: Any | None = None
    locked: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None


def _known_account(username: str) -> Any | None:
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def _profile_for_update(user: Any) -> StaffProfile | None:
    return StaffProfile.objects.select_for_update().filter(user=user).first()


def attempt_sign_in(request: HttpRequest, *, username: str, password: str) -> SignInResult:
    """Check the credentials, counting failures against the account's staff profile."""
    account = _known_account(username) if username else None
    now = timezone.now()
    with transaction.atomic():
        profile = _profile_for_update(account) if account is not None else None
        if profile is not None and profile.locked_until is not None and profile.locked_until > now:
            # Locked: the password is not even checked, so guessing during a lockout gains nothing.
            record_access(actor=account, action="login-failed", outcome="locked", purpose="sign-in")
            return SignInResult(locked=True)
        user = authenticate(request, username=username, password=password)
        if user is not None:
            if profile is not None and (profile.failed_logins or profile.locked_until):
                profile.failed_logins, profile.locked_until = 0, None
                profile.save(update_fields=["failed_logins", "locked_until"])
            record_access(actor=user, action="login", purpose="sign-in")
            return SignInResult(user=user)
        if account is None:
            AuditEntry.objects.create(system_actor="web-sign-in", action="login-failed", outcome="unknown-account")
            return SignInResult()
        locked = False
        if profile is not None:
            if profile.locked_until is not None:  # an earlier lockout has expired: start counting afresh
                profile.failed_logins, profile.locked_until = 0, None
            profile.failed_logins += 1
            if profile.failed_logins >= MAX_FAILED_SIGN_INS:
                profile.locked_until, locked = now + LOCKOUT_PERIOD, True
            profile.save(update_fields=["failed_logins", "locked_until"])
        record_access(actor=account, action="login-failed", outcome="locked" if locked else "failure", purpose="sign-in")
        return SignInResult(locked=locked)

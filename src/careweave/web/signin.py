"""Signing in, throttled by account AND client address, with no account oracle.

- 5 failed attempts at one account from one address lock that account, from that address only, for
  15 minutes: someone elsewhere who knows a GP's username cannot lock the GP out.
- 50 failed attempts from one address, whatever the usernames, refuse every sign-in from it for
  15 minutes (guessing across many accounts). The threshold is high because a practice or trust
  signs in from behind a few shared addresses.
- A wrong password, an unknown username, a locked account and a throttled address get the same
  answer, and the password is checked even when locked, so neither the message, the status nor the
  work done tells an attacker which usernames exist or which are locked.

Failures are audited ("login-failed") by account id only: never the password, and never the typed
username of an unknown account (people type passwords and patient details into the wrong box).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from ipaddress import ip_address
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from careweave.governance.audit import record_access, record_system_event
from careweave.web.models import SignInFailure

MAX_FAILED_SIGN_INS = 5  # per account, per address
MAX_FAILURES_PER_ADDRESS = 50  # across all usernames
LOCKOUT_PERIOD = timedelta(minutes=15)
SIGN_IN_REFUSED = (
    "Your username or password is not right. Check them and try again. If you still cannot sign in, "
    "wait 15 minutes or ask your administrator."
)


@dataclass(frozen=True)
class SignInResult:
    user: Any | None = None
    locked: bool = False  # for the audit and the log only: never shown differently to the person

    @property
    def ok(self) -> bool:
        return self.user is not None


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or, behind a proxy, the last entry of the header it appends
    (settings.CLIENT_ADDRESS_HEADER); a client can forge the earlier entries, not the last one."""
    header = getattr(settings, "CLIENT_ADDRESS_HEADER", "")
    candidates = []
    if header:
        candidates.append(request.META.get(header, "").split(",")[-1].strip())
    candidates.append(str(request.META.get("REMOTE_ADDR", "")))
    for candidate in candidates:
        try:
            return str(ip_address(candidate))
        except ValueError:
            continue
    return "0.0.0.0"  # no usable address (a test client): all such requests share one throttle


def _known_account(username: str) -> Any | None:
    user_model = get_user_model()
    return user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()


def _throttled(address: str, account: Any | None, since: Any) -> bool:
    recent = SignInFailure.objects.filter(address=address, at__gt=since)
    if recent.count() >= MAX_FAILURES_PER_ADDRESS:
        return True
    return account is not None and recent.filter(account=account).count() >= MAX_FAILED_SIGN_INS


@sensitive_variables("password")
def attempt_sign_in(request: HttpRequest, *, username: str, password: str) -> SignInResult:
    """Check the credentials, counting failures against the account at this address and the address."""
    address = client_address(request)
    account = _known_account(username) if username else None
    now = timezone.now()
    since = now - LOCKOUT_PERIOD
    with transaction.atomic():
        locked = _throttled(address, account, since)
        # Always checked, so a locked account takes as long to refuse as a wrong password.
        user = authenticate(request, username=username, password=password) if username else None
        if locked:
            # Not counted as a further failure, so the lock ends 15 minutes after it began.
            if account is not None:
                record_access(actor=account, action="login-failed", outcome="locked", purpose="sign-in")
            else:
                record_system_event("login-failed", "web-sign-in", outcome="locked", channel="web")
            return SignInResult(locked=True)
        if user is not None:
            SignInFailure.objects.filter(address=address, account=user).delete()
            record_access(actor=user, action="login", purpose="sign-in")
            return SignInResult(user=user)
        SignInFailure.objects.filter(at__lte=since).delete()  # expired state, kept small
        SignInFailure.objects.create(address=address, account=account, at=now)
        if account is None:
            record_system_event("login-failed", "web-sign-in", outcome="unknown-account", channel="web")
            return SignInResult()
        now_locked = _throttled(address, account, since)
        record_access(
            actor=account, action="login-failed", outcome="locked" if now_locked else "failure", purpose="sign-in"
        )
        return SignInResult(locked=now_locked)

"""Person and carer accounts: created by the practice with a one-time activation code, activated by
the person (their password), then signed in with the password and a one-time code (the second
factor) delivered to the local outbox in the embedded default. Proxy grants and the items hidden
from proxies are recorded here too. Writes are atomic with keyword-only arguments; each is audited.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from careweave.governance.access import Permission, open_record
from careweave.governance.audit import record_access
from careweave.monitoring.models import ReadingSource
from careweave.monitoring.services import register_reading_source
from careweave.portal.models import (
    HiddenFromProxy,
    OutboxMessage,
    PersonAccount,
    ProxyGrant,
    Share,
    SignInCode,
    hash_code,
)
from careweave.record import models as rm

ACTIVATION_PERIOD = timedelta(days=14)
CODE_PERIOD = timedelta(minutes=10)
CODE_TRIES = 5
#: No 0/O or 1/I: read from a letter and typed on a phone.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AccountError(ValueError):
    """A request the account rules refuse, in words for the page (and the field it is about)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _activation_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def _new_username(prefix: str) -> str:
    user_model = get_user_model()
    while True:
        name = f"{prefix}-{''.join(secrets.choice('abcdefghjkmnpqrstuvwxyz23456789') for _ in range(6))}"
        if not user_model._default_manager.filter(username=name).exists():
            return name


def _require_staff_with_relationship(user: Any, person: rm.Person, action: str) -> None:
    """Only clinical staff with a relationship of their own give someone online access to a record."""
    open_record(
        user=user,
        person=person,
        action=action,
        resource_type="Patient",
        care_team_change=True,
        permission=Permission.WRITE_RECORDS,
    )


@transaction.atomic
def create_person_account(
    *, user: Any, person: rm.Person, send_codes_to: str = ""
) -> tuple[PersonAccount, str]:
    """The practice gives a person online access: a new account and its activation code (shown once).
    For an account not yet set up (a lost or expired code) a new code replaces the old one."""
    _require_staff_with_relationship(user, person, "portal-account-create")
    existing = PersonAccount.objects.select_for_update().filter(person=person, user__is_active=True).first()
    if existing is not None and existing.activated_at is not None:
        raise AccountError("This person already has an online account", "person")
    if existing is not None:
        code = _activation_code()
        existing.activation_code_hash = hash_code(code)
        existing.activation_expires_at = timezone.now() + ACTIVATION_PERIOD
        existing.save(update_fields=["activation_code_hash", "activation_expires_at"])
        return existing, code
    return _create(user=user, person=person, display_name="", send_codes_to=send_codes_to, prefix="p")


@transaction.atomic
def create_carer_account(
    *,
    user: Any,
    person: rm.Person,
    name: str,
    basis: str,
    evidence: str,
    shares: list[str],
    send_codes_to: str = "",
) -> tuple[PersonAccount, str]:
    """A carer's own account with proxy access to the person, on the person's recorded agreement or a
    recorded lasting power of attorney for health, to the parts the person agreed to share."""
    _require_staff_with_relationship(user, person, "proxy-grant")
    name = " ".join(name.split())[:255]
    if not name:
        raise AccountError("Enter the carer's name", "name")
    account, code = _create(
        user=user, person=None, display_name=name, send_codes_to=send_codes_to, prefix="c"
    )
    _grant(user=user, account=account, person=person, basis=basis, evidence=evidence, shares=shares)
    return account, code


def _create(
    *, user: Any, person: rm.Person | None, display_name: str, send_codes_to: str, prefix: str
) -> tuple[PersonAccount, str]:
    new_user = get_user_model()._default_manager.create_user(username=_new_username(prefix))
    new_user.set_unusable_password()
    # the name the person's access report shows for what they, or their carer, did
    if person is not None:
        new_user.first_name, new_user.last_name = person.given_name[:150], person.family_name[:150]
    else:
        new_user.first_name, new_user.last_name = display_name[:150], "(carer)"
    new_user.save()
    code = _activation_code()
    account = PersonAccount.objects.create(
        user=new_user,
        person=person,
        display_name=display_name,
        send_codes_to=send_codes_to.strip()[:255],
        activation_code_hash=hash_code(code),
        activation_expires_at=timezone.now() + ACTIVATION_PERIOD,
        created_by=user,
    )
    return account, code


@transaction.atomic
def grant_proxy(
    *, user: Any, account: PersonAccount, person: rm.Person, basis: str, evidence: str, shares: list[str]
) -> ProxyGrant:
    _require_staff_with_relationship(user, person, "proxy-grant")
    return _grant(user=user, account=account, person=person, basis=basis, evidence=evidence, shares=shares)


def _grant(
    *, user: Any, account: PersonAccount, person: rm.Person, basis: str, evidence: str, shares: list[str]
) -> ProxyGrant:
    if not account.is_carer:
        raise AccountError("Proxy access is for a carer's account, not the person's own", "account")
    if basis not in ProxyGrant.Basis.values:
        raise AccountError(
            "Choose the person's recorded agreement or a lasting power of attorney for health", "basis"
        )
    evidence = " ".join(evidence.split())
    if len(evidence) < 5:
        raise AccountError("Say where the agreement or the power of attorney is recorded", "evidence")
    unknown = [s for s in shares if s not in Share.values]
    if unknown or not shares:
        raise AccountError("Choose what the person agreed to share", "shares")
    ProxyGrant.objects.filter(account=account, person=person, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    grant = ProxyGrant.objects.create(
        account=account,
        person=person,
        basis=basis,
        evidence=evidence[:500],
        shares=sorted(set(shares)),
        recorded_by=user,
    )
    record_access(
        actor=user,
        action="proxy-grant",
        resource_type="Consent",
        resource_id=f"proxy-{grant.pk}",
        person_id=person.pk,
        reason=f"proxy access for account {account.pk}: {basis}",
    )
    return grant


@transaction.atomic
def revoke_proxy(*, user: Any, grant: ProxyGrant) -> None:
    _require_staff_with_relationship(user, grant.person, "proxy-revoke")
    ProxyGrant.objects.filter(pk=grant.pk, revoked_at=None).update(revoked_at=timezone.now())


@transaction.atomic
def hide_from_proxies(
    *, user: Any, person: rm.Person, resource: rm.StoredResource, reason: str = ""
) -> HiddenFromProxy:
    """A clinician marks an item of the person's record as not for carers to see."""
    if resource.person_id != person.pk:
        raise AccountError("This item is not in this person's record", "resource")
    open_record(
        user=user,
        person=person,
        action="hide-from-proxy",
        resource_type=resource.resource_type,
        resource_id=resource.logical_id,
        permission=Permission.WRITE_RECORDS,
    )
    mark, _ = HiddenFromProxy.objects.get_or_create(
        person=person, resource=resource, defaults={"marked_by": user, "reason": reason.strip()[:255]}
    )
    return mark


@transaction.atomic
def show_to_proxies(*, user: Any, person: rm.Person, resource: rm.StoredResource) -> None:
    """Undo a clinician's mark: the item is shown to carers again (unless it is coded as sensitive)."""
    open_record(
        user=user,
        person=person,
        action="show-to-proxy",
        resource_type=resource.resource_type,
        resource_id=resource.logical_id,
        permission=Permission.WRITE_RECORDS,
    )
    HiddenFromProxy.objects.filter(person=person, resource=resource).delete()


@transaction.atomic
def activate(*, username: str, code: str, password: str, send_codes_to: str = "") -> PersonAccount:
    """The person sets their password with the activation code: once, before it expires."""
    account = (
        PersonAccount.objects.select_for_update()
        .select_related("user")
        .filter(user__username=username.strip())
        .first()
    )
    refused = AccountError(
        "The username or activation code is not right, or the code has been used or has expired. "
        "Ask your GP practice for a new code.",
        "code",
    )
    if (
        account is None
        or not account.activation_code_hash
        or not secrets.compare_digest(account.activation_code_hash, hash_code(code))
        or account.activation_expires_at is None
        or account.activation_expires_at <= timezone.now()
    ):
        raise refused
    try:
        validate_password(password, account.user)
    except ValidationError as error:
        raise AccountError(" ".join(error.messages), "password") from None
    account.user.set_password(password)
    account.user.save(update_fields=["password"])
    account.activation_code_hash = ""  # single use
    account.activated_at = timezone.now()
    if send_codes_to.strip():
        account.send_codes_to = send_codes_to.strip()[:255]
    account.save()
    if account.person is not None:  # the person's own account sends their home readings (ADR 0018)
        register_reading_source(
            user=account.user,
            person=account.person,
            kind=ReadingSource.Kind.PERSON,
            label="their own account",
        )
    record_access(actor=account.user, action="portal-activate", purpose="sign-in", channel="portal")
    return account


@transaction.atomic
def send_sign_in_code(account: PersonAccount) -> None:
    """A new one-time code (older ones stop working), delivered to the outbox or by email."""
    SignInCode.objects.filter(account=account, used_at=None).update(used_at=timezone.now())
    code = "".join(secrets.choice("0123456789") for _ in range(6))
    SignInCode.objects.create(
        account=account, code_hash=hash_code(code), expires_at=timezone.now() + CODE_PERIOD
    )
    subject = "Your CareWeave sign-in code"
    body = f"Your sign-in code is {code}. It works once, for 10 minutes. Never tell anyone this code."
    if settings.CAREWEAVE_PORTAL_CODE_DELIVERY == "email" and "@" in account.send_codes_to:
        send_mail(subject, body, None, [account.send_codes_to])
    else:
        OutboxMessage.objects.create(account=account, to=account.send_codes_to, subject=subject, body=body)


@transaction.atomic
def check_sign_in_code(account: PersonAccount, code: str) -> bool:
    """True once for the newest unexpired code; a wrong code counts a try, and five wrong tries end it."""
    current = (
        SignInCode.objects.select_for_update()
        .filter(account=account, used_at=None, expires_at__gt=timezone.now())
        .order_by("-created_at", "-pk")
        .first()
    )
    if current is None:
        return False
    if secrets.compare_digest(current.code_hash, hash_code(code)):
        current.used_at = timezone.now()
        current.save(update_fields=["used_at"])
        record_access(actor=account.user, action="login-second-factor", purpose="sign-in", channel="portal")
        return True
    current.tries += 1
    if current.tries >= CODE_TRIES:
        current.used_at = timezone.now()
    current.save(update_fields=["tries", "used_at"])
    record_access(
        actor=account.user, action="login-failed", outcome="failure", purpose="sign-in", channel="portal"
    )
    return False


def account_of(user: Any) -> PersonAccount | None:
    account = getattr(user, "person_account", None)
    return account if isinstance(account, PersonAccount) else None


def people_for(account: PersonAccount) -> list[rm.Person]:
    """Whose records this account opens: the person's own, or those who agreed to share with the carer."""
    if account.person_id is not None:
        return list(rm.Person.objects.filter(pk=account.person_id))
    granted = ProxyGrant.objects.filter(account=account, revoked_at=None).values("person_id")
    return list(rm.Person.objects.filter(pk__in=granted).order_by("family_name", "given_name", "pk"))

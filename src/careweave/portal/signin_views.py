"""Signing in to the person's view: activation with the practice's one-time code, then the password
(throttled as staff sign-in is, ``web.signin``) and a one-time code: the person is signed in only
after the second factor. An OpenID Connect provider (NHS login) can be configured (ADR 0019)."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from careweave.portal import accounts
from careweave.portal.models import OutboxMessage, PersonAccount
from careweave.web.signin import SIGN_IN_REFUSED, attempt_sign_in

logger = logging.getLogger(__name__)

PENDING = "portal_pending_account"
VERIFIED = "portal_second_factor"
OIDC_STATE = "portal_oidc_state"
BACKEND = "django.contrib.auth.backends.ModelBackend"
CODE_REFUSED = "That code is not right or has expired. Check the code, or ask for a new one."


def _outbox() -> bool:
    """The outbox page shows the code to whoever typed the password, so the second factor is then no
    stronger than the password: the embedded default and the demo only, never production."""
    return bool(settings.CAREWEAVE_PORTAL_CODE_DELIVERY != "email" and not settings.PRODUCTION)


def _oidc() -> bool:
    return bool(settings.CAREWEAVE_OIDC_AUTHORIZATION_ENDPOINT and settings.CAREWEAVE_OIDC_CLIENT_ID)


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    error, username = "", ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        result = attempt_sign_in(request, username=username, password=request.POST.get("password", ""))
        account = accounts.account_of(result.user) if result.ok else None
        if account is not None and account.activated_at is not None:
            request.session.pop(VERIFIED, None)
            request.session[PENDING] = account.pk
            accounts.send_sign_in_code(account)
            return redirect("portal:sign-in-code")
        error = SIGN_IN_REFUSED  # staff accounts sign in at /login/; the same words for every refusal
        logger.info("portal sign-in refused")
    return render(
        request,
        "portal/sign_in.html",
        {"error": error, "username": username, "oidc": _oidc()},
        status=400 if error else 200,
    )


def _pending(request: HttpRequest) -> PersonAccount | None:
    pk = request.session.get(PENDING)
    return PersonAccount.objects.select_related("user").filter(pk=pk).first() if pk else None


@require_http_methods(["GET", "POST"])
def sign_in_code(request: HttpRequest) -> HttpResponse:
    account = _pending(request)
    if account is None:
        return redirect("portal:sign-in")
    error = ""
    if request.method == "POST":
        if request.POST.get("resend"):
            accounts.send_sign_in_code(account)
        elif accounts.check_sign_in_code(account, request.POST.get("code", "").replace(" ", "")):
            login(request, account.user, backend=BACKEND)
            request.session.pop(PENDING, None)
            request.session[VERIFIED] = account.user.pk
            logger.info("portal sign-in user_id=%s", account.user.pk)
            return redirect("portal:home")
        else:
            error = CODE_REFUSED
    return render(
        request,
        "portal/sign_in_code.html",
        {"error": error, "outbox": _outbox()},
        status=400 if error else 200,
    )


@require_http_methods(["GET"])
def outbox(request: HttpRequest) -> HttpResponse:
    """The local outbox (the embedded default): the codes sent to the account signing in, nothing else."""
    account = _pending(request)
    if account is None or not _outbox():
        raise Http404("no outbox")
    found = OutboxMessage.objects.filter(account=account).order_by("-created_at", "-pk")[:3]
    return render(request, "portal/outbox.html", {"messages_sent": found})


@sensitive_post_parameters("password", "password_again", "code")
@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest) -> HttpResponse:
    errors: dict[str, str] = {}
    values = {
        "username": request.POST.get("username", "").strip(),
        "send_codes_to": request.POST.get("send_codes_to", ""),
    }
    if request.method == "POST":
        password = request.POST.get("password", "")
        if password != request.POST.get("password_again", ""):
            errors["password"] = "The passwords do not match"
        else:
            try:
                accounts.activate(
                    username=values["username"],
                    code=request.POST.get("code", ""),
                    password=password,
                    send_codes_to=values["send_codes_to"],
                )
            except accounts.AccountError as refused:
                errors[refused.field or "code"] = refused.message
            else:
                return redirect("portal:sign-in")
    return render(
        request, "portal/activate.html", {"errors": errors, "values": values}, status=400 if errors else 200
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("portal:sign-in")


@require_http_methods(["GET"])
def oidc_start(request: HttpRequest) -> HttpResponse:
    """Send the person to the configured OpenID Connect provider (authorisation code flow)."""
    if not _oidc():
        raise Http404("no identity provider configured")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    request.session[OIDC_STATE] = state
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.CAREWEAVE_OIDC_CLIENT_ID,
            "redirect_uri": settings.CAREWEAVE_OIDC_REDIRECT_URI
            or request.build_absolute_uri("/my/sign-in/oidc/callback/"),
            "scope": settings.CAREWEAVE_OIDC_SCOPES,
            "state": state,
            "nonce": nonce,
        }
    )
    return redirect(f"{settings.CAREWEAVE_OIDC_AUTHORIZATION_ENDPOINT}?{query}")


@require_http_methods(["GET"])
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer. The state is checked; exchanging the code for tokens (and matching the
    NHS number in the ID token to an account) is not built yet: see ADR 0019."""
    expected = request.session.pop(OIDC_STATE, None)
    if not _oidc() or not expected or not secrets.compare_digest(expected, request.GET.get("state", "")):
        raise Http404("no sign-in in progress")
    return render(request, "portal/oidc_pending.html", status=501)

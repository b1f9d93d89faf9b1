"""The person's own view under /my/: thin views. Each page opens the record through
``governance.access.open_record(permission=OWN_RECORD, share=...)`` (``services.open_own``), which
decides and audits as the person or as the carer acting for them; a refusal is answered as not found,
so another person's ids reveal nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from careweave.governance.permissions import AccessRefused
from careweave.portal import accounts, presenters, services
from careweave.portal.models import PersonAccount, ProxyGrant, Share
from careweave.portal.signin_views import VERIFIED
from careweave.record import models as rm

View = Callable[..., HttpResponse]


def person_only(view: View) -> View:
    """Signed in with both factors to a person's or carer's account; refusals answered as not found."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        account = accounts.account_of(user) if user.is_authenticated else None
        if account is None or request.session.get(VERIFIED) != user.pk:
            return redirect("portal:sign-in")
        try:
            return view(request, account, *args, **kwargs)
        except AccessRefused:
            raise Http404("not found") from None

    return guarded


def _person(person_pk: int) -> rm.Person:
    found = rm.Person.objects.select_related("resource").filter(pk=person_pk).first()
    if found is None:
        raise Http404("not found")
    return found


def _shares(account: PersonAccount, person: rm.Person) -> list[str]:
    if account.person_id == person.pk:
        return list(Share.values)
    grant = ProxyGrant.objects.filter(account=account, person=person, revoked_at=None).first()
    return list(grant.shares) if grant is not None else []


def _context(account: PersonAccount, person: rm.Person, section: str, **extra: Any) -> dict[str, Any]:
    proxy = account.is_carer
    return {
        "pk": person.pk,
        "name": person.display_name,
        "proxy": proxy,
        "you": "they" if proxy else "you",
        "your": f"{person.given_name or person.display_name}'s" if proxy else "your",
        "shares": _shares(account, person),
        "section": section,
        **extra,
    }


def _page(
    request: HttpRequest,
    account: PersonAccount,
    person_pk: int,
    share: str,
    resource_type: str,
    template: str,
    build: Callable[[rm.Person, bool], dict[str, Any]],
) -> HttpResponse:
    person = _person(person_pk)
    services.open_own(
        user=request.user, person=person, share=share, action="read", resource_type=resource_type
    )
    return render(request, template, _context(account, person, share, **build(person, account.is_carer)))


@require_GET
@person_only
def home(request: HttpRequest, account: PersonAccount) -> HttpResponse:
    people = accounts.people_for(account)
    if not account.is_carer and len(people) == 1:
        return redirect("portal:overview", person_pk=people[0].pk)
    return render(request, "portal/home.html", {"people": people, "account": account})


@require_GET
@person_only
def overview(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    services.open_own(user=request.user, person=person, share="", action="read")
    shares = _shares(account, person)
    team = presenters.team(person) if Share.TEAM in shares else None
    coming = presenters.appointments(person, proxy=account.is_carer) if Share.APPOINTMENTS in shares else None
    return render(request, "portal/overview.html", _context(account, person, "", team=team, coming=coming))


@require_GET
@person_only
def plan(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.PLAN,
        "CarePlan",
        "portal/plan.html",
        lambda p, _proxy: presenters.plan(p),
    )


@require_GET
@person_only
def team(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.TEAM,
        "CareTeam",
        "portal/team.html",
        lambda p, _proxy: {"team": presenters.team(p)},
    )


@require_GET
@person_only
def medicines(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.MEDICINES,
        "MedicationRequest",
        "portal/medicines.html",
        lambda p, proxy: {"medicines": presenters.medicines(p, proxy=proxy)},
    )


@require_GET
@person_only
def appointments(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.APPOINTMENTS,
        "Appointment",
        "portal/appointments.html",
        lambda p, proxy: presenters.appointments(p, proxy=proxy),
    )


@require_GET
@person_only
def referrals(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.REFERRALS,
        "ServiceRequest",
        "portal/referrals.html",
        lambda p, proxy: {"referrals": presenters.referrals(p, proxy=proxy)},
    )


@require_GET
@person_only
def access_report(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    return _page(
        request,
        account,
        person_pk,
        Share.ACCESS,
        "AuditEvent",
        "portal/access.html",
        lambda p, _proxy: {"rows": presenters.access(p)},
    )


@require_http_methods(["GET", "POST"])
@person_only
def what_matters(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    error, text = "", request.POST.get("text", "")
    if request.method == "POST":
        try:
            services.add_what_matters(user=request.user, person=person, text=text)
        except accounts.AccountError as refused:
            error = refused.message
        else:
            return redirect("portal:plan", person_pk=person.pk)
    services.open_own(
        user=request.user, person=person, share=Share.PLAN, action="read", resource_type="CarePlan"
    )
    return render(
        request,
        "portal/what_matters.html",
        _context(account, person, Share.PLAN, error=error, text=text),
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@person_only
def ask(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    error, text, sent = "", request.POST.get("text", ""), False
    if request.method == "POST":
        try:
            services.ask_question(user=request.user, person=person, text=text)
        except accounts.AccountError as refused:
            error = refused.message
        else:
            sent, text = True, ""
    services.open_own(
        user=request.user, person=person, share=Share.MESSAGES, action="read", resource_type="Communication"
    )
    context = _context(
        account,
        person,
        Share.MESSAGES,
        error=error,
        text=text,
        sent=sent,
        asked=presenters.messages(person),
        team=presenters.team(person),
    )
    return render(request, "portal/ask.html", context, status=400 if error else 200)


@require_http_methods(["GET", "POST"])
@person_only
def carer_needs(request: HttpRequest, account: PersonAccount, person_pk: int) -> HttpResponse:
    person = _person(person_pk)
    if not account.is_carer:
        raise Http404("not found")
    error, saved = "", False
    if request.method == "POST":
        try:
            services.record_carer_needs(
                user=request.user,
                person=person,
                needs=request.POST.get("needs", ""),
                wants_assessment=request.POST.get("wants_assessment") == "yes",
            )
        except accounts.AccountError as refused:
            error = refused.message
        else:
            saved = True
    services.open_own(user=request.user, person=person, share="", action="read", resource_type="Observation")
    latest = services.carer_needs(user=request.user, person=person)
    context = _context(account, person, "carer", error=error, saved=saved, latest=latest)
    return render(request, "portal/carer.html", context, status=400 if error else 200)

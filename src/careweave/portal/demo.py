"""The demo's person and carer accounts (``make demo``): a person at the demo co-ordinator's
practice, with the co-ordinator named, their own account, and a carer with proxy access to all but
the access report. Activated with the demo password; the second factor's code is in the local outbox."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from careweave.care import services as care
from careweave.portal import accounts
from careweave.portal.models import PersonAccount, ProxyGrant, Share
from careweave.record import models as rm

PERSON_USERNAME = "person"
CARER_USERNAME = "carer"


def _rename_and_activate(account: PersonAccount, code: str, username: str, password: str) -> None:
    account.user.username = username
    account.user.save(update_fields=["username"])
    accounts.activate(username=username, code=code, password=password)


@transaction.atomic
def create_portal_demo_accounts(*, password: str) -> list[dict[str, Any]]:
    user_model = get_user_model()
    coordinator = (
        user_model._default_manager.filter(username="coordinator").select_related("staff_profile").first()
    )
    organisation = getattr(getattr(coordinator, "staff_profile", None), "organisation", None)
    if coordinator is None or organisation is None:
        return []
    own = (
        PersonAccount.objects.filter(user__username=PERSON_USERNAME).select_related("person", "user").first()
    )
    person = own.person if own is not None else None
    if person is None:
        taken = PersonAccount.objects.exclude(person=None).values("person_id")
        person = (
            rm.Person.objects.filter(registered_practice=organisation, deceased=False)
            .exclude(pk__in=taken)
            .order_by("pk")
            .first()
        )
    if person is None:
        return []
    if care.coordinator(person) is None:
        care.add_team_member(
            user=coordinator,
            person=person,
            member=coordinator,
            role_in_team="Care co-ordinator",
            as_coordinator=True,
            contact="The practice, 01632 960000, extension 2",
        )
    if own is None:
        account, code = accounts.create_person_account(user=coordinator, person=person)
        _rename_and_activate(account, code, PERSON_USERNAME, password)
    carer = PersonAccount.objects.filter(user__username=CARER_USERNAME).first()
    if carer is None:
        recorded = rm.RelatedPerson.objects.filter(person=person, is_carer=True).exclude(name="").first()
        account, code = accounts.create_carer_account(
            user=coordinator,
            person=person,
            name=recorded.name if recorded else "Demo carer",
            basis="agreement",
            evidence="Agreed with the person at their review (demo)",
            shares=[s for s in Share.values if s != Share.ACCESS],
        )
        _rename_and_activate(account, code, CARER_USERNAME, password)
    for username in (PERSON_USERNAME, CARER_USERNAME):  # as the staff accounts: the demo password each run
        user = user_model._default_manager.get(username=username)
        user.set_password(password)
        user.save(update_fields=["password"])
    carer_for = ProxyGrant.objects.filter(account__user__username=CARER_USERNAME, revoked_at=None).count()
    where = f"{organisation.name}: sign in at /my/sign-in/, code in the local outbox"
    return [
        {
            "username": PERSON_USERNAME,
            "password": password,
            "role": "person (own record)",
            "organisation": where,
            "api_token": "",
        },
        {
            "username": CARER_USERNAME,
            "password": password,
            "role": f"carer (proxy for {carer_for})",
            "organisation": where,
            "api_token": "",
        },
    ]

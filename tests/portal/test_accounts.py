"""Accounts: the activation code works once and expires; the second factor is required; only staff
with a relationship of their own create accounts; staff sign-in is unchanged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careweave.governance.access import AccessRefused
from careweave.governance.models import AuditEntry, Role
from careweave.huddles.models import Task
from careweave.portal import accounts, services
from careweave.portal.models import PersonAccount, SignInCode
from tests.portal.conftest import PERSON_PASSWORD, latest_code, portal_client
from tests.web.conftest import person, signed_in, staff

pytestmark = pytest.mark.django_db


def test_an_activation_code_works_once(portal_world: dict[str, Any]) -> None:
    account, code = accounts.create_person_account(
        user=portal_world["gp_a"], person=person("Cai", "New", None, portal_world["practice_a"])
    )
    assert not account.user.has_usable_password()
    accounts.activate(username=account.user.username, code=code, password=PERSON_PASSWORD)
    with pytest.raises(accounts.AccountError, match="used or has expired"):
        accounts.activate(username=account.user.username, code=code, password="another-long-password-1")
    account.user.refresh_from_db()
    assert account.user.check_password(PERSON_PASSWORD)


def test_an_activation_code_expires(portal_world: dict[str, Any]) -> None:
    account, code = accounts.create_person_account(
        user=portal_world["gp_a"], person=person("Cai", "New", None, portal_world["practice_a"])
    )
    PersonAccount.objects.filter(pk=account.pk).update(
        activation_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(accounts.AccountError, match="expired"):
        accounts.activate(username=account.user.username, code=code, password=PERSON_PASSWORD)
    client = Client()
    response = client.post(
        "/my/activate/",
        {
            "username": account.user.username,
            "code": code,
            "password": PERSON_PASSWORD,
            "password_again": PERSON_PASSWORD,
        },
    )
    assert response.status_code == 400 and b"has expired" in response.content
    # the practice gives a new code for the same account; the old one stays dead
    again, fresh = accounts.create_person_account(user=portal_world["gp_a"], person=account.person)
    assert again.pk == account.pk and fresh != code
    with pytest.raises(accounts.AccountError):
        accounts.activate(username=account.user.username, code=code, password=PERSON_PASSWORD)
    accounts.activate(username=account.user.username, code=fresh, password=PERSON_PASSWORD)


def test_a_wrong_code_or_weak_password_is_refused(portal_world: dict[str, Any]) -> None:
    account, code = accounts.create_person_account(
        user=portal_world["gp_a"], person=person("Cai", "New", None, portal_world["practice_a"])
    )
    with pytest.raises(accounts.AccountError):
        accounts.activate(username=account.user.username, code="AAAA-BBBB-CCCC", password=PERSON_PASSWORD)
    with pytest.raises(accounts.AccountError) as weak:
        accounts.activate(username=account.user.username, code=code, password="short")
    assert weak.value.field == "password"
    accounts.activate(
        username=account.user.username, code=code, password=PERSON_PASSWORD
    )  # the code still works


def test_the_second_factor_is_required(portal_world: dict[str, Any]) -> None:
    alice, account = portal_world["alice"], portal_world["alice_account"]
    client = Client()
    response = client.post("/my/sign-in/", {"username": account.user.username, "password": PERSON_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/my/sign-in/code/"
    # the password alone signs no one in
    assert client.get(f"/my/{alice.pk}/plan/").status_code == 302
    assert client.post("/my/sign-in/code/", {"code": "000000"}).status_code == 400
    outbox = client.get("/my/sign-in/outbox/")
    assert outbox.status_code == 200 and latest_code(account).encode() in outbox.content
    code = latest_code(account)
    assert client.post("/my/sign-in/code/", {"code": code}).status_code == 302
    assert client.get(f"/my/{alice.pk}/plan/").status_code == 200
    # single use: the same code does not sign in a second browser
    other = Client()
    other.post("/my/sign-in/", {"username": account.user.username, "password": PERSON_PASSWORD})
    assert other.post("/my/sign-in/code/", {"code": code}).status_code == 400


def test_a_code_expires_and_five_wrong_tries_end_it(portal_world: dict[str, Any]) -> None:
    account = portal_world["alice_account"]
    client = Client()
    client.post("/my/sign-in/", {"username": account.user.username, "password": PERSON_PASSWORD})
    code = latest_code(account)
    SignInCode.objects.filter(account=account).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post("/my/sign-in/code/", {"code": code}).status_code == 400
    client.post("/my/sign-in/code/", {"resend": "1"})
    code = latest_code(account)
    for _ in range(5):
        client.post("/my/sign-in/code/", {"code": "999999" if code != "999999" else "111111"})
    assert client.post("/my/sign-in/code/", {"code": code}).status_code == 400


def test_password_sign_in_at_the_staff_page_does_not_open_the_persons_view(
    portal_world: dict[str, Any],
) -> None:
    account, alice = portal_world["alice_account"], portal_world["alice"]
    client = Client()
    client.post("/login/", {"username": account.user.username, "password": PERSON_PASSWORD})
    assert client.get(f"/my/{alice.pk}/").status_code == 302  # no second factor: back to sign-in
    assert client.get(f"/people/{alice.pk}/").status_code in (302, 403)


def test_staff_accounts_cannot_sign_in_to_the_persons_view(portal_world: dict[str, Any]) -> None:
    gp = portal_world["gp_a"]
    gp.set_password(PERSON_PASSWORD)
    gp.save()
    response = Client().post("/my/sign-in/", {"username": gp.username, "password": PERSON_PASSWORD})
    assert response.status_code == 400


def test_only_staff_with_a_relationship_create_accounts(portal_world: dict[str, Any]) -> None:
    with pytest.raises(AccessRefused):
        accounts.create_person_account(user=portal_world["gp_b"], person=portal_world["alice"])
    admin = staff("admin", Role.ADMINISTRATOR, None)
    with pytest.raises(AccessRefused):
        accounts.create_person_account(user=admin, person=portal_world["alice"])
    with pytest.raises(accounts.AccountError, match="already has"):
        accounts.create_person_account(user=portal_world["gp_a"], person=portal_world["alice"])


def test_a_carer_grant_needs_a_basis_evidence_and_shares(portal_world: dict[str, Any]) -> None:
    base = {"user": portal_world["gp_a"], "person": portal_world["alice"], "name": "Dai"}
    with pytest.raises(accounts.AccountError, match="lasting power"):
        accounts.create_carer_account(**base, basis="neighbour", evidence="said so", shares=["plan"])
    with pytest.raises(accounts.AccountError, match="where the agreement"):
        accounts.create_carer_account(**base, basis="lpa-health", evidence="", shares=["plan"])
    with pytest.raises(accounts.AccountError, match="agreed to share"):
        accounts.create_carer_account(**base, basis="lpa-health", evidence="LPA ref 1234", shares=[])


def test_the_staff_page_creates_an_account_and_shows_the_code_once(portal_world: dict[str, Any]) -> None:
    gp, newcomer = portal_world["gp_a"], person("Cai", "New", None, portal_world["practice_a"])
    client = signed_in(gp)
    page = client.get(f"/online-access/people/{newcomer.pk}/")
    assert page.status_code == 200
    created = client.post(f"/online-access/people/{newcomer.pk}/", {"kind": "person"})
    assert created.status_code == 200 and b"Activation code" in created.content
    assert PersonAccount.objects.filter(person=newcomer).exists()
    assert signed_in(portal_world["gp_b"]).get(f"/online-access/people/{newcomer.pk}/").status_code == 403


def test_a_question_becomes_a_task_for_the_coordinator(portal_world: dict[str, Any]) -> None:
    alice, gp = portal_world["alice"], portal_world["gp_a"]
    client = portal_client(portal_world["alice_account"])
    assert client.post(f"/my/{alice.pk}/ask/", {"text": ""}).status_code == 400
    response = client.post(f"/my/{alice.pk}/ask/", {"text": "Can I take my tablets with food?"})
    assert response.status_code == 200 and b"has been sent" in response.content
    task = Task.objects.get(person=alice)
    assert task.owner == gp and "Can I take my tablets with food?" in task.description
    assert "Can I take my tablets with food?" in signed_in(gp).get("/tasks/").content.decode()
    audit = AuditEntry.objects.filter(actor=portal_world["alice_account"].user, action="create").last()
    assert audit is not None and audit.person_id == alice.pk and audit.purpose == "self-service"


def test_what_matters_is_added_and_the_team_told(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    carer = portal_client(portal_world["carer_account"])
    assert (
        carer.post(f"/my/{alice.pk}/what-matters/", {"text": "Seeing her grandchildren"}).status_code == 302
    )
    assert "Seeing her grandchildren" in carer.get(f"/my/{alice.pk}/plan/").content.decode()
    task = Task.objects.get(person=alice)
    assert "their carer" in task.description
    audit = AuditEntry.objects.filter(actor=portal_world["carer_account"].user, action="create").last()
    assert audit is not None and audit.purpose == "proxy"


def test_a_carer_records_their_needs_and_asks_for_an_assessment(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    carer = portal_client(portal_world["carer_account"])
    response = carer.post(
        f"/my/{alice.pk}/carer/", {"needs": "A break on Fridays", "wants_assessment": "yes"}
    )
    assert response.status_code == 200 and b"saved" in response.content
    assert Task.objects.filter(person=alice, description__contains="carer's assessment").count() == 1
    carer.post(f"/my/{alice.pk}/carer/", {"needs": "A break on Fridays", "wants_assessment": "yes"})
    assert Task.objects.filter(person=alice, description__contains="carer's assessment").count() == 1
    own = PersonAccount.objects.select_related("user").get(pk=portal_world["alice_account"].pk).user
    with pytest.raises(accounts.AccountError, match="Only a carer"):
        services.record_carer_needs(user=own, person=alice, needs="x", wants_assessment=False)


def test_the_identity_provider_redirect_is_configured_by_settings(
    portal_world: dict[str, Any], settings: Any
) -> None:
    client = Client()
    assert client.get("/my/sign-in/oidc/").status_code == 404  # not configured: local accounts only
    settings.CAREWEAVE_OIDC_AUTHORIZATION_ENDPOINT = "https://idp.example/authorize"
    settings.CAREWEAVE_OIDC_CLIENT_ID = "careweave-test"
    response = client.get("/my/sign-in/oidc/")
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("https://idp.example/authorize?") and "client_id=careweave-test" in location
    assert "state=" in location and "scope=openid" in location
    assert client.get("/my/sign-in/oidc/callback/?state=wrong").status_code == 404


def test_a_clinician_hides_an_item_from_carers_on_the_staff_page(portal_world: dict[str, Any]) -> None:
    from careweave.portal.models import HiddenFromProxy
    from careweave.record import models as rm

    alice, gp = portal_world["alice"], portal_world["gp_a"]
    metformin = rm.Medication.objects.get(person=alice, display__startswith="Metformin")
    client = signed_in(gp)
    page = client.get(f"/online-access/people/{alice.pk}/").content.decode()
    assert "always hidden from carers" in page  # the sexual health referral
    assert (
        client.post(
            f"/online-access/people/{alice.pk}/", {"kind": "hide", "resource": metformin.resource_id}
        ).status_code
        == 302
    )
    carer = portal_client(portal_world["carer_account"])
    assert "Metformin" not in carer.get(f"/my/{alice.pk}/medicines/").content.decode()
    client.post(f"/online-access/people/{alice.pk}/", {"kind": "show", "resource": metformin.resource_id})
    assert "Metformin" in carer.get(f"/my/{alice.pk}/medicines/").content.decode()
    bobs = rm.Medication.objects.get(person=portal_world["bob"])
    assert (
        client.post(
            f"/online-access/people/{alice.pk}/", {"kind": "hide", "resource": bobs.resource_id}
        ).status_code
        == 404
    )
    assert not HiddenFromProxy.objects.filter(resource_id=bobs.resource_id).exists()


def test_production_never_shows_codes_on_screen(portal_world: dict[str, Any], settings: Any) -> None:
    settings.PRODUCTION = True
    account = portal_world["alice_account"]
    client = Client()
    client.post("/my/sign-in/", {"username": account.user.username, "password": PERSON_PASSWORD})
    assert client.get("/my/sign-in/outbox/").status_code == 404
    assert b"Open the outbox" not in client.get("/my/sign-in/code/").content

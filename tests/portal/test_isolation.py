"""A person sees only their own record, on every person-facing URL; a carer only what was shared,
and nothing hidden; person accounts never reach a staff URL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from careweave.governance.models import AuditEntry
from careweave.portal.models import CarerNeeds, PersonMessage
from careweave.portal.urls import PAGE_EXAMPLES, PERSON_PAGES
from tests.portal.conftest import portal_client

pytestmark = pytest.mark.django_db


def page(name: str, pk: int) -> str:
    return reverse(f"portal:{name}", kwargs={"person_pk": pk, **PAGE_EXAMPLES.get(name, {})})


def test_every_person_page_refuses_another_persons_id(portal_world: dict[str, Any]) -> None:
    alice, bob = portal_world["alice"], portal_world["bob"]
    client = portal_client(portal_world["alice_account"])
    assert len(PERSON_PAGES) >= 11
    for name in PERSON_PAGES:
        own = client.get(page(name, alice.pk))
        # the carer's needs page is for carers: the person's own account is told it does not exist
        assert own.status_code == (404 if name == "carer" else 200), name
        for method in ("get", "post"):
            other = getattr(client, method)(page(name, bob.pk), {"text": "hello"})
            # a page that takes no POST says so (405) before it looks at the id: that reveals nothing
            assert other.status_code in ((404, 405) if method == "post" else (404,)), (
                name,
                method,
                other.status_code,
            )
            assert b"Quillfeather" not in other.content and b"Bobs-" not in other.content, name
        assert client.get(page(name, 999_999)).status_code == 404
    assert not PersonMessage.objects.filter(person=bob).exists()
    assert not CarerNeeds.objects.filter(person=bob).exists()
    denied = AuditEntry.objects.filter(actor=portal_world["alice_account"].user, person=bob, outcome="denied")
    assert denied.exists()


def test_the_person_reads_their_own_pages_audited_as_themselves(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    client = portal_client(portal_world["alice_account"])
    assert "Getting to chapel on Sundays." in client.get(f"/my/{alice.pk}/plan/").content.decode()
    medicines = client.get(f"/my/{alice.pk}/medicines/").content.decode()
    assert "Metformin 500mg tablets" in medicines and "Sertraline" in medicines  # her own: nothing hidden
    # "why am I taking this?" in the reviewed words of medicine_information.yaml (issue 13)
    assert "lowers the sugar in your blood" in medicines
    referrals = client.get(f"/my/{alice.pk}/referrals/").content.decode()
    assert "Diabetic eye screening" in referrals and "10 weeks" in referrals
    readings = client.get(f"/my/{alice.pk}/readings/").content.decode()
    assert "82.5 kg" in readings and "going up" in readings and "79 kg" not in readings  # home only
    entry = AuditEntry.objects.filter(
        actor=portal_world["alice_account"].user, person=alice, action="read"
    ).last()
    assert entry is not None and entry.purpose == "self-service" and entry.channel == "portal"


def test_a_carer_sees_only_what_was_shared_and_nothing_hidden(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    carer = portal_client(portal_world["carer_account"])
    medicines = carer.get(f"/my/{alice.pk}/medicines/").content.decode()
    assert "Metformin 500mg tablets" in medicines
    assert "Sertraline" not in medicines  # a clinician hid it from proxies
    referrals = carer.get(f"/my/{alice.pk}/referrals/").content.decode()
    assert "Diabetic eye screening" in referrals
    assert "Genitourinary" not in referrals  # sexual health: never for proxies
    for unshared in ("readings", "access", "appointments", "questionnaires"):
        if unshared == "questionnaires":
            continue  # listed under the plan, which was shared
        assert carer.get(f"/my/{alice.pk}/{unshared}/").status_code == 404, unshared
    for name in PERSON_PAGES:  # Bob never agreed to share anything with Alice's carer
        assert carer.get(page(name, portal_world["bob"].pk)).status_code == 404, name
    overview = carer.get(f"/my/{alice.pk}/").content.decode()
    assert "Home readings" not in overview and "Who has looked" not in overview
    entry = AuditEntry.objects.filter(
        actor=portal_world["carer_account"].user, person=alice, action="read"
    ).last()
    assert entry is not None and entry.purpose == "proxy" and "carer acting for the person" in entry.reason


def test_revoking_proxy_access_ends_it(portal_world: dict[str, Any]) -> None:
    from careweave.portal.accounts import revoke_proxy
    from careweave.portal.models import ProxyGrant

    alice = portal_world["alice"]
    carer = portal_client(portal_world["carer_account"])
    assert carer.get(f"/my/{alice.pk}/plan/").status_code == 200
    revoke_proxy(user=portal_world["gp_a"], grant=ProxyGrant.objects.get(person=alice))
    assert carer.get(f"/my/{alice.pk}/plan/").status_code == 404


PUBLIC = {"/login/", "/logout/", "/", "/fhir/metadata"}  # sign-in, and FHIR's CapabilityStatement


def _staff_paths(pk: int) -> list[str]:
    """Every URL pattern outside /my/, with the person's id for each id (so an opened record would show)."""
    paths: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern):
                paths.append("/" + text.split("<")[0] + _fill(text, pk))

    walk(get_resolver().url_patterns, "")
    return sorted({p for p in paths if not p.startswith("/my/")})


def _fill(text: str, pk: int) -> str:
    rest = text.split("<", 1)[1] if "<" in text else ""
    return re.sub(r"<[^>]+>", str(pk), "<" + rest) if rest else ""


def test_person_and_carer_accounts_are_refused_on_every_staff_url(portal_world: dict[str, Any]) -> None:
    pk = portal_world["alice"].pk
    paths = _staff_paths(pk)
    assert {"/people/", f"/care/people/{pk}/plan/", f"/online-access/people/{pk}/", f"/people/{pk}/"} <= set(
        paths
    )
    from careweave.care.models import CarePlan
    from careweave.governance.models import BreakGlass, CareTeamMember
    from careweave.huddles.models import Task

    def counts() -> tuple[int, ...]:
        return tuple(m.objects.count() for m in (CarePlan, CareTeamMember, Task, BreakGlass, PersonMessage))

    before = counts()
    for account in ("alice_account", "carer_account"):
        client = portal_client(portal_world[account])
        for path in paths:
            if path in PUBLIC:
                continue
            for method in (client.get, client.post):
                response = method(path)
                assert response.status_code in (302, 400, 401, 403, 404, 405), (path, response.status_code)
                assert b"Zephyrine" not in response.content, path
                if response.status_code == 302:
                    assert response["Location"].startswith(("/login/", "/today/")), (
                        path,
                        response["Location"],
                    )
    assert counts() == before  # nothing written through a staff URL

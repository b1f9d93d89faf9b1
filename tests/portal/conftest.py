"""The person's view world: Alice (with a co-ordinator, a care plan, medicines, a referral, home
readings she sent and sensitive items), Bob at another practice, their own accounts, and Carys, Alice's carer,
with proxy access to part of Alice's record. Accounts are made through the services, as staff do."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careweave.care import services as care
from careweave.governance.models import Role
from careweave.monitoring.services import record_reading
from careweave.portal import accounts
from careweave.portal.models import OutboxMessage, PersonAccount, Share
from careweave.record import models as rm
from careweave.record.relationships import rebuild_care_relationships
from tests.web.conftest import organisation, person, staff, stored

PERSON_PASSWORD = "a-long-person-password-2026"
SCT = "http://snomed.info/sct"
LOINC = "http://loinc.org"


def item(
    model: type, who: rm.Person, resource_type: str, body: dict[str, Any] | None = None, **fields: Any
) -> Any:
    resource = stored(resource_type, who)
    if body is not None:
        resource.body = json.dumps(body)
        resource.save(update_fields=["body"])
    return model.objects.create(resource=resource, person=who, **fields)


def activated(account: PersonAccount, code: str) -> PersonAccount:
    return accounts.activate(username=account.user.username, code=code, password=PERSON_PASSWORD)


def latest_code(account: PersonAccount) -> str:
    body = (
        OutboxMessage.objects.filter(account=account).order_by("-pk").values_list("body", flat=True).first()
    )
    assert body is not None, "no code in the outbox"
    found = re.search(r"\b(\d{6})\b", body)
    assert found is not None
    return found.group(1)


def portal_client(account: PersonAccount) -> Client:
    """Signed in through both steps, as the person would: password, then the code from the outbox."""
    client = Client()
    response = client.post("/my/sign-in/", {"username": account.user.username, "password": PERSON_PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.post("/my/sign-in/code/", {"code": latest_code(account)})
    assert response.status_code == 302 and response["Location"] == "/my/", response.status_code
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def portal_world(db: Any) -> dict[str, Any]:
    practice_a = organisation("Riverside Surgery", rm.Sector.GENERAL_PRACTICE, "A11111")
    practice_b = organisation("Hilltop Medical Centre", rm.Sector.GENERAL_PRACTICE, "B22222")
    alice = person("Alice", "Zephyrine", "9434765919", practice_a, sex="female")
    bob = person("Bob", "Quillfeather", "9434765888", practice_b, sex="male")
    gp_a = staff("gp.riverside", Role.GP, practice_a)
    gp_b = staff("gp.hilltop", Role.GP, practice_b)
    care.add_team_member(user=gp_a, person=alice, member=gp_a, role_in_team="Named GP", as_coordinator=True)
    care.add_team_member(user=gp_b, person=bob, member=gp_b, role_in_team="Named GP", as_coordinator=True)
    care.save_care_plan(
        user=gp_a,
        person=alice,
        data={
            "what_matters": "Getting to chapel on Sundays.",
            "priorities": [{"text": "Keep singing", "rank": 1}],
            "review_date": date.today() + timedelta(days=90),
        },
    )
    care.save_care_plan(user=gp_b, person=bob, data={"what_matters": "Bob's allotment."})
    item(
        rm.Medication,
        alice,
        "MedicationRequest",
        kind="MedicationRequest",
        display="Metformin 500mg tablets",
        dose_text="One tablet twice a day",
        status="active",
    )
    hidden_med = item(
        rm.Medication,
        alice,
        "MedicationRequest",
        kind="MedicationRequest",
        display="Sertraline 50mg tablets",
        dose_text="One a day",
        status="active",
    )
    item(
        rm.Medication,
        bob,
        "MedicationRequest",
        kind="MedicationRequest",
        display="Bobs-Ramipril 5mg capsules",
        status="active",
    )
    item(
        rm.Condition,
        alice,
        "Condition",
        system=SCT,
        code="105629000",
        display="Chlamydial infection",
        clinical_status="active",
    )
    item(
        rm.Referral,
        alice,
        "ServiceRequest",
        status="active",
        code_display="Diabetic eye screening",
        authored_on=timezone.localdate() - timedelta(days=70),
    )
    item(
        rm.Referral,
        alice,
        "ServiceRequest",
        status="active",
        code_display="Genitourinary medicine clinic",
        reason_code="105629000",
        authored_on=timezone.localdate() - timedelta(days=20),
    )
    item(
        rm.Referral,
        bob,
        "ServiceRequest",
        status="active",
        code_display="Bobs-Orthopaedics",
        authored_on=timezone.localdate() - timedelta(days=10),
    )
    now = timezone.now()
    item(
        rm.Observation,
        alice,
        "Observation",
        body={"resourceType": "Observation", "performer": [{"reference": "Practitioner/y"}]},
        category="vital-signs",
        system=LOINC,
        code="29463-7",
        display="Body weight",
        effective=now - timedelta(days=40),
        value=79.0,
        unit="kg",
    )
    rebuild_care_relationships()

    alice_account, alice_code = accounts.create_person_account(user=gp_a, person=alice)
    bob_account, bob_code = accounts.create_person_account(user=gp_b, person=bob)
    carer_account, carer_code = accounts.create_carer_account(
        user=gp_a,
        person=alice,
        name="Carys Zephyrine",
        basis="agreement",
        evidence="Alice agreed in clinic on 1 December 2026",
        shares=[Share.PLAN, Share.MEDICINES, Share.REFERRALS, Share.TEAM, Share.MESSAGES],
    )
    accounts.hide_from_proxies(user=gp_a, person=alice, resource=hidden_med.resource, reason="asked by Alice")
    for account, code in ((alice_account, alice_code), (bob_account, bob_code), (carer_account, carer_code)):
        activated(account, code)
    for days, kg in ((6, 80.0), (3, 81.0), (1, 82.5)):  # sent from home, as the person's form sends them
        record_reading(
            user=alice_account.user,
            person=alice,
            measurement="weight",
            values={"weight": kg},
            effective=now - timedelta(days=days),
        )
    return {
        "alice": alice,
        "bob": bob,
        "gp_a": gp_a,
        "gp_b": gp_b,
        "alice_account": alice_account,
        "bob_account": bob_account,
        "carer_account": carer_account,
        "practice_a": practice_a,
    }

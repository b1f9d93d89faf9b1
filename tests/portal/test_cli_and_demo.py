"""The command line gives online access as the staff page does; the demo makes a person and a carer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from careweave.cli import app
from careweave.portal.accounts import activate
from careweave.portal.demo import create_portal_demo_accounts
from careweave.portal.models import PersonAccount, ProxyGrant
from tests.portal.conftest import PERSON_PASSWORD, portal_client
from tests.web.conftest import person

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_account_prints_a_code_that_activates(portal_world: dict[str, Any]) -> None:
    newcomer = person("Cai", "New", "9434765870", portal_world["practice_a"])
    result = CliRunner().invoke(
        app, ["portal", "create-account", "--person", "9434765870", "--by", "gp.riverside", "--json"]
    )
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert set(issued) == {"username", "activation_code", "expires_at"}
    account = activate(username=issued["username"], code=issued["activation_code"], password=PERSON_PASSWORD)
    assert account.person_id == newcomer.pk
    refused = CliRunner().invoke(
        app, ["portal", "create-account", "--person", "9434765870", "--by", "gp.hilltop"]
    )
    assert refused.exit_code == 1


def test_the_demo_makes_a_person_and_a_carer_who_can_sign_in(portal_world: dict[str, Any]) -> None:
    from tests.web.conftest import staff

    staff("coordinator", "care-coordinator", portal_world["practice_a"])
    assert create_portal_demo_accounts(password=PERSON_PASSWORD) == []  # Alice has her account already
    person("Dilys", "Demo", None, portal_world["practice_a"])
    made = create_portal_demo_accounts(password=PERSON_PASSWORD)
    assert [a["username"] for a in made] == ["person", "carer"]
    again = create_portal_demo_accounts(password=PERSON_PASSWORD)  # idempotent
    assert [a["username"] for a in again] == ["person", "carer"]
    own = PersonAccount.objects.get(user__username="person")
    assert ProxyGrant.objects.filter(account__user__username="carer", person=own.person).count() == 1
    client = portal_client(own)
    assert client.get(f"/my/{own.person_id}/").status_code == 200

"""The Notify stand-in on loopback, in-process, and a gateway whose official client talks to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from careweave.contact.notify import NotifyGateway
from careweave.contact.notify_standin import API_KEY, NotifyStandIn
from careweave.record import models as rm
from tests.factories import OrganisationFactory, PersonFactory, StoredResourceFactory


@pytest.fixture
def standin() -> Iterator[NotifyStandIn]:
    service = NotifyStandIn().start()
    yield service
    service.stop()


@pytest.fixture
def gateway(standin: NotifyStandIn) -> NotifyGateway:
    return NotifyGateway(api_key=API_KEY, base_url=standin.base_url)


def make_person(
    *, telecom: list[dict[str, Any]] | None = None, needs: list[str] | None = None, **fields: Any
) -> rm.Person:
    body = {
        "resourceType": "Patient",
        "telecom": telecom or [],
        "address": [{"line": ["1 High Street"], "city": "Leeds", "postalCode": "LS1 1AA"}],
    }
    resource = StoredResourceFactory(resource_type="Patient", body=orjson.dumps(body).decode())
    practice = OrganisationFactory(name="Riverside Surgery")
    person: rm.Person = PersonFactory(
        resource=resource, registered_practice=practice, accessible_information_needs=needs or [], **fields
    )
    resource.person = person
    resource.save()
    return person


def add_carer(person: rm.Person, telecom: str = "07700900222") -> rm.RelatedPerson:
    body = {"resourceType": "RelatedPerson", "address": [{"line": ["2 Low Street"], "postalCode": "LS2 2BB"}]}
    resource = StoredResourceFactory(
        resource_type="RelatedPerson", person=person, body=orjson.dumps(body).decode()
    )
    return rm.RelatedPerson.objects.create(
        person=person, resource=resource, name="Chris Carer", is_carer=True, telecom=telecom
    )


MOBILE = [{"system": "phone", "use": "mobile", "value": "07700900111", "rank": 1}]
EMAIL = [{"system": "email", "value": "alex@example.org", "rank": 2}]

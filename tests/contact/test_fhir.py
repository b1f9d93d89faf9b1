"""The record's FHIR side: a need sent as a FHIR Flag (the Reasonable Adjustment Flag's shape) through
the importer changes the route, and the Communication and CommunicationRequest written for a message
are served by the FHIR API to a member of staff caring for the person."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client

from careweave.contact.needs import route_for
from careweave.contact.notify import NotifyGateway
from careweave.contact.services import contact_person
from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.population.contact import Channel
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, transaction_bundle
from tests.fhir.test_api_semantics import token

pytestmark = pytest.mark.django_db


def test_a_flag_sent_over_fhir_routes_and_the_communication_is_served(
    gateway: NotifyGateway, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    importer = Importer(source_system="urn:test")
    bundle = transaction_bundle()
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["address"] = [{"line": ["1 High Street"], "postalCode": "LS1 1AA"}]
    importer.import_bundle(bundle, "seed.json")
    importer.import_resource(
        {
            "resourceType": "Flag",
            "id": "raf-1",
            "status": "active",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "936721000000107"}]},
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
        }
    )
    person = rm.Person.objects.get(resource__logical_id=PATIENT_ID)
    route, _ = route_for(person)
    assert route.channels == (Channel.LETTER,)
    request = contact_person(person=person, purpose="review-invitation", system_actor="test", gateway=gateway)
    comm = request.attempts.first()
    assert comm is not None
    gp = token("gp", Role.GP, rm.Organisation.objects.get(resource__logical_id="org-1"))
    response = Client().get(f"/fhir/Communication/{comm.resource.logical_id}", headers=gp)
    assert response.status_code == 200, response.content[:300]
    body = orjson.loads(response.content)
    assert body["resourceType"] == "Communication"
    assert body["basedOn"][0]["reference"] == f"CommunicationRequest/{request.resource.logical_id}"
    response = Client().get(f"/fhir/CommunicationRequest/{request.resource.logical_id}", headers=gp)
    assert response.status_code == 200
    assert orjson.loads(response.content)["category"][0]["coding"][0]["code"] == "review-invitation"

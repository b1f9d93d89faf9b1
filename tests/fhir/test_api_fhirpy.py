"""The FHIR semantics of issue 11 driven by a client library (fhirpy) against the running server:
counts, elements, sorting, _lastUpdated, a search outside one's care, and XML refused."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, transaction_bundle
from tests.fhir.test_api import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clients(live_server: Any) -> dict[str, SyncFHIRClient]:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    other = Importer(source_system="urn:test")
    other.import_resource({"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop Surgery"})
    elsewhere = rm.Organisation.objects.get(resource__logical_id="elsewhere")
    base = f"{live_server.url}/fhir"
    return {
        who: SyncFHIRClient(base, authorization=f"Bearer {make_user(who, role, org)}")
        for who, role, org in (("integrator", Role.INTEGRATOR, None), ("other_gp", Role.GP, elsewhere))
    }


def test_search_semantics_through_fhirpy(clients: dict[str, SyncFHIRClient]) -> None:
    integrator = clients["integrator"]
    conditions = integrator.resources("Condition")
    assert conditions.count() == 1
    subset = conditions.elements("code").fetch()
    assert [sorted(c.keys()) for c in subset] == [["code", "id", "meta", "resourceType"]]
    observations = integrator.resources("Observation").sort("-_lastUpdated").fetch()
    assert [o["id"] for o in observations] == ["obs-1"]
    assert integrator.resources("Condition").search(_lastUpdated="lt2000-01-01").fetch() == []
    with pytest.raises(OperationOutcome):
        integrator.resources("Condition").sort("onset-date").fetch()
    # a search about someone outside one's care is refused as the read is, not an empty list
    with pytest.raises(ResourceNotFound):
        clients["other_gp"].resources("Condition").search(patient=PATIENT_ID).fetch()
    with pytest.raises(ResourceNotFound):
        clients["other_gp"].reference("Patient", PATIENT_ID).to_resource()


def test_xml_is_406_for_any_client(clients: dict[str, SyncFHIRClient], live_server: Any) -> None:
    integrator = clients["integrator"]
    assert integrator.reference("Patient", PATIENT_ID).to_resource()["id"] == PATIENT_ID  # JSON is served
    response = requests.get(
        f"{live_server.url}/fhir/Patient/{PATIENT_ID}",
        headers={"Authorization": integrator.authorization or "", "Accept": "application/fhir+xml"},
        timeout=10,
    )
    assert response.status_code == 406 and response.json()["resourceType"] == "OperationOutcome"

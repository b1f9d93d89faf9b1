"""Writes through the FHIR API (driven by fhirpy against the running server) enqueue the population
refresh on the real queue: one waiting, however many writes; none for a write that changed nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django_tasks_db.models import DBTaskResult
from fhirpy import SyncFHIRClient

from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.jobs.models import JobMark
from tests.fhir.conftest import PATIENT_ID, transaction_bundle
from tests.fhir.test_api import make_user

pytestmark = pytest.mark.django_db(transaction=True)
REFRESH = "careweave.jobs.tasks.refresh_population"


def _waiting() -> int:
    return DBTaskResult.objects.ready().filter(task_path=REFRESH).count()


def _hba1c(value: float) -> dict[str, Any]:
    return {
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "valueQuantity": {"value": value, "unit": "mmol/mol"},
    }


def test_api_writes_enqueue_one_refresh(live_server: Any) -> None:
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")  # not the API
    assert _waiting() == 0
    token = make_user("integrator", Role.INTEGRATOR, None)
    client = SyncFHIRClient(f"{live_server.url}/fhir", authorization=f"Bearer {token}")
    reading = client.resource("Observation", **_hba1c(58))
    reading.save()
    assert _waiting() == 1
    reading["valueQuantity"] = {"value": 61, "unit": "mmol/mol"}
    reading.save()
    assert _waiting() == 1  # two writes, one refresh waiting

    # once the worker has started the refresh, an unchanged write enqueues nothing and a change does
    JobMark.objects.filter(key="refresh_population").update(pending_since=None)
    DBTaskResult.objects.all().delete()
    reading.save()
    assert _waiting() == 0
    reading["valueQuantity"] = {"value": 64, "unit": "mmol/mol"}
    reading.save()
    assert _waiting() == 1

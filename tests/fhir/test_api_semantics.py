"""FHIR semantics of the API (issue 11, item 4): formats, searches outside one's care, batch reads,
unknown URLs, and _summary=count, _elements, _sort and _lastUpdated."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from tests.fhir.conftest import PATIENT_ID, patient, transaction_bundle

pytestmark = pytest.mark.django_db


def token(username: str, role: Role, organisation: rm.Organisation | None = None) -> dict[str, str]:
    user = get_user_model().objects.create_user(username=username, password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=role, organisation=organisation)
    return {"Authorization": f"Bearer {ApiToken.issue(user, 'test')}"}


@pytest.fixture
def world(settings: Any) -> dict[str, dict[str, str]]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Importer(source_system="urn:test").import_bundle(transaction_bundle(), "seed.json")
    other = Importer(source_system="urn:test")
    other.import_resource({"resourceType": "Organization", "id": "elsewhere", "name": "Hilltop Surgery"})
    elsewhere = rm.Organisation.objects.get(resource__logical_id="elsewhere")
    neighbour = {
        **patient("9000000009", "neighbour"),
        "generalPractitioner": [{"reference": "Organization/elsewhere"}],
    }
    other.import_resource(neighbour)
    other.import_resource(
        {
            "resourceType": "Condition",
            "id": "neighbour-cond",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
            "subject": {"reference": "Patient/neighbour"},
        }
    )
    practice = rm.Organisation.objects.get(resource__logical_id="org-1")
    return {
        "gp": token("gp", Role.GP, practice),
        "other_gp": token("other_gp", Role.GP, elsewhere),
        "integrator": token("integrator", Role.INTEGRATOR),
    }


def get(url: str, headers: dict[str, str], **extra: str) -> tuple[int, dict[str, Any]]:
    response = Client().get(url, headers={**headers, **extra})
    assert response["Content-Type"].startswith("application/fhir+json"), response.content[:200]
    return response.status_code, orjson.loads(response.content)


def test_xml_is_refused_with_406_and_json_is_served(world: dict[str, dict[str, str]]) -> None:
    gp = world["gp"]
    for url, extra in (
        (f"/fhir/Patient/{PATIENT_ID}", {"Accept": "application/fhir+xml"}),
        (f"/fhir/Patient/{PATIENT_ID}?_format=xml", {}),
        ("/fhir/Condition?_format=application/fhir%2Bxml", {}),
        ("/fhir/metadata?_format=xml", {}),
    ):
        status, body = get(url, gp, **extra)
        assert status == 406 and body["resourceType"] == "OperationOutcome", url
    for url, extra in (
        (f"/fhir/Patient/{PATIENT_ID}", {"Accept": "application/fhir+json"}),
        (f"/fhir/Patient/{PATIENT_ID}?_format=json", {}),
        (f"/fhir/Patient/{PATIENT_ID}", {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}),
        ("/fhir/metadata", {"Accept": "application/json"}),
    ):
        status, body = get(url, gp, **extra)
        assert status == 200 and body["resourceType"] in ("Patient", "CapabilityStatement"), url


def test_every_unknown_fhir_url_is_an_operation_outcome_404(world: dict[str, dict[str, str]]) -> None:
    for url in (
        "/fhir/patient",
        "/fhir/Patient/a/b/c",
        "/fhir/Patient/not an id",
        "/fhir/Patient/x/_history/v",
    ):
        status, body = get(url, world["gp"])
        assert status == 404 and body["resourceType"] == "OperationOutcome", url


def test_a_search_about_someone_outside_ones_care_is_answered_as_the_read(
    world: dict[str, dict[str, str]],
) -> None:
    other_gp = world["other_gp"]
    read_status, read = get(f"/fhir/Patient/{PATIENT_ID}", other_gp)
    search_status, search = get(f"/fhir/Condition?patient=Patient/{PATIENT_ID}", other_gp)
    assert search_status == read_status != 200 and search["resourceType"] == "OperationOutcome"
    unknown_status, _ = get("/fhir/Condition?patient=nobody", other_gp)
    assert unknown_status == search_status  # "not yours" and "no such person" look the same
    # their own person is searched as before
    status, own = get("/fhir/Condition?subject=neighbour", other_gp)
    assert status == 200 and own["total"] == 1 and all(e["search"]["mode"] == "match" for e in own["entry"])


def test_a_filtered_search_says_so_in_a_warning(world: dict[str, dict[str, str]]) -> None:
    status, bundle = get("/fhir/Condition", world["other_gp"])
    assert status == 200 and bundle["total"] == 1
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    outcomes = [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert [m["resource"]["id"] for m in matches] == ["neighbour-cond"]
    assert outcomes and outcomes[0]["issue"][0]["severity"] == "warning"
    _, everyone = get("/fhir/Condition", world["integrator"])  # sees everyone: nothing left out
    assert everyone["total"] == 2 and all(e["search"]["mode"] == "match" for e in everyone["entry"])


def test_batch_get_entries_carry_the_resource(world: dict[str, dict[str, str]]) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Patient/{PATIENT_ID}"}},
            {"request": {"method": "GET", "url": "Condition?patient=neighbour"}},
            {"request": {"method": "GET", "url": "Patient/nobody"}},
        ],
    }
    response = Client().post(
        "/fhir", orjson.dumps(batch), "application/fhir+json", headers=world["integrator"]
    )
    assert response.status_code == 200
    read, search, missing = orjson.loads(response.content)["entry"]
    assert read["response"]["status"].startswith("200") and read["resource"]["id"] == PATIENT_ID
    assert search["resource"]["type"] == "searchset" and search["resource"]["total"] == 1
    assert missing["response"]["status"].startswith("404") and missing["response"]["outcome"]["issue"]


def test_summary_count_elements_sort_and_last_updated(world: dict[str, dict[str, str]]) -> None:
    integrator = world["integrator"]
    _, counted = get("/fhir/Condition?_summary=count", integrator)
    assert counted["total"] == 2 and not counted.get("entry")
    _, subset = get("/fhir/Condition?_elements=code", integrator)
    for entry in subset["entry"]:
        resource = entry["resource"]
        assert set(resource) == {"resourceType", "id", "meta", "code"}
        assert any(t["code"] == "SUBSETTED" for t in resource["meta"]["tag"])
    _, ascending = get("/fhir/Condition?_sort=_id", integrator)
    _, descending = get("/fhir/Condition?_sort=-_id", integrator)
    ids = [e["resource"]["id"] for e in ascending["entry"]]
    assert ids == sorted(ids) and [e["resource"]["id"] for e in descending["entry"]] == sorted(
        ids, reverse=True
    )
    status, refused = get("/fhir/Condition?_sort=onset", integrator)
    assert status == 400 and "_sort" in refused["issue"][0]["diagnostics"]
    _, recent = get("/fhir/Condition?_lastUpdated=gt2000-01-01", integrator)
    _, ancient = get("/fhir/Condition?_lastUpdated=lt2000-01-01", integrator)
    assert recent["total"] == 2 and ancient["total"] == 0
    status, _ = get("/fhir/Condition?_lastUpdated=9999-12", integrator)
    assert status == 400


def test_summary_keeps_what_fhir_says(world: dict[str, dict[str, str]]) -> None:
    integrator = world["integrator"]
    _, summary = get("/fhir/Condition?_summary=true&_sort=_id", integrator)
    _, text = get("/fhir/Condition?_summary=text&_sort=_id", integrator)
    _, full = get("/fhir/Condition?_summary=false&_sort=_id", integrator)
    for kept, whole in zip(summary["entry"], full["entry"], strict=True):
        resource = kept["resource"]
        assert "code" in resource and resource["subject"] == whole["resource"]["subject"]
        assert set(resource) <= set(whole["resource"])
        assert any(t["code"] == "SUBSETTED" for t in resource["meta"]["tag"])
    for entry in text["entry"]:  # text and the mandatory elements only (Condition.subject is 1..1)
        assert "code" not in entry["resource"] and "subject" in entry["resource"]
    assert all("SUBSETTED" not in orjson.dumps(e["resource"]).decode() for e in full["entry"])
    status, refused = get("/fhir/Condition?_summary=yes", integrator)
    assert status == 400 and refused["issue"][0]["expression"] == ["_summary"]


def test_post_in_a_transaction_creates_and_conditional_create_or_put_repeat_safely(
    world: dict[str, dict[str, str]],
) -> None:
    def transaction(status: str, request: dict[str, str], value: str = "f-1") -> dict[str, Any]:
        flag = {
            "resourceType": "Flag",
            "status": status,
            "code": {"text": "Needs an interpreter"},
            "subject": {"reference": f"Patient/{PATIENT_ID}"},
            "identifier": [{"system": "urn:test:flags", "value": value}],
        }
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [{"fullUrl": "urn:uuid:flag-1", "resource": flag, "request": request}],
        }
        response = Client().post(
            "/fhir", orjson.dumps(bundle), "application/fhir+json", headers=world["integrator"]
        )
        assert response.status_code == 200, response.content[:300]
        return dict(orjson.loads(response.content)["entry"][0]["response"])

    def flags() -> int:
        return rm.StoredResource.objects.filter(resource_type="Flag").count()

    post = {"method": "POST", "url": "Flag"}
    first, second = transaction("active", post), transaction("inactive", post)
    # POST creates: a second resource, not version 2 of the first
    assert first["status"].startswith("201") and second["status"].startswith("201")
    assert first["location"] != second["location"]
    assert flags() == 2 and not rm.StoredResource.objects.filter(resource_type="Flag", version=2).exists()
    # a PUT to an id is idempotent: the same body twice is one resource, a change is version 2
    put = {"method": "PUT", "url": "Flag/interpreter"}
    assert transaction("active", put, "f-9")["status"].startswith("201")
    assert transaction("active", put, "f-9")["status"].startswith("200")
    transaction("inactive", put, "f-9")
    assert rm.StoredResource.objects.get(resource_type="Flag", logical_id="interpreter").version == 2
    # a conditional create finds the one that is there and creates nothing
    conditional = {**post, "ifNoneExist": "identifier=urn:test:flags|f-9"}
    assert transaction("active", conditional, "f-9")["location"].startswith("Flag/interpreter/")
    assert flags() == 3

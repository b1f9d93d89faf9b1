"""Many source systems (issue 11, item 5): a second system's Organization, Practitioner and
PractitionerRole files import beside the first, its references resolving within the system that
sent them, its organisations and practitioners matched by ODS code and GMC number."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from careweave.fhir.files import import_paths
from careweave.fhir.importer import Importer
from careweave.governance.models import ApiToken, Role, StaffProfile
from careweave.record import models as rm
from careweave.synth import generate
from tests.conftest import shared_data_dir

pytestmark = pytest.mark.django_db
OTHER = "urn:test:community-system"


def renamed(resource: dict[str, object]) -> dict[str, object]:
    """The same thing as another system sends it: its own ids and its own meta.source."""
    text = orjson.dumps(resource).decode().replace('"s3-', '"other-').replace("/s3-", "/other-")
    other = orjson.loads(text)
    other["meta"] = {"source": OTHER}
    return dict(other)


def test_a_second_system_reference_data_imports_beside_the_first(tmp_path: Path) -> None:
    generate(20, 3, tmp_path / "first")
    first = Importer()
    import_paths(first, [tmp_path / "first"])
    assert first.summary.ok
    organisations, practitioners, roles = (
        rm.Organisation.objects.count(),
        rm.Practitioner.objects.count(),
        rm.PractitionerRole.objects.count(),
    )
    second = tmp_path / "second"
    second.mkdir()
    for kind in ("Organization", "Practitioner", "PractitionerRole"):
        lines = (tmp_path / "first" / f"{kind}.ndjson").read_bytes().splitlines()
        (second / f"{kind}.ndjson").write_bytes(
            b"\n".join(orjson.dumps(renamed(orjson.loads(x))) for x in lines)
        )
    importer = Importer()
    import_paths(importer, [second])
    assert importer.summary.ok, [i.as_fhir() for i in importer.summary.errors[:5]]
    # the same organisations and practitioners (matched by identifier), and the system's own roles
    assert rm.Organisation.objects.count() == organisations
    assert rm.Practitioner.objects.count() == practitioners
    assert rm.SourceAlias.objects.filter(source_system=OTHER).count() == organisations + practitioners
    assert rm.PractitionerRole.objects.count() == 2 * roles
    theirs = rm.PractitionerRole.objects.filter(resource__source_system=OTHER)
    assert theirs.filter(organisation=None).count() == 0 and theirs.filter(practitioner=None).count() == 0
    ours = {
        (r.practitioner_id, r.organisation_id)
        for r in rm.PractitionerRole.objects.exclude(resource__source_system=OTHER)
    }
    assert {(r.practitioner_id, r.organisation_id) for r in theirs} == ours

    again = Importer()
    import_paths(again, [second])
    assert again.summary.ok and again.summary.total("created") == 0


def integrator_headers() -> dict[str, str]:
    user = get_user_model().objects.create_user("integrator", password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=Role.INTEGRATOR)
    return {"Authorization": f"Bearer {ApiToken.issue(user)}"}


def test_a_body_over_the_limit_is_a_413_operation_outcome(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [], "padding": "x" * 20_000}
    response = Client().post(
        "/fhir", orjson.dumps(bundle), "application/fhir+json", headers=integrator_headers()
    )
    assert response.status_code == 413
    outcome = orjson.loads(response.content)
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["code"] == "too-long"
    assert response["Content-Type"].startswith("application/fhir+json")


@pytest.mark.shared_data
def test_the_largest_synthea_bundles_import_through_the_api() -> None:
    synthea = shared_data_dir("synthea-r4")
    reference = Importer()
    import_paths(
        reference,
        sorted(synthea.glob("hospitalInformation*")) + sorted(synthea.glob("practitionerInformation*")),
    )
    assert reference.summary.ok
    largest = max(synthea.glob("*.json.gz"), key=lambda p: len(gzip.decompress(p.read_bytes())))
    raw = gzip.decompress(largest.read_bytes())
    assert len(raw) > 2_621_440  # over Django's default limit of 2.5 MB
    response = Client().post("/fhir", raw, "application/fhir+json", headers=integrator_headers())
    assert response.status_code == 200, response.content[:500]
    answer = orjson.loads(response.content)
    assert answer["type"] == "transaction-response"
    assert len(answer["entry"]) == len(orjson.loads(raw)["entry"])
    assert rm.Person.objects.count() == 1

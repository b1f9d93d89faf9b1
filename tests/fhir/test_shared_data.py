"""Real FHIR data written elsewhere: every Synthea bundle and every HL7 R4 example imports cleanly,
re-imports unchanged, and a person exported with $everything re-imports as the same record."""

from __future__ import annotations

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
from tests.conftest import shared_data_dir

pytestmark = [pytest.mark.django_db, pytest.mark.shared_data]


def snapshot(person: rm.Person) -> dict[str, Any]:
    """The person's record as the application sees it, without database keys."""
    return {
        "person": (
            person.nhs_number,
            person.given_name,
            person.family_name,
            person.birth_date,
            person.sex,
            person.postcode,
        ),
        "conditions": sorted((c.code, c.clinical_status, str(c.onset)) for c in person.conditions.all()),
        "medications": sorted(
            (m.code, m.status, str(m.authored_on), m.dose_text) for m in person.medications.all()
        ),
        "observations": sorted(
            (o.code, o.value or 0.0, o.unit, str(o.effective)) for o in person.observations.all()
        ),
        "encounters": sorted(
            (
                e.class_code,
                e.type_code,
                str(e.start),
                e.unplanned,
                e.organisation.name if e.organisation else "",
            )
            for e in person.encounters.all()
        ),
    }


def test_every_synthea_bundle_and_example_imports_and_reimports_unchanged() -> None:
    synthea = shared_data_dir("synthea-r4")
    examples = shared_data_dir("fhir-r4-examples")
    first = Importer()
    import_paths(first, [synthea])
    assert first.summary.ok, [i.as_fhir() for i in first.summary.errors[:5]]
    assert first.summary.files == len(list(synthea.glob("*.json.gz")))
    assert (
        rm.Person.objects.count() == len(list(synthea.glob("*.json.gz"))) - 2
    )  # minus hospital and practitioner files
    assert rm.Condition.objects.exclude(code="").count() > 500
    assert rm.Observation.objects.filter(code="8480-6").count() > 100  # BP components were unpacked
    before = rm.StoredResource.objects.count()
    again = Importer()
    import_paths(again, [synthea])
    assert again.summary.total("created") == 0 and again.summary.total("updated") == 0
    assert rm.StoredResource.objects.count() == before

    example_import = Importer()
    import_paths(example_import, [examples])
    assert example_import.summary.ok, [i.as_fhir() for i in example_import.summary.errors[:5]]
    modelled = {
        "Patient",
        "Condition",
        "Observation",
        "MedicationRequest",
        "MedicationStatement",
        "Encounter",
        "Appointment",
        "ServiceRequest",
        "Organization",
        "Practitioner",
        "RelatedPerson",
    }
    single_files = [p for p in examples.glob("*.json") if p.name.split("-")[0] in modelled]
    for path in single_files:
        document = orjson.loads(path.read_bytes())
        kind, source_id = document["resourceType"], document["id"]
        held = rm.StoredResource.objects.filter(resource_type=kind, source_id=source_id).exists()
        merged = rm.SourceAlias.objects.filter(
            resource_type=kind, source_id=source_id
        ).exists()  # same identifier as another
        assert held or merged, path.name


def test_export_then_reimport_gives_the_same_record() -> None:
    synthea = shared_data_dir("synthea-r4")
    hospital = sorted(synthea.glob("hospitalInformation*"))
    practitioners = sorted(synthea.glob("practitionerInformation*"))
    person_file = sorted(
        p for p in synthea.glob("*.json.gz") if not p.name.startswith(("hospital", "practitioner"))
    )[0]
    importer = Importer(source_system="urn:synthea")
    import_paths(importer, [*hospital, *practitioners, person_file])
    assert importer.summary.ok
    person = rm.Person.objects.get()
    original = snapshot(person)
    user = get_user_model().objects.create_user("integrator", password="a-long-test-password")
    StaffProfile.objects.create(user=user, role=Role.INTEGRATOR)
    token = ApiToken.issue(user)
    response = Client().get(
        f"/fhir/Patient/{person.resource.logical_id}/$everything",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    exported = orjson.loads(response.content)
    assert exported["total"] == len(exported["entry"]) > 50

    # the same data again is recognised as unchanged ...
    same = Importer(source_system="urn:synthea")
    same.import_bundle(exported, "export.json")
    assert same.summary.total("created") == 0 and same.summary.total("updated") == 0
    # ... and into an empty record it rebuilds the same person
    rm.StoredResource.objects.all().delete()
    assert rm.Person.objects.count() == 0
    rebuilt = Importer(source_system="urn:export")
    rebuilt.import_bundle(orjson.loads(response.content), "export.json")
    assert rebuilt.summary.ok
    assert snapshot(rm.Person.objects.get()) == original


def test_tests_read_shared_data_from_outside_the_repository() -> None:
    assert not Path(__file__).resolve().is_relative_to(shared_data_dir().resolve())

"""A small world built with the ORM: two practices, a hospital, people registered at each, and staff."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from careweave.governance.models import Role
from careweave.record import models as rm
from careweave.record.relationships import rebuild_care_relationships
from tests.factories import PASSWORD, OrganisationFactory, PersonFactory, StaffFactory, StoredResourceFactory

__all__ = ["PASSWORD", "organisation", "person", "signed_in", "staff", "stored"]


def stored(resource_type: str, person: rm.Person | None = None) -> rm.StoredResource:
    return StoredResourceFactory(resource_type=resource_type, person=person)


def organisation(name: str, sector: str, ods_code: str) -> rm.Organisation:
    return OrganisationFactory(name=name, sector=sector, ods_code=ods_code)


def person(given: str, family: str, nhs_number: str | None, practice: rm.Organisation | None, **fields: Any) -> rm.Person:
    return PersonFactory(
        given_name=given, family_name=family, nhs_number=nhs_number, registered_practice=practice, **fields
    )


def staff(username: str, role: str, org: rm.Organisation | None) -> Any:
    return StaffFactory(username=username, role=role, organisation=org)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2 makes each sign-in deliberately slow; the lockout logic does not depend on the hasher.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    practice_a = organisation("Riverside Surgery", rm.Sector.GENERAL_PRACTICE, "A11111")
    practice_b = organisation("Hilltop Medical Centre", rm.Sector.GENERAL_PRACTICE, "B22222")
    hospital = organisation("County General Hospital", rm.Sector.ACUTE, "RXX")
    council = organisation("Shire County Council Adult Social Care", rm.Sector.SOCIAL_CARE, "SC1")

    alice = person("Alice", "Zephyrine", "9434765919", practice_a, sex="female", preferred_language="Welsh",
                   interpreter_required=True, accessible_information_needs=[{"display": "Requires large print"}],
                   digital_access=rm.DigitalAccess.PHONE_ONLY)
    bob = person("Bob", "Quillfeather", "9434765888", practice_b, sex="male")

    def item(model: type, who: rm.Person, resource_type: str, **fields: Any) -> Any:
        return model.objects.create(resource=stored(resource_type, who), person=who, **fields)

    sct = "http://snomed.info/sct"
    item(rm.Condition, alice, "Condition", system=sct, code="44054006", display="Type 2 diabetes mellitus",
         clinical_status="active", onset=date(2012, 3, 1))
    item(rm.Condition, alice, "Condition", system=sct, code="38341003", display="Hypertensive disorder",
         clinical_status="active", onset=date(2008, 1, 10))
    item(rm.Condition, alice, "Condition", system=sct, code="195662009", display="Acute viral pharyngitis",
         clinical_status="resolved", onset=date(2020, 2, 2))
    item(rm.Medication, alice, "MedicationRequest", kind="MedicationRequest", display="Metformin 500mg tablets",
         dose_text="One tablet twice a day", status="active", authored_on=date(2012, 4, 1))
    item(rm.Medication, alice, "MedicationRequest", kind="MedicationRequest", display="Amoxicillin 500mg capsules",
         dose_text="Three times a day", status="completed")
    when = timezone.make_aware(datetime(2025, 1, 20, 10, 0))
    bp = stored("Observation", alice)
    loinc = "http://loinc.org"
    rm.Observation.objects.create(resource=bp, person=alice, system=loinc, code="85354-9", effective=when)
    rm.Observation.objects.create(resource=bp, person=alice, system=loinc, code="8480-6", component_of="85354-9",
                                  effective=when, value=142, unit="mm[Hg]")
    rm.Observation.objects.create(resource=bp, person=alice, system=loinc, code="8462-4", component_of="85354-9",
                                  effective=when, value=88, unit="mm[Hg]")
    item(rm.Observation, alice, "Observation", system=loinc, code="4548-4", effective=when, value=58, unit="mmol/mol")
    item(rm.Observation, alice, "Observation", system=loinc, code="4548-4", effective=when - timedelta(days=200),
         value=71, unit="mmol/mol")
    item(rm.Encounter, alice, "Encounter", organisation=practice_a, type_display="Diabetes review",
         start=when - timedelta(days=30))
    item(rm.Encounter, alice, "Encounter", organisation=hospital, type_display="Emergency admission",
         unplanned=True, start=when)
    item(rm.Referral, alice, "ServiceRequest", status="active", code_display="Diabetic eye screening",
         to_organisation=hospital, from_organisation=practice_a, authored_on=timezone.localdate() - timedelta(days=70))
    item(rm.SocialCircumstance, alice, "Observation", kind="housing", display="Lives alone", recorded=date(2024, 5, 1))
    item(rm.RelatedPerson, alice, "RelatedPerson", name="Carys Zephyrine", relationship_display="Daughter",
         is_carer=True, telecom="07700 900123")
    # rows written with the ORM, not the importer: derive the organisations' care relationships once
    rebuild_care_relationships()

    return {
        "practice_a": practice_a,
        "practice_b": practice_b,
        "hospital": hospital,
        "council": council,
        "alice": alice,
        "bob": bob,
        "gp_a": staff("gp.riverside", Role.GP, practice_a),
        "gp_b": staff("gp.hilltop", Role.GP, practice_b),
        "analyst": staff("analyst", Role.ANALYST, None),
        "admin": staff("admin", Role.ADMINISTRATOR, None),
    }


def segmentation_run(**fields: Any) -> Any:
    """A current segmentation run, as `careweave segment` stores it (made with the ORM in tests)."""
    from careweave.segmentation.models import SegmentationRun

    SegmentationRun.objects.filter(is_current=True).update(is_current=False)
    defaults = dict(version="test-run", engine="duckdb", as_of=timezone.localdate(), seed=1, people_count=0,
                    register_size=0, n_classes=2, model_version="lca-test", model_json="{}", is_current=True)
    return SegmentationRun.objects.create(**{**defaults, **fields})


def segment(run: Any, who: rm.Person, cluster: int | None = 1, **fields: Any) -> Any:
    from careweave.segmentation.models import PersonSegment

    defaults = dict(cluster_probability=0.9, condition_count=2, mltc=True, complex_mltc=False, cms_score=1.2,
                    efi_score=0.14, efi_category="mild", medicine_count_3m=3, unplanned_contacts_12m=0)
    return PersonSegment.objects.create(run=run, person=who, cluster=cluster, **{**defaults, **fields})


def on_worklist(run: Any, who: rm.Person, list_id: str, *reasons: str) -> Any:
    from careweave.segmentation.models import WorklistEntry

    # as `careweave segment` stores it: with the person's registered practice at the time of the run
    return WorklistEntry.objects.create(run=run, person=who, list_id=list_id, reasons=list(reasons),
                                        source="NICE NG56 (test)", practice=who.registered_practice)


@pytest.fixture
def segmented(world: dict[str, Any]) -> dict[str, Any]:
    """The world with a current run: two clusters, Alice and Bob segmented and on worklists."""
    from careweave.segmentation.models import Cluster

    run = segmentation_run()
    Cluster.objects.create(
        run=run, number=1, size=40, share=0.4, label="Diabetes, hypertension",
        staff_description="People with diabetes and high blood pressure, mostly aged 65 to 74.",
        person_sentence="People in this group often live with diabetes and high blood pressure.",
        profile={"over_represented": [{"key": "cond_diabetes", "label": "diabetes", "ratio": 3.1}]},
    )
    Cluster.objects.create(
        run=run, number=2, size=60, share=0.6, label="Frailty, living alone",
        staff_description="Older people living alone with frailty.",
        person_sentence="People in this group may find it hard to get out of the house.",
    )
    segment(run, world["alice"], 1, efi_score=0.27, efi_category="moderate")
    segment(run, world["bob"], 2)
    on_worklist(run, world["alice"], "mdt_discussion", "Moderate frailty (eFI 0.27)", "2 unplanned admissions in 12 months")
    on_worklist(run, world["alice"], "medicines_review", "10 regular medicines")
    on_worklist(run, world["bob"], "care_coordination", "Physical and mental health conditions together")
    return {**world, "run": run}

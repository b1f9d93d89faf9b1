"""Shared test factories (factory-boy): staff with a role and an organisation, people, organisations and
the stored FHIR resources behind them, built the way the record holds them.

    gp = StaffFactory(role=Role.GP, organisation=practice)      # a user with a StaffProfile
    alice = PersonFactory(given_name="Alice", registered_practice=practice)
    ConditionFactory(person=alice, code="44054006")             # with its StoredResource

Every row is written through the ORM, not the importer; `PersonFactory` refreshes the person's care
relationships as the importer would, and items written for someone already in care need
`record.relationships.refresh_care_relationships` (or `rebuild_care_relationships`) afterwards.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory, Password

from careweave.governance.models import Role, StaffProfile
from careweave.record import models as rm
from careweave.record.relationships import refresh_care_relationships

PASSWORD = "correct-horse-battery-staple"
SOURCE_SYSTEM = "https://test.careweave.example/source"


class StoredResourceFactory(DjangoModelFactory[rm.StoredResource]):
    """The stored copy of a FHIR resource (an empty body: the tests read the modelled rows)."""

    class Meta:
        model = rm.StoredResource

    resource_type = "Patient"
    logical_id = factory.LazyAttributeSequence(lambda o, n: f"{o.resource_type.lower()}-{n + 1}")
    source_system = SOURCE_SYSTEM
    source_id = factory.LazyAttributeSequence(lambda o, n: f"{o.resource_type}-{n + 1}")
    content_hash = factory.Sequence(lambda n: f"{n + 1:064x}")
    body = "{}"
    person = None
    last_updated = factory.LazyFunction(timezone.now)


class OrganisationFactory(DjangoModelFactory[rm.Organisation]):
    class Meta:
        model = rm.Organisation

    resource = factory.SubFactory(StoredResourceFactory, resource_type="Organization")
    name = factory.Sequence(lambda n: f"Test Surgery {n + 1}")
    sector = rm.Sector.GENERAL_PRACTICE
    ods_code = factory.Sequence(lambda n: f"T{n + 1:05d}")


class PersonFactory(DjangoModelFactory[rm.Person]):
    """A person registered at `registered_practice` (none by default), born in 1950."""

    class Meta:
        model = rm.Person
        skip_postgeneration_save = True

    resource = factory.SubFactory(StoredResourceFactory, resource_type="Patient")
    given_name = "Alex"
    family_name = factory.Sequence(lambda n: f"Testperson{n + 1}")
    nhs_number = None
    birth_date = date(1950, 6, 15)
    registered_practice = None

    @factory.post_generation
    def care_relationships(obj: rm.Person, create: bool, extracted: Any, **kwargs: Any) -> None:  # noqa: N805
        if create:
            refresh_care_relationships([obj.pk])  # as the importer does for a new person


class UserFactory(DjangoModelFactory[Any]):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n + 1}")
    password = Password(PASSWORD)


class StaffProfileFactory(DjangoModelFactory[StaffProfile]):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(UserFactory)
    role = Role.GP
    organisation = None


class StaffFactory(UserFactory):
    """A member of staff: a user whose StaffProfile gives the role and organisation.

    `StaffFactory(role=Role.NURSE, organisation=hospital)`; `organisation=None` for a role that
    belongs to no organisation (analysts, administrators, integration clients)."""

    class Params:
        role = Role.GP
        organisation = None

    username = factory.Sequence(lambda n: f"staff{n + 1}")
    staff_profile = factory.RelatedFactory(
        StaffProfileFactory,
        factory_related_name="user",
        role=factory.SelfAttribute("..role"),
        organisation=factory.SelfAttribute("..organisation"),
    )


class PersonItemFactory(DjangoModelFactory[Any]):
    """A row of a person's record with its own stored resource (`resource_type` names the FHIR type)."""

    class Meta:
        abstract = True

    class Params:
        resource_type = "Condition"

    person = factory.SubFactory(PersonFactory)
    resource = factory.SubFactory(
        StoredResourceFactory,
        resource_type=factory.SelfAttribute("..resource_type"),
        person=factory.SelfAttribute("..person"),
    )


class ConditionFactory(PersonItemFactory):
    class Meta:
        model = rm.Condition

    system = "http://snomed.info/sct"
    code = "44054006"
    display = "Type 2 diabetes mellitus"
    clinical_status = "active"


class MedicationFactory(PersonItemFactory):
    class Meta:
        model = rm.Medication

    class Params:
        resource_type = "MedicationRequest"

    kind = "MedicationRequest"
    status = "active"

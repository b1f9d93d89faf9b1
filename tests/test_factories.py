"""The shared factories build what the record and governance hold: staff with their role, people in care."""

from __future__ import annotations

from typing import Any

import pytest

from careweave.governance.access import decide, people_in_care
from careweave.governance.models import Role
from careweave.governance.permissions import role_of
from careweave.record import models as rm
from tests.factories import ConditionFactory, OrganisationFactory, PersonFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_staff_have_their_role_and_organisation() -> None:
    hospital = OrganisationFactory(sector=rm.Sector.ACUTE)
    nurse = StaffFactory(role=Role.NURSE, organisation=hospital)
    analyst = StaffFactory(role=Role.ANALYST)
    assert role_of(nurse) == Role.NURSE and nurse.staff_profile.organisation == hospital
    assert role_of(analyst) == Role.ANALYST and analyst.staff_profile.organisation is None
    assert nurse.check_password("correct-horse-battery-staple")


def test_a_registered_person_is_in_the_practice_staff_care_and_no_one_else() -> None:
    practice, elsewhere = OrganisationFactory(), OrganisationFactory()
    alice = PersonFactory(registered_practice=practice)
    assert decide(StaffFactory(organisation=practice), alice).allowed
    assert not decide(StaffFactory(organisation=elsewhere), alice).allowed
    assert list(people_in_care(StaffFactory(organisation=practice))) == [alice]


def test_items_get_their_own_stored_resource_in_the_person_record(settings: Any) -> None:
    alice = PersonFactory()
    first, second = ConditionFactory(person=alice), ConditionFactory(person=alice, code="38341003")
    assert first.resource != second.resource
    assert {first.resource.person, second.resource.person} == {alice}
    assert first.resource.resource_type == "Condition"
    assert set(alice.conditions.values_list("code", flat=True)) == {"44054006", "38341003"}

"""The co-ordinator's actions as services: each writes ordinary FHIR through the record (its rows,
the scan), refuses a person outside the user's care (audited), and refuses bad input naming the field."""

from __future__ import annotations

import orjson
import pytest
from django.db.models import Q

from careweave.governance.models import AuditEntry
from careweave.governance.permissions import AccessRefused
from careweave.record import models as rm
from careweave.referrals import services
from careweave.referrals.models import ReferralTask
from careweave.referrals.scan import findings_for
from tests.referrals.world import World, build

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return build()


def _kinds(world: World, person: rm.Person) -> set[tuple[str, str]]:
    return {(f.finding, f.rule) for f in findings_for(Q(person_id=person.pk), as_of=world.today)}


def test_the_world_is_flagged_as_built(world: World) -> None:
    assert _kinds(world, world.lost.person) == {("lost", "unbooked"), ("validation-due", "milestone")}
    assert _kinds(world, world.waiting.person) == {("validation-due", "milestone")}


def test_chase_writes_a_task_to_the_receiving_service_that_leaves_the_state_alone(world: World) -> None:
    written = services.chase(
        user=world.coordinator, referral=world.lost, note="Asked by the person's daughter"
    )
    task = ReferralTask.objects.get(resource__logical_id=written.task_id)
    assert (task.focus_id, task.code, task.business_status) == ("sr-lost", "referral-chase", "")
    assert task.owner_organisation == world.hospital
    assert task.requester_organisation == world.practice
    body = orjson.loads(task.resource.body)
    assert body["owner"] == {"reference": "Organization/hosp"} and body["status"] == "requested"
    # the referral is still accepted and still lost: a chase is a question, not an answer
    assert ("lost", "unbooked") in _kinds(world, world.lost.person)
    assert AuditEntry.objects.filter(
        action="create", resource_type="Task", resource_id=written.task_id, person_id=world.lost.person_id
    ).exists()


@pytest.mark.parametrize("answer", ["still-needed", "no-longer-needed"])
def test_validate_records_the_contact_and_the_answer_and_satisfies_the_milestone(
    world: World, answer: str
) -> None:
    written = services.validate(
        user=world.coordinator, referral=world.waiting, contact="telephone", answer=answer
    )
    task = ReferralTask.objects.get(resource__logical_id=written.task_id)
    assert task.is_validation and task.status == "completed" and task.last_modified == world.today
    outputs = orjson.loads(task.resource.body)["output"]
    assert [o["valueCodeableConcept"]["coding"][0]["code"] for o in outputs] == ["telephone", answer]
    assert _kinds(world, world.waiting.person) == set()


def test_re_refer_makes_a_replacing_referral_with_its_requested_task_and_closes_the_old(world: World) -> None:
    written = services.re_refer(user=world.coordinator, referral=world.lost, to=world.community)
    new = rm.Referral.objects.get(resource__logical_id=written.referral_id)
    assert new.replaces == world.lost and new.to_organisation == world.community
    assert new.from_organisation == world.practice and new.reason_code == world.lost.reason_code
    task = ReferralTask.objects.get(resource__logical_id=written.task_id)
    assert (task.referral, task.business_status, task.owner_organisation) == (
        new,
        "requested",
        world.community,
    )
    # the old referral no longer waits; the new one is too young to be lost
    assert _kinds(world, world.lost.person) == set()


def test_re_refer_to_the_same_service_or_to_none_is_refused_naming_the_field(world: World) -> None:
    with pytest.raises(services.ReferralError) as same:
        services.re_refer(user=world.coordinator, referral=world.lost, to=world.hospital)
    with pytest.raises(services.ReferralError) as none:
        services.re_refer(user=world.coordinator, referral=world.lost, to=None)
    assert (same.value.field, none.value.field) == ("to", "to")
    assert rm.Referral.objects.filter(replaces=world.lost).count() == 0


@pytest.mark.parametrize(
    ("contact", "answer", "field"), [("pigeon", "still-needed", "contact"), ("telephone", "maybe", "answer")]
)
def test_validate_refuses_bad_choices_naming_the_field(
    world: World, contact: str, answer: str, field: str
) -> None:
    before = ReferralTask.objects.count()
    with pytest.raises(services.ReferralError) as refused:
        services.validate(user=world.coordinator, referral=world.waiting, contact=contact, answer=answer)
    assert refused.value.field == field and ReferralTask.objects.count() == before


def test_a_note_too_long_is_refused(world: World) -> None:
    with pytest.raises(services.ReferralError) as refused:
        services.chase(user=world.coordinator, referral=world.lost, note="x" * (services.MAX_NOTE + 1))
    assert refused.value.field == "note"


@pytest.mark.parametrize("action", ["chase", "validate", "re_refer"])
def test_a_person_outside_the_users_care_is_refused_and_the_refusal_audited(
    world: World, action: str
) -> None:
    before = ReferralTask.objects.count()
    calls = {
        "chase": lambda: services.chase(user=world.coordinator, referral=world.elsewhere),
        "validate": lambda: services.validate(
            user=world.coordinator, referral=world.elsewhere, contact="telephone", answer="still-needed"
        ),
        "re_refer": lambda: services.re_refer(
            user=world.coordinator, referral=world.elsewhere, to=world.community
        ),
    }
    with pytest.raises(AccessRefused):
        calls[action]()
    assert ReferralTask.objects.count() == before
    assert AuditEntry.objects.filter(person_id=world.elsewhere.person_id, outcome="denied").exists()


def test_no_longer_needed_also_asks_the_service_to_take_them_off_its_list(world: World) -> None:
    services.validate(
        user=world.coordinator, referral=world.lost, contact="letter", answer="no-longer-needed"
    )
    [ask] = ReferralTask.objects.filter(code="referral-chase", focus_id="sr-lost")
    assert ask.owner_organisation == world.hospital
    assert "no longer need" in orjson.loads(ask.resource.body)["description"]
    services.validate(user=world.coordinator, referral=world.waiting, contact="letter", answer="still-needed")
    assert not ReferralTask.objects.filter(code="referral-chase", focus_id="sr-wait").exists()

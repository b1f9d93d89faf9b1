"""The person's view joined up with home readings and questionnaires: a person (or a carer with the
readings share) sends a reading through monitoring's checks, an out-of-range one raises a task, an
implausible one is refused and not stored; the person sees the team's replies; a questionnaire is
answered online (issues 16 and 17)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from careweave.governance.models import AuditEntry
from careweave.jobs.worker import run_worker
from careweave.monitoring import alerts
from careweave.monitoring.models import HomeReading, HomeReadingAlert, ReadingSource
from careweave.portal import services
from careweave.portal.models import PersonMessage, ProxyGrant, Share
from careweave.questionnaires.models import ResponseRecord
from careweave.record import models as rm
from tests.portal.conftest import portal_client

pytestmark = pytest.mark.django_db(transaction=True)


def _bp(client: Any, pk: int, systolic: str, diastolic: str) -> Any:
    return client.post(
        f"/my/{pk}/readings/add/blood_pressure/", {"systolic": systolic, "diastolic": diastolic}
    )


def _readings(person: rm.Person) -> int:
    return HomeReading.objects.filter(person=person).count()


def test_the_person_sends_a_reading_and_a_high_one_raises_a_task(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    client = portal_client(portal_world["alice_account"])
    form = client.get(f"/my/{alice.pk}/readings/add/blood_pressure/").content.decode()
    assert 'name="systolic"' in form and 'name="diastolic"' in form and "mmHg" in form
    before = _readings(alice)

    response = _bp(client, alice.pk, "190", "100")
    assert response.status_code == 302 and response["Location"] == f"/my/{alice.pk}/readings/"
    assert _readings(alice) == before + 2  # systolic and diastolic
    page = client.get(f"/my/{alice.pk}/readings/").content.decode()
    assert "Your blood pressure reading has been sent" in page and "190 mmHg" in page

    run_worker(once=True, schedule=False)  # the alert evaluation the form enqueued
    alert = HomeReadingAlert.objects.get(person=alice)
    assert alert.rule == "bp_severe"
    assert rm.StoredResource.objects.filter(resource_type="Task", person=alice).exists()
    page = client.get(f"/my/{alice.pk}/readings/").content.decode()
    assert "Your team has been told and will look at this" in page

    entry = AuditEntry.objects.filter(actor=portal_world["alice_account"].user, action="create").last()
    assert entry is not None and entry.resource_type == "Observation"
    assert entry.purpose == "self-service" and entry.channel == "portal" and entry.person_id == alice.pk


def test_an_implausible_reading_is_refused_beside_the_field_and_not_stored(
    portal_world: dict[str, Any],
) -> None:
    alice = portal_world["alice"]
    client = portal_client(portal_world["alice_account"])
    before = _readings(alice)
    response = _bp(client, alice.pk, "300", "200")
    assert response.status_code == 400
    page = response.content.decode()
    assert "There is a problem" in page and 'href="#systolic"' in page
    assert "nhsuk-form-group--error" in page and 'id="systolic-error"' in page
    assert "Systolic blood pressure must be between 50 and 260 mmHg" in page
    assert 'value="300"' in page  # what they typed is kept
    assert _readings(alice) == before
    assert not rm.StoredResource.objects.filter(
        resource_type="Observation", person=alice, body__contains="85354-9"
    ).exists()
    assert _bp(client, alice.pk, "", "80").status_code == 400  # missing: said beside the field
    assert _bp(client, alice.pk, "abc", "80").status_code == 400
    assert _readings(alice) == before


def test_the_same_refusal_comes_from_monitoring_for_any_sender(portal_world: dict[str, Any]) -> None:
    from careweave.monitoring.services import ReadingError, record_reading

    alice = portal_world["alice"]
    with pytest.raises(ReadingError) as refused:  # the API's own check, without the form's words
        record_reading(
            user=portal_world["alice_account"].user,
            person=alice,
            measurement="blood_pressure",
            values={"systolic": 300, "diastolic": 200},
        )
    assert refused.value.field == "systolic"


def test_a_person_cannot_send_a_reading_for_someone_else(portal_world: dict[str, Any]) -> None:
    alice, bob = portal_world["alice"], portal_world["bob"]
    client = portal_client(portal_world["alice_account"])
    assert _bp(client, bob.pk, "120", "80").status_code == 404
    assert client.post(f"/my/{bob.pk}/readings/add/weight/", {"weight": "70"}).status_code == 404
    assert _readings(bob) == 0
    # her account is a reading source for herself only, so her token could not either
    source = ReadingSource.objects.get(user=portal_world["alice_account"].user)
    assert source.person_id == alice.pk and source.kind == ReadingSource.Kind.PERSON


def test_a_carer_needs_the_readings_share(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    carer = portal_client(portal_world["carer_account"])
    before = _readings(alice)
    assert carer.post(f"/my/{alice.pk}/readings/add/weight/", {"weight": "83"}).status_code == 404
    assert _readings(alice) == before

    grant = ProxyGrant.objects.get(person=alice, account=portal_world["carer_account"])
    grant.shares = [*grant.shares, Share.READINGS]
    grant.save(update_fields=["shares"])
    response = carer.post(f"/my/{alice.pk}/readings/add/weight/", {"weight": "83"})
    assert response.status_code == 302
    assert _readings(alice) == before + 1
    entry = AuditEntry.objects.filter(actor=portal_world["carer_account"].user, action="create").last()
    assert entry is not None and entry.purpose == "proxy" and entry.person_id == alice.pk
    assert "carer acting for the person" in entry.reason


def test_the_person_sees_the_teams_replies(portal_world: dict[str, Any]) -> None:
    alice, gp = portal_world["alice"], portal_world["gp_a"]
    client = portal_client(portal_world["alice_account"])
    _bp(client, alice.pk, "190", "100")
    run_worker(once=True, schedule=False)
    alerts.act_on_alert(
        user=gp, alert=HomeReadingAlert.objects.get(person=alice), action="seen", comment="Please rest today"
    )
    page = client.get(f"/my/{alice.pk}/readings/").content.decode()
    assert "Your team has looked at this" in page and "Please rest today" in page

    client.post(f"/my/{alice.pk}/ask/", {"text": "Can I stop the metformin?"})
    question = PersonMessage.objects.get(person=alice, kind=PersonMessage.Kind.QUESTION)
    staff = Client()
    staff.force_login(gp)
    page = staff.get(f"/online-access/people/{alice.pk}/questions/").content.decode()
    assert "Can I stop the metformin?" in page
    empty = staff.post(f"/online-access/people/{alice.pk}/questions/", {"message": question.pk, "reply": " "})
    assert empty.status_code == 400
    sent = staff.post(
        f"/online-access/people/{alice.pk}/questions/",
        {"message": question.pk, "reply": "Please keep taking it; we will talk at your review."},
    )
    assert sent.status_code == 302
    question.refresh_from_db()
    assert question.task is not None and question.task.status == "done"
    page = client.get(f"/my/{alice.pk}/ask/").content.decode()
    assert "Please keep taking it; we will talk at your review." in page and "replied on" in page

    bob_gp = portal_world["gp_b"]  # outside Alice's care: cannot answer for her team
    with pytest.raises(Exception):  # noqa: B017 (governance's refusal)
        services.reply_to_question(user=bob_gp, message=question, text="Not my patient")


def test_the_person_answers_a_questionnaire_online(portal_world: dict[str, Any]) -> None:
    alice = portal_world["alice"]
    client = portal_client(portal_world["alice_account"])
    listed = client.get(f"/my/{alice.pk}/questionnaires/").content.decode()
    assert "Your experience of joined-up care" in listed
    url = f"/my/{alice.pk}/questionnaires/coordination-prem/"
    form = client.get(url).content.decode()
    assert "Did the people caring for you know" in form

    partly = client.post(url, {"q-knew-other-care": "definitely"})
    assert partly.status_code == 400
    page = partly.content.decode()
    assert 'id="q-repeat-story-error"' in page and "Answer this question" in page
    assert not ResponseRecord.objects.filter(person=alice).exists()

    answers = {
        "q-knew-other-care": "definitely",
        "q-repeat-story": "never",
        "q-know-who-to-contact": "to-some-extent",
        "q-priorities": "definitely",
    }
    response = client.post(url, answers)
    assert response.status_code == 302, response.content.decode()[:2000]
    record = ResponseRecord.objects.get(person=alice)
    assert record.mode == "online"
    listed = client.get(f"/my/{alice.pk}/questionnaires/").content.decode()
    assert "Your answers to" in listed and "coordination-prem/" not in listed  # no longer due
    entry = AuditEntry.objects.filter(
        actor=portal_world["alice_account"].user, action="create", resource_type="QuestionnaireResponse"
    ).last()
    assert entry is not None and entry.purpose == "self-service"
    # not for someone else
    bob = portal_world["bob"]
    assert client.post(f"/my/{bob.pk}/questionnaires/coordination-prem/", answers).status_code == 404
    assert not ResponseRecord.objects.filter(person=bob).exists()

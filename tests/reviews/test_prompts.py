"""Make every contact count: the prompts due for a person from contact_prompts.yaml (age, being a
carer, interval, season, once), answered done or declined in one click from the summary, recorded as
a coded Observation through the importer; a bad value writes nothing; a refused file names the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from django.test import Client
from django.utils import timezone

from careweave.governance.models import Role
from careweave.record import models as rm
from careweave.reviews.prompts import prompts_due, record_prompt
from careweave.reviews.services import PlannerError
from careweave.terminology import TerminologyError
from careweave.terminology.loading.prompts import CONTACT_PROMPTS_FILE, PROMPT_SYSTEM, load_contact_prompts
from tests.factories import OrganisationFactory, PersonFactory, StaffFactory, StoredResourceFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 10)


def _ids(person: rm.Person, today: dt.date = TODAY) -> list[str]:
    return [d.id for d in prompts_due(person, today)]


def _observed(person: rm.Person, system: str, code: str, on: dt.date) -> None:
    rm.Observation.objects.create(
        person=person, resource=StoredResourceFactory(resource_type="Observation", person=person),
        system=system, code=code, status="final", effective=timezone.make_aware(dt.datetime.combine(on, dt.time(10))),
    )  # fmt: skip


@pytest.fixture
def practice() -> rm.Organisation:
    return OrganisationFactory()


def test_the_file_is_cited_and_a_bad_copy_names_the_field(tmp_path: Path) -> None:
    prompts = {p.id: p for p in load_contact_prompts()}
    assert set(prompts) == {
        "smoking", "alcohol", "bmi", "blood_pressure", "flu_vaccination", "pneumococcal_vaccination", "carers_assessment",
    }  # fmt: skip
    assert all(p.sources for p in prompts.values())
    assert prompts["carers_assessment"].record_code == (PROMPT_SYSTEM, "carers_assessment")
    doc = yaml.safe_load(CONTACT_PROMPTS_FILE.read_text())
    doc["prompts"][1]["once"] = True  # alcohol: every 12 months AND once
    bad = tmp_path / "contact_prompts.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(TerminologyError, match=r"prompts\[1\]\(alcohol\).*exactly one of"):
        load_contact_prompts(bad)


def test_who_each_prompt_applies_to(practice: rm.Organisation) -> None:
    older = PersonFactory(registered_practice=practice, birth_date=dt.date(1950, 1, 1))
    assert _ids(older) == [
        "smoking",
        "alcohol",
        "bmi",
        "blood_pressure",
        "flu_vaccination",
        "pneumococcal_vaccination",
    ]
    younger = PersonFactory(registered_practice=practice, birth_date=dt.date(1996, 1, 1))
    assert _ids(younger) == ["smoking", "alcohol", "bmi"]
    child = PersonFactory(registered_practice=practice, birth_date=dt.date(2014, 1, 1))
    assert _ids(child) == []
    rm.SocialCircumstance.objects.create(
        person=younger, resource=StoredResourceFactory(resource_type="Observation", person=younger),
        kind="is_carer", code="276040005",
    )  # fmt: skip
    assert _ids(younger)[-1] == "carers_assessment"


def test_intervals_season_and_once(practice: rm.Organisation) -> None:
    person = PersonFactory(registered_practice=practice, birth_date=dt.date(1950, 1, 1))
    _observed(
        person, "http://snomed.info/sct", "60621009", TODAY - dt.timedelta(days=200)
    )  # BMI 7 months ago
    _observed(person, "http://snomed.info/sct", "75367002", dt.date(2021, 3, 11))  # BP just under 5 years ago
    _observed(
        person, "http://snomed.info/sct", "86198006", dt.date(2025, 10, 1)
    )  # flu this season (from 1 Sept 2025)
    _observed(
        person, "http://snomed.info/sct", "12866006", dt.date(2016, 1, 1)
    )  # pneumococcal once, long ago
    assert _ids(person) == ["smoking", "alcohol"]
    # on 1 September: a new flu season, BP past its 5 years (11 March), BMI past 12 months
    assert _ids(person, dt.date(2026, 9, 1)) == [
        "smoking",
        "alcohol",
        "bmi",
        "blood_pressure",
        "flu_vaccination",
    ]
    # a year after the BMI, it is due again (12 months)
    assert "bmi" in _ids(person, TODAY - dt.timedelta(days=200) + dt.timedelta(days=366))


def test_done_and_declined_are_recorded_coded_and_stop_the_prompt(practice: rm.Organisation) -> None:
    person = PersonFactory(registered_practice=practice, birth_date=dt.date(1990, 1, 1))
    nurse = StaffFactory(role=Role.NURSE, organisation=practice)
    today = timezone.localdate()
    assert _ids(person, today) == ["smoking", "alcohol", "bmi"]
    with pytest.raises(PlannerError, match="enter a number"):
        record_prompt(user=nurse, person=person, prompt_id="bmi", outcome="done", value="heavy")
    assert not rm.Observation.objects.filter(person=person).exists()
    record_prompt(user=nurse, person=person, prompt_id="bmi", outcome="done", value="27.4")
    record_prompt(user=nurse, person=person, prompt_id="smoking", outcome="declined")
    assert _ids(person, today) == ["alcohol"]
    bmi = rm.Observation.objects.get(person=person, code="60621009")
    assert bmi.value == 27.4
    smoking = rm.Observation.objects.get(person=person, code="72166-2")
    body = orjson.loads(smoking.resource.body)
    assert body["dataAbsentReason"]["coding"][0]["code"] == "asked-declined" and "valueQuantity" not in body


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_one_click_from_the_summary(practice: rm.Organisation) -> None:
    person = PersonFactory(registered_practice=practice, birth_date=dt.date(1990, 1, 1))
    client = _client(StaffFactory(role=Role.GP, organisation=practice))
    html = client.get(f"/people/{person.pk}/").content.decode()
    assert "3 prompts due" in html and "Smoking status: every 12 months for people aged 15 and over" in html
    answered = client.post(
        f"/reviews/people/{person.pk}/prompts/smoking/",
        {"outcome": "done", "value": "8517006", "back": "summary"},
    )
    assert answered.status_code == 302 and answered["Location"] == f"/people/{person.pk}/#contact-prompts"
    smoking = rm.Observation.objects.get(person=person, code="72166-2")
    assert orjson.loads(smoking.resource.body)["valueCodeableConcept"]["coding"][0]["code"] == "8517006"
    assert "2 prompts due" in client.get(f"/people/{person.pk}/").content.decode()
    # someone outside the user's care: refused, nothing written
    stranger = PersonFactory(registered_practice=OrganisationFactory(), birth_date=dt.date(1990, 1, 1))
    refused = client.post(f"/reviews/people/{stranger.pk}/prompts/bmi/", {"outcome": "done", "value": "22"})
    assert refused.status_code == 403 and not rm.Observation.objects.filter(person=stranger).exists()

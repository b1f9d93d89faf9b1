"""Referrals across the population for analysts: waits by service, deprivation quintile and
ethnicity, loops per 1,000 by cluster, lost to follow-up; opted-out people left out and small
numbers suppressed as on /population/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from careweave.fhir.importer import Importer
from careweave.governance.models import Role
from careweave.record import models as rm
from careweave.segmentation.models import Cluster
from tests.factories import StaffFactory
from tests.referrals import journeys
from tests.web.conftest import segment, segmentation_run

pytestmark = pytest.mark.django_db
WEEK = dt.timedelta(weeks=1)


def _nhs(n: int) -> str:
    base = f"94{n:07d}"
    total = sum(int(d) * (10 - i) for i, d in enumerate(base))
    check = (11 - total % 11) % 11
    return base + str(check) if check != 10 else _nhs(n + 500)


@pytest.fixture
def page() -> str:
    today = dt.date.today()
    history = journeys.base()
    history.add(journeys.organisation("comm", "RYY01", "Community Physiotherapy"))
    for i in range(13):  # 13 people accepted by the hospital 20 weeks ago, never booked (one opts out)
        history.add(journeys.patient(f"h{i}", _nhs(100 + i)))
        history.referral(f"sr-h{i}", f"h{i}", "gp", "hosp", today - 20 * WEEK)
        history.task(f"t-h{i}", f"sr-h{i}", f"h{i}", "hosp", ("accepted", today - 19 * WEEK))
    for i in range(3):  # 3 people waiting 3 weeks for the community service
        history.add(journeys.patient(f"c{i}", _nhs(200 + i)))
        history.referral(f"sr-c{i}", f"c{i}", "gp", "comm", today - 3 * WEEK)
    # one of them was turned down for the same problem 10 weeks ago: a loop
    history.referral("sr-c0-old", "c0", "gp", "comm", today - 10 * WEEK)
    history.task(
        "t-c0-old", "sr-c0-old", "c0", "comm", ("rejected", today - 9 * WEEK), reason="does-not-meet-criteria"
    )
    Importer(source_system="urn:test").import_bundle(history.bundle(), "population.json")
    rm.Person.objects.filter(resource__logical_id="h12").update(national_data_opt_out=True)
    rm.Person.objects.filter(resource__logical_id__startswith="h").update(imd_decile=1, ethnicity_code="A")
    run = segmentation_run()
    Cluster.objects.create(
        run=run,
        number=1,
        size=16,
        share=1.0,
        label="Knee pain",
        staff_description="",
        person_sentence="",
        profile={},
    )
    for person in rm.Person.objects.all():
        segment(run, person, cluster=1)
    client = Client()
    client.force_login(StaffFactory(username="analyst", role=Role.ANALYST, organisation=None))
    response = client.get("/population/referrals/")
    assert response.status_code == 200
    return response.content.decode()


def _row(html: str, label: str) -> list[str]:
    match = re.search(
        rf'<th scope="row" class="nhsuk-table__header">{re.escape(label)}</th>(.*?)</tr>', html, re.S
    )
    assert match, label
    return re.findall(r'numeric">([^<]*)</td>', match.group(1))


def test_waits_by_service_with_small_numbers_suppressed_and_opted_out_people_left_out(page: str) -> None:
    assert _row(page, "Orthopaedics, General Hospital") == ["12", "20", "100%", "100%"]
    assert _row(page, "Community Physiotherapy") == ["&lt;10"] * 4
    assert "Referrals waiting: <strong>15</strong>" in page  # 12 + 3, not the opted-out person


def test_waits_by_deprivation_quintile_and_ethnicity(page: str) -> None:
    assert _row(page, "1 (most deprived)") == ["12", "20", "100%", "100%"]
    assert _row(page, "White: British") == ["12", "20", "100%", "100%"]


def test_loops_per_thousand_by_cluster_suppressed_under_ten(page: str) -> None:
    # 16 people in the cluster (the opted-out person left out), one in a loop: too few to show
    assert _row(page, "1: Knee pain") == ["16", "&lt;10", "&lt;10"]


def test_no_identifiable_data_and_signing_in_is_needed(page: str) -> None:
    assert "9434" not in page and "Testperson" not in page  # no identifiable data
    assert Client().get("/population/referrals/").status_code == 302

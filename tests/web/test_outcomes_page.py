"""The analysts' outcomes page: analysts only, aggregates only (analysts never see a person), small
numbers hidden and rounded, national data opt-outs left out, a CSV of every figure, and a refresh on
the task queue when the figures are older than the population run."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from django.utils import timezone

from careweave.jobs.models import JobMark
from careweave.questionnaires.models import OutcomeSnapshot
from careweave.record import models as rm
from careweave.web.outcomes_data import refresh_outcomes
from tests.factories import PersonFactory, StoredResourceFactory
from tests.web.conftest import segment, segmented, signed_in, staff, world  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 11, 30)


def _admission(person: rm.Person, when: datetime, **fields: Any) -> None:
    defaults = {"class_code": "IMP", "unplanned": True, "status": "finished"}
    rm.Encounter.objects.create(
        resource=StoredResourceFactory(resource_type="Encounter", person=person),
        person=person,
        start=when,
        **{**defaults, **fields},
    )


@pytest.fixture
def population(segmented: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """23 people in the most deprived fifth (13 admitted), 5 in the least deprived, and 4 who opted
    out (all admitted): figures the page must hide, round and leave out."""
    run = segmented["run"]
    when = timezone.make_aware(datetime(2026, 10, 15, 9, 0))
    deprived = [PersonFactory(imd_decile=1, ethnicity_code="A", sex="female") for _ in range(23)]
    for n, p in enumerate(deprived):
        segment(run, p, 1)
        if n < 13:
            _admission(p, when)
    for _ in range(5):
        segment(run, PersonFactory(imd_decile=10, sex="male"), 2)
    for _ in range(4):
        opted_out = PersonFactory(imd_decile=1, national_data_opt_out=True, given_name="Optedout")
        _admission(opted_out, when)
    return {**segmented, "deprived": deprived}


def _rows(snapshot: OutcomeSnapshot, key: str) -> dict[str, dict[str, Any]]:
    table = next(d for d in snapshot.data["dimensions"] if d["key"] == key)
    return {r["group"]: r for r in table["rows"]}


def test_small_numbers_are_hidden_rounded_and_opt_outs_left_out(population: dict[str, Any]) -> None:
    snapshot = refresh_outcomes(AS_OF)
    assert snapshot.people == 2 + 23 + 5  # Alice, Bob and the 28; the 4 who opted out are not read
    imd = _rows(snapshot, "imd")
    most = imd["1 (most deprived)"]
    assert most["highlight"] is True
    assert most["people"] == 25  # 23 rounded to the nearest 5
    assert most["counts"]["emergency"] == 15  # 13 admissions (the opted-out 4 not counted), rounded
    assert most["values"]["emergency"] == pytest.approx(1000 * 15 / 25)
    least = imd["5 (least deprived)"]
    assert least["people"] is None and least["values"]["emergency"] is None  # 5 people: hidden
    sexes = _rows(snapshot, "sex")
    assert sexes["female"]["people"] == 25  # Alice and 23: 24 rounded


def test_the_page_shows_only_aggregates_to_analysts(population: dict[str, Any]) -> None:
    refresh_outcomes(AS_OF)
    page = signed_in(population["analyst"]).get("/population/outcomes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 (most deprived)" in text and "Core20" in text
    assert "7 or fewer" in text and "<svg" in text and 'role="img"' in text
    # never a person: no name, NHS number, record id or link to a record
    people = rm.Person.objects.all()
    for p in people:
        assert p.family_name not in text
        assert p.resource.logical_id not in text
        assert f"/people/{p.pk}/" not in text
        if p.nhs_number:
            assert p.nhs_number not in text
    for by in ("cluster", "age_band", "sex", "ethnicity"):
        assert signed_in(population["analyst"]).get(f"/population/outcomes/?by={by}").status_code == 200


def test_analysts_still_cannot_open_a_record(population: dict[str, Any]) -> None:
    client = signed_in(population["analyst"])
    assert client.get(f"/people/{population['alice'].pk}/").status_code == 403
    assert client.get(f"/questionnaires/people/{population['alice'].pk}/").status_code == 403


def test_only_analysts_see_the_outcomes_page(population: dict[str, Any]) -> None:
    refresh_outcomes(AS_OF)
    for user in (population["gp_a"], population["admin"]):
        assert signed_in(user).get("/population/outcomes/").status_code == 403
        assert signed_in(user).get("/population/outcomes.csv").status_code == 403


def test_the_csv_has_every_figure_suppressed(population: dict[str, Any]) -> None:
    refresh_outcomes(AS_OF)
    response = signed_in(population["analyst"]).get("/population/outcomes.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    people = {(r["breakdown"], r["group"]): r["people_or_events"] for r in rows if r["measure"] == "People"}
    assert people[("Deprivation (IMD quintile)", "1 (most deprived)")] == "25"
    assert people[("Deprivation (IMD quintile)", "5 (least deprived)")] == ""
    emergency = next(
        r for r in rows if r["group"] == "1 (most deprived)" and r["measure"] == "Emergency admissions"
    )
    assert float(emergency["value"]) == pytest.approx(600.0) and emergency["people_or_events"] == "15"
    for r in rows:  # no count from 1 to 7 anywhere, and every count a multiple of 5
        if r["people_or_events"]:
            assert int(r["people_or_events"]) % 5 == 0 and int(r["people_or_events"]) > 7


def test_figures_older_than_the_run_are_refreshed_on_the_queue_once(population: dict[str, Any]) -> None:
    client = signed_in(population["analyst"])
    page = client.get("/population/outcomes/")
    assert page.status_code == 200 and b"being worked out" in page.content
    mark = JobMark.objects.get(key="refresh_outcomes")
    first = mark.pending_since
    assert first is not None
    client.get("/population/outcomes/")
    mark.refresh_from_db()
    assert mark.pending_since == first  # not enqueued twice
    snapshot = refresh_outcomes(AS_OF)
    assert snapshot.run_id == population["run"].pk
    assert b"being worked out" not in client.get("/population/outcomes/").content


def test_the_monthly_trend_has_its_table_and_text(population: dict[str, Any]) -> None:
    refresh_outcomes(AS_OF)
    text = signed_in(population["analyst"]).get("/population/outcomes/").content.decode()
    assert "Month by month" in text and "2026-10" in text
    assert "Too few months to compute process limits." in text or "variation" in text


def test_the_task_clears_its_mark_and_stores_a_snapshot(population: dict[str, Any]) -> None:
    from careweave.web.outcomes_data import refresh_outcomes_task

    signed_in(population["analyst"]).get("/population/outcomes/")
    assert JobMark.objects.get(key="refresh_outcomes").pending_since is not None
    refresh_outcomes_task.call()
    assert JobMark.objects.get(key="refresh_outcomes").pending_since is None
    assert OutcomeSnapshot.objects.get().run_id == population["run"].pk

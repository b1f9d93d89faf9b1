"""The worklist page ranks by need: each list ordered by its priority score (shown with its parts), or
by age or name through a plain query parameter; a removal has a review date (6 months unless set),
is shown with its reason until then, and after it the person returns to the list."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyarrow as pa
import pytest
from django.utils import timezone

from careweave.population.worklists import compute_worklists
from careweave.segmentation.models import WorklistEntry, WorklistOverride
from careweave.segmentation.run import active_overrides
from careweave.segmentation.services import default_review_on, months_after
from careweave.terminology import load_worklist_rules
from tests.web.conftest import person, segment, signed_in

pytestmark = pytest.mark.django_db


def ranked(segmented: dict[str, Any]) -> dict[str, Any]:
    """Three people in Riverside's care on the care co-ordination list; by priority, by age and by name
    they come in three different orders."""
    run, practice = segmented["run"], segmented["practice_a"]
    people = {
        "low": person("Aaron", "Abbott", "9434765870", practice, birth_date=dt.date(1990, 1, 1)),
        "high": person("Zoe", "Young", "9434765862", practice, birth_date=dt.date(1960, 1, 1)),
        "mid": person("Mina", "Morris", "9434765854", practice, birth_date=dt.date(1940, 1, 1)),
    }
    scores = {"low": 2.0, "high": 9.0, "mid": 5.0}
    for key, who in people.items():
        segment(run, who)
        WorklistEntry.objects.create(
            run=run, person=who, list_id="care_coordination", practice=practice,
            reasons=[f"{key} reason"], source="NICE NG56 (test)", priority=scores[key],
            priority_parts=[{"reason": f"{key} part", "points": scores[key]}],
        )
    return people


def names_in_order(page: str) -> list[str]:
    return re.findall(r">(Aaron Abbott|Zoe Young|Mina Morris)</a>", page)


def test_each_list_is_ordered_by_priority_by_default(segmented: dict[str, Any]) -> None:
    ranked(segmented)
    page = signed_in(segmented["gp_a"]).get("/worklists/", {"list": "care_coordination"}).content.decode()
    assert names_in_order(page) == ["Zoe Young", "Mina Morris", "Aaron Abbott"]
    assert "ordered by priority (highest first)" in page
    # the score with its parts
    assert "<strong>9</strong>" in page and "+9: high part" in page


def test_the_clinician_can_order_by_age_or_name_without_javascript(segmented: dict[str, Any]) -> None:
    ranked(segmented)
    client = signed_in(segmented["gp_a"])
    by_age = client.get("/worklists/", {"list": "care_coordination", "sort": "age"}).content.decode()
    assert names_in_order(by_age) == ["Mina Morris", "Zoe Young", "Aaron Abbott"]  # oldest first
    by_name = client.get("/worklists/", {"list": "care_coordination", "sort": "name"}).content.decode()
    assert names_in_order(by_name) == ["Aaron Abbott", "Mina Morris", "Zoe Young"]
    assert '<option value="name" selected>' in by_name
    nonsense = client.get("/worklists/", {"list": "care_coordination", "sort": "shoe-size"}).content.decode()
    assert names_in_order(nonsense) == ["Zoe Young", "Mina Morris", "Aaron Abbott"]


def test_the_order_is_kept_across_pages(segmented: dict[str, Any], monkeypatch: Any) -> None:
    from careweave.web import views

    ranked(segmented)
    monkeypatch.setattr(views, "WORKLIST_ROWS_PER_PAGE", 2)
    page = signed_in(segmented["gp_a"]).get("/worklists/", {"list": "care_coordination", "sort": "age"})
    assert "sort=age" in page.content.decode() and "page=2" in page.content.decode()


def test_a_removal_has_a_review_date_six_months_on_by_default(segmented: dict[str, Any]) -> None:
    alice, client = segmented["alice"], signed_in(segmented["gp_a"])
    form = client.get(f"/people/{alice.pk}/worklists/", {"action": "remove", "list_id": "medicines_review"})
    today = timezone.localdate()
    assert f'value="{months_after(today, 6).isoformat()}"' in form.content.decode()
    done = client.post(
        f"/people/{alice.pk}/worklists/",
        {"action": "remove", "list_id": "medicines_review", "reason": "Reviewed by the pharmacist", "review_on": ""},
    )
    assert done.status_code == 302
    assert WorklistOverride.objects.get().review_on == default_review_on(today) == months_after(today, 6)


def test_the_review_date_can_be_set_and_must_be_in_the_future(segmented: dict[str, Any]) -> None:
    alice, client = segmented["alice"], signed_in(segmented["gp_a"])
    today = timezone.localdate()
    url = f"/people/{alice.pk}/worklists/"
    base = {"action": "remove", "list_id": "medicines_review", "reason": "Reviewed by the pharmacist"}
    past = client.post(url, {**base, "review_on": (today - dt.timedelta(days=1)).isoformat()})
    assert past.status_code == 400 and "review date must be after today" in past.content.decode()
    garbled = client.post(url, {**base, "review_on": "next spring"})
    assert garbled.status_code == 400 and "real date" in garbled.content.decode()
    assert not WorklistOverride.objects.exists()
    chosen = today + dt.timedelta(days=90)
    assert client.post(url, {**base, "review_on": chosen.isoformat()}).status_code == 302
    assert WorklistOverride.objects.get().review_on == chosen


def test_a_removed_person_is_shown_with_the_reason_until_the_review_date(segmented: dict[str, Any]) -> None:
    alice, client = segmented["alice"], signed_in(segmented["gp_a"])
    review = timezone.localdate() + dt.timedelta(days=30)
    client.post(
        f"/people/{alice.pk}/worklists/",
        {"action": "remove", "list_id": "medicines_review", "reason": "Reviewed by the pharmacist",
         "review_on": review.isoformat()},
    )
    page = client.get("/worklists/", {"list": "medicines_review"}).content.decode()
    assert "Taken off this list by a clinician (1)" in page and "Reviewed by the pharmacist" in page
    assert f"{review.day} {review:%B %Y}" in page
    # once the review date has come, the page no longer holds them off the list
    WorklistOverride.objects.update(review_on=timezone.localdate())
    assert "Taken off this list" not in client.get("/worklists/", {"list": "medicines_review"}).content.decode()


def test_after_the_review_date_the_next_run_lists_the_person_again(segmented: dict[str, Any]) -> None:
    alice, gp = segmented["alice"], segmented["gp_a"]
    review = timezone.localdate() + dt.timedelta(days=30)
    WorklistOverride.objects.create(person=alice, list_id="medicines_review", action="remove",
                                    reason="Reviewed by the pharmacist", user=gp, review_on=review)
    features = pa.table({"person_id": [alice.pk], "age": [70], "mltc": [True], "polypharmacy_10_plus": [True],
                         "medicine_count_3m": [11], "frailty_moderate_or_severe": [False], "care_home": [False]})
    rules = [r for r in load_worklist_rules() if r.id == "medicines_review"]

    def listed(as_of: dt.date) -> bool:
        result = compute_worklists(features, rules, active_overrides(), as_of=as_of)
        return alice.pk in result.column("person_id").to_pylist()

    assert not listed(review - dt.timedelta(days=1))
    assert listed(review)
    assert WorklistOverride.objects.get().reason == "Reviewed by the pharmacist"  # the reason is kept

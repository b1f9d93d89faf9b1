"""The list of people in my care: scoped to my organisation, searchable, paginated, refused to analysts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from careweave.governance.models import AuditEntry
from careweave.ui.format import format_nhs_number
from tests.web.conftest import person, signed_in

pytestmark = pytest.mark.django_db


def test_a_gp_sees_people_registered_at_their_practice_and_not_others(world: dict[str, Any]) -> None:
    page = signed_in(world["gp_a"]).get("/people/").content.decode()
    assert "Alice Zephyrine" in page
    assert "Quillfeather" not in page

    page = signed_in(world["gp_b"]).get("/people/").content.decode()
    assert "Bob Quillfeather" in page
    assert "Zephyrine" not in page


def test_the_list_shows_nhs_number_age_practice_and_long_term_conditions(world: dict[str, Any]) -> None:
    page = signed_in(world["gp_a"]).get("/people/").content.decode()
    assert "943 476 5919" in page
    assert "Riverside Surgery" in page
    assert "<caption" in page
    # Diabetes and hypertension are active long-term conditions; the resolved sore throat is neither.
    row = page[page.index("Alice Zephyrine"):]
    row = row[: row.index("</tr>")]
    assert '<td class="nhsuk-table__cell nhsuk-table__cell--numeric">2</td>' in row


def test_search_by_name_and_by_nhs_number(world: dict[str, Any]) -> None:
    client = signed_in(world["gp_a"])
    person("Alan", "Other", "9434765926", world["practice_a"])
    page = client.get("/people/", {"q": "zephyr"}).content.decode()
    assert "Alice Zephyrine" in page and "Alan Other" not in page
    page = client.get("/people/", {"q": "943 476 5926"}).content.decode()
    assert "Alan Other" in page and "Alice Zephyrine" not in page
    # Searching cannot reach people outside my care.
    page = client.get("/people/", {"q": "Quillfeather"}).content.decode()
    assert "Bob" not in page and "0 people match" in page


def test_the_list_is_paginated_25_to_a_page(world: dict[str, Any]) -> None:
    for n in range(30):
        person(f"Person{n:02d}", "Paged", None, world["practice_a"])
    client = signed_in(world["gp_a"])
    first = client.get("/people/").content.decode()
    second = client.get("/people/", {"page": 2}).content.decode()
    record_link = re.compile(r'href="/people/\d+/"')
    assert len(record_link.findall(first)) == 25
    assert len(record_link.findall(second)) == 31 - 25
    assert "page 1 of 2" in first and 'href="?page=2"' in first


@pytest.mark.parametrize("role_user, text", [("analyst", "aggregate"), ("admin", "audit")])
def test_analysts_and_administrators_are_refused(world: dict[str, Any], role_user: str, text: str) -> None:
    response = signed_in(world[role_user]).get("/people/")
    assert response.status_code == 403
    page = response.content.decode()
    assert text in page
    assert "Zephyrine" not in page and "Quillfeather" not in page


def test_nhs_numbers_are_shown_3_3_4() -> None:
    assert format_nhs_number("9434765919") == "943 476 5919"
    assert format_nhs_number(None) == "Not recorded"


def test_an_htmx_search_returns_only_the_results(world: dict[str, Any]) -> None:
    client = signed_in(world["gp_a"])
    partial = client.get("/people/", {"q": "zephyr"}, headers={"HX-Request": "true"}).content.decode()
    assert "Alice Zephyrine" in partial and "<caption" in partial
    assert "<html" not in partial and "<h1>" not in partial
    full = client.get("/people/", {"q": "zephyr"}).content.decode()
    assert "<html" in full and 'hx-target="#people-results"' in full


def _shown(action: str = "people-list") -> list[int | None]:
    return sorted(AuditEntry.objects.filter(action=action).values_list("person_id", flat=True))


def test_each_person_on_the_page_is_audited_and_only_they(world: dict[str, Any]) -> None:
    paged = [person(f"Person{n:02d}", "Paged", None, world["practice_a"]) for n in range(30)]
    client = signed_in(world["gp_a"])
    client.get("/people/")  # sorted by family name: Paged 00 to 23, then Alice Zephyrine on page 2
    assert _shown() == sorted(p.pk for p in paged[:25])
    entry = AuditEntry.objects.filter(action="people-list").first()
    assert entry is not None and (entry.actor, entry.channel, entry.resource_type) == (world["gp_a"], "web", "Patient")
    assert entry.person_ref == paged[0].resource.logical_id
    assert "Paged" not in str(AuditEntry.objects.values_list())  # the search words are not kept

    client.get("/people/", {"q": "zephyr"}, headers={"HX-Request": "true"})  # the htmx results
    assert _shown().count(world["alice"].pk) == 1
    assert world["bob"].pk not in _shown()  # never shown to this GP

    report = signed_in(world["admin"]).get(f"/audit/people/{world['alice'].pk}/report/").content.decode()
    assert "Saw your name on a list of people in their care" in report


def test_an_empty_search_writes_no_audit(world: dict[str, Any]) -> None:
    signed_in(world["gp_a"]).get("/people/", {"q": "no such name"})
    assert _shown() == []

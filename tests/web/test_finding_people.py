"""Finding people as users do: dates of birth and sorting in the people list, break-glass offered from
an NHS number search outside one's care, and the audit looked up by NHS number or name."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from careweave.governance.models import AuditEntry
from tests.web.conftest import person, signed_in

pytestmark = pytest.mark.django_db


def _names_in_order(page: str) -> list[str]:
    return re.findall(r'href="/people/\d+/">([^<]+)</a>', page)


def test_the_list_shows_each_date_of_birth_so_namesakes_can_be_told_apart(world: dict[str, Any]) -> None:
    person("George", "Adams", None, world["practice_a"], birth_date=date(1931, 4, 2))
    person("George", "Adams", None, world["practice_a"], birth_date=date(1978, 11, 30))
    page = signed_in(world["gp_a"]).get("/people/", {"q": "George Adams"}).content.decode()
    assert "Date of birth" in page
    assert "2 April 1931" in page and "30 November 1978" in page


def test_the_list_sorts_by_name_or_date_of_birth_either_way(world: dict[str, Any]) -> None:
    person("Ann", "Young", None, world["practice_a"], birth_date=date(1990, 1, 1))
    person("Zak", "Adler", None, world["practice_a"], birth_date=date(1940, 1, 1))
    client = signed_in(world["gp_a"])
    by_name = client.get("/people/").content.decode()
    assert _names_in_order(by_name)[0] == "Zak Adler"
    assert 'aria-sort="ascending"' in by_name and 'href="?sort=born"' in by_name

    youngest_first = client.get("/people/", {"sort": "-born"}).content.decode()
    assert _names_in_order(youngest_first)[0] == "Ann Young"
    assert 'aria-sort="descending"' in youngest_first
    oldest_first = client.get("/people/", {"sort": "born"}).content.decode()
    assert _names_in_order(oldest_first)[0] == "Zak Adler"
    # An unknown order is the default, not an error.
    assert client.get("/people/", {"sort": "password"}).status_code == 200


def test_the_page_links_keep_the_search_and_the_order(world: dict[str, Any]) -> None:
    for n in range(30):
        person(f"Person{n:02d}", "Paged", None, world["practice_a"])
    page = signed_in(world["gp_a"]).get("/people/", {"q": "Paged", "sort": "-name"}).content.decode()
    assert 'href="?q=Paged&amp;sort=-name&amp;page=2"' in page


def test_an_nhs_number_outside_my_care_offers_break_glass_without_naming_the_person(world: dict[str, Any]) -> None:
    bob = world["bob"]
    page = signed_in(world["gp_a"]).get("/people/", {"q": "943 476 5888"}).content.decode()
    assert "0 people match" in page
    assert "is not in your care" in page and "Open with break-glass access" in page
    assert f'href="/people/{bob.pk}/"' in page
    assert "Quillfeather" not in page and "Bob" not in page
    seen = AuditEntry.objects.filter(action="people-search-outside-care")
    assert list(seen.values_list("person_id", "actor")) == [(bob.pk, world["gp_a"].pk)]
    # Following the link is the usual refusal with the break-glass form.
    refused = signed_in(world["gp_a"]).get(f"/people/{bob.pk}/")
    assert refused.status_code == 403 and "break-glass" in refused.content.decode().lower()


@pytest.mark.parametrize("query", ["Quillfeather", "943 476 58", "9434765889"])
def test_no_offer_for_a_name_a_partial_or_an_unknown_number(world: dict[str, Any], query: str) -> None:
    page = signed_in(world["gp_a"]).get("/people/", {"q": query}).content.decode()
    assert "break-glass" not in page.lower()
    assert not AuditEntry.objects.filter(action="people-search-outside-care").exists()


def test_someone_in_my_care_is_listed_not_offered(world: dict[str, Any]) -> None:
    page = signed_in(world["gp_a"]).get("/people/", {"q": "9434765919"}).content.decode()
    assert "Alice Zephyrine" in page and "not in your care" not in page


def test_administrators_find_the_audit_by_nhs_number(world: dict[str, Any]) -> None:
    signed_in(world["gp_a"]).get(f"/people/{world['alice'].pk}/")
    page = signed_in(world["admin"]).get("/audit/", {"person": "943 476 5919"}).content.decode()
    assert "Access to record" in page and "gp.riverside" in page


def test_administrators_find_the_audit_by_name_choosing_between_namesakes(world: dict[str, Any]) -> None:
    admin = signed_in(world["admin"])
    one = admin.get("/audit/", {"person": "alice zephyrine"}).content.decode()
    assert "Access to record" in one

    first = person("Mary", "Jones", "9434765870", world["practice_a"], birth_date=date(1950, 5, 5))
    person("Mary", "Jones", None, world["practice_b"], birth_date=date(1988, 8, 8))
    several = admin.get("/audit/", {"person": "Mary Jones"}).content.decode()
    assert "2 people match" in several
    assert "5 May 1950" in several and "8 August 1988" in several
    assert f'href="?person={first.pk}"' in several
    assert "Access to record" not in several
    shown = AuditEntry.objects.filter(action="audit-search")
    assert shown.count() == 2 and set(shown.values_list("purpose", flat=True)) == {"audit"}


def test_an_unknown_person_in_the_audit_lookup_is_a_clear_error(world: dict[str, Any]) -> None:
    response = signed_in(world["admin"]).get("/audit/", {"person": "Nobody Atall"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter the NHS number, name or record number of a person in the record" in page

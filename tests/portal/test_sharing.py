"""The reviewed list of what carers never see, as the person's view applies it."""

from __future__ import annotations

from careweave.portal import sharing
from careweave.terminology.models import SNOMED
from careweave.terminology.proxy_sensitive import proxy_sensitive


def test_the_list_holds_safeguarding_and_sexual_health_with_sources() -> None:
    listed = proxy_sensitive()
    assert {c.id for c in listed.categories} == {"safeguarding", "sexual_health"}
    assert all(c.sources for c in listed.categories)
    assert listed.category_of(SNOMED, "766561000000109") == "safeguarding"
    assert listed.category_of(SNOMED, "86406008") == "sexual_health"
    assert listed.category_of(SNOMED, "44054006") is None  # type 2 diabetes: not sensitive


def test_an_item_is_hidden_when_coded_sensitive_or_marked() -> None:
    assert sharing.hidden_from_proxy(resource_id=1, system=SNOMED, code="165816005", marked=set())
    assert sharing.hidden_from_proxy(resource_id=7, system=SNOMED, code="44054006", marked={7})
    assert not sharing.hidden_from_proxy(resource_id=8, system=SNOMED, code="44054006", marked={7})
    assert not sharing.hidden_from_proxy(resource_id=8, system="", code="", marked=set())

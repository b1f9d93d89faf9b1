"""Every page built on a population run says when it was computed and warns past a day (issue 12,
item 5): the worklists, the population page and the holistic summary's worklists section."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from careweave.segmentation.models import SegmentationRun
from tests.web.conftest import signed_in

PAGES = [
    # (who looks, the page, where on the page the note is, the warning's words)
    ("gp_a", "/worklists/", None, "These lists may be out of date"),
    ("analyst", "/population/", None, "These figures may be out of date"),
    ("gp_a", "/people/{alice}/", 'id="worklists"', "These lists may be out of date"),
]


def _page(segmented: dict[str, Any], who: str, url: str, section: str | None) -> str:
    response = signed_in(segmented[who]).get(url.format(alice=segmented["alice"].pk))
    assert response.status_code == 200
    page = response.content.decode()
    if section is None:
        return page
    start = page.index(section)
    return page[start : page.index("</section>", start)]


AGES = [
    # (how old the run is, what the page says, whether it warns)
    (timedelta(days=2), "computed 2 days ago", True),
    (timedelta(hours=3), "Computed 3 hours ago", False),
]


@pytest.mark.parametrize(("age", "said", "warned"), AGES)
@pytest.mark.parametrize(("who", "url", "section", "warning"), PAGES)
def test_each_page_says_when_its_run_was_computed_and_warns_past_a_day(
    segmented: dict[str, Any],
    who: str,
    url: str,
    section: str | None,
    warning: str,
    age: timedelta,
    said: str,
    warned: bool,
) -> None:
    SegmentationRun.objects.filter(pk=segmented["run"].pk).update(created_at=timezone.now() - age)
    page = _page(segmented, who, url, section)
    assert said in page
    assert (warning in page) is warned

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


@pytest.mark.parametrize(("who", "url", "section", "warning"), PAGES)
def test_a_run_two_days_old_is_flagged(
    segmented: dict[str, Any], who: str, url: str, section: str | None, warning: str
) -> None:
    SegmentationRun.objects.filter(pk=segmented["run"].pk).update(created_at=timezone.now() - timedelta(days=2))
    page = _page(segmented, who, url, section)
    assert warning in page and "computed 2 days ago" in page


@pytest.mark.parametrize(("who", "url", "section", "warning"), PAGES)
def test_a_fresh_run_says_when_without_a_warning(
    segmented: dict[str, Any], who: str, url: str, section: str | None, warning: str
) -> None:
    SegmentationRun.objects.filter(pk=segmented["run"].pk).update(created_at=timezone.now() - timedelta(hours=3))
    page = _page(segmented, who, url, section)
    assert warning not in page and "Computed 3 hours ago" in page

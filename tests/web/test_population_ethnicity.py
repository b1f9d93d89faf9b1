"""The population page's ethnicity breakdown reads the ethnic category code the record keeps (from
the UK Core Ethnic Category extension), not only a display text that senders often leave out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import person, segment, signed_in

pytestmark = pytest.mark.django_db


def _ethnicity_rows(page: str) -> str:
    start = page.index("By ethnicity")
    return page[start : page.index("</table>", start)]


def test_people_with_only_a_code_are_counted_under_their_category(segmented: dict[str, Any]) -> None:
    run, practice = segmented["run"], segmented["practice_a"]
    for i in range(12):
        segment(run, person("Coded", f"White{i}", None, practice, ethnicity_code="A"), 1)
    for i in range(11):
        segment(run, person("Coded", f"Indian{i}", None, practice, ethnicity_code="H"), 1)
    for i in range(10):
        segment(run, person("Sent", f"Text{i}", None, practice, ethnicity_display="Welsh"), 1)
    page = signed_in(segmented["analyst"]).get("/population/").content.decode()
    rows = _ethnicity_rows(page)
    assert "White: British" in rows and "Asian or Asian British: Indian" in rows
    assert "Welsh" in rows  # a display sent without a code is shown as sent
    # The 33 people with a code or a display are not "Not recorded": only the fixture's own
    # people (Alice and Bob, with neither) are, and they are fewer than 10.
    not_recorded = rows[rows.index("Not recorded") :]
    assert ">12<" in rows and ">11<" in rows and ">10<" in rows
    assert "&lt;10" in not_recorded.split("</tr>")[0]

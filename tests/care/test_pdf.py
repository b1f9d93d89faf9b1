"""The printable plan as a PDF: a real PDF, the person's own words in it, and large print bigger."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from careweave.care import services
from careweave.care.services import PlanData, PriorityData
from tests.web.conftest import signed_in

pytestmark = pytest.mark.django_db

WHAT_MATTERS = "I want to be well enough to go to chapel on Sundays (and sing)."


def _font_sizes(pdf: bytes) -> set[float]:
    sizes: set[float] = set()

    def visitor(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            sizes.add(round(size * tm[0], 1))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visitor)
    return sizes


@pytest.fixture
def planned(team_world: dict[str, Any]) -> dict[str, Any]:
    alice, gp = team_world["alice"], team_world["gp_a"]
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    services.save_care_plan(
        user=gp,
        person=alice,
        data=PlanData(
            what_matters=WHAT_MATTERS,
            priorities=(PriorityData("Keep singing", 1),),
            contingency="Call the practice; out of hours call 111.",
        ),
    )
    return team_world


def test_the_pdf_is_a_real_pdf_with_the_persons_own_words(planned: dict[str, Any]) -> None:
    alice = planned["alice"]
    response = signed_in(planned["gp_a"]).get(f"/care/people/{alice.pk}/plan.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="care-plan-v1.pdf"'  # no name in it
    pdf = response.content
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for expected in [
        WHAT_MATTERS,
        "Alice Zephyrine",
        "943 476 5919",
        "Keep singing",
        "out of hours call 111",
        "Your named contact is Gwen Price",
    ]:
        assert expected in text, expected
    assert reader.metadata.title == "Care and support plan for Alice Zephyrine"


def test_large_print_uses_a_bigger_font(planned: dict[str, Any]) -> None:
    alice = planned["alice"]
    client = signed_in(planned["gp_a"])
    standard = client.get(f"/care/people/{alice.pk}/plan.pdf").content
    large = client.get(f"/care/people/{alice.pk}/plan.pdf?large=1")
    assert large["Content-Disposition"] == 'inline; filename="care-plan-v1-large-print.pdf"'
    standard_sizes, large_sizes = _font_sizes(standard), _font_sizes(large.content)
    assert min(standard_sizes) == 12 and min(large_sizes) == 18  # RNIB: large print is at least 16 point
    assert max(large_sizes) > max(standard_sizes)


def test_no_plan_no_pdf(team_world: dict[str, Any]) -> None:
    alice = team_world["alice"]
    assert signed_in(team_world["gp_a"]).get(f"/care/people/{alice.pk}/plan.pdf").status_code == 404


def test_welsh_words_print_with_real_letters(team_world: dict[str, Any]) -> None:
    """Names and "what matters to me" are printed in the person's own words, in Welsh too."""
    from careweave.care.pdf import missing_glyphs

    alice, gp = team_world["alice"], team_world["gp_a"]
    in_welsh = "Rwy'n edrych ymlaen at yr ŵyl yn Nhŷ Ddewi; canu gyda'r côr yw fy mywyd."
    services.add_team_member(user=gp, person=alice, member=gp, as_coordinator=True)
    services.save_care_plan(user=gp, person=alice, data=PlanData(what_matters=in_welsh))
    for large in ("", "1"):
        pdf = signed_in(gp).get(f"/care/people/{alice.pk}/plan.pdf", {"large": large} if large else {}).content
        text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages)
        assert in_welsh in text
    assert missing_glyphs(in_welsh + "ŴŶÂÊÎÔÛ £€–“”’") == set()
    assert missing_glyphs("\u4e2d") == {"\u4e2d"}  # the check can fail: no CJK in this font

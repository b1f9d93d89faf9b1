"""Every standard letter, in every format and translation, is a tagged PDF/UA-1 document with real
text: Typst refuses to write a PDF/UA-1 file that breaks the standard's machine-checkable rules, and
these tests read the result independently with pikepdf and pypdf (no veraPDF could be installed from
PyPI, npm or Debian): the PDF/UA identifier, marked content and a structure tree with headings, the
document language, the title shown in the window, every font embedded with a Unicode map, the words
extractable, large print at 20 point. The plain-English reading age of each letter is printed."""

from __future__ import annotations

import io

import pikepdf
import pypdf
import pytest

from careweave.contact.letter_texts import PURPOSES, STANDARD, TITLES
from careweave.contact.letters import Letter, LetterError, blocks, render_pdf
from careweave.contact.readability import reading_age

DETAILS = {
    "name": "Siân Ŵyn O'Brien",
    "phone": "0113 496 0000",
    "sender": "Riverside Surgery",
    "when": "Monday 4 January at 10:30",
    "place": "Riverside Surgery",
    "result": "They are normal.",
    "next_step": "You do not need to do anything.",
    "what_matters": "Walking my dog #set *bold* <b>",
    "coordinator": "Sam Nurse",
}
CASES = [
    (purpose, fmt, lang)
    for purpose in PURPOSES
    for fmt, lang in (
        ("standard", "en"),
        ("large_print", "en"),
        ("easy_read", "en"),
        ("standard", "cy"),
        ("large_print", "cy"),
    )
]


def _structure_types(element: object, found: set[str]) -> set[str]:
    if isinstance(element, pikepdf.Dictionary):
        if "/S" in element:
            found.add(str(element.S))
        kids = element.get("/K")
        for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
            _structure_types(kid, found)
    return found


def _font_sizes(pdf: pikepdf.Pdf) -> set[float]:
    return {
        float(op.operands[1])
        for page in pdf.pages
        for op in pikepdf.parse_content_stream(page)
        if str(op.operator) == "Tf"
    }


@pytest.mark.parametrize(("purpose", "fmt", "lang"), CASES, ids=["-".join(c) for c in CASES])
def test_every_letter_is_tagged_pdf_ua_with_real_text(purpose: str, fmt: str, lang: str) -> None:
    letter = Letter(
        purpose=purpose,
        details=DETAILS,
        address=("Siân O'Brien", "1 High Street", "LS1 1AA"),
        letter_format=fmt,
        language=lang,
        goals=("Walk to the park",),
        date="7 December 2026",
    )
    data = render_pdf(letter)
    expected_lang = "en" if fmt == "easy_read" else lang
    with pikepdf.open(io.BytesIO(data)) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfuaid:part") == "1"
        assert pdf.Root.MarkInfo.Marked is True
        assert str(pdf.Root.Lang) == expected_lang
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert meta.get("dc:title") == TITLES[expected_lang][purpose]
        types = _structure_types(pdf.Root.StructTreeRoot, set())
        assert {"/Document", "/H1", "/P"} <= types, types
        for page in pdf.pages:
            for font in page.Resources.Font.values():
                assert "/ToUnicode" in font, font.BaseFont
                for descendant in font.get("/DescendantFonts", [font]):
                    descriptor = descendant.FontDescriptor
                    assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (
                        descendant.BaseFont
                    )
        sizes = _font_sizes(pdf)
        if fmt == "large_print":
            assert min(sizes) >= 20, sizes
        if fmt == "easy_read":
            assert min(sizes) >= 16, sizes
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    assert "Siân Ŵyn O'Brien" in text.replace("\n", " ")
    if purpose == "care-plan-copy":
        assert "#set *bold* <b>" in text  # the person's words, never read as markup


def test_a_carers_copy_says_so() -> None:
    data = render_pdf(Letter(purpose="results-letter", details=DETAILS, carer="Chris Carer"))
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text().replace("\n", " ")
    assert "This is a copy for Chris Carer" in text


def test_unknown_purpose_or_missing_field_is_refused() -> None:
    with pytest.raises(LetterError, match="no standard letter"):
        blocks(Letter(purpose="spam", details=DETAILS))
    with pytest.raises(LetterError, match="needs"):
        blocks(Letter(purpose="appointment-reminder", details={"name": "Jo"}))


def test_welsh_has_every_letter() -> None:
    assert set(STANDARD["cy"]) == set(STANDARD["en"]) == set(PURPOSES)


@pytest.mark.parametrize("fmt", ["standard", "easy_read"])
def test_plain_english_reading_age_9_to_11(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Flesch-Kincaid grade + 5 (UK reading age) of each English letter, printed; none above 11."""
    ages = {}
    for purpose in PURPOSES:
        words = " ".join(
            text if isinstance(text, str) else ". ".join(text) + "."
            for kind, text in blocks(
                Letter(
                    purpose=purpose,
                    details=DETAILS | {"name": "Jo Bloggs"},
                    letter_format=fmt,
                    goals=("Walk to the park",),
                )
            )
            if kind != "picture"
        )
        ages[purpose] = round(reading_age(words), 1)
    with capsys.disabled():
        print(f"\nreading age ({fmt}, Flesch-Kincaid grade + 5):", ages)
    assert all(age <= 11 for age in ages.values()), ages

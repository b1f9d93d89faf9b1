"""The care plan as a plain-language PDF for the person and their carer, in standard or large print.

Built with ReportLab (pure Python: no browser, no system packages). The text is in Bitstream Vera,
which ReportLab ships, embedded so every reader shows the same letters. Large print follows the RNIB's
clear print guidance: at least 16 point (we use 18), left aligned, generous spacing, bold headings.
"""

from __future__ import annotations

import functools
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import font_source_sans_pro
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import ListFlowable, ListItem, Paragraph, SimpleDocTemplate, Spacer

from careweave.care.presenters import PersonHeading, PlanView

STANDARD_SIZE, LARGE_SIZE = 12, 18
FONT, BOLD = "CareWeaveSans", "CareWeaveSans-Bold"


@functools.cache
def _register_fonts() -> None:
    # Source Sans Pro (SIL OFL, from PyPI): a clear humanist sans like the NHS's Frutiger, and it has
    # every letter of Welsh (ŵ, ŷ), which reportlab's bundled Vera lacks; names and "what matters to
    # me" are printed in the person's own words.
    files = Path(font_source_sans_pro.__file__).parent / "files"
    pdfmetrics.registerFont(TTFont(FONT, str(files / "SourceSansPro-Regular.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(files / "SourceSansPro-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


def missing_glyphs(text: str) -> set[str]:
    """The characters of `text` the plan's fonts cannot draw (they would print as empty boxes)."""
    _register_fonts()
    faces = [pdfmetrics.getFont(name).face for name in (FONT, BOLD)]
    return {c for c in set(text) if c.isprintable() and not c.isspace() and any(ord(c) not in f.charToGlyph for f in faces)}


def _styles(size: int) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=size, leading=size * 1.5, spaceAfter=size * 0.5)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=BOLD, fontSize=size * 1.8, leading=size * 2.2),
        "heading": ParagraphStyle(
            "heading",
            parent=body,
            fontName=BOLD,
            fontSize=size * 1.3,
            leading=size * 1.7,
            spaceBefore=size,
            keepWithNext=True,
        ),
        "quote": ParagraphStyle("quote", parent=body, leftIndent=size, borderPadding=0),
    }


def _text(value: str) -> str:
    """Escape for ReportLab's mini-markup and keep the person's own line breaks."""
    return escape(value).replace("\n", "<br/>")


def care_plan_pdf(
    heading: PersonHeading,
    plan: PlanView,
    team: list[dict[str, Any]],
    *,
    large_print: bool = False,
    medicines: list[dict[str, str]] | None = None,
) -> bytes:
    _register_fonts()
    size = LARGE_SIZE if large_print else STANDARD_SIZE
    styles = _styles(size)
    body, h2 = styles["body"], styles["heading"]
    out = BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Care and support plan for {heading.name}",
        author="CareWeave",
        subject="Personalised care and support plan",
        lang="en-GB",
    )

    def bullets(items: list[str]) -> ListFlowable:
        return ListFlowable(
            [ListItem(Paragraph(item, body), leftIndent=size * 1.5) for item in items],
            bulletType="bullet",
            bulletFontName=FONT,
            bulletFontSize=size,
            leftIndent=size * 1.5,
        )

    story: list[Any] = [
        Paragraph("My care and support plan", styles["title"]),
        Paragraph(f"{_text(heading.name)}. NHS number {_text(heading.nhs_number)}.", body),
        Paragraph(f"Version {plan.version}, written {_text(plan.updated)}.", body),
        Spacer(1, size / 2),
        Paragraph("What matters to me", h2),
        Paragraph(_text(plan.what_matters) or "Not written yet.", styles["quote"]),
    ]
    if plan.priorities:
        story.append(Paragraph("My priorities, most important first", h2))
        items = []
        for p in plan.priorities:
            line = f"{p['rank']}. {_text(p['text'])}"
            if p["differs"]:
                line += f" (my care team put this at number {p['clinician_rank']})"
            items.append(line)
        story += [Paragraph(item, body) for item in items]
    story.append(Paragraph("My goals", h2))
    story.append(
        bullets(
            [
                f"{_text(g['description'])}. By: {_text(g['target'])}. {_text(g['status'])}."
                for g in plan.goals
            ]
        )
        if plan.goals
        else Paragraph("No goals written yet.", body)
    )
    story.append(Paragraph("Who is doing what", h2))
    story.append(
        bullets(
            [
                f"{_text(a['description'])}. Who: {_text(a['owner'])}. When: {_text(a['due'])}."
                + (" Done." if a["done"] else "")
                for a in plan.actions
            ]
        )
        if plan.actions
        else Paragraph("No actions written yet.", body)
    )
    if medicines:
        story.append(Paragraph("My medicines and why I take them", h2))
        story.append(bullets([f"<b>{_text(m['name'])}</b>. {_text(m['why'])}" for m in medicines]))
    story += [
        Paragraph("My carer", h2),
        Paragraph(_text(plan.carer_involvement) or "Not written yet.", body),
        Paragraph("If things get worse", h2),
        Paragraph(_text(plan.contingency) or "Not written yet.", body),
    ]
    coordinator = next((m for m in team if m["coordinator"]), None)
    story.append(Paragraph("Who to contact", h2))
    if coordinator is not None:
        story.append(
            Paragraph(
                f"Your named contact is <b>{_text(coordinator['name'])}</b>, {_text(coordinator['role_in_team'])}, "
                f"{_text(coordinator['organisation'])}."
                + (f" Phone: <b>{_text(coordinator['contact'])}</b>." if coordinator.get("contact") else ""),
                body,
            )
        )
    others = [m for m in team if not m["coordinator"]]
    if others:
        story.append(Paragraph("Also in your care team:", body))
        story.append(
            bullets(
                [
                    ", ".join(_text(m[k]) for k in ("name", "role_in_team", "organisation") if m.get(k))
                    + (f": {_text(m['contact'])}" if m.get("contact") else "")
                    for m in others
                ]
            )
        )
    story += [
        Paragraph("When we will look at this plan again", h2),
        Paragraph(_text(plan.review_date), body),
    ]
    document.build(story)
    return out.getvalue()

"""Letters people can read (issue 18, item 4; ADR 0020): the standard letters as tagged PDF/UA-1.

Typst, not ReportLab: ReportLab's open-source edition writes no structure tree, so a screen reader
meets untagged text. Typst (a PyPI wheel, no system packages, no network) writes tagged PDF and, asked
for PDF/UA-1, refuses at compile time a document that breaks the standard's machine-checkable rules
(no title, skipped heading levels...). Fonts are Source Sans Pro, embedded; the document language is
the letter's. Standard print is 12 point, easy read 16 point, large print 20 point (the AIS code's
size, RNIB's clear print guidance).

The Typst source is fixed: the letter's words reach it only as JSON data through `sys.inputs`, so a
name can never be read as markup. Django-free.
"""

from __future__ import annotations

import functools
import json
import string
from dataclasses import dataclass, field
from pathlib import Path

import font_source_sans_pro
import typst

from careweave.contact.letter_texts import CARER_COPY, EASY_READ, STANDARD, TITLES, TRANSLATIONS, Block

SIZES = {"standard": 12, "easy_read": 16, "large_print": 20, "braille": 12, "audio": 12}

_TEMPLATE = r"""
#let d = json(bytes(sys.inputs.letter))
#set document(title: d.title, author: d.sender)
#set text(lang: d.lang, font: "Source Sans Pro", size: d.size * 1pt)
#set page(paper: "a4", margin: (x: 20mm, y: 20mm))
#set par(justify: false, leading: 0.9em, spacing: 1.2em)
#show heading.where(level: 1): set text(size: 1.5em, weight: "bold")
#show heading.where(level: 2): set text(size: 1.25em, weight: "bold")
#align(right)[#d.sender \ #d.phone]
#for line in d.address [#line \ ]
#v(1em)
#d.date
= #d.title
#if d.carer_note != "" [#strong(d.carer_note)]
#for b in d.blocks {
  if b.kind == "h" { heading(level: 2, b.text) }
  else if b.kind == "picture" { block(inset: (left: 1em), emph(b.text)) }
  else if b.kind == "list" { list(..b.items) }
  else { par(b.text) }
}
"""


@dataclass(frozen=True)
class Letter:
    """One letter to render: what it is, how, in which language, and its details."""

    purpose: str
    details: dict[str, str]
    address: tuple[str, ...] = ()
    letter_format: str = "standard"
    language: str = "en"
    carer: str = ""  # the carer's name when this is a carer's copy
    goals: tuple[str, ...] = ()
    date: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        # easy read is written in English only for now
        return self.language if self.language in TRANSLATIONS and self.letter_format != "easy_read" else "en"


class LetterError(ValueError):
    pass


def _fill(text: str, fields: dict[str, str]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    missing = names - set(fields)
    if missing:
        raise LetterError(f"letter text needs {', '.join(sorted(missing))}")
    return text.format(**fields)


def blocks(letter: Letter) -> list[Block]:
    """The letter's blocks with its details filled in (what the PDF prints, and the readability tests read)."""
    if letter.purpose not in TITLES["en"]:
        raise LetterError(f"no standard letter for {letter.purpose!r}")
    source = (
        EASY_READ[letter.purpose]
        if letter.letter_format == "easy_read"
        else STANDARD[letter.lang][letter.purpose]
    )
    fields = {**letter.details, "goals": ""}
    out: list[Block] = []
    for kind, text in source:
        if kind == "list":
            out.append(("list", list(letter.goals) or ["No goals written yet."]))
        else:
            out.append((kind, _fill(str(text), fields)))
    return out


def title(letter: Letter) -> str:
    return TITLES[letter.lang][letter.purpose]


@functools.cache
def _compiler() -> typst.Compiler:
    """One compiler per process: the fonts are read once (it is not shared between threads)."""
    fonts = str(Path(font_source_sans_pro.__file__).parent / "files")
    return typst.Compiler(font_paths=[fonts], ignore_system_fonts=True)


def render_pdf(letter: Letter) -> bytes:
    """The letter as a tagged PDF/UA-1 document."""
    data = {
        "title": title(letter),
        "sender": letter.details.get("sender", "CareWeave"),
        "phone": letter.details.get("phone", ""),
        "address": list(letter.address),
        "date": letter.date,
        "lang": letter.lang,
        "size": SIZES.get(letter.letter_format, 12),
        "carer_note": _fill(CARER_COPY[letter.lang], {**letter.details, "carer": letter.carer})
        if letter.carer
        else "",
        "blocks": [
            {"kind": k, "items": v} if k == "list" else {"kind": k, "text": v} for k, v in blocks(letter)
        ],
    }
    source: bytes = _TEMPLATE.encode()
    pdf = _compiler().compile(
        input=source, format="pdf", sys_inputs={"letter": json.dumps(data)}, pdf_standards=["ua-1"]
    )
    if not isinstance(pdf, bytes):  # one output: one PDF
        raise LetterError("typst returned no PDF")
    return pdf

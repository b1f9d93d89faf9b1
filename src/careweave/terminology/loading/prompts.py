"""The loader of ``contact_prompts.yaml``: the "make every contact count" prompts (issue 14, item 5),
each with who it applies to, when it is due again, the codes that answer it, the code the answer is
recorded with and the value asked for, every one cited."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._schema import SYSTEM_ALIASES, Document
from ..models import Code
from .common import DATA_DIR, file_path

CONTACT_PROMPTS_FILE = DATA_DIR / "contact_prompts.yaml"
SCHEMA = "careweave.terminology.contact_prompts/1"
#: CareWeave's own code system for a prompt answered with no checked national code (its id the code)
PROMPT_SYSTEM = "https://fhir.careweave.org/CodeSystem/contact-prompt"
ValueKind = Literal["none", "number", "text", "choice"]
VALUE_KINDS: tuple[ValueKind, ...] = ("none", "number", "text", "choice")


@dataclass(frozen=True)
class ContactPrompt:
    id: str
    name: str
    age_from: int | None
    age_to: int | None
    social_need: str | None
    every_months: int | None
    season_from_month: int | None
    once: bool
    codes: frozenset[Code]
    record_code: Code
    record_display: str
    value: ValueKind
    unit: str
    answers: tuple[tuple[Code, str], ...]
    sources: tuple[str, ...]


def _record_code(doc: Document, text: str | None, path: str, prompt_id: str) -> tuple[Code, str]:
    if text is None:
        return (PROMPT_SYSTEM, prompt_id), ""
    alias, _, rest = text.partition(" ")
    code, _, display = rest.partition("|")
    if alias not in SYSTEM_ALIASES or not code.strip():
        raise doc.error(f"{path}.record_code", f"expected '<{'|'.join(SYSTEM_ALIASES)}> <code> |display|'")
    return (SYSTEM_ALIASES[alias], code.strip()), display.strip(" |")


def _answers(doc: Document, entry: dict[str, object], path: str) -> tuple[tuple[Code, str], ...]:
    raw = doc.mapping(entry.get("answers"), f"{path}.answers")
    answers: list[tuple[Code, str]] = []
    for alias, items in raw.items():
        if alias not in SYSTEM_ALIASES or not isinstance(items, list):
            raise doc.error(f"{path}.answers.{alias}", "expected a known code system and a list of codes")
        for item in items:
            code, _, display = str(item).partition("|")
            answers.append(((SYSTEM_ALIASES[alias], code.strip()), display.strip(" |")))
    if not answers:
        raise doc.error(f"{path}.answers", "a choice needs at least one answer")
    return tuple(answers)


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> tuple[ContactPrompt, ...]:
    doc = Document(path, SCHEMA)
    doc.check_root_keys(("prompts",))
    prompts: list[ContactPrompt] = []
    for entry_path, entry in doc.entries("prompts"):
        doc.keys(
            entry,
            entry_path,
            ("id", "name", "applies", "record_code", "value", "sources"),
            ("every_months", "season_from_month", "once", "codes", "unit", "answers", "note"),
        )
        prompt_id = doc.identifier(entry, "id", entry_path)
        applies = doc.mapping(entry["applies"], f"{entry_path}.applies")
        doc.keys(applies, f"{entry_path}.applies", (), ("age_from", "age_to", "social_need"))
        when = [k for k in ("every_months", "season_from_month", "once") if entry.get(k) not in (None, False)]
        if len(when) != 1:
            raise doc.error(entry_path, "give exactly one of every_months, season_from_month or once")
        season = doc.optional_integer(entry, "season_from_month", entry_path, minimum=1)
        if season is not None and season > 12:
            raise doc.error(f"{entry_path}.season_from_month", "expected a month from 1 to 12")
        value = doc.string(entry, "value", entry_path)
        if value not in VALUE_KINDS:
            raise doc.error(
                f"{entry_path}.value", f"expected one of {', '.join(VALUE_KINDS)}, found {value!r}"
            )
        record, display = _record_code(doc, entry.get("record_code"), entry_path, prompt_id)
        codes = doc.codes(entry, entry_path, allow_empty=True) | {record}
        prompts.append(
            ContactPrompt(
                id=prompt_id,
                name=doc.string(entry, "name", entry_path),
                age_from=doc.optional_integer(applies, "age_from", f"{entry_path}.applies"),
                age_to=doc.optional_integer(applies, "age_to", f"{entry_path}.applies"),
                social_need=doc.optional_string(applies, "social_need", f"{entry_path}.applies"),
                every_months=doc.optional_integer(entry, "every_months", entry_path, minimum=1),
                season_from_month=season,
                once=bool(entry.get("once", False)),
                codes=frozenset(codes),
                record_code=record,
                record_display=display or doc.string(entry, "name", entry_path),
                value=value,
                unit=doc.string(entry, "unit", entry_path, nullable=True),
                answers=_answers(doc, entry, entry_path) if value == "choice" else (),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(prompts)


def load_contact_prompts(path: Path | str | None = None) -> tuple[ContactPrompt, ...]:
    """The reviewed contact prompts (cached per file)."""
    return _load(file_path(path, CONTACT_PROMPTS_FILE))

"""Which Questionnaires are known here: those CareWeave ships (data files, openly licensed, read once)
and those an organisation loaded (`LoadedQuestionnaire`), found by canonical url (and version) or id."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Final

import orjson

from careweave.questionnaires.definitions import Definition, parse_questionnaire
from careweave.questionnaires.models import LoadedQuestionnaire

DATA: Final = Path(__file__).resolve().parent / "data"
#: the file that lists the licensed instruments CareWeave does not ship (not a Questionnaire)
LICENSED_LIST: Final = "licensed-instruments.json"


@functools.cache
def shipped() -> tuple[Definition, ...]:
    """The Questionnaires in `data/` (refused at first use if one lacks a licence or a source)."""
    found = []
    for path in sorted(DATA.glob("*.json")):
        if path.name == LICENSED_LIST:
            continue
        found.append(parse_questionnaire(json.loads(path.read_text(encoding="utf-8")), where=path.name))
    return tuple(found)


def licensed_not_shipped() -> list[dict[str, object]]:
    """The licensed instruments an organisation may load itself (MTBQ, EQ-5D, PACIC...)."""
    listing = json.loads((DATA / LICENSED_LIST).read_text(encoding="utf-8"))
    return list(listing["instruments"])


def _loaded(row: LoadedQuestionnaire) -> Definition:
    return parse_questionnaire(orjson.loads(row.body), where=f"Questionnaire/{row.logical_id}")


def all_definitions() -> list[Definition]:
    return [*shipped(), *(_loaded(row) for row in LoadedQuestionnaire.objects.order_by("pk"))]


def by_canonical(canonical: str) -> Definition | None:
    """`url` or `url|version`; without a version, the latest loaded (or the shipped one)."""
    url, _, version = canonical.partition("|")
    matches = [d for d in all_definitions() if d.url == url and (not version or d.version == version)]
    return matches[-1] if matches else None


def by_id(logical_id: str) -> Definition | None:
    return next((d for d in all_definitions() if d.logical_id == logical_id), None)


def current() -> list[Definition]:
    """One definition per url (the latest), active ones only: what may be sent to people."""
    latest: dict[str, Definition] = {}
    for d in all_definitions():
        if d.status == "active":
            latest[d.url] = d
    return list(latest.values())

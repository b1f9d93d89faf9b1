"""Continuity of care as reviewed data: the indices (formula, when undefined, source), how contacts
are ordered, which contacts from the record count, and the summary sentence's window.

Read from ``data/continuity.yaml`` with the shared schema checks (:class:`Document`). Django-free:
``careweave.population.continuity`` computes the indices and checks that it computes exactly the
indices listed here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._schema import Document
from .models import Code

CONTINUITY_FILE: Final = Path(__file__).resolve().parent / "data" / "continuity.yaml"
SCHEMA: Final = "careweave.terminology.continuity/1"


@dataclass(frozen=True)
class ContinuityIndex:
    id: str
    name: str
    formula: str
    undefined_when: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ContinuityDefinitions:
    indices: tuple[ContinuityIndex, ...]
    practice_indices: tuple[ContinuityIndex, ...]
    ordering: tuple[str, ...]
    encounter_classes: tuple[str, ...]
    encounter_statuses: tuple[str, ...]
    clinician_roles: frozenset[Code]
    last_appointments: int
    minimum_appointments: int
    sources: dict[str, tuple[str, ...]]
    version: str = ""

    def index(self, index_id: str) -> ContinuityIndex:
        for index in self.indices:
            if index.id == index_id:
                return index
        raise KeyError(index_id)


def _indices(doc: Document, block: str) -> tuple[ContinuityIndex, ...]:
    indices = []
    for path, entry in doc.entries(block):
        doc.keys(entry, path, ("id", "name", "formula", "undefined_when", "sources"))
        indices.append(
            ContinuityIndex(
                id=doc.identifier(entry, "id", path),
                name=doc.string(entry, "name", path),
                formula=doc.string(entry, "formula", path),
                undefined_when=doc.string(entry, "undefined_when", path),
                sources=doc.sources(entry, path),
            )
        )
    return tuple(indices)


@functools.lru_cache(maxsize=4)
def _load(file: Path) -> ContinuityDefinitions:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(("ordering", "contacts", "summary_sentence", "indices", "practice_indices"))
    ordering = doc.mapping(doc.root["ordering"], "ordering")
    doc.keys(ordering, "ordering", ("keys", "sources"))
    keys = doc.string_list(ordering, "keys", "ordering", allow_empty=False)
    if keys != ("date", "clinician"):
        raise doc.error("ordering.keys", "only [date, clinician] is supported (see ADR 0014)")
    contacts = doc.mapping(doc.root["contacts"], "contacts")
    doc.keys(contacts, "contacts", ("encounter_classes", "encounter_statuses", "clinician_roles", "sources"))
    sentence = doc.mapping(doc.root["summary_sentence"], "summary_sentence")
    doc.keys(sentence, "summary_sentence", ("last_appointments", "minimum_appointments", "sources"))
    indices, practice_indices = _indices(doc, "indices"), _indices(doc, "practice_indices")
    last = doc.integer(sentence, "last_appointments", "summary_sentence", minimum=1)
    minimum = doc.integer(sentence, "minimum_appointments", "summary_sentence", minimum=1)
    if minimum > last:
        raise doc.error("summary_sentence.minimum_appointments", "must not exceed last_appointments")
    return ContinuityDefinitions(
        indices=indices,
        practice_indices=practice_indices,
        ordering=keys,
        encounter_classes=doc.string_list(contacts, "encounter_classes", "contacts", allow_empty=False),
        encounter_statuses=doc.string_list(contacts, "encounter_statuses", "contacts", allow_empty=False),
        clinician_roles=doc.codes(contacts, "contacts", "clinician_roles"),
        last_appointments=last,
        minimum_appointments=minimum,
        sources={
            "ordering": doc.sources(ordering, "ordering"),
            "contacts": doc.sources(contacts, "contacts"),
            "summary_sentence": doc.sources(sentence, "summary_sentence"),
        },
        version=doc.version,
    )


def load_continuity(file: Path | str | None = None) -> ContinuityDefinitions:
    """The reviewed continuity definitions (cached per file)."""
    return _load(Path(file) if file is not None else CONTINUITY_FILE)

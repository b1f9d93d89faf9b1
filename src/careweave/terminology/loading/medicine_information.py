"""The loader of ``medicine_information.yaml``: "why am I taking this?" per medicine class (what it is
for, how to take it, what to look out for) and the conditions each class is usually for."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .._schema import Document
from ..models import MedicineClass
from .common import DATA_DIR, file_path
from .conditions import load_condition_library
from .medicines import load_medicine_classes

MEDICINE_INFORMATION_FILE = DATA_DIR / "medicine_information.yaml"


@dataclass(frozen=True)
class MedicineInformation:
    medicine_class: MedicineClass
    for_conditions: tuple[str, ...]
    what_for: str
    how_to_take: str
    look_out_for: str
    sources: tuple[str, ...]

    @property
    def sentence(self) -> str:
        """The note for the person: what it is for, how to take it, what to look out for."""
        return " ".join((self.what_for, self.how_to_take, self.look_out_for))


@functools.lru_cache(maxsize=4)
def _information(path: Path) -> tuple[MedicineInformation, ...]:
    doc = Document(path, "careweave.terminology.medicine_information/1")
    doc.check_root_keys(("medicine_information",))
    classes = {c.id: c for c in load_medicine_classes()}
    conditions = {c.id for c in load_condition_library().conditions}
    found: list[MedicineInformation] = []
    seen: set[str] = set()
    for entry_path, entry in doc.records(
        "medicine_information",
        ("class", "for_conditions", "what_for", "how_to_take", "look_out_for", "sources"),
    ):
        class_id = doc.string(entry, "class", entry_path)
        if class_id not in classes:
            raise doc.error(
                f"{entry_path}.class", f"unknown medicine class {class_id!r} (medicine_classes.yaml)"
            )
        if class_id in seen:
            raise doc.error(f"{entry_path}.class", f"medicine class {class_id!r} is described twice")
        seen.add(class_id)
        for_conditions = doc.string_list(entry, "for_conditions", entry_path, allow_empty=False)
        unknown = [c for c in for_conditions if c not in conditions]
        if unknown:
            raise doc.error(f"{entry_path}.for_conditions", f"unknown condition(s): {', '.join(unknown)}")
        found.append(
            MedicineInformation(
                medicine_class=classes[class_id],
                for_conditions=tuple(for_conditions),
                what_for=doc.string(entry, "what_for", entry_path),
                how_to_take=doc.string(entry, "how_to_take", entry_path),
                look_out_for=doc.string(entry, "look_out_for", entry_path),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(found)


def load_medicine_information(path: Path | str | None = None) -> tuple[MedicineInformation, ...]:
    return _information(file_path(path, MEDICINE_INFORMATION_FILE))


def information_for(system: str | None, code: str | None, display: str | None) -> MedicineInformation | None:
    """The first entry whose class the medicine is in (by code, else by an ingredient in its name)."""
    for entry in load_medicine_information():
        if entry.medicine_class.matches(system, code, display):
            return entry
    return None


def why_taking_text(system: str | None, code: str | None, display: str | None) -> str | None:
    """ "Why am I taking this?" for one medicine, or None when no class we describe covers it."""
    entry = information_for(system, code, display)
    return entry.sentence if entry is not None else None


class CodedMedicine(Protocol):
    system: str
    code: str


def why_taking(medicine: CodedMedicine) -> str | None:
    """ "Why am I taking this?" for a record row (``display``) or a review's medicine (``name``)."""
    name = getattr(medicine, "display", None) or getattr(medicine, "name", None) or ""
    return why_taking_text(medicine.system or None, medicine.code or None, name)

"""The loader of ``medicine_classes.yaml``: the medicine classes that condition medicine rules and the
medicines-review features count, widened through the loaded dm+d release."""

from __future__ import annotations

import functools
from pathlib import Path

from .. import releases
from .._schema import Document
from ..models import MedicineClass
from .common import MEDICINE_CLASSES_FILE, file_path


@functools.lru_cache(maxsize=8)
def _medicine_classes(path: Path) -> tuple[MedicineClass, ...]:
    doc = Document(path, "careweave.terminology.medicine_classes/1")
    doc.check_root_keys(("medicine_classes",))
    classes: list[MedicineClass] = []
    for entry_path, entry in doc.records(
        "medicine_classes", ("id", "name", "ingredients", "sources"), ("codes", "bnf", "note")
    ):
        ingredients = doc.string_list(entry, "ingredients", entry_path, allow_empty=False)
        if any(item != item.lower() for item in ingredients):
            raise doc.error(f"{entry_path}.ingredients", "ingredient names must be lowercase")
        classes.append(
            MedicineClass(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                # widened through the loaded dm+d release to every product sharing the ingredient (VTM)
                codes=releases.dmd_codes(doc.codes(entry, entry_path, allow_empty=True)).codes,
                ingredients=ingredients,
                bnf=doc.optional_string(entry, "bnf", entry_path),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(classes)


def load_medicine_classes(path: Path | str | None = None) -> tuple[MedicineClass, ...]:
    """Medicine classes used by condition medicine rules and medicines-review features."""
    return _medicine_classes(file_path(path, MEDICINE_CLASSES_FILE))

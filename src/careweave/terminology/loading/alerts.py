"""The loader of ``alerts.yaml``: the "no known allergy" codes and the kinds of alert a Flag can be, for
the top of the record summary."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .._schema import Document
from ..models import Code
from .common import DATA_DIR, file_path

ALERTS_FILE = DATA_DIR / "alerts.yaml"


@dataclass(frozen=True)
class NoKnownAllergy:
    """A code recording an assessed absence of allergy (all, or of one category such as drugs)."""

    id: str
    label: str
    codes: frozenset[Code]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class AlertKind:
    """What a Flag is, by its code or its FHIR flag category; ``prominent`` kinds are shown first."""

    id: str
    label: str
    prominent: bool
    codes: frozenset[Code]
    flag_categories: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Alerts:
    no_known_allergies: tuple[NoKnownAllergy, ...]
    kinds: tuple[AlertKind, ...]

    def no_known_allergy(self, system: str, code: str) -> NoKnownAllergy | None:
        return next((n for n in self.no_known_allergies if (system, code) in n.codes), None)

    def kind_of(self, system: str, code: str, category: str) -> AlertKind | None:
        """The first kind (in file order) the Flag's code, else its category, belongs to."""
        by_code = next((k for k in self.kinds if (system, code) in k.codes), None)
        return by_code or next((k for k in self.kinds if category and category in k.flag_categories), None)


@functools.lru_cache(maxsize=8)
def _alerts(path: Path) -> Alerts:
    doc = Document(path, "careweave.terminology.alerts/1")
    doc.check_root_keys(("no_known_allergies", "alert_kinds"))
    seen: dict[Code, str] = {}
    negations = []
    for entry_path, entry in doc.records(
        "no_known_allergies", ("id", "label", "codes", "sources"), ("note",)
    ):
        negations.append(
            NoKnownAllergy(
                id=doc.identifier(entry, "id", entry_path),
                label=doc.string(entry, "label", entry_path),
                codes=doc.codes(entry, entry_path, seen=seen),
                sources=doc.sources(entry, entry_path),
            )
        )
    kinds = []
    for entry_path, entry in doc.records(
        "alert_kinds", ("id", "label", "sources"), ("prominent", "codes", "flag_categories", "note")
    ):
        codes = doc.codes(entry, entry_path, seen=seen, allow_empty=True)
        categories = doc.string_list(entry, "flag_categories", entry_path)
        if not codes and not categories:
            raise doc.error(entry_path, "an alert kind needs codes or flag_categories")
        kinds.append(
            AlertKind(
                id=doc.identifier(entry, "id", entry_path),
                label=doc.string(entry, "label", entry_path),
                prominent=doc.boolean(entry, "prominent", entry_path) if "prominent" in entry else False,
                codes=codes,
                flag_categories=categories,
                sources=doc.sources(entry, entry_path),
            )
        )
    return Alerts(no_known_allergies=tuple(negations), kinds=tuple(kinds))


def load_alerts(path: Path | str | None = None) -> Alerts:
    """No-known-allergy codes and alert kinds (``terminology/data/alerts.yaml``)."""
    return _alerts(file_path(path, ALERTS_FILE))

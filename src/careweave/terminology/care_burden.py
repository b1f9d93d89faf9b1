"""The burden of care as reviewed data: the per-person measures and, for the duplicated-test flag,
each test (its codes from ``key_measurements.yaml``) with the interval within which a repeat at
another organisation is flagged, each with its citation. Read from ``data/care_burden.yaml``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from ._schema import Document
from .loading.monitoring import load_key_measurements
from .models import Code

CARE_BURDEN_FILE: Final = Path(__file__).resolve().parent / "data" / "care_burden.yaml"
SCHEMA: Final = "careweave.terminology.care_burden/1"


@dataclass(frozen=True)
class DuplicateTest:
    id: str
    label: str
    window_days: int
    codes: frozenset[Code]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CareBurdenRules:
    measures: tuple[str, ...]
    duplicate_tests: tuple[DuplicateTest, ...]
    sources: tuple[str, ...]
    version: str = ""


@functools.lru_cache(maxsize=4)
def _load(file: Path) -> CareBurdenRules:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(("measures", "duplicate_tests"))
    measures = doc.mapping(doc.root["measures"], "measures")
    doc.keys(measures, "measures", ("names", "sources"))
    known = {m.id: m for m in load_key_measurements()}
    tests = []
    for path, entry in doc.entries("duplicate_tests"):
        doc.keys(entry, path, ("id", "measurement", "window_days", "sources"))
        measurement = doc.string(entry, "measurement", path)
        if measurement not in known:
            raise doc.error(f"{path}.measurement", f"{measurement!r} is not a key measurement")
        tests.append(
            DuplicateTest(
                id=doc.identifier(entry, "id", path),
                label=known[measurement].label,
                window_days=doc.integer(entry, "window_days", path, minimum=1),
                codes=known[measurement].codes,
                sources=doc.sources(entry, path),
            )
        )
    return CareBurdenRules(
        measures=doc.string_list(measures, "names", "measures", allow_empty=False),
        duplicate_tests=tuple(tests),
        sources=doc.sources(measures, "measures"),
        version=doc.version,
    )


def load_care_burden(file: Path | str | None = None) -> CareBurdenRules:
    """The reviewed care-burden rules (cached per file)."""
    return _load(Path(file) if file is not None else CARE_BURDEN_FILE)

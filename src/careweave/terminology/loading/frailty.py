"""The loader of ``frailty_index.yaml``: the electronic Frailty Index (its deficits and categories), and
the codes of its falls deficit that the worklist feature ``falls`` counts.

A deficit's codes are its flat ``codes`` plus its ``code_groups`` (by concept, each with a reason); a
code belongs to one deficit only. ``left_out`` groups name codes a reference set counts under the
deficit that we deliberately do not (read by ``load_frailty_left_out``)."""

from __future__ import annotations

import functools
from pathlib import Path

from .._schema import CodeGroup, Document
from ..models import Code, FrailtyDeficit, FrailtyIndex
from .common import FRAILTY_FILE, file_path, release_codes
from .conditions import left_out_groups


@functools.lru_cache(maxsize=8)
def _frailty_index(path: Path) -> FrailtyIndex:
    doc = Document(path, "careweave.terminology.frailty_index/1")
    doc.check_root_keys(("deficits", "categories", "sources"))
    deficits: list[FrailtyDeficit] = []
    seen: dict[Code, str] = {}
    for entry_path, entry in doc.records(
        "deficits",
        ("id", "name"),
        ("codes", "min_distinct_medicines", "ecl", "note", "code_groups", "left_out"),
    ):
        min_medicines = doc.optional_integer(entry, "min_distinct_medicines", entry_path, minimum=1)
        if (min_medicines is None) == ("codes" not in entry):
            raise doc.error(entry_path, "a deficit needs either codes or min_distinct_medicines (not both)")
        codes = doc.grouped_codes(entry, entry_path, seen=seen, allow_empty=min_medicines is not None)
        left_out_groups(doc, entry, entry_path, codes)
        deficits.append(
            FrailtyDeficit(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                codes=release_codes(doc, entry, entry_path, codes),
                min_distinct_medicines=min_medicines,
            )
        )
    categories: list[tuple[str, float, float]] = []
    previous_upper: float | None = None
    for entry_path, entry in doc.records("categories", ("id", "lower_exclusive", "upper_inclusive")):
        lower, upper = entry["lower_exclusive"], entry["upper_inclusive"]
        if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in (lower, upper)):
            raise doc.error(entry_path, "category bounds must be numbers")
        if lower >= upper or (previous_upper is not None and lower != previous_upper):
            raise doc.error(entry_path, "categories must be contiguous and increasing")
        previous_upper = float(upper)
        categories.append((doc.identifier(entry, "id", entry_path), float(lower), float(upper)))
    return FrailtyIndex(
        deficits=tuple(deficits), categories=tuple(categories), sources=doc.sources(doc.root, "<root>")
    )


@functools.lru_cache(maxsize=8)
def _frailty_left_out(path: Path) -> dict[str, tuple[CodeGroup, ...]]:
    doc = Document(path, "careweave.terminology.frailty_index/1")
    result: dict[str, tuple[CodeGroup, ...]] = {}
    for entry_path, entry in doc.entries("deficits"):
        codes = doc.grouped_codes(entry, entry_path, allow_empty=True)
        result[doc.identifier(entry, "id", entry_path)] = left_out_groups(doc, entry, entry_path, codes)
    return result


def load_frailty_left_out(path: Path | str | None = None) -> dict[str, tuple[CodeGroup, ...]]:
    """Per deficit id, the codes deliberately left out of it (each group with its reason)."""
    return _frailty_left_out(file_path(path, FRAILTY_FILE))


def load_frailty_index(path: Path | str | None = None) -> FrailtyIndex:
    """The electronic Frailty Index: 36 deficits and the fit/mild/moderate/severe categories."""
    return _frailty_index(file_path(path, FRAILTY_FILE))


def load_fall_codes(path: Path | str | None = None) -> frozenset[Code]:
    """Codes recording a fall (the eFI 'falls' deficit), for the worklist feature ``falls``."""
    return load_frailty_index(path).deficit("falls").codes

"""The loader of ``units.yaml``: canonical units per code, the UCUM subset, aliases and conversions.

Every unit the file names is parsed at load time and every analyte's units and scales are checked to
convert to its canonical unit, so a typo fails the load (naming the file and field), not a reading.
The codes of the summary's key measurement with the same id (``key_measurements.yaml``, which merges
in the monitoring codes) are added to the analyte, so a reading the summary trends always has a
canonical unit: the two files cannot disagree.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .._schema import Document
from ..models import Code
from ..units import Analyte, Scale, Ucum, UnitError, UnitKnowledge
from .common import DATA_DIR, KEY_MEASUREMENTS_FILE, MONITORING_FILE, file_path
from .monitoring import load_key_measurements

UNITS_FILE = DATA_DIR / "units.yaml"


def _number(doc: Document, entry: dict[str, Any], key: str, path: str, *, positive: bool = True) -> float:
    value = entry.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or (positive and value <= 0):
        raise doc.error(
            f"{path}.{key}", f"expected a {'positive ' if positive else ''}number, found {value!r}"
        )
    return float(value)


def _ucum(doc: Document) -> Ucum:
    block = doc.mapping(doc.root.get("ucum"), "ucum")
    doc.keys(block, "ucum", ("prefixes", "base_units", "metric", "defined_units", "sources"))
    prefixes = doc.mapping(block["prefixes"], "ucum.prefixes")
    base = doc.mapping(block["base_units"], "ucum.base_units")
    defined: dict[str, tuple[float, str]] = {}
    for name, item in doc.mapping(block["defined_units"], "ucum.defined_units").items():
        path = f"ucum.defined_units.{name}"
        entry = doc.mapping(item, path)
        doc.keys(entry, path, ("factor", "unit"))
        defined[str(name)] = (_number(doc, entry, "factor", path), doc.string(entry, "unit", path))
    metric = doc.string_list(block, "metric", "ucum", allow_empty=False)
    unknown = [unit for unit in metric if unit not in base]
    if unknown:
        raise doc.error("ucum.metric", f"not a base unit: {', '.join(unknown)}")
    aliases_block = doc.mapping(doc.root.get("aliases"), "aliases")
    doc.keys(aliases_block, "aliases", ("map", "sources"))
    aliases = {
        str(k): doc.string(doc.mapping(aliases_block["map"], "aliases.map"), k, "aliases.map")
        for k in aliases_block["map"]
    }
    ucum = Ucum(
        prefixes={str(k): _number(doc, prefixes, k, "ucum.prefixes") for k in prefixes},
        base_units={str(k): doc.string(base, k, "ucum.base_units") for k in base},
        metric=frozenset(metric),
        defined_units=defined,
        aliases=aliases,
    )
    for name, (_factor, unit) in defined.items():
        _parsed(doc, ucum, unit, f"ucum.defined_units.{name}.unit")
    for name, unit in aliases.items():
        _parsed(doc, ucum, unit, f"aliases.map.{name}")
    return ucum


def _parsed(doc: Document, ucum: Ucum, unit: str, path: str) -> None:
    try:
        ucum.parse(unit)
    except UnitError as error:
        raise doc.error(path, f"{unit!r}: {error}") from None


def _scales(doc: Document, entry: dict[str, Any], path: str) -> tuple[Scale, ...]:
    items = entry.get("scales") or []
    if not isinstance(items, list):
        raise doc.error(f"{path}.scales", "expected a list")
    scales = []
    for index, item in enumerate(items):
        item_path = f"{path}.scales[{index}]"
        scale = doc.mapping(item, item_path)
        doc.keys(scale, item_path, ("unit", "name", "slope", "intercept"))
        scales.append(
            Scale(
                unit=doc.string(scale, "unit", item_path),
                name=doc.string(scale, "name", item_path),
                slope=_number(doc, scale, "slope", item_path),
                intercept=_number(doc, scale, "intercept", item_path, positive=False),
            )
        )
    return tuple(scales)


@functools.lru_cache(maxsize=8)
def _units(path: Path, key_measurements_path: Path, monitoring_path: Path) -> UnitKnowledge:
    doc = Document(path, "careweave.terminology.units/1")
    doc.check_root_keys(("ucum", "aliases", "analytes"))
    ucum = _ucum(doc)
    key_codes = {
        m.id: m.codes for m in load_key_measurements(key_measurements_path, monitoring_path=monitoring_path)
    }
    seen: dict[Code, str] = {}
    analytes: list[Analyte] = []
    for entry_path, entry in doc.records(
        "analytes",
        ("id", "name", "canonical_unit", "display_unit", "codes", "sources"),
        ("units", "scales", "molar_mass", "note"),
    ):
        codes = set(doc.codes(entry, entry_path, seen=seen))
        analyte_id = doc.identifier(entry, "id", entry_path)
        for code in sorted(key_codes.get(analyte_id, frozenset()) - codes):
            if code in seen:
                raise doc.error(
                    entry_path, f"key measurement code {code[1]} is already listed at {seen[code]}"
                )
            seen[code] = entry_path
            codes.add(code)
        analyte = Analyte(
            id=analyte_id,
            name=doc.string(entry, "name", entry_path),
            canonical_unit=doc.string(entry, "canonical_unit", entry_path),
            display_unit=doc.string(entry, "display_unit", entry_path),
            codes=frozenset(codes),
            sources=doc.sources(entry, entry_path),
            units=doc.string_list(entry, "units", entry_path),
            scales=_scales(doc, entry, entry_path),
            molar_mass=_number(doc, entry, "molar_mass", entry_path) if "molar_mass" in entry else None,
        )
        _check_analyte(doc, ucum, analyte, entry_path)
        analytes.append(analyte)
    missing = sorted(set(key_codes) - {a.id for a in analytes})
    if missing:
        raise doc.error("analytes", f"no canonical unit for the key measurement(s): {', '.join(missing)}")
    return UnitKnowledge(ucum=ucum, analytes=tuple(analytes), version=doc.version)


def _check_analyte(doc: Document, ucum: Ucum, analyte: Analyte, path: str) -> None:
    _parsed(doc, ucum, analyte.canonical_unit, f"{path}.canonical_unit")
    probe = UnitKnowledge(ucum=ucum, analytes=(analyte,))
    for index, unit in enumerate(analyte.units):
        _parsed(doc, ucum, unit, f"{path}.units[{index}]")
        if probe.to_canonical(analyte, 1.0, unit) is None:
            raise doc.error(
                f"{path}.units[{index}]", f"{unit!r} does not convert to {analyte.canonical_unit!r}"
            )
    for index, scale in enumerate(analyte.scales):
        if ucum.normalise(scale.unit) == analyte.canonical_unit:
            raise doc.error(f"{path}.scales[{index}].unit", "a scale cannot be the canonical unit")


def load_units(
    path: Path | str | None = None,
    *,
    key_measurements_path: Path | str | None = None,
    monitoring_path: Path | str | None = None,
) -> UnitKnowledge:
    """Canonical units per code and how to convert to them (``terminology/data/units.yaml``)."""
    return _units(
        file_path(path, UNITS_FILE),
        file_path(key_measurements_path, KEY_MEASUREMENTS_FILE),
        file_path(monitoring_path, MONITORING_FILE),
    )

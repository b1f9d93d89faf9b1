"""Units of measure: a value converted to the record's canonical unit for its code, never relabelled.

The knowledge (canonical units, UCUM prefixes and units, aliases, molar masses, the HbA1c master
equation) is reviewed data in ``data/units.yaml``, loaded by ``loading.units.load_units``; this module
is the arithmetic. A unit is parsed as UCUM terms joined by ``/`` (``mg/dL``, ``mL/min/{1.73_m2}``,
``kg/m2``), each a prefix and a unit with an optional exponent; annotations ``{...}`` are unity, as
UCUM defines them. A value converts when its unit has the canonical unit's dimension (the UCUM factors),
or differs by mass against substance with a molar mass given, or is one of the analyte's named scales
(HbA1c % NGSP/DCCT, by the IFCC-NGSP master equation). Anything else is ``UNRECOGNISED``: shown as
sent, flagged, left out of trends and of the population features.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from .models import Code

# The outcome of a conversion, stored beside the value as sent (record.Observation.unit_status).
NO_VALUE = ""  # no numeric value: nothing to convert
CANONICAL = "canonical"  # sent in the canonical unit
CONVERTED = "converted"  # converted to the canonical unit
NO_CANONICAL_UNIT = "no-canonical-unit"  # the code has no reviewed canonical unit: kept as sent only
UNRECOGNISED = "unrecognised"  # a unit that cannot be converted: shown as sent, flagged, not used
USABLE = frozenset({CANONICAL, CONVERTED})
"""Statuses whose canonical value trends and population features may use."""

UNRECOGNISED_NOTE = "unit not recognised: shown as sent"

UCUM_SYSTEM = "http://unitsofmeasure.org"

_ANNOTATION = re.compile(r"\{[^{}]*\}")
_TERM = re.compile(r"^(?P<unit>.*?[^0-9\-])(?P<exponent>-?[0-9]+)?$")


class UnitError(ValueError):
    """A unit the UCUM subset in ``units.yaml`` cannot parse."""


@dataclass(frozen=True)
class Magnitude:
    """A parsed unit: its size in base units and its dimension (sorted (dimension, exponent) pairs)."""

    factor: float
    dimension: tuple[tuple[str, int], ...]


def _magnitude(factor: float, dims: Mapping[str, int]) -> Magnitude:
    return Magnitude(factor, tuple(sorted((d, e) for d, e in dims.items() if e)))


@dataclass(frozen=True)
class Ucum:
    """The UCUM subset the converter understands, with the aliases senders use for its codes."""

    prefixes: Mapping[str, float]
    base_units: Mapping[str, str]
    metric: frozenset[str]
    defined_units: Mapping[str, tuple[float, str]]
    aliases: Mapping[str, str]

    def normalise(self, unit: str) -> str:
        text = unit.strip()
        return self.aliases.get(text, text)

    def parse(self, unit: str) -> Magnitude:
        """The size and dimension of ``unit`` (a UCUM code, aliases resolved); ``UnitError`` if unknown."""
        return self._parse(self.normalise(unit), depth=0)

    def _parse(self, text: str, depth: int) -> Magnitude:
        if not text:
            raise UnitError("no unit")
        factor = 1.0
        dims: Counter[str] = Counter()
        for index, term in enumerate(text.split("/")):
            if index == 0 and term == "" and len(text) > 1:
                continue  # "/min": a leading division
            size, term_dims = self._term(term, depth)
            sign = 1 if index == 0 else -1
            factor = factor * size if sign == 1 else factor / size
            for dim, exponent in term_dims.items():
                dims[dim] += sign * exponent
        return _magnitude(factor, dims)

    def _term(self, term: str, depth: int) -> tuple[float, Counter[str]]:
        bare = _ANNOTATION.sub("", term).strip()
        if not term.strip():
            raise UnitError("empty term")
        if bare in ("", "1"):  # an annotation alone is unity (UCUM)
            return 1.0, Counter()
        match = _TERM.match(bare)
        if match is None:
            raise UnitError(f"cannot read {term!r}")
        atom, exponent = match.group("unit"), int(match.group("exponent") or 1)
        size, dims = self._atom(atom, depth)
        return size**exponent, Counter({d: e * exponent for d, e in dims.items()})

    def _atom(self, atom: str, depth: int) -> tuple[float, Counter[str]]:
        if depth > 5:
            raise UnitError(f"{atom!r} is defined in a loop")
        if atom in self.base_units:
            return 1.0, Counter({self.base_units[atom]: 1})
        if atom in self.defined_units:
            factor, unit = self.defined_units[atom]
            inner = self._parse(unit, depth + 1)
            return factor * inner.factor, Counter(dict(inner.dimension))
        for prefix, value in self.prefixes.items():
            rest = atom[len(prefix) :]
            if atom.startswith(prefix) and rest in self.metric:
                size, dims = self._atom(rest, depth + 1)
                return value * size, dims
        raise UnitError(f"unknown unit {atom!r}")


@dataclass(frozen=True)
class Scale:
    """Another measurement scale for the same analyte: ``sent = slope * canonical + intercept``."""

    unit: str
    name: str
    slope: float
    intercept: float


@dataclass(frozen=True)
class Analyte:
    id: str
    name: str
    canonical_unit: str
    display_unit: str
    codes: frozenset[Code]
    sources: tuple[str, ...]
    units: tuple[str, ...] = ()  # when given, the only units accepted besides the scales
    scales: tuple[Scale, ...] = ()
    molar_mass: float | None = None  # g/mol: converts mass to substance concentration


class Conversion(NamedTuple):
    """A value in the canonical unit for its code (``value`` is None unless ``status`` is usable)."""

    value: float | None
    unit: str
    status: str

    @property
    def usable(self) -> bool:
        return self.status in USABLE


@dataclass(frozen=True)
class UnitKnowledge:
    ucum: Ucum
    analytes: tuple[Analyte, ...]
    version: str = ""
    _by_code: dict[Code, Analyte] = field(default_factory=dict, compare=False, repr=False)
    _transforms: dict[tuple[str, str], tuple[tuple[float, float], str] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for analyte in self.analytes:
            for code in analyte.codes:
                self._by_code[code] = analyte

    def analyte_for(self, system: str, code: str) -> Analyte | None:
        return self._by_code.get((system, code))

    def display(self, unit: str) -> str:
        """How a unit is written on screen: the analyte's display form of its canonical unit."""
        for analyte in self.analytes:
            if analyte.canonical_unit == unit:
                return analyte.display_unit
        return unit

    def convert(self, system: str, code: str, value: float | None, units: Iterable[str]) -> Conversion:
        """``value`` (sent in the first of ``units`` that converts: the UCUM code, then the unit text)
        in the canonical unit for (system, code)."""
        if value is None:
            return Conversion(None, "", NO_VALUE)
        analyte = self.analyte_for(system, code)
        if analyte is None:
            return Conversion(None, "", NO_CANONICAL_UNIT)
        for unit in units:
            found = self._transform(analyte, unit)
            if found is not None:
                (scale, offset), status = found
                return Conversion(value * scale + offset, analyte.canonical_unit, status)
        return Conversion(None, analyte.canonical_unit, UNRECOGNISED)

    def to_canonical(self, analyte: Analyte, value: float, unit: str) -> float | None:
        """``value`` in ``unit`` as the analyte's canonical unit, or None when it cannot be converted."""
        found = self._transform(analyte, unit)
        return None if found is None else value * found[0][0] + found[0][1]

    def _transform(self, analyte: Analyte, unit: str) -> tuple[tuple[float, float], str] | None:
        """canonical = value * scale + offset for a unit, worked out once per (analyte, unit) and kept."""
        key = (analyte.id, unit)
        if key not in self._transforms:
            line = self._line(analyte, self.ucum.normalise(unit))
            same = self.ucum.normalise(unit) == analyte.canonical_unit
            self._transforms[key] = None if line is None else (line, CANONICAL if same else CONVERTED)
        return self._transforms[key]

    def _line(self, analyte: Analyte, sent: str) -> tuple[float, float] | None:
        if not sent:
            return None
        for scale in analyte.scales:  # a scale is never converted by UCUM factors
            if sent == scale.unit:  # sent = slope * canonical + intercept
                return 1 / scale.slope, -scale.intercept / scale.slope
        if analyte.units and sent not in (analyte.canonical_unit, *analyte.units):
            return None
        try:
            have, want = self.ucum.parse(sent), self.ucum.parse(analyte.canonical_unit)
        except UnitError:
            return None
        ratio = have.factor / want.factor
        if have.dimension == want.dimension:
            return ratio, 0.0
        if analyte.molar_mass is None:
            return None
        difference = Counter(dict(have.dimension))
        difference.subtract(dict(want.dimension))
        spread = {d: e for d, e in difference.items() if e}
        if spread == {"mass": 1, "amount": -1}:  # sent as mass, canonical as substance
            return ratio / analyte.molar_mass, 0.0
        if spread == {"mass": -1, "amount": 1}:
            return ratio * analyte.molar_mass, 0.0
        return None

"""Home readings as reviewed data: what a person or their device may send, in which unit, the
plausible range, the default alert thresholds, the trend and silence rules and response times.

Read from ``data/home_readings.yaml`` (ADR 0018). Django-free: the FHIR importer refuses an
implausible home reading through :func:`reading_problems`, and ``careweave.monitoring`` evaluates
alerts from :func:`reading_values`.

The one convention for "this is a home reading" is :func:`is_home_reading`: an Observation in the
vital-signs category whose ``device`` is set, or whose ``performer`` is the Patient or a
RelatedPerson (the person or their carer took it), rather than a member of staff.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ._schema import Document

HOME_READINGS_FILE: Final = Path(__file__).resolve().parent / "data" / "home_readings.yaml"
SCHEMA: Final = "careweave.terminology.home_readings/1"
CATEGORY_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM: Final = "http://unitsofmeasure.org"
LOINC: Final = "http://loinc.org"
SEVERITIES: Final = ("check_in", "routine", "urgent")  # least to most severe


@dataclass(frozen=True)
class Measurement:
    id: str
    name: str
    codes: tuple[str, ...]  # LOINC; the first is the one CareWeave writes
    unit: str
    low: float
    high: float
    panel: str = ""
    components: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Threshold:
    id: str
    measurement: str
    applies_to: str  # "everyone" or a condition id
    ages: tuple[int, int]
    below: float | None
    at_or_above: float | None
    severity: str
    sources: tuple[str, ...]

    def broken_by(self, value: float) -> bool:
        return (self.below is not None and value < self.below) or (
            self.at_or_above is not None and value >= self.at_or_above
        )


@dataclass(frozen=True)
class Trend:
    id: str
    measurement: str
    applies_to: str
    rise: float
    days: int
    severity: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Silence:
    quiet_days: int
    lookback_days: int
    min_readings: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ResponseTime:
    severity: str
    hours: int
    priority: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class HomeReadingRules:
    measurements: dict[str, Measurement]
    thresholds: tuple[Threshold, ...]
    trends: tuple[Trend, ...]
    silence: Silence
    response_times: dict[str, ResponseTime]
    version: str

    @functools.cached_property
    def by_code(self) -> dict[str, Measurement]:
        return {code: m for m in self.measurements.values() for code in m.codes}

    @functools.cached_property
    def panels(self) -> dict[str, Measurement]:
        return {m.panel: m for m in self.measurements.values() if m.panel}


def _code(text: str) -> str:
    return text.split("|", 1)[0].strip()


def _number(doc: Document, entry: dict[str, Any], key: str, path: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise doc.error(f"{path}.{key}", f"expected a number, found {value!r}")
    return float(value)


def _measurements(doc: Document) -> dict[str, Measurement]:
    found: dict[str, Measurement] = {}
    for path, entry in doc.records(
        "measurements",
        ("id", "name", "sources"),
        ("code", "also", "unit", "plausible", "panel", "components"),
    ):
        mid = doc.identifier(entry, "id", path)
        if "panel" in entry:
            components = doc.string_list(entry, "components", path, allow_empty=False)
            found[mid] = Measurement(
                mid, doc.string(entry, "name", path), (), "", 0.0, 0.0,
                panel=_code(doc.string(entry, "panel", path)), components=components,
                sources=doc.sources(entry, path),
            )  # fmt: skip
            continue
        plausible = doc.mapping(entry.get("plausible"), f"{path}.plausible")
        doc.keys(plausible, f"{path}.plausible", ("low", "high"))
        low, high = _number(doc, plausible, "low", path), _number(doc, plausible, "high", path)
        if low is None or high is None or low >= high:
            raise doc.error(f"{path}.plausible", "low must be below high")
        codes = (doc.string(entry, "code", path), *doc.string_list(entry, "also", path))
        found[mid] = Measurement(
            mid, doc.string(entry, "name", path), tuple(_code(c) for c in codes),
            doc.string(entry, "unit", path), low, high, sources=doc.sources(entry, path),
        )  # fmt: skip
    for m in found.values():
        for component in m.components:
            if component not in found:
                raise doc.error(f"measurements({m.id}).components", f"unknown measurement {component!r}")
    return found


def _severity(doc: Document, entry: dict[str, Any], path: str) -> str:
    severity = doc.string(entry, "severity", path)
    if severity not in SEVERITIES:
        raise doc.error(f"{path}.severity", f"expected one of {', '.join(SEVERITIES)}")
    return severity


@functools.lru_cache(maxsize=4)
def load_home_readings(file: Path = HOME_READINGS_FILE) -> HomeReadingRules:
    doc = Document(file, SCHEMA)
    doc.check_root_keys(("measurements", "thresholds", "trends", "silence", "response_times"))
    measurements = _measurements(doc)
    thresholds = []
    for path, entry in doc.records(
        "thresholds", ("id", "measurement", "for", "ages", "severity", "sources"), ("below", "at_or_above")
    ):
        measurement = doc.string(entry, "measurement", path)
        if measurement not in measurements:
            raise doc.error(f"{path}.measurement", f"unknown measurement {measurement!r}")
        ages = entry.get("ages")
        if not (isinstance(ages, list) and len(ages) == 2 and all(isinstance(a, int) for a in ages)):
            raise doc.error(f"{path}.ages", "expected [youngest, oldest] in whole years")
        below, above = _number(doc, entry, "below", path), _number(doc, entry, "at_or_above", path)
        if below is None and above is None:
            raise doc.error(path, "a threshold needs below or at_or_above")
        thresholds.append(
            Threshold(
                doc.identifier(entry, "id", path),
                measurement,
                doc.string(entry, "for", path),
                (ages[0], ages[1]),
                below,
                above,
                _severity(doc, entry, path),
                doc.sources(entry, path),
            )  # fmt: skip
        )
    trends = []
    for path, entry in doc.records(
        "trends", ("id", "measurement", "for", "rise", "days", "severity", "sources")
    ):
        rise = _number(doc, entry, "rise", path)
        if rise is None or rise <= 0:
            raise doc.error(f"{path}.rise", "expected a positive number")
        trends.append(
            Trend(
                doc.identifier(entry, "id", path),
                doc.string(entry, "measurement", path),
                doc.string(entry, "for", path),
                rise,
                doc.integer(entry, "days", path, minimum=1),
                _severity(doc, entry, path),
                doc.sources(entry, path),
            )  # fmt: skip
        )
    raw = doc.mapping(doc.root["silence"], "silence")
    doc.keys(raw, "silence", ("quiet_days", "lookback_days", "min_readings", "sources"))
    silence = Silence(
        doc.integer(raw, "quiet_days", "silence", minimum=1),
        doc.integer(raw, "lookback_days", "silence", minimum=1),
        doc.integer(raw, "min_readings", "silence", minimum=1),
        doc.sources(raw, "silence"),
    )
    times = {}
    for path, entry in doc.records("response_times", ("id", "hours", "priority", "sources")):
        severity = doc.identifier(entry, "id", path)
        if severity not in SEVERITIES:
            raise doc.error(f"{path}.id", f"expected one of {', '.join(SEVERITIES)}")
        times[severity] = ResponseTime(
            severity, doc.integer(entry, "hours", path, minimum=1), doc.string(entry, "priority", path),
            doc.sources(entry, path),
        )  # fmt: skip
    missing = [s for s in SEVERITIES if s not in times]
    if missing:
        raise doc.error("response_times", f"missing severities: {', '.join(missing)}")
    return HomeReadingRules(measurements, tuple(thresholds), tuple(trends), silence, times, doc.version)


# -- the convention and the checks -----------------------------------------------------------------


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def is_home_reading(resource: Any) -> bool:
    """The one convention (ADR 0018): an Observation in the vital-signs category whose ``device`` is
    set, or whose ``performer`` includes the Patient or a RelatedPerson (the person or their carer)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        return False
    vital = any(
        c.get("system") == CATEGORY_SYSTEM and c.get("code") == "vital-signs"
        for category in resource.get("category") or []
        for c in _codings(category)
    )
    if not vital:
        return False
    if isinstance(resource.get("device"), dict) and resource["device"]:
        return True
    return any(
        isinstance(p, dict) and str(p.get("reference") or "").split("/")[0] in ("Patient", "RelatedPerson")
        for p in resource.get("performer") or []
    )


def _loinc(concept: Any) -> str | None:
    return next((str(c.get("code")) for c in _codings(concept) if c.get("system") == LOINC), None)


def _parts(resource: dict[str, Any], rules: HomeReadingRules) -> list[tuple[str, Measurement | None, Any]]:
    """(element path, measurement, valueQuantity) for each value the reading carries."""
    code = _loinc(resource.get("code"))
    panel = rules.panels.get(code or "")
    if panel is None:
        return [("valueQuantity", rules.by_code.get(code or ""), resource.get("valueQuantity"))]
    found = []
    for i, component in enumerate(resource.get("component") or []):
        if isinstance(component, dict):
            m = rules.by_code.get(_loinc(component.get("code")) or "")
            found.append((f"component[{i}].valueQuantity", m, component.get("valueQuantity")))
    return found


def reading_problems(resource: Any, rules: HomeReadingRules | None = None) -> list[tuple[str, str]]:
    """(element path, message) for each problem of a home reading: a measurement not taken at home,
    a missing value, a unit other than the UCUM one, a value outside the plausible range. Empty for
    anything that is not a home reading (:func:`is_home_reading`)."""
    if not is_home_reading(resource):
        return []
    rules = rules or load_home_readings()
    problems: list[tuple[str, str]] = []
    parts = _parts(resource, rules)
    taken = ", ".join(m.name.lower() for m in rules.measurements.values())
    if not parts:
        return [("component", "a blood pressure panel needs its systolic and diastolic components")]
    for path, measurement, quantity in parts:
        if measurement is None:
            where = path.removesuffix(".valueQuantity") + ".code"
            problems.append((where, f"is not a LOINC code of a home reading CareWeave takes ({taken})"))
            continue
        if not isinstance(quantity, dict) or not isinstance(quantity.get("value"), int | float):
            problems.append((path, f"{measurement.name}: a value in {measurement.unit} is required"))
            continue
        if quantity.get("system") != UCUM or quantity.get("code") != measurement.unit:
            problems.append(
                (f"{path}.code", f"{measurement.name} must be in UCUM '{measurement.unit}' ({UCUM})")
            )
            continue
        value = float(quantity["value"])
        if not measurement.low <= value <= measurement.high:
            problems.append(
                (
                    f"{path}.value",
                    f"{measurement.name} of {value:g} {measurement.unit} is not a plausible reading "
                    f"(accepted {measurement.low:g} to {measurement.high:g}): check the reading and send it again",
                )
            )
    return problems


def reading_values(resource: Any, rules: HomeReadingRules | None = None) -> list[tuple[str, float]]:
    """(measurement id, value) for each value of a valid home reading (a panel gives several)."""
    if not is_home_reading(resource):
        return []
    rules = rules or load_home_readings()
    return [
        (m.id, float(q["value"]))
        for _path, m, q in _parts(resource, rules)
        if m is not None and isinstance(q, dict) and isinstance(q.get("value"), int | float)
    ]

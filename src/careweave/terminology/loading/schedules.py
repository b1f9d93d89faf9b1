"""Monitoring schedules as data: the checks (what counts as a test done), the stages a schedule
depends on (a band of the latest value of a check, or of age), intervals, and the scheduled checks
of ``monitoring.yaml`` (by condition) and ``drug_monitoring.yaml`` (by medicine class).

The types and the parsing both files share live here; each file's loader is its own module
(:mod:`.monitoring`, :mod:`.drug_monitoring`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._schema import SYSTEM_ALIASES, Document
from ..models import CitedCodeList, Code

IntervalUnit = Literal["month", "week", "day"]
StageMeasure = Literal["latest_value", "age"]
ScheduleKind = Literal["condition", "drug"]

_UNIT_KEYS: dict[str, IntervalUnit] = {"interval_months": "month", "interval_weeks": "week"}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same calendar day ``months`` earlier (negative: later), clamped to a shorter month's end."""
    year_offset, month_index = divmod(day.month - 1 - months, 12)
    year = day.year + year_offset
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Interval:
    """How often a check is due: ``count`` months, weeks or days."""

    count: int
    unit: IntervalUnit

    def window_start(self, as_of: dt.date) -> dt.date:
        """The exclusive lower bound of the window ending on ``as_of``: a check on or before it is
        outside the interval (months: the same calendar day N months before, clamped)."""
        if self.unit == "month":
            return months_before(as_of, self.count)
        return as_of - dt.timedelta(days=self.count * (7 if self.unit == "week" else 1))

    def overdue_from(self, last: dt.date) -> dt.date:
        """The first reference date on which a check done on ``last`` is outside the interval."""
        if self.unit != "month":
            return last + dt.timedelta(days=self.count * (7 if self.unit == "week" else 1))
        day = months_before(last, -self.count)
        while months_before(day, self.count) < last:  # a clamped month end: the next days
            day += dt.timedelta(days=1)
        return day

    @property
    def approximate_days(self) -> int:
        return round(self.count * {"month": 365.25 / 12, "week": 7.0, "day": 1.0}[self.unit])

    @property
    def text(self) -> str:
        """``every 6 months``, ``every month``, ``every 12 weeks``."""
        return f"every {self.unit}" if self.count == 1 else f"every {self.count} {self.unit}s"


@dataclass(frozen=True)
class MonitoringCheck(CitedCodeList):
    """A check (HbA1c, renal function, lithium level...): an observation with one of ``codes``."""


@dataclass(frozen=True)
class StageBand:
    """A band of a stage: ``low`` <= value < ``high`` (either end open when None)."""

    id: str
    label: str
    low: float | None
    high: float | None

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value < self.high)


@dataclass(frozen=True)
class MonitoringStage:
    """A person's stage for a schedule: the band of their latest value (``values``: the codes read,
    each with the factor to the stage's unit; at one time the most severe, last listed, band wins),
    or of their age. Bands are listed from least to most severe."""

    id: str
    name: str
    measure: StageMeasure
    unit: str
    values: tuple[tuple[Code, float], ...]
    bands: tuple[StageBand, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleRow:
    """A stage-dependent interval: applies when every ``when`` stage is in one of its bands and, for a
    drug, the earliest issue in the record is within ``started_within_months``."""

    interval: Interval
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    started_within_months: int | None = None


@dataclass(frozen=True)
class ScheduledCheck:
    """One rule: people with ``subject`` (a condition id, or a medicine class id for a current drug)
    are due ``check`` at the first ``by_stage`` row that applies, else at ``interval``."""

    id: str
    kind: ScheduleKind
    subject: str
    check: MonitoringCheck
    interval: Interval
    by_stage: tuple[ScheduleRow, ...]
    sources: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def rows(self) -> tuple[ScheduleRow, ...]:
        """The rows in the order they are tried, the default (unconditional) one last."""
        return (*self.by_stage, ScheduleRow(self.interval))


@dataclass(frozen=True)
class MonitoringSchedules:
    """Every scheduled check (condition and drug), with the checks and stages they use."""

    checks: tuple[MonitoringCheck, ...]
    stages: tuple[MonitoringStage, ...]
    rules: tuple[ScheduledCheck, ...]
    #: A drug is current when issued within this many months before the reference date.
    current_issue_months: int = 6
    version: str = ""

    def check(self, check_id: str) -> MonitoringCheck:
        return next(c for c in self.checks if c.id == check_id)


# -- parsing shared by both files ------------------------------------------------------------------


def parse_checks(doc: Document, existing: Sequence[MonitoringCheck] = ()) -> tuple[MonitoringCheck, ...]:
    """The ``checks`` block (optional when ``existing`` is given); ids unique across both."""
    if "checks" not in doc.root and existing:
        return ()
    taken = {c.id for c in existing}
    checks: list[MonitoringCheck] = []
    for path, entry in doc.records("checks", ("id", "name", "observation_codes", "sources"), ("note",)):
        check_id = doc.identifier(entry, "id", path)
        if check_id in taken:
            raise doc.error(f"{path}.id", f"check {check_id!r} is already defined in monitoring.yaml")
        checks.append(
            MonitoringCheck(
                id=check_id,
                name=doc.string(entry, "name", path),
                codes=doc.codes(entry, path, "observation_codes"),
                sources=doc.sources(entry, path),
            )
        )
    return tuple(checks)


def _number(doc: Document, entry: Mapping[str, Any], key: str, path: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise doc.error(f"{path}.{key}", f"expected a number, found {value!r}")
    return float(value)


def _bands(doc: Document, entry: Mapping[str, Any], path: str) -> tuple[StageBand, ...]:
    bands: list[StageBand] = []
    for band_path, band in doc.nested_records(
        entry,
        "bands",
        path,
        what="bands ({id, label, min?, below?})",
        required=("id", "label"),
        optional=("min", "below"),
    ):
        low, high = _number(doc, band, "min", band_path), _number(doc, band, "below", band_path)
        if low is not None and high is not None and low >= high:
            raise doc.error(band_path, f"min {low} is not below {high}")
        band_id = doc.identifier(band, "id", band_path)
        if band_id in {b.id for b in bands}:
            raise doc.error(f"{band_path}.id", f"duplicate band {band_id!r}")
        bands.append(StageBand(band_id, doc.string(band, "label", band_path), low, high))
    return tuple(bands)


def parse_stages(
    doc: Document, checks: Mapping[str, MonitoringCheck], existing: Sequence[MonitoringStage] = ()
) -> tuple[MonitoringStage, ...]:
    """The optional ``stages`` block; a value stage reads the codes of named checks."""
    if "stages" not in doc.root:
        return ()
    taken = {s.id for s in existing}
    stages: list[MonitoringStage] = []
    for path, entry in doc.records(
        "stages", ("id", "name", "measure", "unit", "bands", "sources"), ("values", "note")
    ):
        stage_id = doc.identifier(entry, "id", path)
        if stage_id in taken:
            raise doc.error(f"{path}.id", f"stage {stage_id!r} is already defined")
        measure = doc.string(entry, "measure", path)
        values: list[tuple[Code, float]] = []
        if measure == "latest_value":
            raw = entry.get("values")
            if not isinstance(raw, list) or not raw:
                raise doc.error(f"{path}.values", "a latest_value stage lists the checks it reads")
            for index, item in enumerate(raw):
                value_path = f"{path}.values[{index}]"
                value = doc.mapping(item, value_path)
                doc.keys(value, value_path, ("check",), ("system", "factor"))
                check_id = doc.string(value, "check", value_path)
                if check_id not in checks:
                    raise doc.error(f"{value_path}.check", f"unknown check {check_id!r}")
                alias = doc.optional_string(value, "system", value_path)
                if alias is not None and alias not in SYSTEM_ALIASES:
                    raise doc.error(f"{value_path}.system", f"unknown code system {alias!r}")
                factor = _number(doc, value, "factor", value_path) or 1.0
                system = SYSTEM_ALIASES[alias] if alias else None
                values += [(c, factor) for c in sorted(checks[check_id].codes) if system in (None, c[0])]
        elif measure == "age":
            if "values" in entry:
                raise doc.error(f"{path}.values", "an age stage reads no values")
        else:
            raise doc.error(f"{path}.measure", f"expected latest_value or age, found {measure!r}")
        if len({code for code, _ in values}) != len(values):
            raise doc.error(f"{path}.values", "a code is read twice")
        stages.append(
            MonitoringStage(
                id=stage_id,
                name=doc.string(entry, "name", path),
                measure="age" if measure == "age" else "latest_value",
                unit=doc.string(entry, "unit", path),
                values=tuple(values),
                bands=_bands(doc, entry, path),
                sources=doc.sources(entry, path),
            )
        )
    return tuple(stages)


def parse_interval(doc: Document, entry: Mapping[str, Any], path: str) -> Interval:
    """Exactly one of ``interval_months`` or ``interval_weeks``."""
    given = [key for key in _UNIT_KEYS if key in entry]
    if len(given) != 1:
        raise doc.error(path, "expected exactly one of interval_months, interval_weeks")
    return Interval(doc.integer(entry, given[0], path, minimum=1), _UNIT_KEYS[given[0]])


def parse_by_stage(
    doc: Document,
    entry: Mapping[str, Any],
    path: str,
    stages: Mapping[str, MonitoringStage],
    *,
    allow_started: bool,
) -> tuple[ScheduleRow, ...]:
    """The optional ``by_stage`` rows: ``when`` (stage -> bands) and, for drugs, ``started_within_months``."""
    if entry.get("by_stage") is None:
        return ()
    optional = ("when", "started_within_months") if allow_started else ("when",)
    rows: list[ScheduleRow] = []
    for row_path, row in doc.nested_records(
        entry, "by_stage", path, what="rows", required=(), optional=(*optional, *_UNIT_KEYS)
    ):
        when: list[tuple[str, tuple[str, ...]]] = []
        for stage_id in doc.mapping(row.get("when", {}), f"{row_path}.when"):
            stage = stages.get(str(stage_id))
            if stage is None:
                raise doc.error(f"{row_path}.when", f"unknown stage {stage_id!r}")
            names = doc.string_list(row["when"], str(stage_id), f"{row_path}.when", allow_empty=False)
            unknown = sorted(set(names) - {b.id for b in stage.bands})
            if unknown:
                raise doc.error(f"{row_path}.when.{stage_id}", f"unknown band(s) {', '.join(unknown)}")
            when.append((stage.id, names))
        started = doc.optional_integer(row, "started_within_months", row_path, minimum=1)
        if not when and started is None:
            raise doc.error(row_path, "a by_stage row needs a when (or started_within_months)")
        rows.append(ScheduleRow(parse_interval(doc, row, row_path), tuple(when), started))
    return tuple(rows)

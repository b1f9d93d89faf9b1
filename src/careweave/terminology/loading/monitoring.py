"""The loaders of ``monitoring.yaml`` (per-condition monitoring schedules and the shared checks) and
``key_measurements.yaml`` (the record summary's measurements, with the monitoring codes they show)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from .._schema import Document
from ..models import Code, KeyMeasurement, MonitoringRequirement
from .common import CONDITIONS_FILE, KEY_MEASUREMENTS_FILE, MONITORING_FILE, file_path
from .conditions import load_condition_library
from .schedules import (
    MonitoringCheck,
    MonitoringStage,
    ScheduledCheck,
    parse_by_stage,
    parse_checks,
    parse_interval,
    parse_stages,
)


@dataclass(frozen=True)
class ConditionSchedules:
    """``monitoring.yaml``: the checks, the stages and the condition rules."""

    checks: tuple[MonitoringCheck, ...]
    stages: tuple[MonitoringStage, ...]
    rules: tuple[ScheduledCheck, ...]
    version: str


@functools.lru_cache(maxsize=8)
def _schedules(path: Path, conditions_path: Path) -> ConditionSchedules:
    doc = Document(path, "careweave.terminology.monitoring/2")
    doc.check_root_keys(("checks", "requirements"), ("stages",))
    condition_ids = {condition.id for condition in load_condition_library(conditions_path).conditions}
    checks = parse_checks(doc)
    by_id = {c.id: c for c in checks}
    stages = parse_stages(doc, by_id)
    stage_ids = {s.id: s for s in stages}
    rules: list[ScheduledCheck] = []
    seen_pairs: set[tuple[str, str]] = set()
    for entry_path, entry in doc.records(
        "requirements",
        ("id", "condition_id", "check", "sources"),
        ("interval_months", "interval_weeks", "by_stage", "note"),
    ):
        condition_id = doc.string(entry, "condition_id", entry_path)
        if condition_id not in condition_ids:
            raise doc.error(f"{entry_path}.condition_id", f"unknown condition {condition_id!r}")
        check_id = doc.string(entry, "check", entry_path)
        if check_id not in by_id:
            raise doc.error(f"{entry_path}.check", f"unknown check {check_id!r}")
        if (condition_id, check_id) in seen_pairs:
            raise doc.error(entry_path, f"duplicate requirement {check_id!r} for {condition_id}")
        seen_pairs.add((condition_id, check_id))
        rules.append(
            ScheduledCheck(
                id=doc.identifier(entry, "id", entry_path),
                kind="condition",
                subject=condition_id,
                check=by_id[check_id],
                interval=parse_interval(doc, entry, entry_path),
                by_stage=parse_by_stage(doc, entry, entry_path, stage_ids, allow_started=False),
                sources=doc.sources(entry, entry_path),
            )
        )
    return ConditionSchedules(checks, stages, tuple(rules), doc.version)


def load_condition_schedules(
    path: Path | str | None = None, *, conditions_path: Path | str | None = None
) -> ConditionSchedules:
    """The condition monitoring schedules (stage-dependent where the guideline is), with the checks
    and stages that ``drug_monitoring.yaml`` shares."""
    return _schedules(file_path(path, MONITORING_FILE), file_path(conditions_path, CONDITIONS_FILE))


def load_monitoring_requirements(
    path: Path | str | None = None, *, conditions_path: Path | str | None = None
) -> tuple[MonitoringRequirement, ...]:
    """Per-condition monitoring flattened to one interval each (the default, when no stage row
    applies), for readers that need only the codes and a rough interval (the record summary's key
    measurements, the synthetic generator's boundary dates). Population features use the schedules."""
    return tuple(
        MonitoringRequirement(
            condition_id=rule.subject,
            observation_codes=rule.check.codes,
            name=rule.name,
            interval_days=rule.interval.approximate_days,
            sources=rule.sources,
        )
        for rule in load_condition_schedules(path, conditions_path=conditions_path).rules
    )


# -- key measurements (record summary) ---------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _key_measurements(path: Path, monitoring_path: Path) -> tuple[KeyMeasurement, ...]:
    doc = Document(path, "careweave.terminology.key_measurements/1")
    doc.check_root_keys(("measurements",))
    by_name: dict[str, set[Code]] = {}
    for requirement in load_monitoring_requirements(monitoring_path):
        by_name.setdefault(requirement.name, set()).update(requirement.observation_codes)
    seen: dict[Code, str] = {}
    measurements: list[KeyMeasurement] = []
    for entry_path, entry in doc.records(
        "measurements", ("id", "label", "codes", "sources"), ("monitoring", "note")
    ):
        monitoring = doc.string_list(entry, "monitoring", entry_path)
        unknown = [name for name in monitoring if name not in by_name]
        if unknown:
            raise doc.error(
                f"{entry_path}.monitoring", f"unknown monitoring requirement(s): {', '.join(unknown)}"
            )
        codes = set(doc.codes(entry, entry_path, seen=seen))
        for name in monitoring:
            for code in sorted(by_name[name] - codes):
                owner = seen.get(code)
                if owner is not None and owner != entry_path:
                    raise doc.error(
                        f"{entry_path}.monitoring", f"{name} code {code[1]} is already shown at {owner}"
                    )
                seen[code] = entry_path
                codes.add(code)
        measurements.append(
            KeyMeasurement(
                id=doc.identifier(entry, "id", entry_path),
                label=doc.string(entry, "label", entry_path),
                codes=frozenset(codes),
                monitoring=monitoring,
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(measurements)


def load_key_measurements(
    path: Path | str | None = None, *, monitoring_path: Path | str | None = None
) -> tuple[KeyMeasurement, ...]:
    """Measurements on the record summary (latest value, trend), each with the codes of the monitoring
    requirements it shows merged in, so monitoring that counts is always visible."""
    return _key_measurements(
        file_path(path, KEY_MEASUREMENTS_FILE), file_path(monitoring_path, MONITORING_FILE)
    )

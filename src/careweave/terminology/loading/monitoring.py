"""The loaders of ``monitoring.yaml`` (per-condition monitoring, for overdue-monitoring lists) and
``key_measurements.yaml`` (the record summary's measurements, with the monitoring codes they show)."""

from __future__ import annotations

import functools
from pathlib import Path

from .._schema import Document
from ..models import Code, KeyMeasurement, MonitoringRequirement
from .common import CONDITIONS_FILE, KEY_MEASUREMENTS_FILE, MONITORING_FILE, file_path
from .conditions import load_condition_library


@functools.lru_cache(maxsize=8)
def _monitoring(path: Path, conditions_path: Path) -> tuple[MonitoringRequirement, ...]:
    doc = Document(path, "careweave.terminology.monitoring/1")
    doc.check_root_keys(("requirements",))
    condition_ids = {condition.id for condition in load_condition_library(conditions_path).conditions}
    requirements: list[MonitoringRequirement] = []
    seen_pairs: set[tuple[str, str]] = set()
    for entry_path, entry in doc.entries("requirements"):
        doc.keys(
            entry,
            entry_path,
            ("condition_id", "name", "observation_codes", "interval_days", "sources"),
            ("note",),
        )
        condition_id = doc.string(entry, "condition_id", entry_path)
        if condition_id not in condition_ids:
            raise doc.error(f"{entry_path}.condition_id", f"unknown condition {condition_id!r}")
        name = doc.string(entry, "name", entry_path)
        if (condition_id, name) in seen_pairs:
            raise doc.error(entry_path, f"duplicate requirement {name!r} for {condition_id}")
        seen_pairs.add((condition_id, name))
        requirements.append(
            MonitoringRequirement(
                condition_id=condition_id,
                observation_codes=doc.codes(entry, entry_path, "observation_codes"),
                name=name,
                interval_days=doc.integer(entry, "interval_days", entry_path, minimum=1),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(requirements)


def load_monitoring_requirements(
    path: Path | str | None = None, *, conditions_path: Path | str | None = None
) -> tuple[MonitoringRequirement, ...]:
    """Per-condition monitoring (e.g. HbA1c every 12 months in diabetes) for overdue-monitoring lists."""
    return _monitoring(file_path(path, MONITORING_FILE), file_path(conditions_path, CONDITIONS_FILE))


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
    for entry_path, entry in doc.entries("measurements"):
        doc.keys(entry, entry_path, ("id", "label", "codes", "sources"), ("monitoring", "note"))
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

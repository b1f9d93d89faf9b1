"""The loader of ``drug_monitoring.yaml`` (blood tests a current drug calls for), and of every
monitoring schedule together: the condition schedules of ``monitoring.yaml`` and the drug ones."""

from __future__ import annotations

import functools
from pathlib import Path

from .._schema import Document
from .common import (
    CONDITIONS_FILE,
    DATA_DIR,
    MEDICINE_CLASSES_FILE,
    MONITORING_FILE,
    file_path,
)
from .medicines import load_medicine_classes
from .monitoring import load_condition_schedules
from .schedules import (
    MonitoringSchedules,
    ScheduledCheck,
    parse_by_stage,
    parse_checks,
    parse_interval,
    parse_stages,
)

DRUG_MONITORING_FILE = DATA_DIR / "drug_monitoring.yaml"


@functools.lru_cache(maxsize=8)
def _schedules(
    path: Path, monitoring_path: Path, conditions_path: Path, medicine_classes_path: Path
) -> MonitoringSchedules:
    conditions = load_condition_schedules(monitoring_path, conditions_path=conditions_path)
    doc = Document(path, "careweave.terminology.drug_monitoring/1")
    doc.check_root_keys(("current_issue", "requirements"), ("checks", "stages"))
    current = doc.mapping(doc.root["current_issue"], "current_issue")
    doc.keys(current, "current_issue", ("months", "sources"))
    current_months = doc.integer(current, "months", "current_issue", minimum=1)
    class_ids = {m.id for m in load_medicine_classes(medicine_classes_path)}
    checks = (*conditions.checks, *parse_checks(doc, conditions.checks))
    by_id = {c.id: c for c in checks}
    stages = (*conditions.stages, *parse_stages(doc, by_id, conditions.stages))
    stage_ids = {s.id: s for s in stages}
    rules: list[ScheduledCheck] = []
    taken = {rule.id for rule in conditions.rules}
    for entry_path, entry in doc.records(
        "requirements",
        ("id", "medicine_class", "checks", "sources"),
        ("interval_months", "interval_weeks", "by_stage", "note"),
    ):
        requirement_id = doc.identifier(entry, "id", entry_path)
        medicine_class = doc.string(entry, "medicine_class", entry_path)
        if medicine_class not in class_ids:
            raise doc.error(
                f"{entry_path}.medicine_class", f"unknown medicine class {medicine_class!r} (medicine_classes.yaml)"
            )
        check_ids = doc.string_list(entry, "checks", entry_path, allow_empty=False)
        unknown = [c for c in check_ids if c not in by_id]
        if unknown:
            raise doc.error(f"{entry_path}.checks", f"unknown check(s) {', '.join(unknown)}")
        interval = parse_interval(doc, entry, entry_path)
        by_stage = parse_by_stage(doc, entry, entry_path, stage_ids, allow_started=True)
        sources = doc.sources(entry, entry_path)
        for check_id in check_ids:
            rule_id = requirement_id if len(check_ids) == 1 else f"{requirement_id}.{check_id}"
            if rule_id in taken:
                raise doc.error(f"{entry_path}.id", f"duplicate requirement id {rule_id!r}")
            taken.add(rule_id)
            rules.append(
                ScheduledCheck(
                    id=rule_id,
                    kind="drug",
                    subject=medicine_class,
                    check=by_id[check_id],
                    interval=interval,
                    by_stage=by_stage,
                    sources=sources,
                )
            )
    return MonitoringSchedules(
        checks=checks,
        stages=stages,
        rules=(*conditions.rules, *rules),
        current_issue_months=current_months,
        version=f"{conditions.version};{doc.version}",
    )


def load_monitoring_schedules(
    path: Path | str | None = None,
    *,
    monitoring_path: Path | str | None = None,
    conditions_path: Path | str | None = None,
    medicine_classes_path: Path | str | None = None,
) -> MonitoringSchedules:
    """Every monitoring schedule: by condition (``monitoring.yaml``) then by drug (``path``,
    default ``drug_monitoring.yaml``), sharing one set of checks and stages."""
    return _schedules(
        file_path(path, DRUG_MONITORING_FILE),
        file_path(monitoring_path, MONITORING_FILE),
        file_path(conditions_path, CONDITIONS_FILE),
        file_path(medicine_classes_path, MEDICINE_CLASSES_FILE),
    )

"""The loader of ``review_planning.yaml``: the consolidated review planner's knowledge (horizon and
tolerance window, the laboratory test each check is, the clinician type each condition or drug
needs, the slot rules, the phlebotomy lead time and the usual clinician's look-back).

The file is read against both monitoring schedule files: every check must be a laboratory test or a
review check (exactly one), and every subject of a schedule must have a clinician type, so a check or
a schedule added later cannot be silently left out of the plan.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from .._schema import Document
from .common import DATA_DIR, file_path
from .drug_monitoring import load_monitoring_schedules
from .schedules import MonitoringSchedules

REVIEW_PLANNING_FILE = DATA_DIR / "review_planning.yaml"

ClinicianType = Literal["nurse", "pharmacist", "gp"]
CLINICIAN_TYPES: tuple[ClinicianType, ...] = ("nurse", "pharmacist", "gp")
Sample = Literal["blood", "urine"]
#: What a double-slot rule reads: a feature column, a need the record supplies, or the number of areas.
NEEDS = ("interpreter", "reasonable_adjustment")


@dataclass(frozen=True)
class LaboratoryTest:
    """One test the laboratory is asked for, answering ``checks``."""

    id: str
    name: str
    sample: Sample
    checks: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class DoubleSlotRule:
    """A reason for a double slot: exactly one of ``areas_at_least``, ``feature`` or ``need``."""

    id: str
    label: str
    areas_at_least: int | None
    feature: str | None
    need: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ReviewPlanning:
    horizon_weeks: int
    tolerance_months: int
    tests: tuple[LaboratoryTest, ...]
    review_checks: tuple[str, ...]
    clinician_by_subject: Mapping[str, ClinicianType]
    combined_clinician: ClinicianType
    standard_minutes: int
    double_minutes: int
    double_slot_rules: tuple[DoubleSlotRule, ...]
    phlebotomy_working_days: int
    usual_clinician_months: int
    #: The ServiceRequest's category coding (system, code, display) and intent.
    requisition_category: tuple[str, str, str]
    requisition_intent: str
    version: str

    @property
    def test_of_check(self) -> dict[str, str]:
        """check id -> laboratory test id (review checks have none)."""
        return {check: test.id for test in self.tests for check in test.checks}

    def test(self, test_id: str) -> LaboratoryTest:
        return next(t for t in self.tests if t.id == test_id)


def _clinician(doc: Document, entry: Mapping[str, Any], key: str, path: str) -> ClinicianType:
    value = doc.string(entry, key, path)
    for known in CLINICIAN_TYPES:
        if value == known:
            return known
    raise doc.error(f"{path}.{key}", f"expected one of {', '.join(CLINICIAN_TYPES)}, found {value!r}")


def _block(
    doc: Document, key: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    block = doc.mapping(doc.root[key], key)
    doc.keys(block, key, (*required, "sources"), ("note", *optional))
    doc.sources(block, key)
    return block


def _place(doc: Document, check: str, path: str, key: str, known: set[str], placed: dict[str, str]) -> None:
    """Record that ``check`` is placed at ``path``; an unknown check, or one placed twice, refuses the file."""
    if check not in known:
        raise doc.error(f"{path}.{key}", f"unknown check {check!r} (monitoring.yaml, drug_monitoring.yaml)")
    if check in placed:
        raise doc.error(f"{path}.{key}", f"check {check!r} is already under {placed[check]}")
    placed[check] = path


def _tests(
    doc: Document, schedules: MonitoringSchedules
) -> tuple[tuple[LaboratoryTest, ...], tuple[str, ...]]:
    known = {c.id for c in schedules.checks}
    placed: dict[str, str] = {}
    tests: list[LaboratoryTest] = []
    for entry_path, entry in doc.entries("laboratory_tests"):
        doc.keys(entry, entry_path, ("id", "name", "sample", "checks", "sources"), ("note",))
        sample = doc.string(entry, "sample", entry_path)
        if sample not in ("blood", "urine"):
            raise doc.error(f"{entry_path}.sample", f"expected blood or urine, found {sample!r}")
        checks = doc.string_list(entry, "checks", entry_path, allow_empty=False)
        for check in checks:
            _place(doc, check, entry_path, "checks", known, placed)
        tests.append(
            LaboratoryTest(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                sample=cast(Sample, sample),
                checks=checks,
                sources=doc.sources(entry, entry_path),
            )
        )
    review_checks: list[str] = []
    for entry_path, entry in doc.entries("review_checks"):
        doc.keys(entry, entry_path, ("id", "sources"), ("note",))
        check = doc.identifier(entry, "id", entry_path)
        _place(doc, check, entry_path, "id", known, placed)
        review_checks.append(check)
    missing = sorted(known - set(placed))
    if missing:
        raise doc.error(
            "laboratory_tests",
            f"check(s) {', '.join(missing)} are neither a laboratory test nor a review check",
        )
    return tuple(tests), tuple(review_checks)


def _clinicians(
    doc: Document, schedules: MonitoringSchedules
) -> tuple[dict[str, ClinicianType], ClinicianType]:
    block = _block(doc, "clinician_types", ("combined", "by_subject"))
    by_subject: dict[str, ClinicianType] = {}
    raw = doc.mapping(block["by_subject"], "clinician_types.by_subject")
    subjects = {rule.subject for rule in schedules.rules}
    for subject, value in raw.items():
        path = f"clinician_types.by_subject.{subject}"
        entry = doc.mapping(value, path)
        doc.keys(entry, path, ("type", "sources"), ("note",))
        doc.sources(entry, path)
        if subject not in subjects:
            raise doc.error(path, f"no monitoring schedule is for {subject!r}")
        by_subject[str(subject)] = _clinician(doc, entry, "type", path)
    missing = sorted(subjects - set(by_subject))
    if missing:
        raise doc.error("clinician_types.by_subject", f"no clinician type for {', '.join(missing)}")
    return by_subject, _clinician(doc, block, "combined", "clinician_types")


def _slot_rules(doc: Document) -> tuple[DoubleSlotRule, ...]:
    rules: list[DoubleSlotRule] = []
    for entry_path, entry in doc.entries("double_slot_when"):
        doc.keys(entry, entry_path, ("id", "label", "sources"), ("areas_at_least", "feature", "need", "note"))
        given = [key for key in ("areas_at_least", "feature", "need") if key in entry]
        if len(given) != 1:
            raise doc.error(entry_path, "expected exactly one of areas_at_least, feature, need")
        need = doc.optional_string(entry, "need", entry_path)
        if need is not None and need not in NEEDS:
            raise doc.error(f"{entry_path}.need", f"expected one of {', '.join(NEEDS)}, found {need!r}")
        rules.append(
            DoubleSlotRule(
                id=doc.identifier(entry, "id", entry_path),
                label=doc.string(entry, "label", entry_path),
                areas_at_least=doc.optional_integer(entry, "areas_at_least", entry_path, minimum=1),
                feature=doc.optional_string(entry, "feature", entry_path),
                need=need,
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(rules)


@functools.lru_cache(maxsize=8)
def _planning(path: Path, schedules: MonitoringSchedules) -> ReviewPlanning:
    doc = Document(path, "careweave.terminology.review_planning/1")
    doc.check_root_keys(
        (
            "planning",
            "laboratory_tests",
            "review_checks",
            "clinician_types",
            "slot",
            "double_slot_when",
            "phlebotomy",
            "requisition",
            "usual_clinician",
        )
    )
    planning = _block(doc, "planning", ("horizon_weeks", "tolerance_months"))
    horizon = doc.integer(planning, "horizon_weeks", "planning", minimum=1)
    tolerance = doc.integer(planning, "tolerance_months", "planning", minimum=0)
    if horizon * 7 > tolerance * 28:
        raise doc.error(
            "planning.horizon_weeks", "the horizon must fit in the tolerance window (one review per person)"
        )
    tests, review_checks = _tests(doc, schedules)
    by_subject, combined = _clinicians(doc, schedules)
    slot = _block(doc, "slot", ("standard_minutes", "double_minutes"))
    standard = doc.integer(slot, "standard_minutes", "slot", minimum=1)
    double = doc.integer(slot, "double_minutes", "slot", minimum=1)
    if double <= standard:
        raise doc.error("slot.double_minutes", "must be longer than standard_minutes")
    phlebotomy = _block(doc, "phlebotomy", ("working_days_before",))
    usual = _block(doc, "usual_clinician", ("lookback_months",))
    requisition = _block(doc, "requisition", ("category", "intent"))
    category = doc.mapping(requisition["category"], "requisition.category")
    doc.keys(category, "requisition.category", ("system", "code", "display"))
    coding = tuple(doc.string(category, key, "requisition.category") for key in ("system", "code", "display"))
    intent = doc.string(requisition, "intent", "requisition")
    if intent not in ("proposal", "plan", "order"):
        raise doc.error("requisition.intent", f"expected proposal, plan or order, found {intent!r}")
    return ReviewPlanning(
        horizon_weeks=horizon,
        tolerance_months=tolerance,
        tests=tests,
        review_checks=review_checks,
        clinician_by_subject=by_subject,
        combined_clinician=combined,
        standard_minutes=standard,
        double_minutes=double,
        double_slot_rules=_slot_rules(doc),
        phlebotomy_working_days=doc.integer(phlebotomy, "working_days_before", "phlebotomy"),
        usual_clinician_months=doc.integer(usual, "lookback_months", "usual_clinician", minimum=1),
        requisition_category=(coding[0], coding[1], coding[2]),
        requisition_intent=intent,
        version=doc.version,
    )


def load_review_planning(
    path: Path | str | None = None, *, schedules: MonitoringSchedules | None = None
) -> ReviewPlanning:
    """The review planner's knowledge, checked against the monitoring schedules (default: the packaged ones)."""
    return _planning(file_path(path, REVIEW_PLANNING_FILE), schedules or load_monitoring_schedules())

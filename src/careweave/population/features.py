"""The question: which per-person population features, from which clinical knowledge, as of which date.

This module is the specification only. :class:`FeatureKnowledge` holds the reviewed clinical knowledge
(condition library, medicine classes, eFI deficits, social needs, monitoring requirements, falls
codes); :class:`FeatureSpecification` adds the reference date and declares the stable schemas of the
outputs. It imports no engine and no SQL:

- :mod:`careweave.population.sql` turns a specification into lookup tables and portable SQL steps,
  one module per topic (conditions, medicines, scores, use of services, monitoring, social);
- :mod:`careweave.population.engines` runs those steps on DuckDB or Spark;
- :mod:`careweave.population.compute` is the entry point (``compute_features`` and friends).

Windows: "in the last N months" means after the same calendar day N months before ``as_of`` (the day
clamped to the month's length) and on or before ``as_of``; "in the last N days" means after
``as_of - N days``. An event exactly 12 months before ``as_of`` is therefore outside a 12-month window.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Final, Literal

import pyarrow as pa

from careweave.terminology import SOCIAL_NEED_FEATURES as _SOCIAL_NEED_FEATURES
from careweave.terminology.exclusions import PERSON_RULE_IDS, ExclusionRules, load_exclusions
from careweave.terminology.loading.schedules import (
    Interval,
    MonitoringCheck,
    MonitoringSchedules,
    ScheduledCheck,
)
from careweave.terminology.loading.schedules import months_before as months_before  # re-exported
from careweave.terminology.loading.worklists import load_unplanned_care
from careweave.terminology.models import (
    Code,
    ConditionDefinition,
    FrailtyIndex,
    MedicineClass,
    MonitoringRequirement,
    SocialNeed,
    UnplannedCareDefinition,
)

EngineName = Literal["duckdb", "spark"]

#: Social need features every feature table carries (False when the library has no such need): the
#: one definition lives with the reviewed social needs, in terminology.
SOCIAL_NEED_FEATURES: Final = _SOCIAL_NEED_FEATURES

#: Encounter classes (FHIR v3 ActCode) that are hospital admissions.
INPATIENT_CLASSES: Final = ("IMP", "ACUTE", "NONAC")
#: Encounter class of an emergency department (A&E) attendance.
EMERGENCY_CLASS: Final = "EMER"
#: Medication statuses that were never issued to the person.
NOT_ISSUED_STATUSES: Final = ("cancelled", "entered-in-error", "draft")
#: eFI categories counted as frailty that needs a response.
FRAILTY_RESPONSE_CATEGORIES: Final = ("moderate", "severe")
#: Age bands: (label, lowest age in the band).
AGE_BANDS: Final = (
    ("0-17", 0),
    ("18-39", 18),
    ("40-49", 40),
    ("50-64", 50),
    ("65-74", 65),
    ("75-84", 75),
    ("85+", 85),
)

#: The columns of the ``slot_inputs`` output besides the condition columns: a narrow feature table
#: (MLTC and frailty) for a reader that needs no use of services, medicines or monitoring summary.
SLOT_INPUT_COLUMNS: Final = (
    "person_id",
    "condition_count",
    "mltc",
    "complex_mltc",
    "physical_and_mental",
    "efi_deficits",
    "efi_score",
    "efi_category",
    "frailty_moderate_or_severe",
)

_IDENTIFIER: Final = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------------------------------
# Knowledge and specification


@dataclass(frozen=True)
class FeatureKnowledge:
    """The clinical knowledge the features are computed from (all reviewed terminology data)."""

    conditions: tuple[ConditionDefinition, ...]
    medicine_classes: tuple[MedicineClass, ...]
    frailty: FrailtyIndex
    social_needs: tuple[SocialNeed, ...]
    monitoring: tuple[MonitoringRequirement, ...]
    falls_codes: frozenset[Code]
    polypharmacy_deficit: str | None = None
    polypharmacy_min_medicines: int = 5
    version: str = ""
    #: What sets a code or a person aside (verification status, resolved codes, person rules).
    exclusions: ExclusionRules = field(default_factory=load_exclusions)
    #: Monitoring schedules by condition and by drug (monitoring.yaml, drug_monitoring.yaml); when
    #: None, ``monitoring`` read as fixed-interval condition schedules (see ``monitoring_schedules``).
    schedules: MonitoringSchedules | None = None
    #: What counts as an emergency admission, an A&E attendance and urgent primary care.
    unplanned_care: UnplannedCareDefinition = field(default_factory=load_unplanned_care)

    def __post_init__(self) -> None:
        ids = [c.id for c in self.conditions]
        for identifier in [*ids, *(n.id for n in self.social_needs)]:
            if not _IDENTIFIER.match(identifier):
                raise ValueError(
                    f"identifier {identifier!r} is not lower_snake_case; it names a feature column"
                )
        if len(set(ids)) != len(ids):
            raise ValueError("condition ids are not unique")
        known = set(ids)
        class_ids = {m.id for m in self.medicine_classes}
        for condition in self.conditions:
            rule = condition.medicine_rule
            if rule is None:
                if condition.requires != "diagnosis":
                    raise ValueError(
                        f"condition {condition.id!r} requires {condition.requires} but has no medicine rule"
                    )
                continue
            missing = set(rule.classes) - class_ids
            if missing:
                raise ValueError(
                    f"condition {condition.id!r} names unknown medicine class(es) {sorted(missing)}"
                )
            unknown = set(rule.without_conditions) - known
            if unknown:
                raise ValueError(
                    f"condition {condition.id!r} names unknown without_conditions {sorted(unknown)}"
                )
        for requirement in self.monitoring:
            if requirement.condition_id not in known:
                raise ValueError(
                    f"monitoring {requirement.name!r} names unknown condition {requirement.condition_id!r}"
                )
        for scheduled in self.monitoring_schedules.rules:
            if scheduled.subject not in (known if scheduled.kind == "condition" else class_ids):
                raise ValueError(
                    f"monitoring rule {scheduled.id!r} names unknown {scheduled.kind} {scheduled.subject!r}"
                )

    @property
    def monitoring_schedules(self) -> MonitoringSchedules:
        """The schedules the monitoring features run: ``schedules``, else each of ``monitoring`` as a
        fixed interval in days (requirements with the same name are one check, as they count once)."""
        if self.schedules is not None:
            return self.schedules
        return _fixed_schedules(self.monitoring)

    @classmethod
    def from_terminology(cls) -> FeatureKnowledge:
        """The knowledge from ``careweave.terminology``'s reviewed data files (loaded once)."""
        return _terminology_knowledge()


@cache
def _terminology_knowledge() -> FeatureKnowledge:
    from careweave import terminology
    from careweave.terminology.loading.drug_monitoring import load_monitoring_schedules

    library = terminology.load_condition_library()
    frailty = terminology.load_frailty_index()
    falls = frozenset(terminology.load_fall_codes())
    polypharmacy = next((d for d in frailty.deficits if d.id == "polypharmacy" and not d.codes), None)
    return FeatureKnowledge(
        conditions=library.conditions,
        medicine_classes=tuple(terminology.load_medicine_classes()),
        frailty=frailty,
        social_needs=tuple(terminology.load_social_needs()),
        monitoring=tuple(terminology.load_monitoring_requirements()),
        schedules=load_monitoring_schedules(),
        falls_codes=falls,
        polypharmacy_deficit=polypharmacy.id if polypharmacy else None,
        polypharmacy_min_medicines=int(getattr(polypharmacy, "min_distinct_medicines", 5)),
        version=str(library.version),
    )


@cache
def _fixed_schedules(requirements: tuple[MonitoringRequirement, ...]) -> MonitoringSchedules:
    by_name: dict[str, set[Code]] = {}
    for requirement in requirements:
        by_name.setdefault(requirement.name, set()).update(requirement.observation_codes)
    checks = {
        name: MonitoringCheck(f"check_{index}", name, frozenset(codes), ())
        for index, (name, codes) in enumerate(by_name.items())
    }
    rules = tuple(
        ScheduledCheck(
            id=f"{r.condition_id}_{index}",
            kind="condition",
            subject=r.condition_id,
            check=checks[r.name],
            interval=Interval(r.interval_days, "day"),
            by_stage=(),
            sources=r.sources,
        )
        for index, r in enumerate(requirements)
    )
    return MonitoringSchedules(checks=tuple(checks.values()), stages=(), rules=rules)


@dataclass(frozen=True)
class Windows:
    """Exclusive lower bounds of the feature windows (each window ends on ``as_of`` inclusive)."""

    as_of: dt.date
    months_12: dt.date
    months_3: dt.date
    days_30: dt.date

    @classmethod
    def for_date(cls, as_of: dt.date) -> Windows:
        return cls(as_of, months_before(as_of, 12), months_before(as_of, 3), as_of - dt.timedelta(days=30))


@dataclass(frozen=True)
class FeatureSpecification:
    """The question: which features, from which knowledge, as of which date."""

    knowledge: FeatureKnowledge
    as_of: dt.date

    @property
    def windows(self) -> Windows:
        return Windows.for_date(self.as_of)

    @property
    def condition_columns(self) -> tuple[str, ...]:
        return tuple(f"cond_{c.id}" for c in self.knowledge.conditions)

    @property
    def social_columns(self) -> tuple[str, ...]:
        extra = [n.id for n in self.knowledge.social_needs if n.id not in SOCIAL_NEED_FEATURES]
        return (*SOCIAL_NEED_FEATURES, *extra)

    def feature_schema(self) -> pa.Schema:
        """The stable schema of the feature table (column order included)."""
        fields: list[pa.Field] = [
            pa.field("person_id", pa.int64(), nullable=False),
            pa.field("practice_id", pa.int64(), nullable=False),
            pa.field("age", pa.int32(), nullable=False),
            pa.field("age_band", pa.string(), nullable=False),
            pa.field("sex", pa.string(), nullable=False),
            pa.field("imd_decile", pa.int8()),
            pa.field("imd_quintile", pa.int8()),
            pa.field("national_opt_out", pa.bool_(), nullable=False),
            # The person rules (exclusions.yaml): flags, and the first rule that set the person aside
            # from the register (``excluded``) and from the proactive lists (``worklist_excluded``).
            *(pa.field(rule_id, pa.bool_(), nullable=False) for rule_id in PERSON_RULE_IDS[1:]),
            pa.field("excluded", pa.string()),
            pa.field("worklist_excluded", pa.string()),
            pa.field("condition_count", pa.int32(), nullable=False),
            pa.field("mltc", pa.bool_(), nullable=False),
            pa.field("complex_mltc", pa.bool_(), nullable=False),
            pa.field("physical_and_mental", pa.bool_(), nullable=False),
            pa.field("cms_score", pa.float64(), nullable=False),
            pa.field("efi_deficits", pa.int32(), nullable=False),
            pa.field("efi_score", pa.float64(), nullable=False),
            pa.field("efi_category", pa.string(), nullable=False),
            pa.field("frailty_moderate_or_severe", pa.bool_(), nullable=False),
            pa.field("falls", pa.bool_(), nullable=False),
            pa.field("medicine_count_3m", pa.int32(), nullable=False),
            pa.field("polypharmacy_5_9", pa.bool_(), nullable=False),
            pa.field("polypharmacy_10_plus", pa.bool_(), nullable=False),
            pa.field("unplanned_admissions_12m", pa.int32(), nullable=False),
            pa.field("ae_attendances_12m", pa.int32(), nullable=False),
            # Emergency admissions plus A&E attendances; urgent primary care is counted apart.
            pa.field("unplanned_contacts_12m", pa.int32(), nullable=False),
            pa.field("urgent_primary_care_12m", pa.int32(), nullable=False),
            pa.field("organisations_12m", pa.int32(), nullable=False),
            pa.field("clinicians_12m", pa.int32(), nullable=False),
            pa.field("discharged_30d", pa.bool_(), nullable=False),
            pa.field("overdue_monitoring_count", pa.int32(), nullable=False),
            # Each overdue check, "HbA1c last recorded 14 March 2025, due every 6 months; ..." (null
            # when none is overdue); the items themselves: the ``monitoring_due`` output.
            pa.field("overdue_monitoring_detail", pa.string()),
            pa.field("social_need_count", pa.int32(), nullable=False),
        ]
        fields += [pa.field(name, pa.bool_(), nullable=False) for name in self.social_columns]
        fields += [pa.field(name, pa.bool_(), nullable=False) for name in self.condition_columns]
        return pa.schema(fields)

    def slot_input_schema(self) -> pa.Schema:
        """The ``slot_inputs`` output: :data:`SLOT_INPUT_COLUMNS` and the condition columns, each as
        :meth:`feature_schema` declares it and holding the same values for the same person."""
        names = {*SLOT_INPUT_COLUMNS, *self.condition_columns}
        return pa.schema([f for f in self.feature_schema() if f.name in names])


REGISTER_SCHEMA: Final = pa.schema(
    [
        pa.field("person_id", pa.int64(), nullable=False),
        pa.field("condition_id", pa.string(), nullable=False),
        pa.field("condition_name", pa.string(), nullable=False),
        pa.field("evidence", pa.string(), nullable=False),
        pa.field("system", pa.string(), nullable=False),
        pa.field("code", pa.string(), nullable=False),
        pa.field("date", pa.date32()),
    ]
)
"""One row per code and date that put a person with 2+ conditions on the MLTC register (people set
aside by a person rule, ``excluded``, are not on it). The ``condition_evidence`` output has the same
schema for everyone with at least one library condition.

``evidence`` is ``diagnosis`` (a diagnostic code within the condition's window), ``diagnosis_ever``
(an older code the medicine route also needs) or ``medicine`` (a qualifying prescription issue)."""

PATTERN_COUNT_COLUMN: Final = "people"

"""Per-person population features and the MLTC register: one specification, every engine.

The specification (:class:`FeatureSpecification`) is a small immutable model of the question: the
clinical knowledge (condition library, medicine classes, eFI deficits, social needs, monitoring
requirements, falls codes) and the reference date. :func:`compile_steps` turns it into

- **lookup tables** (Arrow): code lists as ``(system, code) -> id`` rows, condition definitions with
  their windows already resolved to dates, medicine classes by code and by ingredient;
- **steps**: named relations written in the portable subset of SQL that DuckDB and Spark SQL both
  run unchanged (the only dialect difference, identifier quoting, goes through :class:`Dialect`).

Each engine adapter (``engines/duckdb_engine.py``, ``engines/spark_engine.py``) registers the extract
and the lookups, runs the steps in order and returns Arrow tables cast to a stable schema. A parity
test (``tests/engines/test_parity.py``) proves the engines agree person by person.

Windows: "in the last N months" means after the same calendar day N months before ``as_of`` (the day
clamped to the month's length) and on or before ``as_of``; "in the last N days" means after
``as_of - N days``. An event exactly 12 months before ``as_of`` is therefore outside a 12-month window.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Final, Literal

import pyarrow as pa

from careweave.population.extract_schema import ACTIVE_CLINICAL_STATUSES, Extract
from careweave.terminology.models import (
    Code,
    ConditionDefinition,
    FrailtyIndex,
    MedicineClass,
    MonitoringRequirement,
    SocialNeed,
)

EngineName = Literal["duckdb", "spark"]

#: Social need features every feature table carries (False when the library has no such need).
SOCIAL_NEED_FEATURES: Final = (
    "lives_alone",
    "housebound",
    "is_carer",
    "has_carer",
    "social_care_package",
    "housing_problem",
    "financial_hardship",
    "social_isolation",
)

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

    @classmethod
    def from_terminology(cls) -> FeatureKnowledge:
        """The knowledge from ``careweave.terminology``'s reviewed data files (loaded once)."""
        return _terminology_knowledge()


@cache
def _terminology_knowledge() -> FeatureKnowledge:
    from careweave import terminology

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
        falls_codes=falls,
        polypharmacy_deficit=polypharmacy.id if polypharmacy else None,
        polypharmacy_min_medicines=int(getattr(polypharmacy, "min_distinct_medicines", 5)),
        version=str(library.version),
    )


def months_before(day: dt.date, months: int) -> dt.date:
    """The same calendar day ``months`` earlier, clamped to the end of a shorter month."""
    year_offset, month_index = divmod(day.month - 1 - months, 12)
    year = day.year + year_offset
    month = month_index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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
            pa.field("unplanned_contacts_12m", pa.int32(), nullable=False),
            pa.field("organisations_12m", pa.int32(), nullable=False),
            pa.field("clinicians_12m", pa.int32(), nullable=False),
            pa.field("discharged_30d", pa.bool_(), nullable=False),
            pa.field("overdue_monitoring_count", pa.int32(), nullable=False),
            pa.field("social_need_count", pa.int32(), nullable=False),
        ]
        fields += [pa.field(name, pa.bool_(), nullable=False) for name in self.social_columns]
        fields += [pa.field(name, pa.bool_(), nullable=False) for name in self.condition_columns]
        return pa.schema(fields)


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
"""One row per code and date that put a person with 2+ conditions on the MLTC register.

``evidence`` is ``diagnosis`` (a diagnostic code within the condition's window), ``diagnosis_ever``
(an older code the medicine route also needs) or ``medicine`` (a qualifying prescription issue)."""

PATTERN_COUNT_COLUMN: Final = "people"


# --------------------------------------------------------------------------------------------------
# Lookup tables


def _code_rows(pairs: Sequence[tuple[Code, str]], id_column: str) -> pa.Table:
    unique = sorted(set(pairs))
    return pa.table(
        {
            "system": pa.array([c[0][0] for c in unique], pa.string()),
            "code": pa.array([c[0][1] for c in unique], pa.string()),
            id_column: pa.array([c[1] for c in unique], pa.string()),
        }
    )


def _cms_units(weight: float | None) -> int | None:
    return None if weight is None else round(weight * 10_000)


def build_lookups(spec: FeatureSpecification) -> dict[str, pa.Table]:
    """The knowledge as Arrow lookup tables, with windows resolved against ``spec.as_of``."""
    knowledge = spec.knowledge
    as_of = spec.as_of
    conditions = knowledge.conditions
    days_before: Callable[[int | None], dt.date | None] = lambda days: (  # noqa: E731
        None if days is None else as_of - dt.timedelta(days=days)
    )
    lk_condition = pa.table(
        {
            "condition_id": pa.array([c.id for c in conditions], pa.string()),
            "condition_name": pa.array([c.name for c in conditions], pa.string()),
            "category": pa.array([c.category for c in conditions], pa.string()),
            "requires": pa.array([c.requires for c in conditions], pa.string()),
            "dx_window_start": pa.array(
                [days_before(c.diagnosis_window_days) for c in conditions], pa.date32()
            ),
            "cms_component": pa.array([c.cms_component or c.id for c in conditions], pa.string()),
            "cms_weight_units": pa.array([_cms_units(c.cms_weight) for c in conditions], pa.int64()),
            "rx_min_issues": pa.array(
                [c.medicine_rule.min_issues if c.medicine_rule else None for c in conditions], pa.int64()
            ),
            "rx_window_start": pa.array(
                [days_before(c.medicine_rule.window_days) if c.medicine_rule else None for c in conditions],
                pa.date32(),
            ),
            "rx_with_diagnosis_ever": pa.array(
                [bool(c.medicine_rule and c.medicine_rule.with_diagnosis_ever) for c in conditions],
                pa.bool_(),
            ),
        }
    )
    rule_classes = sorted({(c.id, k) for c in conditions if c.medicine_rule for k in c.medicine_rule.classes})
    used_classes = {k for _, k in rule_classes}
    without = sorted(
        {(c.id, w) for c in conditions if c.medicine_rule for w in c.medicine_rule.without_conditions}
    )
    ingredients = sorted(
        {
            (i.lower(), m.id)
            for m in knowledge.medicine_classes
            if m.id in used_classes
            for i in m.ingredients
            if i
        }
    )
    requirements = knowledge.monitoring
    return {
        "lk_condition": lk_condition,
        "lk_condition_code": _code_rows(
            [(code, c.id) for c in conditions for code in c.codes], "condition_id"
        ),
        "lk_condition_medicine_class": pa.table(
            {
                "condition_id": pa.array([r[0] for r in rule_classes], pa.string()),
                "class_id": pa.array([r[1] for r in rule_classes], pa.string()),
            }
        ),
        "lk_condition_without": pa.table(
            {
                "condition_id": pa.array([w[0] for w in without], pa.string()),
                "without_condition_id": pa.array([w[1] for w in without], pa.string()),
            }
        ),
        "lk_medicine_code": _code_rows(
            [(code, m.id) for m in knowledge.medicine_classes if m.id in used_classes for code in m.codes],
            "class_id",
        ),
        "lk_medicine_ingredient": pa.table(
            {
                "ingredient": pa.array([i[0] for i in ingredients], pa.string()),
                "class_id": pa.array([i[1] for i in ingredients], pa.string()),
            }
        ),
        "lk_efi_code": _code_rows(
            [(code, d.id) for d in knowledge.frailty.deficits for code in d.codes], "deficit_id"
        ),
        "lk_social_need": pa.table(
            {"need_id": pa.array([n.id for n in knowledge.social_needs], pa.string())}
        ),
        "lk_social_code": _code_rows(
            [(code, n.id) for n in knowledge.social_needs for code in n.codes], "need_id"
        ),
        "lk_falls_code": _code_rows([(code, "falls") for code in knowledge.falls_codes], "kind"),
        "lk_monitoring_requirement": pa.table(
            {
                "requirement_id": pa.array(range(len(requirements)), pa.int64()),
                "condition_id": pa.array([r.condition_id for r in requirements], pa.string()),
                "name": pa.array([r.name for r in requirements], pa.string()),
                "window_start": pa.array(
                    [as_of - dt.timedelta(days=r.interval_days) for r in requirements], pa.date32()
                ),
            }
        ),
        "lk_monitoring_code": pa.table(
            {
                "requirement_id": pa.array(
                    [i for i, r in enumerate(requirements) for _ in sorted(r.observation_codes)], pa.int64()
                ),
                "system": pa.array(
                    [c[0] for r in requirements for c in sorted(r.observation_codes)], pa.string()
                ),
                "code": pa.array(
                    [c[1] for r in requirements for c in sorted(r.observation_codes)], pa.string()
                ),
            }
        ),
    }


# --------------------------------------------------------------------------------------------------
# Steps: portable SQL


@dataclass(frozen=True)
class Dialect:
    """What differs between the engines' SQL: only how an identifier is quoted."""

    name: str
    quote_char: str

    def quote(self, identifier: str) -> str:
        return f"{self.quote_char}{identifier}{self.quote_char}"


DUCKDB_DIALECT: Final = Dialect("duckdb", '"')
SPARK_DIALECT: Final = Dialect("spark", "`")


@dataclass(frozen=True)
class Step:
    """A named relation. ``materialize``: the engine stores it (it is read more than once)."""

    name: str
    sql: str
    materialize: bool = False


@dataclass(frozen=True)
class CompiledSpecification:
    lookups: dict[str, pa.Table]
    steps: tuple[Step, ...]
    feature_schema: pa.Schema
    register_schema: pa.Schema = field(default=REGISTER_SCHEMA)
    #: How each output is ordered (the engines sort; ties are fully broken so the order is exact).
    order_by: dict[str, str] = field(default_factory=lambda: dict(OUTPUT_ORDER))


OUTPUT_ORDER: Final[dict[str, str]] = {
    "features": "person_id ASC",
    "register": "person_id ASC, condition_id ASC, evidence ASC, evidence_date ASC NULLS LAST, system ASC, code ASC",
}


def output_query(output: str) -> str:
    """The query an engine runs to fetch an output, in its exact order."""
    return f"SELECT * FROM {output} ORDER BY {OUTPUT_ORDER[output]}"


def _date(day: dt.date | None) -> str:
    return "NULL" if day is None else f"DATE '{day.isoformat()}'"


def _strings(values: Sequence[str]) -> str:
    for value in values:
        if "'" in value:
            raise ValueError(f"value {value!r} cannot be a SQL literal")
    return ", ".join(f"'{v}'" for v in values) if values else "NULL"


def _flag(condition: str) -> str:
    return f"MAX(CASE WHEN {condition} THEN 1 ELSE 0 END)"


def compile_steps(spec: FeatureSpecification, dialect: Dialect) -> CompiledSpecification:
    """The specification as lookup tables plus SQL steps that DuckDB and Spark SQL both run."""
    knowledge = spec.knowledge
    w = spec.windows
    as_of = _date(w.as_of)
    start = dialect.quote("start")
    end = dialect.quote("end")
    active = _strings(ACTIVE_CLINICAL_STATUSES)
    not_issued = _strings(NOT_ISSUED_STATUSES)
    inpatient = _strings(INPATIENT_CLASSES)
    condition_date = "COALESCE(c.onset_date, c.recorded_date)"
    rx_windows = [
        w.as_of - dt.timedelta(days=c.medicine_rule.window_days)
        for c in knowledge.conditions
        if c.medicine_rule
    ]
    earliest_rx = min(rx_windows, default=w.as_of)
    n_deficits = len(knowledge.frailty.deficits)

    steps: list[Step] = []

    def add(name: str, sql: str, materialize: bool = False) -> None:
        steps.append(Step(name, sql, materialize))

    age = (
        f"({w.as_of.year} - YEAR(p.birth_date) - CASE WHEN MONTH(p.birth_date) > {w.as_of.month} OR "
        f"(MONTH(p.birth_date) = {w.as_of.month} AND DAY(p.birth_date) > {w.as_of.day}) THEN 1 ELSE 0 END)"
    )
    add(
        "people",
        f"""SELECT p.person_id, p.practice_id, p.sex, p.imd_decile, p.national_opt_out, {age} AS age
        FROM person p WHERE NOT p.deceased AND p.birth_date <= {as_of}""",
        materialize=True,
    )
    # Diagnostic codes of library conditions in an active clinical status, dated on or before as_of.
    add(
        "condition_coded",
        f"""SELECT c.person_id, k.condition_id, c.system, c.code, {condition_date} AS event_date
        FROM condition c JOIN lk_condition_code k ON c.system = k.system AND c.code = k.code
        WHERE (c.clinical_status IS NULL OR c.clinical_status IN ({active}))
          AND ({condition_date} IS NULL OR {condition_date} <= {as_of})""",
        materialize=True,
    )
    add(
        "diagnosis_evidence",
        """SELECT e.person_id, e.condition_id, e.system, e.code, e.event_date
        FROM condition_coded e JOIN lk_condition d ON e.condition_id = d.condition_id
        WHERE d.dx_window_start IS NULL OR e.event_date > d.dx_window_start""",
        materialize=True,
    )
    add(
        "medication_issued",
        f"""SELECT m.person_id, m.system, m.code, m.display, m.authored_on FROM medication m
        WHERE m.authored_on IS NOT NULL AND m.authored_on <= {as_of}
          AND (m.status IS NULL OR m.status NOT IN ({not_issued}))""",
    )
    # Issues of the medicine classes the rules use: by listed code, or by ingredient in the display text
    # (matched once per distinct display, then joined back by equality).
    add(
        "medicine_issue",
        f"""WITH recent AS (SELECT * FROM medication_issued WHERE authored_on > {_date(earliest_rx)}),
        display_class AS (
          SELECT d.display_lower, i.class_id
          FROM (SELECT DISTINCT LOWER(display) AS display_lower FROM recent WHERE display IS NOT NULL) d
          JOIN lk_medicine_ingredient i ON INSTR(d.display_lower, i.ingredient) > 0)
        SELECT r.person_id, k.class_id, r.system, r.code, r.authored_on
        FROM recent r JOIN lk_medicine_code k ON r.system = k.system AND r.code = k.code
        UNION
        SELECT r.person_id, x.class_id, r.system, r.code, r.authored_on
        FROM recent r JOIN display_class x ON LOWER(r.display) = x.display_lower""",
    )
    add(
        "medicine_evidence",
        """SELECT DISTINCT i.person_id, r.condition_id, i.system, i.code, i.authored_on
        FROM medicine_issue i
        JOIN lk_condition_medicine_class r ON i.class_id = r.class_id
        JOIN lk_condition d ON r.condition_id = d.condition_id
        WHERE i.authored_on > d.rx_window_start""",
        materialize=True,
    )
    # Issues are counted as distinct issue dates.
    add(
        "medicine_qualified",
        """SELECT q.person_id, q.condition_id
        FROM (SELECT person_id, condition_id, COUNT(DISTINCT authored_on) AS issues
              FROM medicine_evidence GROUP BY person_id, condition_id) q
        JOIN lk_condition d ON q.condition_id = d.condition_id
        LEFT JOIN (SELECT DISTINCT w.condition_id, c.person_id FROM lk_condition_without w
                   JOIN condition_coded c ON c.condition_id = w.without_condition_id) x
          ON x.condition_id = q.condition_id AND x.person_id = q.person_id
        LEFT JOIN (SELECT DISTINCT person_id, condition_id FROM condition_coded) ever
          ON ever.condition_id = q.condition_id AND ever.person_id = q.person_id
        WHERE q.issues >= d.rx_min_issues AND x.person_id IS NULL
          AND (NOT d.rx_with_diagnosis_ever OR ever.person_id IS NOT NULL)""",
    )
    add(
        "person_condition",
        """WITH dx AS (SELECT DISTINCT person_id, condition_id FROM diagnosis_evidence),
        routes AS (
          SELECT COALESCE(dx.person_id, rx.person_id) AS person_id,
                 COALESCE(dx.condition_id, rx.condition_id) AS condition_id,
                 dx.person_id IS NOT NULL AS has_diagnosis, rx.person_id IS NOT NULL AS has_medicine
          FROM dx FULL OUTER JOIN medicine_qualified rx
            ON dx.person_id = rx.person_id AND dx.condition_id = rx.condition_id)
        SELECT r.person_id, r.condition_id, r.has_diagnosis, r.has_medicine
        FROM routes r
        JOIN lk_condition d ON r.condition_id = d.condition_id
        JOIN people p ON p.person_id = r.person_id
        WHERE (d.requires = 'diagnosis' AND r.has_diagnosis)
           OR (d.requires = 'medicine' AND r.has_medicine)
           OR (d.requires = 'diagnosis_and_medicine' AND r.has_diagnosis AND r.has_medicine)
           OR (d.requires = 'diagnosis_or_medicine' AND (r.has_diagnosis OR r.has_medicine))""",
        materialize=True,
    )
    condition_flags = ",\n".join(
        f"{_flag(f'pc.condition_id = {_strings([c.id])}')} AS {dialect.quote('cond_' + c.id)}"
        for c in knowledge.conditions
    )
    add(
        "condition_summary",
        f"""SELECT pc.person_id, COUNT(*) AS condition_count,
          {_flag("d.category = 'physical'")} AS has_physical,
          {_flag("d.category = 'mental'")} AS has_mental{"," if condition_flags else ""}
          {condition_flags}
        FROM person_condition pc JOIN lk_condition d ON pc.condition_id = d.condition_id
        GROUP BY pc.person_id""",
        materialize=True,
    )
    # Cambridge Multimorbidity Score: each CMS item once, summed exactly in units of 1e-4.
    add(
        "cms",
        """SELECT person_id, SUM(units) AS cms_units FROM (
          SELECT pc.person_id, d.cms_component, MAX(d.cms_weight_units) AS units
          FROM person_condition pc JOIN lk_condition d ON pc.condition_id = d.condition_id
          WHERE d.cms_weight_units IS NOT NULL
          GROUP BY pc.person_id, d.cms_component) u
        GROUP BY person_id""",
    )
    # Distinct medicines (by code) issued in the last 3 months.
    add(
        "medicines_3m",
        f"""SELECT person_id, COUNT(*) AS medicine_count FROM (
          SELECT DISTINCT person_id, system, code FROM medication_issued WHERE authored_on > {_date(w.months_3)}) m
        GROUP BY person_id""",
        materialize=True,
    )
    # eFI deficits are counted when ever recorded (on or before as_of), whatever the clinical status.
    polypharmacy_hits = ""
    if knowledge.polypharmacy_deficit:
        # The eFI polypharmacy deficit is not code based: medicine_count_3m >= 5 (frailty_index.yaml).
        polypharmacy_hits = f"""UNION ALL
          SELECT person_id, {_strings([knowledge.polypharmacy_deficit])} AS deficit_id FROM medicines_3m
          WHERE medicine_count >= {knowledge.polypharmacy_min_medicines}"""
    add(
        "efi",
        f"""SELECT person_id, COUNT(DISTINCT deficit_id) AS efi_deficits FROM (
          SELECT c.person_id, k.deficit_id FROM condition c
          JOIN lk_efi_code k ON c.system = k.system AND c.code = k.code
          WHERE {condition_date} IS NULL OR {condition_date} <= {as_of}
          UNION ALL
          SELECT o.person_id, k.deficit_id FROM observation o
          JOIN lk_efi_code k ON o.system = k.system AND o.code = k.code
          WHERE o.effective IS NULL OR CAST(o.effective AS DATE) <= {as_of}
          {polypharmacy_hits}) h
        GROUP BY person_id""",
    )
    add(
        "encounters_12m",
        f"""SELECT person_id,
          SUM(CASE WHEN class_code IN ({inpatient}) AND unplanned THEN 1 ELSE 0 END) AS unplanned_admissions,
          SUM(CASE WHEN class_code = '{EMERGENCY_CLASS}' THEN 1 ELSE 0 END) AS ae_attendances,
          SUM(CASE WHEN unplanned OR class_code = '{EMERGENCY_CLASS}' THEN 1 ELSE 0 END) AS unplanned_contacts,
          COUNT(DISTINCT organisation_id) AS organisations,
          COUNT(DISTINCT practitioner_id) AS clinicians
        FROM encounter
        WHERE {start} IS NOT NULL AND CAST({start} AS DATE) > {_date(w.months_12)}
          AND CAST({start} AS DATE) <= {as_of}
        GROUP BY person_id""",
    )
    add(
        "discharged",
        f"""SELECT DISTINCT person_id FROM encounter
        WHERE class_code IN ({inpatient}) AND {end} IS NOT NULL
          AND CAST({end} AS DATE) > {_date(w.days_30)} AND CAST({end} AS DATE) <= {as_of}""",
    )
    add(
        "falls_12m",
        f"""SELECT DISTINCT person_id FROM (
          SELECT c.person_id FROM condition c JOIN lk_falls_code k ON c.system = k.system AND c.code = k.code
          WHERE {condition_date} > {_date(w.months_12)} AND {condition_date} <= {as_of}
          UNION ALL
          SELECT o.person_id FROM observation o JOIN lk_falls_code k ON o.system = k.system AND o.code = k.code
          WHERE CAST(o.effective AS DATE) > {_date(w.months_12)} AND CAST(o.effective AS DATE) <= {as_of}) f""",
    )
    social_flags = ",\n".join(
        f"{_flag(f'h.need_id = {_strings([need])}')} AS {dialect.quote(need)}" for need in spec.social_columns
    )
    add(
        "social_summary",
        f"""SELECT h.person_id, COUNT(DISTINCT h.need_id) AS social_need_count,
          {social_flags}
        FROM (
          SELECT s.person_id, s.kind AS need_id FROM social s
          WHERE s.recorded_date IS NULL OR s.recorded_date <= {as_of}
          UNION ALL
          SELECT c.person_id, k.need_id FROM condition c JOIN lk_social_code k ON c.system = k.system AND c.code = k.code
          WHERE (c.clinical_status IS NULL OR c.clinical_status IN ({active}))
            AND ({condition_date} IS NULL OR {condition_date} <= {as_of})
          UNION ALL
          SELECT o.person_id, k.need_id FROM observation o JOIN lk_social_code k ON o.system = k.system AND o.code = k.code
          WHERE o.effective IS NULL OR CAST(o.effective AS DATE) <= {as_of}) h
        JOIN lk_social_need n ON h.need_id = n.need_id
        GROUP BY h.person_id""",
    )
    # A monitoring check is overdue when the person has the condition and no matching observation within
    # the interval; checks with the same name (e.g. HbA1c for two kinds of diabetes) count once.
    add(
        "monitoring",
        f"""WITH done AS (
          SELECT DISTINCT o.person_id, r.requirement_id
          FROM observation o
          JOIN lk_monitoring_code m ON o.system = m.system AND o.code = m.code
          JOIN lk_monitoring_requirement r ON r.requirement_id = m.requirement_id
          WHERE CAST(o.effective AS DATE) > r.window_start AND CAST(o.effective AS DATE) <= {as_of})
        SELECT pc.person_id, COUNT(DISTINCT r.name) AS overdue
        FROM person_condition pc
        JOIN lk_monitoring_requirement r ON pc.condition_id = r.condition_id
        LEFT JOIN done ON done.person_id = pc.person_id AND done.requirement_id = r.requirement_id
        WHERE done.person_id IS NULL
        GROUP BY pc.person_id""",
    )

    category_cases = (
        " ".join(
            f"WHEN {k} THEN {_strings([knowledge.frailty.category(k / n_deficits)])}"
            for k in range(n_deficits + 1)
        )
        if n_deficits
        else ""
    )
    response_counts = (
        [
            str(k)
            for k in range(n_deficits + 1)
            if knowledge.frailty.category(k / n_deficits).lower() in FRAILTY_RESPONSE_CATEGORIES
        ]
        if n_deficits
        else []
    )
    deficits = "COALESCE(efi.efi_deficits, 0)"
    efi_score = f"CAST({deficits} AS DOUBLE) / CAST({max(n_deficits, 1)} AS DOUBLE)"
    efi_category = f"CASE {deficits} {category_cases} ELSE 'unknown' END" if category_cases else "'unknown'"
    frail = f"{deficits} IN ({', '.join(response_counts)})" if response_counts else "FALSE"
    age_band = (
        "CASE "
        + " ".join(f"WHEN p.age >= {low} THEN '{label}'" for label, low in reversed(AGE_BANDS))
        + " END"
    )
    count = "COALESCE(cs.condition_count, 0)"
    medicines = "COALESCE(rx.medicine_count, 0)"
    cond_columns = ",\n".join(
        f"COALESCE(cs.{dialect.quote(col)}, 0) = 1 AS {dialect.quote(col)}" for col in spec.condition_columns
    )
    social_columns = ",\n".join(
        f"COALESCE(ss.{dialect.quote(col)}, 0) = 1 AS {dialect.quote(col)}" for col in spec.social_columns
    )
    add(
        "features",
        f"""SELECT p.person_id, p.practice_id, p.age, {age_band} AS age_band, p.sex, p.imd_decile,
          CASE WHEN p.imd_decile IS NULL THEN NULL WHEN p.imd_decile <= 2 THEN 1 WHEN p.imd_decile <= 4 THEN 2
               WHEN p.imd_decile <= 6 THEN 3 WHEN p.imd_decile <= 8 THEN 4 ELSE 5 END AS imd_quintile,
          p.national_opt_out,
          {count} AS condition_count,
          {count} >= 2 AS mltc,
          ({count} >= 4 OR (COALESCE(cs.has_physical, 0) = 1 AND COALESCE(cs.has_mental, 0) = 1)) AS complex_mltc,
          (COALESCE(cs.has_physical, 0) = 1 AND COALESCE(cs.has_mental, 0) = 1) AS physical_and_mental,
          CAST(COALESCE(cms.cms_units, 0) AS DOUBLE) / CAST(10000 AS DOUBLE) AS cms_score,
          {deficits} AS efi_deficits,
          {efi_score} AS efi_score,
          {efi_category} AS efi_category,
          {frail} AS frailty_moderate_or_severe,
          falls.person_id IS NOT NULL AS falls,
          {medicines} AS medicine_count_3m,
          ({medicines} >= 5 AND {medicines} <= 9) AS polypharmacy_5_9,
          {medicines} >= 10 AS polypharmacy_10_plus,
          COALESCE(enc.unplanned_admissions, 0) AS unplanned_admissions_12m,
          COALESCE(enc.ae_attendances, 0) AS ae_attendances_12m,
          COALESCE(enc.unplanned_contacts, 0) AS unplanned_contacts_12m,
          COALESCE(enc.organisations, 0) AS organisations_12m,
          COALESCE(enc.clinicians, 0) AS clinicians_12m,
          dis.person_id IS NOT NULL AS discharged_30d,
          COALESCE(mon.overdue, 0) AS overdue_monitoring_count,
          COALESCE(ss.social_need_count, 0) AS social_need_count,
          {social_columns}{"," if cond_columns else ""}
          {cond_columns}
        FROM people p
        LEFT JOIN condition_summary cs ON cs.person_id = p.person_id
        LEFT JOIN cms ON cms.person_id = p.person_id
        LEFT JOIN efi ON efi.person_id = p.person_id
        LEFT JOIN falls_12m falls ON falls.person_id = p.person_id
        LEFT JOIN medicines_3m rx ON rx.person_id = p.person_id
        LEFT JOIN encounters_12m enc ON enc.person_id = p.person_id
        LEFT JOIN discharged dis ON dis.person_id = p.person_id
        LEFT JOIN monitoring mon ON mon.person_id = p.person_id
        LEFT JOIN social_summary ss ON ss.person_id = p.person_id""",
    )
    add(
        "register",
        """WITH registered AS (
          SELECT pc.person_id, pc.condition_id, d.condition_name, d.requires, d.rx_with_diagnosis_ever,
                 pc.has_diagnosis, pc.has_medicine
          FROM person_condition pc
          JOIN condition_summary cs ON cs.person_id = pc.person_id AND cs.condition_count >= 2
          JOIN lk_condition d ON d.condition_id = pc.condition_id)
        SELECT DISTINCT r.person_id, r.condition_id, r.condition_name, 'diagnosis' AS evidence, e.system, e.code,
               e.event_date AS evidence_date
        FROM registered r JOIN diagnosis_evidence e ON e.person_id = r.person_id AND e.condition_id = r.condition_id
        WHERE r.has_diagnosis AND r.requires <> 'medicine'
        UNION ALL
        SELECT r.person_id, r.condition_id, r.condition_name, 'medicine' AS evidence, m.system, m.code,
               m.authored_on AS evidence_date
        FROM registered r JOIN medicine_evidence m ON m.person_id = r.person_id AND m.condition_id = r.condition_id
        WHERE r.has_medicine AND r.requires <> 'diagnosis'
        UNION ALL
        SELECT DISTINCT r.person_id, r.condition_id, r.condition_name, 'diagnosis_ever' AS evidence, e.system, e.code,
               e.event_date AS evidence_date
        FROM registered r JOIN condition_coded e ON e.person_id = r.person_id AND e.condition_id = r.condition_id
        WHERE r.has_medicine AND NOT r.has_diagnosis AND r.rx_with_diagnosis_ever AND r.requires <> 'diagnosis'""",
    )
    return CompiledSpecification(
        lookups=build_lookups(spec), steps=tuple(steps), feature_schema=spec.feature_schema()
    )


# --------------------------------------------------------------------------------------------------
# Shaping engine output


def shape_features(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Engine output (already in person order) cast to the stable feature schema."""
    columns = [table.column(f.name).cast(f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def shape_register(table: pa.Table) -> pa.Table:
    """Engine output (already ordered by :data:`OUTPUT_ORDER`) as :data:`REGISTER_SCHEMA`."""
    table = table.rename_columns(["date" if n == "evidence_date" else n for n in table.column_names])
    columns = [table.column(f.name).cast(f.type) for f in REGISTER_SCHEMA]
    return pa.Table.from_arrays(columns, schema=REGISTER_SCHEMA)


def shape_patterns(table: pa.Table, indicator_columns: Sequence[str]) -> pa.Table:
    """Pattern counts in a deterministic order: indicator columns then ``people``."""
    names = [*indicator_columns, PATTERN_COUNT_COLUMN]
    columns = [table.column(n) for n in names]
    columns[-1] = columns[-1].cast(pa.int64())
    shaped = pa.Table.from_arrays(columns, names=names)
    return shaped.sort_by([(n, "ascending") for n in indicator_columns]) if indicator_columns else shaped


# --------------------------------------------------------------------------------------------------
# Public entry points


@dataclass(frozen=True)
class PopulationFeatures:
    """The features (one row per living person) and the MLTC register evidence."""

    features: pa.Table
    register: pa.Table


def _knowledge(knowledge: FeatureKnowledge | None) -> FeatureKnowledge:
    return knowledge if knowledge is not None else FeatureKnowledge.from_terminology()


def compute_population(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> PopulationFeatures:
    """Features and register in one pass of ``engine`` over ``extract``."""
    from careweave.population.engines import get_engine

    spec = FeatureSpecification(_knowledge(knowledge), as_of)
    with get_engine(engine) as runner:
        outputs = runner.evaluate(extract.validate(), spec, ("features", "register"))
    return PopulationFeatures(features=outputs["features"], register=outputs["register"])


def compute_features(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> pa.Table:
    """Per-person features (schema: :meth:`FeatureSpecification.feature_schema`), sorted by person_id."""
    from careweave.population.engines import get_engine

    spec = FeatureSpecification(_knowledge(knowledge), as_of)
    with get_engine(engine) as runner:
        return runner.evaluate(extract.validate(), spec, ("features",))["features"]


def compute_register(
    extract: Extract,
    as_of: dt.date,
    engine: EngineName = "duckdb",
    *,
    knowledge: FeatureKnowledge | None = None,
) -> pa.Table:
    """The MLTC register evidence (:data:`REGISTER_SCHEMA`) for people with 2+ conditions."""
    from careweave.population.engines import get_engine

    spec = FeatureSpecification(_knowledge(knowledge), as_of)
    with get_engine(engine) as runner:
        return runner.evaluate(extract.validate(), spec, ("register",))["register"]


def pattern_counts(
    features: pa.Table, indicator_columns: Sequence[str], engine: EngineName = "duckdb"
) -> pa.Table:
    """Distinct patterns of the indicator columns with the number of people (column ``people``)."""
    from careweave.population.engines import get_engine

    with get_engine(engine) as runner:
        return runner.pattern_counts(features, indicator_columns)


PatternAssigner = Callable[[pa.Table], pa.Table]
"""Given the distinct patterns (indicator columns), return them with assignment columns added."""


def assign(
    features: pa.Table,
    indicator_columns: Sequence[str],
    assign_patterns: PatternAssigner,
    engine: EngineName = "duckdb",
) -> pa.Table:
    """Assign every person by their pattern: ``person_id`` plus the assigner's added columns.

    The assigner (e.g. a fitted latent class model) sees only distinct patterns; the engine joins its
    answer back to people, so the result is exact and the model never sees a row per person.
    """
    from careweave.population.engines import get_engine

    with get_engine(engine) as runner:
        return runner.assign(features, indicator_columns, assign_patterns)

"""Load and validate the reviewed terminology data files (``data/*.yaml``).

Each loader takes an optional path (tests pass malformed files) and is cached; with no path it reads
the packaged file. Loads are strict: a missing field, an unknown key, a missing citation, a duplicate
code or a dangling reference raises ``TerminologyError`` naming the file and the field.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast, get_args

from . import releases
from ._schema import SYSTEM_ALIASES, Document, TerminologyError
from .ecl import EclError
from .models import (
    Code,
    ConditionDefinition,
    ConditionLibrary,
    ExcludedCode,
    FrailtyDeficit,
    FrailtyIndex,
    KeyMeasurement,
    MedicineClass,
    MedicineRule,
    MonitoringRequirement,
    Operator,
    Requirement,
    SocialNeed,
    WorklistCriterion,
    WorklistRule,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

CONDITIONS_FILE = DATA_DIR / "conditions.yaml"
MEDICINE_CLASSES_FILE = DATA_DIR / "medicine_classes.yaml"
FRAILTY_FILE = DATA_DIR / "frailty_index.yaml"
SOCIAL_NEEDS_FILE = DATA_DIR / "social_needs.yaml"
WORKLIST_RULES_FILE = DATA_DIR / "worklist_rules.yaml"
MONITORING_FILE = DATA_DIR / "monitoring.yaml"
KEY_MEASUREMENTS_FILE = DATA_DIR / "key_measurements.yaml"

# FHIR R4 Condition.clinicalStatus codes (http://terminology.hl7.org/CodeSystem/condition-clinical).
CONDITION_CLINICAL_STATUSES = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})

BODY_SYSTEMS = frozenset(
    {
        "circulatory",
        "respiratory",
        "endocrine",
        "mental health",
        "neurological",
        "musculoskeletal",
        "renal",
        "digestive",
        "cancer",
        "sensory",
        "skin",
        "genitourinary",
        "infection",
        "developmental",
    }
)

SOCIAL_NEED_FEATURES: tuple[str, ...] = (
    "lives_alone",
    "housebound",
    "is_carer",
    "has_carer",
    "social_care_package",
    "housing_problem",
    "financial_hardship",
    "social_isolation",
)
"""Social needs every feature table carries as true/false columns (in this order), each the id of a
need in ``social_needs.yaml`` (a test holds them to it); further needs in that file add columns."""

WORKLIST_FEATURES: dict[str, type] = {
    "condition_count": int,
    "mltc": bool,
    "complex_mltc": bool,
    "physical_and_mental": bool,
    "cms_score": float,
    "efi_score": float,
    "efi_category": str,
    "frailty_moderate_or_severe": bool,
    "falls": bool,
    "medicine_count_3m": int,
    "polypharmacy_5_9": bool,
    "polypharmacy_10_plus": bool,
    "unplanned_admissions_12m": int,
    "ae_attendances_12m": int,
    "unplanned_contacts_12m": int,
    "organisations_12m": int,
    "clinicians_12m": int,
    "social_need_count": int,
    **dict.fromkeys(SOCIAL_NEED_FEATURES, bool),
    "imd_decile": int,
    "overdue_monitoring_count": int,
    "discharged_30d": bool,
}
"""The person-level features the population feature engine produces, and their types."""


def _path(path: Path | str | None, default: Path) -> Path:
    return default if path is None else Path(path)


# -- medicines -------------------------------------------------------------------------------------


def _release_codes(doc: Document, entry: dict[str, Any], path: str, bundled: frozenset[Code]) -> frozenset[Code]:
    """An entry's codes under the organisation's SNOMED CT release: its optional `ecl` definition
    (`<<`, `<`, `OR`, `MINUS`) expanded against the loaded release, else the bundled, fully expanded
    `codes` (ADR 0008). Bundled codes the release does not know stay, so old records still match."""
    ecl = entry.get("ecl")
    if ecl is not None and (not isinstance(ecl, str) or not ecl.strip()):
        raise doc.error(f"{path}.ecl", "expected an ECL expression, e.g. '<< 49436004 |Atrial fibrillation|'")
    try:
        return releases.snomed_codes(bundled, ecl).codes
    except EclError as error:
        raise doc.error(f"{path}.ecl", str(error)) from None


@functools.lru_cache(maxsize=8)
def _medicine_classes(path: Path) -> tuple[MedicineClass, ...]:
    doc = Document(path, "careweave.terminology.medicine_classes/1")
    doc.check_root_keys(("medicine_classes",))
    classes: list[MedicineClass] = []
    for entry_path, entry in doc.entries("medicine_classes"):
        doc.keys(entry, entry_path, ("id", "name", "ingredients", "sources"), ("codes", "bnf", "note"))
        ingredients = doc.string_list(entry, "ingredients", entry_path, allow_empty=False)
        if any(item != item.lower() for item in ingredients):
            raise doc.error(f"{entry_path}.ingredients", "ingredient names must be lowercase")
        classes.append(
            MedicineClass(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                # widened through the loaded dm+d release to every product sharing the ingredient (VTM)
                codes=releases.dmd_codes(doc.codes(entry, entry_path, allow_empty=True)).codes,
                ingredients=ingredients,
                bnf=doc.optional_string(entry, "bnf", entry_path),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(classes)


def load_medicine_classes(path: Path | str | None = None) -> tuple[MedicineClass, ...]:
    """Medicine classes used by condition medicine rules and medicines-review features."""
    return _medicine_classes(_path(path, MEDICINE_CLASSES_FILE))


# -- conditions ------------------------------------------------------------------------------------


def _medicine_rule(doc: Document, value: object, path: str, class_ids: frozenset[str]) -> MedicineRule:
    rule = doc.mapping(value, path)
    doc.keys(
        rule, path, ("classes", "min_issues", "window_days"), ("without_conditions", "with_diagnosis_ever")
    )
    classes = doc.string_list(rule, "classes", path, allow_empty=False)
    unknown = [item for item in classes if item not in class_ids]
    if unknown:
        raise doc.error(f"{path}.classes", f"unknown medicine class(es): {', '.join(unknown)}")
    return MedicineRule(
        classes=classes,
        min_issues=doc.integer(rule, "min_issues", path, minimum=1),
        window_days=doc.integer(rule, "window_days", path, minimum=1),
        without_conditions=doc.string_list(rule, "without_conditions", path),
        with_diagnosis_ever=bool(rule.get("with_diagnosis_ever", False)),
    )


_CONDITION_REQUIRED = (
    "id",
    "name",
    "body_system",
    "category",
    "requires",
    "codes",
    "in_barnett",
    "sources",
)
_CONDITION_OPTIONAL = (
    "diagnosis_window_days",
    "medicine_rule",
    "cms_weight",
    "cms_component",
    "ho_always_items",
    "ecl",
    "note",
)


@functools.lru_cache(maxsize=8)
def _condition_library(path: Path, medicine_classes_path: Path) -> ConditionLibrary:
    doc = Document(path, "careweave.terminology.conditions/1")
    doc.check_root_keys(("conditions", "active_clinical_statuses"), ("excluded_codes",))
    class_ids = frozenset(item.id for item in _medicine_classes(medicine_classes_path))
    seen: dict[Code, str] = {}
    conditions: list[ConditionDefinition] = []
    for entry_path, entry in doc.entries("conditions"):
        doc.keys(entry, entry_path, _CONDITION_REQUIRED, _CONDITION_OPTIONAL)
        body_system = doc.string(entry, "body_system", entry_path)
        if body_system not in BODY_SYSTEMS:
            raise doc.error(f"{entry_path}.body_system", f"unknown body system {body_system!r}")
        category = doc.string(entry, "category", entry_path)
        if category not in ("physical", "mental"):
            raise doc.error(f"{entry_path}.category", "expected 'physical' or 'mental'")
        requires = doc.string(entry, "requires", entry_path)
        if requires not in get_args(Requirement):
            raise doc.error(f"{entry_path}.requires", f"expected one of {', '.join(get_args(Requirement))}")
        rule = None
        if entry.get("medicine_rule") is not None:
            rule = _medicine_rule(doc, entry["medicine_rule"], f"{entry_path}.medicine_rule", class_ids)
        if (requires == "diagnosis") != (rule is None):
            raise doc.error(
                f"{entry_path}.medicine_rule",
                "a medicine rule is needed exactly when 'requires' mentions medicine",
            )
        weight = entry.get("cms_weight")
        if weight is not None and (
            not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0
        ):
            raise doc.error(f"{entry_path}.cms_weight", f"expected a positive number, found {weight!r}")
        ho_items = doc.string_list(entry, "ho_always_items", entry_path)
        conditions.append(
            ConditionDefinition(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                body_system=body_system,
                category=cast(Any, category),
                codes=_release_codes(doc, entry, entry_path, doc.codes(entry, entry_path)),
                diagnosis_window_days=doc.optional_integer(
                    entry, "diagnosis_window_days", entry_path, minimum=1
                ),
                medicine_rule=rule,
                requires=cast(Requirement, requires),
                cms_weight=None if weight is None else float(weight),
                in_barnett=doc.boolean(entry, "in_barnett", entry_path),
                in_ho_always=bool(ho_items),
                sources=doc.sources(entry, entry_path),
                cms_component=doc.optional_string(entry, "cms_component", entry_path),
                ho_always_items=ho_items,
                note=doc.optional_string(entry, "note", entry_path),
            )
        )
    ids = {condition.id for condition in conditions}
    for index, condition in enumerate(conditions):
        if condition.medicine_rule is not None:
            dangling = [item for item in condition.medicine_rule.without_conditions if item not in ids]
            if dangling:
                raise doc.error(
                    f"conditions[{index}]({condition.id}).medicine_rule.without_conditions",
                    f"unknown condition(s): {', '.join(dangling)}",
                )
        if condition.cms_component is not None and condition.cms_weight is None:
            raise doc.error(f"conditions[{index}]({condition.id}).cms_component", "needs a cms_weight")
    components: dict[str, float] = {}
    for condition in conditions:
        if condition.cms_weight is not None and condition.cms_component is not None:
            previous = components.setdefault(condition.cms_component, condition.cms_weight)
            if previous != condition.cms_weight:
                raise doc.error(
                    f"conditions({condition.id}).cms_weight",
                    f"CMS component {condition.cms_component!r} has conflicting weights",
                )
    for index, condition in enumerate(conditions):
        for code in condition.codes:
            seen.setdefault(code, f"conditions[{index}]({condition.id})")
    excluded = _excluded_codes(doc, seen)
    return ConditionLibrary(
        conditions=tuple(conditions),
        version=doc.version,
        excluded_codes=excluded,
        review=doc.review,
        active_clinical_statuses=_active_statuses(doc),
    )


def _active_statuses(doc: Document) -> tuple[str, ...]:
    path = "active_clinical_statuses"
    block = doc.mapping(doc.root.get(path), path)
    doc.keys(block, path, ("statuses", "sources"))
    statuses = doc.string_list(block, "statuses", path, allow_empty=False)
    unknown = [item for item in statuses if item not in CONDITION_CLINICAL_STATUSES]
    if unknown:
        raise doc.error(f"{path}.statuses", f"not a FHIR condition-clinical code: {', '.join(unknown)}")
    doc.sources(block, path)
    return statuses


def _excluded_codes(doc: Document, seen: dict[Code, str]) -> tuple[ExcludedCode, ...]:
    value = doc.root.get("excluded_codes") or []
    if not isinstance(value, list):
        raise doc.error("excluded_codes", "expected a list")
    result: list[ExcludedCode] = []
    for index, item in enumerate(value):
        path = f"excluded_codes[{index}]"
        entry = doc.mapping(item, path)
        doc.keys(entry, path, ("system", "code", "display", "reason", "sources"))
        doc.sources(entry, path)
        alias = doc.string(entry, "system", path)
        if alias not in SYSTEM_ALIASES:
            raise doc.error(f"{path}.system", f"unknown code system {alias!r}")
        system, code = SYSTEM_ALIASES[alias], doc.string(entry, "code", path)
        if (system, code) in seen:
            raise doc.error(f"{path}.code", f"duplicate code {code}: also mapped at {seen[(system, code)]}")
        seen[(system, code)] = path
        result.append(
            ExcludedCode(system, code, doc.string(entry, "display", path), doc.string(entry, "reason", path))
        )
    return tuple(result)


def load_condition_library(
    path: Path | str | None = None, *, medicine_classes_path: Path | str | None = None
) -> ConditionLibrary:
    """The library of long-term conditions (Barnett 40, Cambridge Multimorbidity Score, Ho et al.)."""
    return _condition_library(
        _path(path, CONDITIONS_FILE), _path(medicine_classes_path, MEDICINE_CLASSES_FILE)
    )


def load_active_clinical_statuses(path: Path | str | None = None) -> tuple[str, ...]:
    """FHIR Condition.clinicalStatus codes under which a coded condition counts (active and kin)."""
    return load_condition_library(path).active_clinical_statuses


# -- frailty ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _frailty_index(path: Path) -> FrailtyIndex:
    doc = Document(path, "careweave.terminology.frailty_index/1")
    doc.check_root_keys(("deficits", "categories", "sources"))
    deficits: list[FrailtyDeficit] = []
    seen: dict[Code, str] = {}
    for entry_path, entry in doc.entries("deficits"):
        doc.keys(entry, entry_path, ("id", "name"), ("codes", "min_distinct_medicines", "ecl", "note"))
        min_medicines = doc.optional_integer(entry, "min_distinct_medicines", entry_path, minimum=1)
        if (min_medicines is None) == ("codes" not in entry):
            raise doc.error(entry_path, "a deficit needs either codes or min_distinct_medicines (not both)")
        deficits.append(
            FrailtyDeficit(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                codes=_release_codes(
                    doc,
                    entry,
                    entry_path,
                    doc.codes(entry, entry_path, seen=seen, allow_empty=min_medicines is not None),
                ),
                min_distinct_medicines=min_medicines,
            )
        )
    categories: list[tuple[str, float, float]] = []
    previous_upper: float | None = None
    for entry_path, entry in doc.entries("categories"):
        doc.keys(entry, entry_path, ("id", "lower_exclusive", "upper_inclusive"))
        lower, upper = entry["lower_exclusive"], entry["upper_inclusive"]
        if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in (lower, upper)):
            raise doc.error(entry_path, "category bounds must be numbers")
        if lower >= upper or (previous_upper is not None and lower != previous_upper):
            raise doc.error(entry_path, "categories must be contiguous and increasing")
        previous_upper = float(upper)
        categories.append((doc.identifier(entry, "id", entry_path), float(lower), float(upper)))
    return FrailtyIndex(
        deficits=tuple(deficits), categories=tuple(categories), sources=doc.sources(doc.root, "<root>")
    )


def load_frailty_index(path: Path | str | None = None) -> FrailtyIndex:
    """The electronic Frailty Index: 36 deficits and the fit/mild/moderate/severe categories."""
    return _frailty_index(_path(path, FRAILTY_FILE))


def load_fall_codes(path: Path | str | None = None) -> frozenset[Code]:
    """Codes recording a fall (the eFI 'falls' deficit), for the worklist feature ``falls``."""
    return load_frailty_index(path).deficit("falls").codes


# -- social needs ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _social_needs(path: Path) -> tuple[SocialNeed, ...]:
    doc = Document(path, "careweave.terminology.social_needs/1")
    doc.check_root_keys(("social_needs",))
    seen: dict[Code, str] = {}
    needs: list[SocialNeed] = []
    for entry_path, entry in doc.entries("social_needs"):
        doc.keys(entry, entry_path, ("id", "name", "codes", "sources"), ("ecl", "note"))
        needs.append(
            SocialNeed(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                codes=_release_codes(doc, entry, entry_path, doc.codes(entry, entry_path, seen=seen)),
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(needs)


def load_social_needs(path: Path | str | None = None) -> tuple[SocialNeed, ...]:
    """Social need indicators recorded as coded findings (lives alone, housebound, carer, ...)."""
    return _social_needs(_path(path, SOCIAL_NEEDS_FILE))


# -- worklists -------------------------------------------------------------------------------------


def _criterion(doc: Document, entry: dict[str, Any], path: str) -> WorklistCriterion:
    doc.keys(entry, path, ("feature", "op", "reason"), ("value",))
    feature = doc.string(entry, "feature", path)
    if feature not in WORKLIST_FEATURES:
        raise doc.error(f"{path}.feature", f"unknown feature {feature!r}")
    op = doc.string(entry, "op", path)
    if op not in get_args(Operator):
        raise doc.error(f"{path}.op", f"expected one of {', '.join(get_args(Operator))}")
    value = entry.get("value")
    kind = WORKLIST_FEATURES[feature]
    if op == "is_true":
        if kind is not bool or value is not None:
            raise doc.error(path, "'is_true' applies to a true/false feature and takes no value")
    elif op == "==":
        if value is None:
            raise doc.error(f"{path}.value", "'==' needs a value")
    elif kind not in (int, float) or not isinstance(value, int | float) or isinstance(value, bool):
        raise doc.error(path, f"{op!r} needs a numeric feature and a numeric value")
    reason = doc.string(entry, "reason", path)
    try:
        reason.format(value=1)
    except (KeyError, IndexError, ValueError) as error:
        raise doc.error(
            f"{path}.reason", f"not a valid template (only {{value}} may be used): {error}"
        ) from None
    return WorklistCriterion(feature=feature, op=cast(Operator, op), value=value, reason=reason)


@functools.lru_cache(maxsize=8)
def _worklist_rules(path: Path) -> tuple[WorklistRule, ...]:
    doc = Document(path, "careweave.terminology.worklist_rules/1")
    doc.check_root_keys(("rules",))
    rules: list[WorklistRule] = []
    for entry_path, entry in doc.entries("rules"):
        doc.keys(entry, entry_path, ("id", "title", "description", "match", "criteria", "sources"), ("note",))
        match = doc.string(entry, "match", entry_path)
        if match not in ("any", "all"):
            raise doc.error(f"{entry_path}.match", "expected 'any' or 'all'")
        raw = entry["criteria"]
        if not isinstance(raw, list) or not raw:
            raise doc.error(f"{entry_path}.criteria", "expected a non-empty list")
        criteria = tuple(
            _criterion(
                doc, doc.mapping(item, f"{entry_path}.criteria[{index}]"), f"{entry_path}.criteria[{index}]"
            )
            for index, item in enumerate(raw)
        )
        rules.append(
            WorklistRule(
                id=doc.identifier(entry, "id", entry_path),
                title=doc.string(entry, "title", entry_path),
                description=doc.string(entry, "description", entry_path),
                match=cast(Any, match),
                criteria=criteria,
                sources=doc.sources(entry, entry_path),
            )
        )
    return tuple(rules)


def load_worklist_rules(path: Path | str | None = None) -> tuple[WorklistRule, ...]:
    """Worklist rules (care co-ordination, medicines review, MDT, monitoring, discharge)."""
    return _worklist_rules(_path(path, WORKLIST_RULES_FILE))


# -- monitoring ------------------------------------------------------------------------------------


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
    return _monitoring(_path(path, MONITORING_FILE), _path(conditions_path, CONDITIONS_FILE))


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
            raise doc.error(f"{entry_path}.monitoring", f"unknown monitoring requirement(s): {', '.join(unknown)}")
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
    return _key_measurements(_path(path, KEY_MEASUREMENTS_FILE), _path(monitoring_path, MONITORING_FILE))


__all__ = [
    "SOCIAL_NEED_FEATURES",
    "TerminologyError",
    "WORKLIST_FEATURES",
    "load_active_clinical_statuses",
    "load_condition_library",
    "load_fall_codes",
    "load_frailty_index",
    "load_key_measurements",
    "load_medicine_classes",
    "load_monitoring_requirements",
    "load_social_needs",
    "load_worklist_rules",
]

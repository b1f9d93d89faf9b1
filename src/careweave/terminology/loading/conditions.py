"""The loader of ``conditions.yaml``: the condition library (Barnett, CMS, Ho et al.) with each
condition's codes and medicine rule, the FHIR clinical statuses under which a condition counts, and the
codes deliberately mapped to no condition (``excluded_codes``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast, get_args

from .._schema import SYSTEM_ALIASES, CodeGroup, Document
from ..models import Code, ConditionDefinition, ConditionLibrary, ExcludedCode, MedicineRule, Requirement
from .common import CONDITIONS_FILE, MEDICINE_CLASSES_FILE, file_path, release_codes
from .medicines import load_medicine_classes

# FHIR R4 Condition.clinicalStatus codes (http://terminology.hl7.org/CodeSystem/condition-clinical).
CONDITION_CLINICAL_STATUSES = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)

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
    "code_groups",
    "left_out",
)


@functools.lru_cache(maxsize=8)
def _condition_library(path: Path, medicine_classes_path: Path) -> ConditionLibrary:
    doc = Document(path, "careweave.terminology.conditions/1")
    doc.check_root_keys(("conditions", "active_clinical_statuses"), ("excluded_codes",))
    class_ids = frozenset(item.id for item in load_medicine_classes(medicine_classes_path))
    seen: dict[Code, str] = {}
    conditions: list[ConditionDefinition] = []
    for entry_path, entry in doc.records("conditions", _CONDITION_REQUIRED, _CONDITION_OPTIONAL):
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
        codes = doc.grouped_codes(entry, entry_path)
        left_out_groups(doc, entry, entry_path, codes)
        conditions.append(
            ConditionDefinition(
                id=doc.identifier(entry, "id", entry_path),
                name=doc.string(entry, "name", entry_path),
                body_system=body_system,
                category=cast(Any, category),
                codes=release_codes(doc, entry, entry_path, codes),
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


def left_out_groups(
    doc: Document, entry: dict[str, Any], path: str, codes: frozenset[Code]
) -> tuple[CodeGroup, ...]:
    """An entry's ``left_out`` groups; a code both matched and left out is a contradiction."""
    groups = doc.code_groups(entry, path, "left_out")
    for index, group in enumerate(groups):
        both = sorted(code for _, code in group.codes & codes)
        if both:
            raise doc.error(
                f"{path}.left_out[{index}]({group.concept})",
                f"code(s) both matched and left out: {', '.join(both)}",
            )
    return groups


@functools.lru_cache(maxsize=8)
def _condition_left_out(path: Path) -> dict[str, tuple[CodeGroup, ...]]:
    doc = Document(path, "careweave.terminology.conditions/1")
    result: dict[str, tuple[CodeGroup, ...]] = {}
    for entry_path, entry in doc.entries("conditions"):
        condition_id = doc.identifier(entry, "id", entry_path)
        result[condition_id] = left_out_groups(doc, entry, entry_path, doc.grouped_codes(entry, entry_path))
    return result


def load_condition_left_out(path: Path | str | None = None) -> dict[str, tuple[CodeGroup, ...]]:
    """Per condition id, the codes deliberately left out of it (each group with its reason)."""
    return _condition_left_out(file_path(path, CONDITIONS_FILE))


def load_condition_library(
    path: Path | str | None = None, *, medicine_classes_path: Path | str | None = None
) -> ConditionLibrary:
    """The library of long-term conditions (Barnett 40, Cambridge Multimorbidity Score, Ho et al.)."""
    return _condition_library(
        file_path(path, CONDITIONS_FILE), file_path(medicine_classes_path, MEDICINE_CLASSES_FILE)
    )


def load_active_clinical_statuses(path: Path | str | None = None) -> tuple[str, ...]:
    """FHIR Condition.clinicalStatus codes under which a coded condition counts (active and kin)."""
    return load_condition_library(path).active_clinical_statuses

"""The loader of ``worklist_rules.yaml``: the worklist rules, who each applies to, their criteria and
priority weights, each checked against the person-level features the population feature engine
produces (``WORKLIST_FEATURES``); the definition of unplanned care; how long a removal lasts."""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast, get_args

from .._schema import Document
from ..models import (
    EncounterKind,
    Operator,
    RemovalSettings,
    UnplannedCareDefinition,
    WorklistCriterion,
    WorklistRule,
)
from .common import WORKLIST_RULES_FILE, file_path
from .social import SOCIAL_NEED_FEATURES

WORKLIST_FEATURES: dict[str, type] = {
    "age": int,
    "condition_count": int,
    "mltc": bool,
    "complex_mltc": bool,
    "physical_and_mental": bool,
    "cms_score": float,
    "efi_score": float,
    "efi_category": str,
    "frailty_moderate_or_severe": bool,
    "falls": bool,
    "care_home": bool,
    "medicine_count_3m": int,
    "polypharmacy_5_9": bool,
    "polypharmacy_10_plus": bool,
    "unplanned_admissions_12m": int,
    "ae_attendances_12m": int,
    "unplanned_contacts_12m": int,
    "urgent_primary_care_12m": int,
    "organisations_12m": int,
    "clinicians_12m": int,
    "social_need_count": int,
    **dict.fromkeys(SOCIAL_NEED_FEATURES, bool),
    "imd_decile": int,
    "overdue_monitoring_count": int,
    "overdue_monitoring_detail": str,
    "discharged_30d": bool,
    # the medicines review (issue 13): findings, high-severity findings, anticholinergic burden total
    "medicines_findings": int,
    "medicines_high_findings": int,
    "acb_total": int,
}
"""The person-level features the population feature engine produces, and their types. A reason may
name a column a given feature table lacks (``overdue_monitoring_detail`` is newer than the rest): the
criterion's ``fallback_reason`` is used then."""

DEFAULT_BASIS: Final = "CareWeave default for local review"
_SAMPLE: Final[dict[type, object]] = {int: 1, float: 0.5, bool: True, str: "text"}


def _template(doc: Document, text: str, path: str, allowed: frozenset[str]) -> str:
    """A reason template naming only ``value`` and ``allowed`` columns, that formats with sample values."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
        unknown = sorted({n for n in names if n != "value" and n not in allowed})
        if unknown:
            raise KeyError(", ".join(unknown))
        text.format(value=1, **{n: _SAMPLE[WORKLIST_FEATURES[n]] for n in names if n != "value"})
    except (KeyError, IndexError, ValueError) as error:
        only = "{value} or a feature column" if allowed else "only {value}"
        raise doc.error(path, f"not a valid template ({only} may be used): {error}") from None
    return text


def _basis(doc: Document, entry: dict[str, Any], path: str) -> str:
    basis = doc.string(entry, "weight_basis", path)
    if basis in doc.references:
        return doc.references[basis]
    if basis.startswith(f"{DEFAULT_BASIS}:") and len(basis) > len(DEFAULT_BASIS) + 5:
        return basis
    raise doc.error(
        f"{path}.weight_basis",
        f"expected a reference key or '{DEFAULT_BASIS}: <why>' (every weight is cited or explained)",
    )


def _number(doc: Document, entry: dict[str, Any], key: str, path: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise doc.error(f"{path}.{key}", f"expected a number >= 0, found {value!r}")
    return float(value)


def _criterion(doc: Document, entry: dict[str, Any], path: str) -> WorklistCriterion:
    doc.keys(
        entry,
        path,
        ("feature", "op", "reason", "weight", "weight_basis"),
        ("value", "fallback_reason", "per_unit", "max_points", "min_age"),
    )
    feature = doc.string(entry, "feature", path)
    if feature not in WORKLIST_FEATURES:
        raise doc.error(f"{path}.feature", f"unknown feature {feature!r}")
    op = doc.string(entry, "op", path)
    if op not in get_args(Operator):
        raise doc.error(f"{path}.op", f"expected one of {', '.join(get_args(Operator))}")
    value = entry.get("value")
    kind = WORKLIST_FEATURES[feature]
    numeric = kind in (int, float)
    if op == "is_true":
        if kind is not bool or value is not None:
            raise doc.error(path, "'is_true' applies to a true/false feature and takes no value")
    elif op == "==":
        if value is None:
            raise doc.error(f"{path}.value", "'==' needs a value")
    elif not numeric or not isinstance(value, int | float) or isinstance(value, bool):
        raise doc.error(path, f"{op!r} needs a numeric feature and a numeric value")
    reason = _template(doc, doc.string(entry, "reason", path), f"{path}.reason", frozenset(WORKLIST_FEATURES))
    fallback = doc.optional_string(entry, "fallback_reason", path)
    if fallback is not None:
        fallback = _template(doc, fallback, f"{path}.fallback_reason", frozenset())
    per_unit = doc.boolean(entry, "per_unit", path) if "per_unit" in entry else False
    if per_unit and not numeric:
        raise doc.error(f"{path}.per_unit", "points per unit need a numeric feature")
    weight = _number(doc, entry, "weight", path)
    return WorklistCriterion(
        feature=feature,
        op=cast(Operator, op),
        value=value,
        reason=reason,
        weight=0.0 if weight is None else weight,
        weight_basis=_basis(doc, entry, path),
        per_unit=per_unit,
        max_points=_number(doc, entry, "max_points", path),
        fallback_reason=fallback,
        min_age=doc.optional_integer(entry, "min_age", path),
    )


def _criteria(doc: Document, entry: dict[str, Any], key: str, path: str, *, required: bool) -> tuple[WorklistCriterion, ...]:
    raw = entry.get(key)
    if raw is None and not required:
        return ()
    if not isinstance(raw, list) or not raw:
        raise doc.error(f"{path}.{key}", "expected a non-empty list")
    return tuple(
        _criterion(doc, doc.mapping(item, f"{path}.{key}[{index}]"), f"{path}.{key}[{index}]")
        for index, item in enumerate(raw)
    )


def _rule(doc: Document, entry_path: str, entry: dict[str, Any]) -> WorklistRule:
    doc.keys(
        entry,
        entry_path,
        ("id", "title", "description", "applies_to", "match", "criteria", "sources"),
        ("note", "priority_factors"),
    )
    match = doc.string(entry, "match", entry_path)
    if match not in ("any", "all"):
        raise doc.error(f"{entry_path}.match", "expected 'any' or 'all'")
    scope_path = f"{entry_path}.applies_to"
    scope = doc.mapping(entry["applies_to"], scope_path)
    doc.keys(scope, scope_path, ("min_age", "on_register", "text", "sources"))
    factors = _criteria(doc, entry, "priority_factors", entry_path, required=False)
    return WorklistRule(
        id=doc.identifier(entry, "id", entry_path),
        title=doc.string(entry, "title", entry_path),
        description=doc.string(entry, "description", entry_path),
        match=cast(Any, match),
        criteria=_criteria(doc, entry, "criteria", entry_path, required=True),
        sources=doc.sources(entry, entry_path),
        min_age=doc.integer(scope, "min_age", scope_path) or None,
        on_register=doc.boolean(scope, "on_register", scope_path),
        eligibility=doc.string(scope, "text", scope_path),
        eligibility_sources=doc.sources(scope, scope_path),
        priority_factors=tuple(
            WorklistCriterion(**{**c.__dict__, "priority_only": True}) for c in factors
        ),
    )


def _kind(doc: Document, block: dict[str, Any], name: str) -> EncounterKind:
    path = f"unplanned_care.{name}"
    entry = doc.mapping(block.get(name), path)
    doc.keys(entry, path, ("description", "classes", "sources"), ("priorities", "types"))
    types: tuple[str, ...] = ()
    for index, item in enumerate(doc.string_list(entry, "types", path)):
        code = item.split("|", 1)[0].strip()
        if not code.isdigit() or "|" not in item:
            raise doc.error(f"{path}.types[{index}]", f"expected '<SNOMED CT code> |<display>|', found {item!r}")
        types += (code,)
    return EncounterKind(
        classes=doc.string_list(entry, "classes", path, allow_empty=False),
        priorities=doc.string_list(entry, "priorities", path),
        types=types,
        description=doc.string(entry, "description", path),
        sources=doc.sources(entry, path),
    )


@dataclass(frozen=True)
class _WorklistFile:
    rules: tuple[WorklistRule, ...]
    unplanned_care: UnplannedCareDefinition
    removals: RemovalSettings


@functools.lru_cache(maxsize=8)
def _worklist_file(path: Path) -> _WorklistFile:
    doc = Document(path, "careweave.terminology.worklist_rules/1")
    doc.check_root_keys(("rules", "unplanned_care", "removals"))
    rules = tuple(_rule(doc, entry_path, entry) for entry_path, entry in doc.entries("rules"))
    block = doc.mapping(doc.root["unplanned_care"], "unplanned_care")
    doc.keys(block, "unplanned_care", ("emergency_admission", "ae_attendance", "urgent_primary_care"))
    unplanned = UnplannedCareDefinition(
        emergency_admission=_kind(doc, block, "emergency_admission"),
        ae_attendance=_kind(doc, block, "ae_attendance"),
        urgent_primary_care=_kind(doc, block, "urgent_primary_care"),
    )
    removals = doc.mapping(doc.root["removals"], "removals")
    doc.keys(removals, "removals", ("review_months", "added_by_clinician_weight", "note", "sources"))
    weight = _number(doc, removals, "added_by_clinician_weight", "removals")
    settings = RemovalSettings(
        review_months=doc.integer(removals, "review_months", "removals", minimum=1),
        added_by_clinician_weight=0.0 if weight is None else weight,
        note=doc.string(removals, "note", "removals"),
        sources=doc.sources(removals, "removals"),
    )
    return _WorklistFile(rules, unplanned, settings)


def load_worklist_rules(path: Path | str | None = None) -> tuple[WorklistRule, ...]:
    """Worklist rules (care co-ordination, medicines review, MDT, monitoring, discharge)."""
    return _worklist_file(file_path(path, WORKLIST_RULES_FILE)).rules


def load_unplanned_care(path: Path | str | None = None) -> UnplannedCareDefinition:
    """What counts as an emergency admission, an A&E attendance, and urgent primary care."""
    return _worklist_file(file_path(path, WORKLIST_RULES_FILE)).unplanned_care


def load_removal_settings(path: Path | str | None = None) -> RemovalSettings:
    """How long a clinician's removal from a list lasts by default (months), with its reason."""
    return _worklist_file(file_path(path, WORKLIST_RULES_FILE)).removals


__all__ = ["WORKLIST_FEATURES", "load_removal_settings", "load_unplanned_care", "load_worklist_rules"]

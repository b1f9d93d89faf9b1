"""The loader of ``worklist_rules.yaml``: the worklist rules and their criteria, each checked against
the person-level features the population feature engine produces (``WORKLIST_FEATURES``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, cast, get_args

from .._schema import Document
from ..models import Operator, WorklistCriterion, WorklistRule
from .common import WORKLIST_RULES_FILE, file_path
from .social import SOCIAL_NEED_FEATURES

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
    return _worklist_rules(file_path(path, WORKLIST_RULES_FILE))

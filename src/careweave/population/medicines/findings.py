"""The engine's long-form rows as findings: one per person, rule (and for duplication, per duplicated
ingredient or class), with the implicated medicines, the explanation for the clinician and for the
person, and the rule's citation. Written after the engine so both engines explain rows alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from .inputs import EPOCH

if TYPE_CHECKING:
    from .spec import MedicinesReview


@dataclass(frozen=True)
class Medicine:
    system: str
    code: str
    name: str
    since: dt.date | None

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "system": self.system,
            "name": self.name,
            "since": self.since.isoformat() if self.since else None,
        }


@dataclass(frozen=True)
class Finding:
    person_id: int
    rule: str
    family: str
    severity: str
    explanation: str
    explanation_for_person: str
    medicines: tuple[Medicine, ...]
    sources: tuple[str, ...]
    acb_total: int | None = None
    nhs_number: str | None = field(default=None, compare=False)

    def as_json(self) -> dict[str, Any]:
        """The printed object (``careweave medicines review --json``)."""
        printed: dict[str, Any] = {
            "nhs_number": self.nhs_number,
            "rule": self.rule,
            "severity": self.severity,
            "explanation": self.explanation,
            "explanation_for_person": self.explanation_for_person,
            "medicines": [m.as_json() for m in self.medicines],
            "source": self.sources[0] if self.sources else None,
        }
        if self.acb_total is not None:
            printed["acb_total"] = self.acb_total
        return printed


def _date(day: int | None) -> dt.date | None:
    return None if day is None else EPOCH + dt.timedelta(days=int(day))


def findings_from_rows(rows: pa.Table, question: MedicinesReview) -> list[Finding]:
    """Group the rows (person, rule, detail) into findings, medicines in code order."""
    grouped: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for row in rows.to_pylist():
        grouped.setdefault((row["person_id"], row["rule_id"], row["detail"] or ""), []).append(row)
    findings: list[Finding] = []
    for (person_id, rule_id, detail), items in grouped.items():
        rule = question.rules.rule(rule_id)
        medicines = tuple(
            sorted(
                {
                    Medicine(r["system"], r["code"], r["display"] or r["code"], _date(r["since_day"]))
                    for r in items
                    if r["code"] is not None
                },
                key=lambda m: (m.system, m.code),
            )
        )
        explanation = f"{rule.clinician} ({detail})" if detail else rule.clinician
        acb = items[0]["acb_total"] if rule.kind == "acb" else None
        findings.append(
            Finding(
                person_id=person_id,
                rule=rule_id,
                family=rule.family,
                severity=rule.severity,
                explanation=explanation,
                explanation_for_person=rule.person,
                medicines=medicines,
                sources=rule.sources,
                acb_total=int(acb) if acb is not None else None,
            )
        )
    order = {"high": 0, "medium": 1, "low": 2}
    return sorted(findings, key=lambda f: (f.person_id, order.get(f.severity, 3), f.rule, f.explanation))

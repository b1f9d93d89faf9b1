"""The medicines findings shaped for pages: the holistic summary's small section and the review
workspace. Words only; the caller has opened the record through governance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from careweave.medicines.findings import PersonFindings, finding_key
from careweave.medicines.models import Decision
from careweave.population.medicines import Finding
from careweave.record import models as rm
from careweave.terminology import load_condition_library
from careweave.terminology.loading.medicine_information import information_for
from careweave.ui.format import format_date

SEVERITY_TAG = {
    "high": ("High", "nhsuk-tag--red"),
    "medium": ("Medium", "nhsuk-tag--orange"),
    "low": ("Low", "nhsuk-tag--grey"),
}


def finding_row(finding: Finding) -> dict[str, Any]:
    label, classes = SEVERITY_TAG.get(finding.severity, ("Low", "nhsuk-tag--grey"))
    return {
        "key": finding_key(finding),
        "rule": finding.rule,
        "severity": label,
        "severity_classes": classes,
        "explanation": finding.explanation,
        "for_person": finding.explanation_for_person,
        "medicines": [m.name for m in finding.medicines],
        "sources": list(finding.sources),
        "acb_total": finding.acb_total,
    }


@dataclass(frozen=True)
class SummaryFindings:
    """The summary's medicines section: loaded after the page from ``fragment_url`` (the review runs
    on the person's record, which takes longer than the page's budget), or ``rows`` once computed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    review_url: str = ""
    fragment_url: str = ""
    loaded: bool = False


def summary_findings(person: rm.Person, found: PersonFindings | None = None) -> SummaryFindings:
    review_url = reverse("medicines:review", kwargs={"person_pk": person.pk})
    fragment_url = reverse("medicines:summary-findings", kwargs={"person_pk": person.pk})
    if found is None:
        return SummaryFindings(review_url=review_url, fragment_url=fragment_url)
    return SummaryFindings(
        rows=[finding_row(f) for f in found.open],
        accepted=len(found.accepted),
        review_url=review_url,
        fragment_url=fragment_url,
        loaded=True,
    )


def decided_text(decision: Any) -> str:
    return f"{decision.get_decision_display()} on {format_date(decision.decided_at)}: {decision.reason}"


@dataclass(frozen=True)
class MedicineRow:
    name: str
    since: str
    repeat: str
    indication: str  # the person's condition it is for, or "" when none is recorded
    why: str


def _conditions_by_library_id(person: rm.Person) -> dict[str, str]:
    library = load_condition_library()
    active = set(library.active_clinical_statuses)
    found: dict[str, str] = {}
    for condition in person.conditions.all():
        if condition.clinical_status and condition.clinical_status not in active:
            continue
        for condition_id in library.conditions_for_code(condition.system, condition.code):
            found.setdefault(condition_id, condition.display or library.by_id(condition_id).name)
    return found


def medicine_rows(person: rm.Person, found: PersonFindings) -> list[MedicineRow]:
    """Each current medicine with what it is for: the person's condition its class is usually for
    (``medicine_information.yaml``), or none recorded (shown as a finding in itself)."""
    conditions = _conditions_by_library_id(person)
    rows = []
    for medicine in found.current:
        information = information_for(medicine.system, medicine.code, medicine.name)
        linked = [
            conditions[c] for c in (information.for_conditions if information else ()) if c in conditions
        ]
        rows.append(
            MedicineRow(
                name=medicine.name,
                since=format_date(medicine.since) if medicine.since else "Not recorded",
                repeat="Repeat" if medicine.repeat else "Acute",
                indication=", ".join(dict.fromkeys(linked)),
                why=information.sentence if information else "",
            )
        )
    return rows


@dataclass(frozen=True)
class Workspace:
    as_of: str
    medicines: list[MedicineRow]
    findings: list[dict[str, Any]]
    accepted: list[dict[str, Any]]
    decided: list[dict[str, Any]]
    no_indication: int
    decisions: list[tuple[str, str]]


def workspace(person: rm.Person, found: PersonFindings, review: Any) -> Workspace:
    medicines = medicine_rows(person, found)
    decided = {d.finding_key: d for d in review.decisions.all()} if review is not None else {}
    findings = []
    for finding in found.open:
        row = finding_row(finding)
        made = decided.get(row["key"])
        row["decided"] = decided_text(made) if made is not None else ""
        findings.append(row)
    accepted = [{**finding_row(f), "decided": decided_text(d)} for f, d in found.accepted]
    return Workspace(
        as_of=format_date(found.as_of),
        medicines=medicines,
        findings=findings,
        accepted=accepted,
        decided=[r for r in findings if r["decided"]],
        no_indication=sum(1 for m in medicines if not m.indication),
        decisions=[(value, str(label)) for value, label in Decision.choices],
    )

"""Medicines findings as FHIR R4 DetectedIssue (issue 13, item 4).

- ``code``: the rule id in CareWeave's medicines-rule code system, and the HL7 v3 ActCode where one
  fits (DUPTHPY duplicate therapy, DRG drug interaction, COND condition, AGE age);
- ``severity``: high, moderate or low (the rule's high, medium, low);
- ``implicated``: the person's current MedicationRequest or MedicationStatement for each medicine;
- ``evidence``: the rule's citation; ``detail``: the explanation for the clinician;
- a finding accepted with "continue" carries the decision as ``mitigation``.
The id is ``medfinding-<person>-<key>`` (``findings.finding_key``), stable while the implicated
medicines are the same."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from careweave.fhir.conventions import CW_CODE_SYSTEM
from careweave.medicines.findings import finding_key
from careweave.medicines.models import FindingDecision
from careweave.population.medicines import Finding
from careweave.record import models as rm

RULE_SYSTEM: Final = CW_CODE_SYSTEM + "medicines-rule"
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
MITIGATION_SYSTEM: Final = CW_CODE_SYSTEM + "medicines-review-decision"
ID_PATTERN: Final = re.compile(r"^medfinding-(\d{1,18})-([0-9a-f]{16})$")
SEVERITY: Final = {"high": "high", "medium": "moderate", "low": "low"}
NOT_CURRENT: Final = ("stopped", "cancelled", "entered-in-error", "draft", "on-hold")

# HL7 v3 ActCode (_ActDetectedIssueCode) where one fits the rule; the rest carry only CareWeave's code.
_ACT_CODES: Final = {
    "DUPTHPY": "Duplicate Therapy Alert",
    "DRG": "Drug Interaction Alert",
    "COND": "Condition Alert",
    "AGE": "Age Alert",
}
_RULE_ACT: Final = {
    "DUPLICATE": "DUPTHPY",
    "PINCER-d": "DRG",
    "PINCER-e": "DRG",
    "PINCER-f": "DRG",
    "PINCER-a": "AGE",
    "PINCER-b": "COND",
    "PINCER-c": "COND",
    "PINCER-g": "COND",
    "PINCER-i": "COND",
    "PINCER-k": "COND",
    "STOPP-v3-E-nsaid-egfr-below-50": "COND",
    "STOPP-v3-E-metformin-egfr-below-30": "COND",
    "STOPP-v3-K-benzodiazepine-falls": "COND",
}


def act_code(rule: str) -> str | None:
    """The v3 ActCode for a rule id, or None where none fits (interactions: every DDI- rule is DRG)."""
    return "DRG" if rule.startswith("DDI-") else _RULE_ACT.get(rule)


def detected_issue_id(person_pk: int, finding: Finding) -> str:
    return f"medfinding-{person_pk}-{finding_key(finding)}"


def implicated(person: rm.Person, finding: Finding) -> list[dict[str, Any]]:
    """A reference to the person's latest current prescription of each implicated medicine."""
    wanted = {(m.system, m.code): m.name for m in finding.medicines}
    if not wanted:
        return []
    latest: dict[tuple[str, str], tuple[Any, str, str]] = {}
    rows = (
        rm.Medication.objects.filter(person=person, code__in={c for _, c in wanted})
        .exclude(status__in=NOT_CURRENT)
        .order_by("authored_on", "pk")
        .values_list("system", "code", "kind", "resource__logical_id", "authored_on")
    )
    for system, code, kind, logical_id, _authored in rows:
        if (system, code) in wanted:
            latest[(system, code)] = (None, kind, logical_id)
    return [
        {"reference": f"{kind}/{logical_id}", "display": wanted[key]}
        for key, (_, kind, logical_id) in sorted(latest.items())
    ]


def detected_issue(
    person: rm.Person,
    finding: Finding,
    *,
    as_of: dt.date,
    accepted: FindingDecision | None = None,
) -> dict[str, Any]:
    coding = [{"system": RULE_SYSTEM, "code": finding.rule, "display": finding.rule}]
    act = act_code(finding.rule)
    if act is not None:
        coding.append({"system": ACT_CODE, "code": act, "display": _ACT_CODES[act]})
    resource: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "id": detected_issue_id(person.pk, finding),
        "status": "final",
        "code": {"coding": coding, "text": finding.explanation_for_person},
        "severity": SEVERITY.get(finding.severity, "low"),
        "patient": {"reference": f"Patient/{person.resource.logical_id}"},
        "identifiedDateTime": as_of.isoformat(),
        "implicated": implicated(person, finding),
        "detail": finding.explanation,
    }
    if finding.sources:
        resource["evidence"] = [{"detail": [{"display": source} for source in finding.sources]}]
    if accepted is not None:
        resource["mitigation"] = [
            {
                "action": {
                    "coding": [{"system": MITIGATION_SYSTEM, "code": accepted.decision}],
                    "text": accepted.reason,
                },
                "date": accepted.decided_at.isoformat(),
            }
        ]
    return resource

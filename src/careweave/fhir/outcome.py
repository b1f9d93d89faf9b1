"""Import and API problems as FHIR OperationOutcome issues that name the file, entry and element."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    severity: str  # fatal | error | warning | information
    code: str  # FHIR issue-type: structure, required, value, invalid, not-found, processing, conflict...
    message: str
    file: str | None = None
    entry: int | None = None  # index in Bundle.entry, or line number (1-based) in NDJSON
    expression: str | None = None  # FHIRPath of the element, e.g. Bundle.entry[3].resource.subject

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.entry is not None:
            parts.append(
                f"entry {self.entry}"
                if not (self.file or "").endswith(("ndjson", "ndjson.gz"))
                else f"line {self.entry}"
            )
        if self.expression:
            parts.append(self.expression)
        return ", ".join(parts)

    def as_fhir(self) -> dict[str, Any]:
        where = self.where()
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": f"{where}: {self.message}" if where else self.message,
        }
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


@dataclass
class Refused(Exception):
    """Raised when a unit of import (a bundle, an NDJSON file, an API write) is refused as a whole."""

    issues: list[Issue] = field(default_factory=list)
    http_status: int = 400

    def __str__(self) -> str:
        return "; ".join(i.as_fhir()["diagnostics"] for i in self.issues[:5])


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    if not issues:
        return {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "information", "code": "informational", "diagnostics": "All OK"}],
        }
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in issues]}

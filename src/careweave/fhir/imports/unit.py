"""A unit of import: its entries, the context that labels its issues, and the summary of a run."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from careweave.fhir.outcome import Issue
from careweave.record import models as rm

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
LITERAL_REF = re.compile(
    r"^(?:(?P<base>https?://\S+?)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/\S+)?$"
)
PERSON_REF_ELEMENTS = ("subject", "patient", "beneficiary")
OUTCOMES = ("created", "updated", "unchanged", "skipped", "deleted")


@dataclass
class Entry:
    index: int | None
    resource: dict[str, Any] | None
    full_url: str | None = None
    method: str | None = None
    url: str | None = None
    if_none_exist: str | None = None
    prefix: str = ""  # FHIRPath prefix of the resource, e.g. "Bundle.entry[3].resource"
    # filled in while planning
    resource_type: str = ""
    source_system: str = ""
    source_id: str = ""
    logical_id: str = ""
    existing: rm.StoredResource | None = None
    matched_by_identifier: bool = False
    outcome: str = ""  # created | updated | unchanged | skipped | deleted
    person_logical_id: str | None = None
    break_glass: bool = False  # written under break-glass: it gives no one a care relationship
    # earlier versions of the same Task in this unit (a history sent at once, in any order), for its states
    versions: list[dict[str, Any]] = field(default_factory=list)
    # its validation, when done ahead in another process (careweave.fhir.imports.parallel)
    problems: list[Issue] | None = None

    def expr(self, element: str = "") -> str:
        base = self.prefix or self.resource_type or "resource"
        return f"{base}.{element}" if element else base


@dataclass(frozen=True)
class ImportContext:
    """What every issue of a unit is labelled with, and how the unit is read: the file it came from,
    the source system whose identity space its ids are in, and whether unresolved references refuse it."""

    file: str | None
    source: str
    strict: bool
    expected_type: str | None = None

    def issue(
        self,
        entry: Entry | None,
        code: str,
        message: str,
        element: str | None = "",
        *,
        severity: str = "error",
        expression: str | None = None,
    ) -> Issue:
        """An issue at `element` of the entry's resource ("" the resource itself, None nowhere in it)."""
        if expression is None and entry is not None and element is not None:
            expression = entry.expr(element)
        return Issue(severity, code, message, self.file, entry.index if entry else None, expression)

    def warning(self, entry: Entry, code: str, message: str, element: str | None = "") -> Issue:
        return self.issue(entry, code, message, element, severity="warning")


@dataclass(frozen=True)
class Verdict:
    """An API write policy's answer for one entry and one person it touches."""

    allowed: bool
    break_glass: bool = False
    # when refused, whether the person is one the caller may not know exists (answer as if unknown)
    hide: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ApiWriter:
    """A write through the API (the CLI import is a system actor and has none). Its `meta.source` is not
    trusted: everything it sends is in its own identity space. `allow(entry, person_pk)` decides each
    person a write touches, before AND after identity matching (issue 8)."""

    organisation_id: int | None
    allow: Callable[[Entry, int | None], Verdict]


@dataclass
class ImportSummary:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    files: int = 0
    units_refused: int = 0

    def add(self, resource_type: str, outcome: str, n: int = 1) -> None:
        self.counts[resource_type][outcome] += n

    @property
    def ok(self) -> bool:
        return not self.errors

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "refused": self.units_refused,
            "counts": {t: {o: c.get(o, 0) for o in OUTCOMES} for t, c in sorted(self.counts.items())},
            "totals": {o: self.total(o) for o in OUTCOMES},
            "errors": [i.as_fhir() for i in self.errors],
            "warnings": [i.as_fhir() for i in self.warnings[:200]],
        }


def canonical_hash(body: dict[str, Any]) -> str:
    """Hash of a resource's content, ignoring meta (version and timestamps change on every write)."""
    content = {k: v for k, v in body.items() if k != "meta"}
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def person_element(entry: Entry) -> str:
    resource = entry.resource or {}
    return next((e for e in PERSON_REF_ELEMENTS if e in resource), "subject")

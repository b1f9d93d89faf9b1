"""FHIR R4 import: Bundles (transaction, batch, collection...), single resources and Bulk Data NDJSON.

A unit of import (one Bundle, one resource file, one NDJSON file, one API write) is validated and
has all its references resolved before anything is written; then it is written in one database
transaction. A refused unit writes nothing. Importing the same data again is recognised by the
source system and the resource's identity there (or a business identifier such as the NHS number)
and reported as unchanged. See docs/adr/0002-import-semantics.md.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from careweave.fhir import projection as proj
from careweave.fhir.bindings import binding_errors
from careweave.fhir.bulk import allocate_ids, analyze, insert_rows
from careweave.fhir.nhs_number import NHS_NUMBER_SYSTEM, why_invalid
from careweave.fhir.outcome import Issue, Refused
from careweave.record import models as rm
from careweave.record.relationships import add_care_relationships, refresh_care_relationships

DEFAULT_SOURCE = "urn:careweave:source:unspecified"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
LITERAL_REF = re.compile(
    r"^(?:(?P<base>https?://\S+?)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/\S+)?$"
)

MODELLED = frozenset(
    {
        "Patient",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "RelatedPerson",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Encounter",
        "Appointment",
        "ServiceRequest",
    }
)
# Write order inside a unit, so the rows that others point at exist first.
TYPE_RANK = {
    "Organization": 0,
    "Location": 1,
    "Practitioner": 1,
    "PractitionerRole": 2,
    "Patient": 3,
    "Medication": 3,
    "RelatedPerson": 4,
    "Condition": 5,
    "ServiceRequest": 6,
    "Appointment": 6,
    "Encounter": 7,
}
PERSON_REF_ELEMENTS = ("subject", "patient", "beneficiary")
# Identifiers that say two resources are the same thing, whoever sent them.
MATCH_BY_IDENTIFIER = frozenset({"Patient", "Organization", "Practitioner"})
# The audit is ours alone: an AuditEvent sent to us is never stored, or it could be served as ours.
NEVER_WRITTEN = frozenset({"AuditEvent"})


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

    def expr(self, element: str = "") -> str:
        base = self.prefix or self.resource_type or "resource"
        return f"{base}.{element}" if element else base


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


OUTCOMES = ("created", "updated", "unchanged", "skipped", "deleted")


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


def _pydantic_issues(entry: Entry, error: ValidationError, file: str | None) -> list[Issue]:
    issues = []
    for problem in error.errors()[:20]:
        path = ""
        for part in problem["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part != "__root__":
                path += f".{part}" if path else str(part)
        kind = problem.get("type", "")
        code = "required" if kind == "missing" else "structure" if "extra" in kind else "value"
        message = problem.get("msg", "invalid")
        if kind == "missing":
            message = "is required but missing"
        issues.append(Issue("error", code, message, file, entry.index, entry.expr(path)))
    return issues


def validate_entry(entry: Entry, file: str | None, expected_type: str | None = None) -> list[Issue]:
    """Structural validation (fhir.resources R4B), required bindings and NHS numbers."""
    resource = entry.resource
    if not isinstance(resource, dict):
        return [Issue("error", "required", "entry has no resource", file, entry.index, entry.prefix or None)]
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return [
            Issue(
                "error", "required", "resourceType is missing", file, entry.index, entry.expr("resourceType")
            )
        ]
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return [
            Issue(
                "error",
                "structure",
                f"'{resource_type}' is not a FHIR R4 resource type",
                file,
                entry.index,
                entry.expr("resourceType"),
            )
        ]
    entry.resource_type = resource_type
    if expected_type and resource_type != expected_type:
        return [
            Issue(
                "error",
                "invalid",
                f"expected a {expected_type} but got a {resource_type}",
                file,
                entry.index,
                entry.expr("resourceType"),
            )
        ]
    issues: list[Issue] = []
    try:
        validated = model.model_validate(resource)
        issues.extend(
            Issue("error", "structure", "must be a JSON object or array, not a string", file, entry.index, entry.expr(p))
            for p in _json_strings(resource, validated)
        )
    except ValidationError as error:
        issues.extend(_pydantic_issues(entry, error, file))
    except (TypeError, ValueError, RecursionError) as error:
        issues.append(Issue("error", "structure", str(error)[:300], file, entry.index, entry.expr()))
    if issues:
        # the checks below read the elements they check, so they run only on a valid structure
        # (a status sent as a list or an identifier sent as a string is a structure error, not a crash)
        return issues
    for path, message in binding_errors(resource):
        issues.append(Issue("error", "code-invalid", message, file, entry.index, entry.expr(path)))
    if resource_type == "Patient":
        for i, ident in enumerate(resource.get("identifier") or []):
            if ident.get("system") == NHS_NUMBER_SYSTEM:
                reason = why_invalid(str(ident.get("value") or ""))
                if reason:
                    issues.append(
                        Issue(
                            "error",
                            "value",
                            f"invalid NHS number: {reason}",
                            file,
                            entry.index,
                            entry.expr(f"identifier[{i}].value"),
                        )
                    )
    return issues


_JSON_TEXT = re.compile(rb'"\s*[{\[]')


def _json_strings(resource: dict[str, Any], validated: BaseModel) -> list[str]:
    """Paths where fhir.resources accepted a string of JSON for an object or array (it parses such
    strings); the importer reads the resource as sent, where that element is still a string."""
    if not _JSON_TEXT.search(orjson.dumps(resource)):
        return []  # the common case: no string value even starts like JSON
    found: list[str] = []
    stack: list[tuple[Any, Any, str]] = [(resource, validated, "")]
    while stack:
        raw, model, path = stack.pop()
        if isinstance(raw, list) and isinstance(model, list):
            stack.extend((r, m, f"{path}[{i}]") for i, (r, m) in enumerate(zip(raw, model, strict=False)))
        elif isinstance(raw, str) and isinstance(model, BaseModel | list):
            found.append(path)
        elif isinstance(raw, dict) and isinstance(model, BaseModel):
            names = {(f.alias or n): n for n, f in type(model).model_fields.items()}
            for key, value in raw.items():
                if key in names:
                    stack.append((value, getattr(model, names[key], None), f"{path}.{key}" if path else key))
    return sorted(found)


def _walk_references(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node, path
        for key, value in node.items():
            if key == "contained":
                continue
            if isinstance(value, dict | list):
                yield from _walk_references(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk_references(item, f"{path}[{i}]")


class Importer:
    """Imports units of FHIR data for one actor. Not thread-safe; one per command or request."""

    def __init__(
        self,
        *,
        source_system: str | None = None,
        strict_references: bool | None = None,
        api: ApiWriter | None = None,
    ) -> None:
        self.default_source = source_system or DEFAULT_SOURCE
        self.api = api
        self.strict_references = strict_references
        self.summary = ImportSummary()
        # reference targets that many resources point at; cached for bulk loads
        self._target_cache: dict[tuple[str, str, str], tuple[int, str, int | None]] = {}
        self._domain_pk: dict[tuple[str, str], int | None] = {}
        # reference targets of the chunk being imported, looked up in one query per type
        self._chunk_targets: dict[tuple[str, str, str], tuple[int, str, int | None]] = {}

    def checkpoint(self) -> dict[str, Counter[str]]:
        return {k: Counter(v) for k, v in self.summary.counts.items()}

    def rollback_to(self, counts: dict[str, Counter[str]]) -> None:
        """After a refused unit: forget counts and cached keys of rows that were rolled back."""
        self.summary.counts = defaultdict(Counter, counts)
        self._target_cache.clear()
        self._domain_pk.clear()
        self._chunk_targets.clear()

    # -- entry points -------------------------------------------------------------------------
    def import_bundle(self, bundle: dict[str, Any], file: str | None = None) -> list[Entry]:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise Refused([Issue("error", "structure", "not a Bundle", file, None, "Bundle.resourceType")])
        bundle_type = bundle.get("type")
        if bundle_type not in {
            "transaction",
            "batch",
            "collection",
            "document",
            "message",
            "searchset",
            "history",
            "transaction-response",
            "batch-response",
        }:
            raise Refused(
                [
                    Issue(
                        "error",
                        "value",
                        f"Bundle.type '{bundle_type}' cannot be imported",
                        file,
                        None,
                        "Bundle.type",
                    )
                ]
            )
        raw_entries = bundle.get("entry") or []
        if not isinstance(raw_entries, list):
            raise Refused(
                [Issue("error", "structure", "Bundle.entry must be a list", file, None, "Bundle.entry")]
            )
        meta = bundle.get("meta") if isinstance(bundle.get("meta"), dict) else {}
        source = self.default_source if self.api else (meta or {}).get("source") or self.default_source
        entries = []
        for i, raw in enumerate(raw_entries):
            if not isinstance(raw, dict):
                raise Refused(
                    [Issue("error", "structure", "entry is not an object", file, i, f"Bundle.entry[{i}]")]
                )
            request = raw.get("request") or {}
            entries.append(
                Entry(
                    index=i,
                    resource=raw.get("resource"),
                    full_url=raw.get("fullUrl"),
                    method=(request.get("method") or "").upper() or None,
                    url=request.get("url"),
                    if_none_exist=request.get("ifNoneExist"),
                    prefix=f"Bundle.entry[{i}].resource",
                )
            )
            if bundle_type.endswith("-response") and raw.get("resource") is None:
                entries[-1].outcome = "skipped"  # a response entry that only carries a status
        # Files from other systems keep a literal reference we cannot resolve (with a warning); the
        # API and bulk NDJSON loads refuse it. urn:uuid references must always resolve. (ADR 0002)
        strict = bool(self.strict_references)
        self._import_unit(entries, file=file, source=source, strict=strict)
        return entries

    def import_resource(
        self,
        resource: dict[str, Any],
        file: str | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        expected_type: str | None = None,
    ) -> Entry:
        entry = Entry(index=None, resource=resource, method=method, url=url)
        strict = self.strict_references if self.strict_references is not None else False
        self._import_unit(
            [entry], file=file, source=self.default_source, strict=strict, expected_type=expected_type
        )
        return entry

    def import_ndjson_lines(
        self, lines: Iterable[bytes], file: str, *, chunk_size: int = 2000, expected_type: str | None = None
    ) -> None:
        """A Bulk Data NDJSON file: all-or-nothing for the file, written in chunks for speed."""
        strict = True if self.strict_references is None else self.strict_references
        refresh_planner_statistics()
        with transaction.atomic():
            chunk: list[Entry] = []
            for line_no, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    resource = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    raise Refused(
                        [Issue("error", "structure", f"broken JSON: {error}", file, line_no)]
                    ) from None
                chunk.append(Entry(index=line_no, resource=resource))
                if len(chunk) >= chunk_size:
                    self._import_unit(
                        chunk,
                        file=file,
                        source=self.default_source,
                        strict=strict,
                        expected_type=expected_type,
                    )
                    chunk = []
            if chunk:
                self._import_unit(
                    chunk, file=file, source=self.default_source, strict=strict, expected_type=expected_type
                )

    # -- the unit pipeline --------------------------------------------------------------------
    def _import_unit(
        self,
        entries: list[Entry],
        *,
        file: str | None,
        source: str,
        strict: bool,
        expected_type: str | None = None,
    ) -> None:
        issues: list[Issue] = []
        for entry in entries:
            if entry.outcome == "skipped" or entry.method in ("GET", "HEAD", "PATCH"):
                entry.outcome = "skipped"
                continue
            if entry.method == "DELETE":
                entry.resource_type = (entry.url or "").split("/")[0].split("?")[0]
                if entry.resource_type in NEVER_WRITTEN:
                    issues.append(self._never_written(entry, file))
                continue
            problems = validate_entry(entry, file, expected_type)
            if entry.resource_type in NEVER_WRITTEN:
                if self.api:
                    issues.append(self._never_written(entry, file))
                else:  # another system's audit trail in a file: not ours to keep
                    entry.outcome = "skipped"
                    self.summary.warnings.append(
                        Issue(
                            "warning",
                            "informational",
                            f"{entry.resource_type} skipped: CareWeave keeps its own audit",
                            file,
                            entry.index,
                            entry.expr(),
                        )
                    )
                continue
            if (
                problems
                and entry.resource_type
                and entry.resource_type not in MODELLED
                and all(p.code != "invalid" for p in problems)
                # one resource written to a type endpoint is the whole unit: skipping it would write
                # nothing and answer as if it had been written
                and not (expected_type and entry.index is None)
            ):
                # a type the record does not model and that does not validate: skipped, not a reason to refuse the rest
                entry.outcome = "skipped"
                self.summary.warnings.append(
                    Issue(
                        "warning",
                        "informational",
                        f"{entry.resource_type} skipped: not valid FHIR R4 ({problems[0].message})",
                        file,
                        entry.index,
                        problems[0].expression,
                    )
                )
                continue
            issues.extend(problems)
        if issues:
            # a write of our audit is refused as the method it is (405), wherever it comes
            read_only = any(e.resource_type in NEVER_WRITTEN for e in entries)
            raise Refused(issues, 405 if read_only and self.api else 400)
        live = [e for e in entries if e.outcome != "skipped"]
        for entry in live:
            self._identify(entry, source, file, issues)
        seen: dict[tuple[str, str, str], Entry] = {}
        for entry in live:
            key = (entry.source_system, entry.resource_type, entry.source_id)
            earlier = seen.get(key)
            if earlier is not None:
                if strict:
                    issues.append(
                        Issue(
                            "error",
                            "duplicate",
                            f"{entry.resource_type}/{entry.source_id} appears twice in this bundle (also entry {earlier.index})",
                            file,
                            entry.index,
                            entry.expr("id"),
                        )
                    )
                else:  # a collection may repeat a resource; the later copy stands
                    earlier.outcome = "skipped"
            seen[key] = entry
        if issues:
            raise Refused(issues)
        live = [e for e in live if e.outcome != "skipped"]
        if self.api:
            self._find_put_targets(live)
        self._find_existing(live)
        self._assign_logical_ids(live)
        local = self._local_reference_map(live)
        writes = [e for e in live if e.method != "DELETE"]
        self._prefetch_targets(writes, local, source)
        warnings: list[Issue] = []
        for entry in writes:
            self._rewrite_references(entry, local, source, strict, file, issues, warnings)
        if issues:
            raise Refused(issues)
        if self.api:
            self._check_api_writes(live, file)
        with transaction.atomic():
            for entry in (e for e in live if e.method == "DELETE"):
                self._delete(entry, file)
            self._write(sorted(writes, key=lambda e: TYPE_RANK.get(e.resource_type, 9)), file)
        self.summary.warnings.extend(warnings)
        for entry in entries:
            self.summary.add(entry.resource_type or "(request)", entry.outcome)

    def _identify(self, entry: Entry, source: str, file: str | None, issues: list[Issue]) -> None:
        if entry.method == "DELETE":
            entry.source_system = source
            entry.source_id = (entry.url or "").partition("/")[2].split("?")[0]
            return
        resource = entry.resource or {}
        meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else None
        # an API caller cannot speak for another system's identity space (issue 8, finding 2)
        entry.source_system = source if self.api else (meta or {}).get("source") or source
        put_target = LITERAL_REF.match(entry.url or "") if entry.method == "PUT" else None
        if put_target:
            kind, rid = put_target.group("type"), put_target.group("id")
            if kind != entry.resource_type or (resource.get("id") and resource.get("id") != rid):
                issues.append(
                    Issue(
                        "error",
                        "invalid",
                        f"request.url {entry.url} does not match the resource",
                        file,
                        entry.index,
                        entry.expr("id"),
                    )
                )
            entry.source_id = rid
        elif resource.get("id"):
            entry.source_id = str(resource["id"])
        elif entry.full_url:
            entry.source_id = (
                entry.full_url.rsplit("/", 1)[-1].removeprefix("urn:uuid:").removeprefix("urn:oid:")
            )
        else:
            # no identity at all: the content is the identity, so re-sending it is recognised
            entry.source_id = "sha256-" + canonical_hash(resource)[:40]
        conditional = entry.if_none_exist or (
            entry.url.partition("?")[2] if entry.method == "PUT" and entry.url and "?" in entry.url else None
        )
        if conditional and "?" in conditional:  # some senders write "Patient?identifier=..." in ifNoneExist
            conditional = conditional.partition("?")[2]
        if conditional:
            matches = search_by_params(entry.resource_type, conditional)
            if len(matches) > 1:
                issues.append(
                    Issue(
                        "error",
                        "multiple-matches",
                        f"conditional '{conditional}' matched {len(matches)} resources",
                        file,
                        entry.index,
                        entry.prefix.replace(".resource", ".request") or None,
                    )
                )
            elif matches:
                entry.existing = matches[0]
                if entry.if_none_exist:
                    entry.outcome = "unchanged"  # conditional create: it exists, so nothing is created

    @staticmethod
    def _never_written(entry: Entry, file: str | None) -> Issue:
        return Issue(
            "error",
            "not-supported",
            f"{entry.resource_type} is read-only: CareWeave writes its own audit and accepts none",
            file,
            entry.index,
            entry.expr() if entry.method != "DELETE" else None,
        )

    def _find_put_targets(self, entries: list[Entry]) -> None:
        """An API `PUT Type/id` updates the resource with that id here, whoever sent it first; it is
        never redirected to another resource by a source id or a business identifier (issue 8, finding 1)."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            if entry.method in ("PUT", "DELETE") and entry.existing is None and FHIR_ID.match(entry.source_id):
                wanted[entry.resource_type].add(entry.source_id)
        found = {
            (r.resource_type, r.logical_id): r
            for kind, ids in wanted.items()
            for r in rm.StoredResource.objects.filter(resource_type=kind, logical_id__in=ids)
        }
        for entry in entries:
            if entry.method in ("PUT", "DELETE") and entry.existing is None:
                entry.existing = found.get((entry.resource_type, entry.source_id))

    def _check_api_writes(self, entries: list[Entry], file: str | None) -> None:
        """Authorise an API write on what it changes, not on its URL: every person it touches before and
        after identity matching, no move of a resource to another person, no change of an NHS number.
        Moves and merges are an administrator's explicit operation (issue 8)."""
        assert self.api is not None
        conflicts: list[Issue] = []
        refusals: list[tuple[Issue, int]] = []
        after_pks = self._person_pks({e.person_logical_id for e in entries if e.person_logical_id})
        patient_rows = {
            p.resource_id: p.pk
            for p in rm.Person.objects.filter(
                resource_id__in=[e.existing.pk for e in entries if e.existing and e.resource_type == "Patient"]
            )
        }
        for entry in entries:
            existing = entry.existing
            if entry.resource_type == "Patient":
                before = patient_rows.get(existing.pk) if existing is not None else None
                after = before
                if existing is not None and entry.method != "DELETE":
                    problem = _nhs_number_change(entry, existing)
                    if problem:
                        conflicts.append(Issue("error", "conflict", problem, file, entry.index, entry.expr("identifier")))
            else:
                before = existing.person_id if existing is not None else None
                if entry.method == "DELETE":
                    after = before
                else:
                    after = after_pks.get(entry.person_logical_id) if entry.person_logical_id else None
                    if before is not None and after != before:
                        conflicts.append(
                            Issue(
                                "error",
                                "conflict",
                                f"this would move {entry.resource_type}/{entry.logical_id} to another person's record; "
                                "moving a resource between records is an administrator's $move operation",
                                file,
                                entry.index,
                                entry.expr(_person_element(entry)),
                            )
                        )
            for pk, is_before in ((before, True), (after, False)):
                if is_before and existing is None:
                    continue
                verdict = self.api.allow(entry, pk)
                if verdict.allowed:
                    entry.break_glass = entry.break_glass or verdict.break_glass
                    continue
                if verdict.hide and is_before:
                    # the resource at this URL belongs to someone the caller may not know of: as unknown
                    issue = Issue(
                        "error", "not-found", f"{entry.resource_type}/{entry.source_id} is not known", file, entry.index
                    )
                    refusals.append((issue, 404))
                elif verdict.hide and entry.person_logical_id:
                    # the same answer as for a person who does not exist (no existence oracle)
                    element = _person_element(entry)
                    issue = Issue(
                        "error",
                        "not-found",
                        f"dangling reference Patient/{entry.person_logical_id}: no such resource in this bundle or the record",
                        file,
                        entry.index,
                        entry.expr(f"{element}.reference"),
                    )
                    refusals.append((issue, 422))
                else:
                    refusals.append(
                        (Issue("error", "forbidden", verdict.reason, file, entry.index, entry.expr()), 403)
                    )
                break
        if refusals:
            raise Refused([i for i, _ in refusals], max(status for _, status in refusals))
        if conflicts:
            raise Refused(conflicts, 409)

    def _find_existing(self, entries: list[Entry]) -> None:
        wanted: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.existing is None:
                wanted[(entry.source_system, entry.resource_type)].append(entry)
        for (source, kind), group in wanted.items():
            ids = {e.source_id for e in group}
            found = {
                r.source_id: r
                for r in rm.StoredResource.objects.filter(
                    source_system=source, resource_type=kind, source_id__in=ids
                )
            }
            missing = ids - found.keys()
            if missing:
                for alias in rm.SourceAlias.objects.select_related("resource").filter(
                    source_system=source, resource_type=kind, source_id__in=missing
                ):
                    found[alias.source_id] = alias.resource
            for entry in group:
                entry.existing = found.get(entry.source_id)
                if entry.existing is None and entry.method == "PUT" and self.api:
                    continue  # a PUT to an unknown id creates it; it is not redirected by identifier
                if entry.existing is None and kind in MATCH_BY_IDENTIFIER and entry.resource:
                    entry.existing = match_by_identifier(kind, entry.resource)
                    entry.matched_by_identifier = entry.existing is not None

    def _assign_logical_ids(self, entries: list[Entry]) -> None:
        candidates: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            if entry.existing is None and FHIR_ID.match(entry.source_id):
                candidates[entry.resource_type].add(entry.source_id)
        taken = {
            (kind, lid)
            for kind, ids in candidates.items()
            for lid in rm.StoredResource.objects.filter(resource_type=kind, logical_id__in=ids).values_list(
                "logical_id", flat=True
            )
        }
        claimed: set[tuple[str, str]] = set()
        for entry in entries:
            if entry.existing is not None:
                entry.logical_id = entry.existing.logical_id
                continue
            key = (entry.resource_type, entry.source_id)
            if FHIR_ID.match(entry.source_id) and key not in taken and key not in claimed:
                entry.logical_id = entry.source_id
            else:
                entry.logical_id = uuid.uuid4().hex
            claimed.add((entry.resource_type, entry.logical_id))

    def _local_reference_map(self, entries: list[Entry]) -> dict[str, str]:
        local: dict[str, str] = {}
        for entry in entries:
            target = f"{entry.resource_type}/{entry.logical_id}"
            if entry.full_url:
                local[entry.full_url] = target
            local[f"{entry.resource_type}/{entry.source_id}"] = target
            if entry.resource and entry.resource.get("id"):
                local[f"{entry.resource_type}/{entry.resource['id']}"] = target
        return local

    def _rewrite_references(
        self,
        entry: Entry,
        local: dict[str, str],
        source: str,
        strict: bool,
        file: str | None,
        issues: list[Issue],
        warnings: list[Issue],
    ) -> None:
        resource = entry.resource or {}
        for node, path in _walk_references(resource, ""):
            value: str = node["reference"]
            if value.startswith("#"):
                continue
            if value in local:
                node["reference"] = local[value]
                continue
            if value.startswith(("urn:uuid:", "urn:oid:")):
                issues.append(
                    Issue(
                        "error",
                        "not-found",
                        f"dangling reference {value}: no entry in this bundle has that fullUrl",
                        file,
                        entry.index,
                        entry.expr(f"{path}.reference"),
                    )
                )
                continue
            if "?" in value:
                kind, _, query = value.partition("?")
                matches = search_by_params(kind, query)
                if len(matches) == 1:
                    node["reference"] = f"{kind}/{matches[0].logical_id}"
                else:
                    issues.append(
                        Issue(
                            "error",
                            "not-found",
                            f"conditional reference {value} matched {len(matches)} resources (needs exactly one)",
                            file,
                            entry.index,
                            entry.expr(f"{path}.reference"),
                        )
                    )
                continue
            match = LITERAL_REF.match(value)
            if not match:
                continue  # a logical or external reference we cannot resolve; keep as sent
            kind, rid = match.group("type"), match.group("id")
            short = f"{kind}/{rid}"
            if short in local:
                node["reference"] = local[short]
                continue
            found = self._resolve_stored(source, kind, rid)
            if found is not None:
                node["reference"] = f"{kind}/{found}"
            elif match.group("base"):
                continue  # an absolute URL on another server: an external reference
            elif strict:
                issues.append(
                    Issue(
                        "error",
                        "not-found",
                        f"dangling reference {value}: no such resource in this bundle or the record",
                        file,
                        entry.index,
                        entry.expr(f"{path}.reference"),
                    )
                )
            else:
                warnings.append(
                    Issue(
                        "warning",
                        "not-found",
                        f"reference {value} not found; kept as sent",
                        file,
                        entry.index,
                        entry.expr(f"{path}.reference"),
                    )
                )
        if entry.resource_type != "Patient":
            for element in PERSON_REF_ELEMENTS:
                target = proj.ref_id(resource.get(element), "Patient")
                if target:
                    entry.person_logical_id = target
                    break
            else:
                if entry.resource_type == "Appointment":
                    # an Appointment names its patient only as a participant (FHIR R4 compartment rule)
                    entry.person_logical_id = proj.appointment_participant(resource, "Patient")

    def _prefetch_targets(self, entries: list[Entry], local: dict[str, str], source: str) -> None:
        """Resolve every literal reference of a chunk in one query per type (the bulk path)."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for entry in entries:
            for node, _path in _walk_references(entry.resource or {}, ""):
                value = node["reference"]
                if value in local or value.startswith(("#", "urn:")) or "?" in value:
                    continue
                match = LITERAL_REF.match(value)
                if (
                    match
                    and not match.group("base")
                    and (source, match.group("type"), match.group("id")) not in self._target_cache
                ):
                    wanted[match.group("type")].add(match.group("id"))
        self._chunk_targets = {}
        for kind, ids in wanted.items():
            for pk, lid, person, sid in rm.StoredResource.objects.filter(
                source_system=source, resource_type=kind, source_id__in=ids
            ).values_list("pk", "logical_id", "person_id", "source_id"):
                self._chunk_targets[(source, kind, sid)] = (pk, lid, person)
            missing = ids - {sid for (_s, k, sid) in self._chunk_targets if k == kind}
            if missing:
                for pk, lid, person in rm.StoredResource.objects.filter(
                    resource_type=kind, logical_id__in=missing
                ).values_list("pk", "logical_id", "person_id"):
                    self._chunk_targets[(source, kind, lid)] = (pk, lid, person)

    def _resolve_stored(self, source: str, kind: str, rid: str) -> str | None:
        key = (source, kind, rid)
        cached = self._target_cache.get(key) or self._chunk_targets.get(key)
        if cached:
            return cached[1]
        row = (
            rm.StoredResource.objects.filter(source_system=source, resource_type=kind, source_id=rid)
            .values_list("pk", "logical_id", "person_id")
            .first()
            or rm.StoredResource.objects.filter(resource_type=kind, logical_id=rid)
            .values_list("pk", "logical_id", "person_id")
            .first()
        )
        if row is None:
            alias = (
                rm.SourceAlias.objects.filter(source_system=source, resource_type=kind, source_id=rid)
                .values_list("resource_id", "resource__logical_id", "resource__person_id")
                .first()
            )
            row = alias
        if row is None:
            return None
        if kind in ("Patient", "Organization", "Practitioner", "Medication"):
            self._target_cache[key] = row
        return str(row[1])

    # -- writing ------------------------------------------------------------------------------
    def _delete(self, entry: Entry, file: str | None) -> None:
        target = (
            entry.existing
            or rm.StoredResource.objects.filter(
                resource_type=entry.resource_type, logical_id=entry.source_id
            ).first()
        )
        if target is None:
            entry.outcome = "unchanged"  # deleting what is not there is not an error (FHIR R4 3.1.0.7.1)
            return
        if (
            entry.resource_type == "Patient"
            and rm.StoredResource.objects.filter(person__resource=target).exclude(pk=target.pk).exists()
        ):
            raise Refused(
                [
                    Issue(
                        "error",
                        "conflict",
                        "cannot delete a Patient whose record holds other resources",
                        file,
                        entry.index,
                    )
                ],
                409,
            )
        person_pk = target.person_id
        target.delete()
        if entry.resource_type in ("Encounter", "Appointment", "ServiceRequest") and person_pk is not None:
            refresh_care_relationships([person_pk])
        entry.outcome = "deleted"

    def _write(self, entries: list[Entry], file: str | None) -> None:
        now = timezone.now()
        by_rank: dict[int, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.outcome == "unchanged" and entry.if_none_exist:
                continue
            by_rank[TYPE_RANK.get(entry.resource_type, 9)].append(entry)
        for rank in sorted(by_rank):
            new_rows: list[tuple[Entry, rm.StoredResource]] = []
            changed: list[tuple[Entry, rm.StoredResource]] = []
            person_pks = self._person_pks({e.person_logical_id for e in by_rank[rank] if e.person_logical_id})
            for entry in by_rank[rank]:
                body = dict(entry.resource or {})
                body["id"] = entry.logical_id
                body.pop("meta", None)
                digest = canonical_hash(body)
                meta = dict((entry.resource or {}).get("meta") or {})
                meta["source"] = entry.source_system
                person_pk = person_pks.get(entry.person_logical_id) if entry.person_logical_id else None
                existing = entry.existing
                if existing is not None and (
                    existing.content_hash == digest or digest in existing.superseded_hashes
                ):
                    entry.outcome = "unchanged"
                    if entry.matched_by_identifier:
                        self._add_alias(entry, existing, digest)
                    continue
                if existing is not None:
                    existing.superseded_hashes = (
                        f"{existing.superseded_hashes} {existing.content_hash}".strip()
                    )
                    existing.version += 1
                    meta.update({"versionId": str(existing.version), "lastUpdated": now.isoformat()})
                    existing.body = orjson.dumps({**body, "meta": meta}).decode()
                    existing.content_hash = digest
                    existing.last_updated = now
                    existing.author_organisation = self._author_organisation()
                    existing.written_under_break_glass = entry.break_glass
                    if entry.resource_type != "Patient":
                        existing.person_id = person_pk
                    existing.save(
                        update_fields=[
                            "version",
                            "body",
                            "content_hash",
                            "superseded_hashes",
                            "last_updated",
                            "person",
                            "author_organisation",
                            "written_under_break_glass",
                        ]
                    )
                    if entry.matched_by_identifier:
                        self._add_alias(entry, existing, digest)
                    entry.outcome = "updated"
                    changed.append((entry, existing))
                else:
                    meta.update({"versionId": "1", "lastUpdated": now.isoformat()})
                    row = rm.StoredResource(
                        resource_type=entry.resource_type,
                        logical_id=entry.logical_id,
                        source_system=entry.source_system,
                        source_id=entry.source_id,
                        version=1,
                        content_hash=digest,
                        body=orjson.dumps({**body, "meta": meta}).decode(),
                        person_id=person_pk,
                        last_updated=now,
                        modelled=entry.resource_type in MODELLED,
                        author_organisation=self._author_organisation(),
                        written_under_break_glass=entry.break_glass,
                    )
                    entry.outcome = "created"
                    new_rows.append((entry, row))
            if new_rows:
                for (_, row), pk in zip(
                    new_rows, allocate_ids(rm.StoredResource, len(new_rows)), strict=True
                ):
                    row.pk = pk
                if insert_rows(rm.StoredResource, [r for _, r in new_rows], skip_conflicts=True) < len(new_rows):
                    raise self._written_meanwhile(new_rows, file)
            self._write_identifiers(new_rows, changed)
            self._project(new_rows, changed, person_pks, file)

    def _author_organisation(self) -> int | None:
        return self.api.organisation_id if self.api is not None else None

    def _grants(self, entry: Entry, organisation_id: int | None) -> bool:
        """Whether this write gives `organisation_id` the person in its care (ADR 0006): not under
        break-glass, and not a member of staff's write about their own organisation."""
        if organisation_id is None or entry.break_glass:
            return False
        return self.api is None or self.api.organisation_id != organisation_id

    @staticmethod
    def _written_meanwhile(new_rows: list[tuple[Entry, rm.StoredResource]], file: str | None) -> Refused:
        """A resource another request created (same id or source identity) after we looked."""
        present = set(
            rm.StoredResource.objects.filter(pk__in=[r.pk for _, r in new_rows]).values_list("pk", flat=True)
        )
        entry = next((e for e, r in new_rows if r.pk not in present), new_rows[0][0])
        return Refused(
            [
                Issue(
                    "error",
                    "conflict",
                    f"{entry.resource_type} was created by another request at the same time; send it again",
                    file,
                    entry.index,
                    entry.expr("id"),
                )
            ],
            409,
        )

    def _add_alias(self, entry: Entry, existing: rm.StoredResource, digest: str) -> None:
        # not get_or_create: its losing race is a unique violation in the server log
        rm.SourceAlias.objects.bulk_create(
            [
                rm.SourceAlias(
                    source_system=entry.source_system,
                    resource_type=entry.resource_type,
                    source_id=entry.source_id,
                    resource=existing,
                    content_hash=digest,
                )
            ],
            ignore_conflicts=True,
        )

    def _write_identifiers(
        self, new_rows: list[tuple[Entry, rm.StoredResource]], changed: list[tuple[Entry, rm.StoredResource]]
    ) -> None:
        if changed:
            rm.ResourceIdentifier.objects.filter(resource__in=[r for _, r in changed]).delete()
        rows = []
        for entry, stored in [*new_rows, *changed]:
            for ident in (
                (entry.resource or {}).get("identifier") or []
                if isinstance((entry.resource or {}).get("identifier"), list)
                else []
            ):
                if ident.get("value"):
                    rows.append(
                        rm.ResourceIdentifier(
                            resource_id=stored.pk,
                            resource_type=entry.resource_type,
                            system=(ident.get("system") or "")[:255],
                            value=str(ident["value"])[:255],
                        )
                    )
        if rows:
            insert_rows(rm.ResourceIdentifier, rows)

    def _person_pks(self, logical_ids: set[str]) -> dict[str, int]:
        result: dict[str, int] = {}
        missing = []
        for lid in logical_ids:
            pk = self._domain_pk.get(("Patient", lid))
            if pk is not None:
                result[lid] = pk
            else:
                missing.append(lid)
        if missing:
            for lid, pk in rm.Person.objects.filter(
                resource__logical_id__in=missing, resource__resource_type="Patient"
            ).values_list("resource__logical_id", "pk"):
                result[lid] = pk
                self._domain_pk[("Patient", lid)] = pk
        return result

    def _domain(self, kind: str, lid: str | None) -> int | None:
        if not lid:
            return None
        key = (kind, lid)
        if key not in self._domain_pk:
            model = {
                "Organization": rm.Organisation,
                "Practitioner": rm.Practitioner,
                "ServiceRequest": rm.Referral,
                "Patient": rm.Person,
            }[kind]
            self._domain_pk[key] = (
                model._default_manager.filter(resource__resource_type=kind, resource__logical_id=lid)
                .values_list("pk", flat=True)
                .first()
            )
        return self._domain_pk[key]

    def _role_organisation(self, lid: str | None) -> int | None:
        if not lid:
            return None
        return (
            rm.PractitionerRole.objects.filter(resource__resource_type="PractitionerRole", resource__logical_id=lid)
            .values_list("organisation_id", flat=True)
            .first()
        )

    def _medication(self, lid: str) -> dict[str, Any] | None:
        body = (
            rm.StoredResource.objects.filter(resource_type="Medication", logical_id=lid)
            .values_list("body", flat=True)
            .first()
        )
        return orjson.loads(body) if body else None

    def _project(
        self,
        new_rows: list[tuple[Entry, rm.StoredResource]],
        changed: list[tuple[Entry, rm.StoredResource]],
        person_pks: dict[str, int],
        file: str | None,
    ) -> None:
        """Create or refresh the record rows for stored resources."""
        creates: dict[type[Any], list[Any]] = defaultdict(list)
        changed_pks = {r.pk for _, r in changed}
        # care relationships: new rows add (person, organisation) pairs; an update may remove one
        related: set[tuple[int, int]] = set()
        recheck: set[int] = set()
        for entry, stored in [*new_rows, *changed]:
            if entry.resource_type not in MODELLED:
                continue
            is_update = stored.pk in changed_pks
            body = orjson.loads(stored.body)
            kind = entry.resource_type
            person_pk = person_pks.get(entry.person_logical_id or "")
            if kind == "Organization":
                self._upsert(
                    rm.Organisation,
                    stored,
                    proj.organisation_fields(body),
                    is_update,
                    creates,
                    cache=("Organization", entry.logical_id),
                )
            elif kind == "Practitioner":
                self._upsert(
                    rm.Practitioner,
                    stored,
                    proj.practitioner_fields(body),
                    is_update,
                    creates,
                    cache=("Practitioner", entry.logical_id),
                )
            elif kind == "PractitionerRole":
                role = proj.first_coding((body.get("code") or [None])[0])
                fields = {
                    "practitioner_id": self._domain(
                        "Practitioner", proj.ref_id(body.get("practitioner"), "Practitioner")
                    ),
                    "organisation_id": self._domain(
                        "Organization", proj.ref_id(body.get("organization"), "Organization")
                    ),
                    "role_code": (role.get("code") or "")[:64],
                    "role_display": (role.get("display") or "")[:255],
                }
                self._upsert(rm.PractitionerRole, stored, fields, is_update, creates)
            elif kind == "Patient":
                fields = proj.patient_fields(body)
                fields["registered_practice_id"] = self._domain(
                    "Organization", proj.registered_practice_id(body)
                )
                person = rm.Person.objects.filter(resource=stored).first() if is_update else None
                duplicate = Refused(
                    [
                        Issue(
                            "error",
                            "duplicate",
                            "another Patient resource already holds this NHS number",
                            file,
                            entry.index,
                            entry.expr("identifier"),
                        )
                    ],
                    409,
                )
                # checked on updates too: saving a taken NHS number is a unique violation, whose
                # message in the database server's log carries the number
                if (
                    fields["nhs_number"]
                    and rm.Person.objects.filter(nhs_number=fields["nhs_number"]).exclude(resource=stored).exists()
                ):
                    raise duplicate
                if person is None:
                    # a concurrent import of the same person may commit between the check and here:
                    # ON CONFLICT DO NOTHING waits for it and then inserts nothing, instead of a
                    # unique violation (and the NHS number in the server log)
                    if not insert_rows(rm.Person, [rm.Person(resource=stored, **fields)], skip_conflicts=True):
                        raise duplicate
                    person = rm.Person.objects.get(resource=stored)
                else:
                    for name, value in fields.items():
                        setattr(person, name, value)
                    person.save()
                self._domain_pk[("Patient", entry.logical_id)] = person.pk
                if is_update:
                    recheck.add(person.pk)
                elif person.registered_practice_id is not None and self._grants(entry, person.registered_practice_id):
                    related.add((person.pk, person.registered_practice_id))
                rm.StoredResource.objects.filter(pk=stored.pk).update(person=person)
            elif person_pk is None:
                # a clinical resource about no known person: kept as a resource, not in anyone's record
                self.summary.warnings.append(
                    Issue(
                        "warning",
                        "informational",
                        "not linked to a person in the record (no resolvable subject/patient)",
                        file,
                        entry.index,
                        entry.expr(),
                    )
                )
            elif kind == "Condition":
                self._upsert(
                    rm.Condition,
                    stored,
                    {"person_id": person_pk, **proj.condition_fields(body)},
                    is_update,
                    creates,
                )
                self._social(stored, body, person_pk, is_update, creates)
            elif kind in ("MedicationRequest", "MedicationStatement"):
                fields = proj.medication_fields(body, self._medication)
                prescriber = proj.ref_id(body.get("requester"), "Practitioner")
                fields["prescriber_id"] = self._domain("Practitioner", prescriber)
                self._upsert(rm.Medication, stored, {"person_id": person_pk, **fields}, is_update, creates)
            elif kind == "Observation":
                if is_update:
                    rm.Observation.objects.filter(resource=stored).delete()
                creates[rm.Observation].extend(
                    rm.Observation(resource=stored, person_id=person_pk, **row)
                    for row in proj.observation_rows(body)
                )
                self._social(stored, body, person_pk, is_update, creates)
            elif kind == "Encounter":
                fields = proj.encounter_fields(body)
                fields["organisation_id"] = self._domain(
                    "Organization", proj.ref_id(body.get("serviceProvider"), "Organization")
                )
                fields["practitioner_id"] = self._domain("Practitioner", proj.encounter_practitioner_id(body))
                self._upsert(rm.Encounter, stored, {"person_id": person_pk, **fields}, is_update, creates)
                self._relate(
                    person_pk, [o for o in [fields["organisation_id"]] if self._grants(entry, o)], is_update, related, recheck
                )
            elif kind == "Appointment":
                fields = proj.appointment_fields(body)
                fields["practitioner_id"] = self._domain(
                    "Practitioner", proj.appointment_participant(body, "Practitioner")
                )
                # FHIR R4 Appointment has no organisation element: it is the one a PractitionerRole
                # participant works for, when there is one
                fields["organisation_id"] = self._role_organisation(
                    proj.appointment_participant(body, "PractitionerRole")
                )
                self._upsert(rm.Appointment, stored, {"person_id": person_pk, **fields}, is_update, creates)
                self._relate(
                    person_pk, [o for o in [fields["organisation_id"]] if self._grants(entry, o)], is_update, related, recheck
                )
            elif kind == "ServiceRequest":
                fields = proj.referral_fields(body)
                requester = body.get("requester")
                fields["from_practitioner_id"] = self._domain(
                    "Practitioner", proj.ref_id(requester, "Practitioner")
                )
                fields["from_organisation_id"] = self._domain(
                    "Organization", proj.ref_id(requester, "Organization")
                )
                fields["to_organisation_id"] = next(
                    (
                        pk
                        for p in body.get("performer") or []
                        if (pk := self._domain("Organization", proj.ref_id(p, "Organization")))
                    ),
                    None,
                )
                replaces = next((proj.ref_id(r, "ServiceRequest") for r in body.get("replaces") or []), None)
                fields["replaces_id"] = self._domain("ServiceRequest", replaces)
                self._upsert(
                    rm.Referral,
                    stored,
                    {"person_id": person_pk, **fields},
                    is_update,
                    creates,
                    cache=("ServiceRequest", entry.logical_id),
                )
                self._relate(
                    person_pk,
                    [
                        o
                        for o in (fields["from_organisation_id"], fields["to_organisation_id"])
                        if self._grants(entry, o)
                    ],
                    is_update,
                    related,
                    recheck,
                )
            elif kind == "RelatedPerson":
                self._upsert(
                    rm.RelatedPerson,
                    stored,
                    {"person_id": person_pk, **proj.related_person_fields(body)},
                    is_update,
                    creates,
                )
        for model, rows in creates.items():
            insert_rows(model, rows)
        add_care_relationships(related)
        refresh_care_relationships(recheck)

    @staticmethod
    def _relate(
        person_pk: int,
        organisations: list[int | None],
        is_update: bool,
        related: set[tuple[int, int]],
        recheck: set[int],
    ) -> None:
        if is_update:
            recheck.add(person_pk)
        else:
            related.update((person_pk, org) for org in organisations if org is not None)

    def _upsert(
        self,
        model: type[Any],
        stored: rm.StoredResource,
        fields: dict[str, Any],
        is_update: bool,
        creates: dict[type[Any], list[Any]],
        cache: tuple[str, str] | None = None,
    ) -> None:
        if is_update and model.objects.filter(resource=stored).update(**fields):
            return
        if cache is not None:
            # rows others refer to in the same unit need their key now
            row = model.objects.create(resource=stored, **fields)
            self._domain_pk[cache] = row.pk
            return
        creates[model].append(model(resource=stored, **fields))

    def _social(
        self,
        stored: rm.StoredResource,
        body: dict[str, Any],
        person_pk: int,
        is_update: bool,
        creates: dict[type[Any], list[Any]],
    ) -> None:
        if is_update:
            rm.SocialCircumstance.objects.filter(resource=stored).delete()
        for row in proj.social_circumstance_rows(body):
            creates[rm.SocialCircumstance].append(
                rm.SocialCircumstance(resource=stored, person_id=person_pk, **row)
            )


def _person_element(entry: Entry) -> str:
    resource = entry.resource or {}
    return next((e for e in PERSON_REF_ELEMENTS if e in resource), "subject")


def _nhs_numbers(identifiers: Any) -> set[str]:
    if not isinstance(identifiers, list):
        return set()
    return {
        str(i.get("value"))
        for i in identifiers
        if isinstance(i, dict) and i.get("system") == NHS_NUMBER_SYSTEM and i.get("value")
    }


def _nhs_number_change(entry: Entry, existing: rm.StoredResource) -> str | None:
    """Why an API write of this Patient would change whose record it is, or None."""
    sent = _nhs_numbers((entry.resource or {}).get("identifier"))
    held = set(
        rm.ResourceIdentifier.objects.filter(resource=existing, system=NHS_NUMBER_SYSTEM).values_list(
            "value", flat=True
        )
    )
    if held and sent != held:
        return (
            "the NHS number of an existing record cannot be changed by an update; "
            "an administrator merges records with Patient/$merge"
        )
    others = rm.ResourceIdentifier.objects.filter(
        resource_type="Patient", system=NHS_NUMBER_SYSTEM, value__in=sent
    ).exclude(resource=existing)
    if others.exists():
        return (
            "this NHS number belongs to another record; an administrator merges records with Patient/$merge"
        )
    return None


def refresh_planner_statistics() -> None:
    """Autovacuum cannot refresh statistics inside a long import, so the record's tables are analysed
    before each bulk file and after each import (on PostgreSQL; elsewhere a no-op)."""
    analyze(
        (
            rm.StoredResource,
            rm.SourceAlias,
            rm.ResourceIdentifier,
            rm.Person,
            rm.Organisation,
            rm.Practitioner,
            rm.CareRelationship,
            *rm.PERSON_ITEM_MODELS,
        )
    )


def match_by_identifier(kind: str, resource: dict[str, Any]) -> rm.StoredResource | None:
    """The stored resource of the same type that shares a business identifier (e.g. the NHS number)."""
    idents = [
        (i.get("system") or "", str(i.get("value")))
        for i in resource.get("identifier") or []
        if isinstance(i, dict) and i.get("value") and i.get("system")
    ]
    if kind == "Patient":
        idents = [i for i in idents if i[0] == NHS_NUMBER_SYSTEM]
    for system, value in idents:
        found = (
            rm.ResourceIdentifier.objects.select_related("resource")
            .filter(resource_type=kind, system=system, value=value)
            .first()
        )
        if found:
            return found.resource
    return None


def search_by_params(kind: str, query: str) -> list[rm.StoredResource]:
    """Resolve a conditional create/update/reference query. Supports identifier and _id, ANDed."""
    qs = rm.StoredResource.objects.filter(resource_type=kind)
    params = parse_qsl(query, keep_blank_values=True)
    if not params:
        return []
    for name, value in params:
        if name == "identifier":
            system, sep, code = value.rpartition("|")
            idents = rm.ResourceIdentifier.objects.filter(resource_type=kind, value=code if sep else value)
            if sep and system:
                idents = idents.filter(system=system)
            qs = qs.filter(pk__in=idents.values("resource_id"))
        elif name == "_id":
            qs = qs.filter(logical_id=value)
        else:
            raise Refused(
                [
                    Issue(
                        "error",
                        "not-supported",
                        f"conditional search parameter '{name}' is not supported (use identifier or _id)",
                    )
                ]
            )
    return list(qs[:2])

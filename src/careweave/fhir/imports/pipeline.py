"""FHIR R4 import: Bundles (transaction, batch, collection...), single resources and Bulk Data NDJSON.

A unit of import (one Bundle, one resource file, one NDJSON file, one API write) is validated and
has all its references resolved before anything is written; then it is written in one database
transaction. A refused unit writes nothing. Importing the same data again is recognised by the
source system and the resource's identity there (or a business identifier such as the NHS number)
and reported as unchanged. See docs/adr/0002-import-semantics.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

import orjson
from django.db import transaction

from careweave.fhir import resource_types
from careweave.fhir.conventions import DEFAULT_SOURCE
from careweave.fhir.imports import identity
from careweave.fhir.imports.authorise import check_api_writes
from careweave.fhir.imports.records import Keys
from careweave.fhir.imports.references import References, local_reference_map
from careweave.fhir.imports.unit import ApiWriter, Entry, ImportContext, ImportSummary
from careweave.fhir.imports.validation import validate_entry
from careweave.fhir.imports.writer import Writer
from careweave.fhir.outcome import Issue, Refused
from careweave.fhir.r4.bundle import problems as bundle_rules
from careweave.record import models as rm
from careweave.record.bulk import analyze

BUNDLE_TYPES = frozenset(
    {
        "transaction",
        "batch",
        "collection",
        "document",
        "message",
        "searchset",
        "history",
        "transaction-response",
        "batch-response",
    }
)


class UnitPlan(Protocol):
    """What a unit of a larger load knows about the rest of it (careweave.fhir.imports.bulk)."""

    def assign(self, entries: list[Entry]) -> None: ...

    def targets(self, entries: list[Entry]) -> dict[str, str]: ...


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
        self.references = References()
        self.keys = Keys()

    def checkpoint(self) -> dict[str, Counter[str]]:
        return {k: Counter(v) for k, v in self.summary.counts.items()}

    def rollback_to(self, counts: dict[str, Counter[str]]) -> None:
        """After a refused unit: forget counts and cached keys of rows that were rolled back."""
        self.summary.counts = defaultdict(Counter, counts)
        self.references.clear()
        self.keys.pks.clear()

    # -- entry points -------------------------------------------------------------------------
    def import_bundle(self, bundle: dict[str, Any], file: str | None = None) -> list[Entry]:
        ctx = ImportContext(file=file, source=self.default_source, strict=bool(self.strict_references))
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise Refused([ctx.issue(None, "structure", "not a Bundle", expression="Bundle.resourceType")])
        bundle_type = bundle.get("type")
        if bundle_type not in BUNDLE_TYPES:
            message = f"Bundle.type '{bundle_type}' cannot be imported"
            raise Refused([ctx.issue(None, "value", message, expression="Bundle.type")])
        raw_entries = bundle.get("entry") or []
        if not isinstance(raw_entries, list):
            raise Refused(
                [ctx.issue(None, "structure", "Bundle.entry must be a list", expression="Bundle.entry")]
            )
        bundle_issues = [
            Issue("error", code, message, file, index, where)
            for index, where, code, message in bundle_rules(bundle)
        ]
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
        if bundle_issues:  # refused with every problem of its entries too, all at once
            for entry in entries:
                if entry.outcome != "skipped" and entry.method not in ("GET", "HEAD", "PATCH", "DELETE"):
                    bundle_issues.extend(validate_entry(entry, file))
            raise Refused(bundle_issues)
        # Files from other systems keep a literal reference we cannot resolve (with a warning); the
        # API and bulk NDJSON loads refuse it. urn:uuid references must always resolve. (ADR 0002)
        self._import_unit(entries, ImportContext(file=file, source=source, strict=ctx.strict))
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
        ctx = ImportContext(file=file, source=self.default_source, strict=strict, expected_type=expected_type)
        self._import_unit([entry], ctx)
        return entry

    def import_ndjson_lines(
        self, lines: Iterable[bytes], file: str, *, chunk_size: int = 2000, expected_type: str | None = None
    ) -> None:
        """A Bulk Data NDJSON file: all-or-nothing for the file, written in chunks for speed."""
        strict = True if self.strict_references is None else self.strict_references
        ctx = ImportContext(file=file, source=self.default_source, strict=strict, expected_type=expected_type)
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
                    self._import_unit(chunk, ctx)
                    chunk = []
            if chunk:
                self._import_unit(chunk, ctx)

    # -- the unit pipeline --------------------------------------------------------------------
    def _validate(self, entries: list[Entry], ctx: ImportContext) -> None:
        issues: list[Issue] = []
        for entry in entries:
            if entry.outcome == "skipped" or entry.method in ("GET", "HEAD", "PATCH"):
                entry.outcome = "skipped"
                continue
            if entry.method == "DELETE":
                entry.resource_type = (entry.url or "").split("/")[0].split("?")[0]
                if _read_only(entry.resource_type):
                    issues.append(_never_written(entry, ctx))
                continue
            problems = entry.problems
            if problems is None:
                problems = validate_entry(entry, ctx.file, ctx.expected_type)
            if _read_only(entry.resource_type):
                if self.api:
                    issues.append(_never_written(entry, ctx))
                else:  # another system's audit trail in a file: not ours to keep
                    entry.outcome = "skipped"
                    message = f"{entry.resource_type} skipped: CareWeave keeps its own audit"
                    self.summary.warnings.append(ctx.warning(entry, "informational", message))
                continue
            if (
                problems
                and entry.resource_type
                and entry.resource_type not in resource_types.modelled()
                and all(p.code != "invalid" for p in problems)
                # one resource written to a type endpoint is the whole unit: skipping it would write
                # nothing and answer as if it had been written
                and not (ctx.expected_type and entry.index is None)
            ):
                # a type the record does not model and that does not validate: skipped, not a reason to refuse the rest
                entry.outcome = "skipped"
                message = f"{entry.resource_type} skipped: not valid FHIR R4 ({problems[0].message})"
                where = problems[0].expression
                self.summary.warnings.append(
                    ctx.issue(entry, "informational", message, None, severity="warning", expression=where)
                )
                continue
            issues.extend(problems)
        if issues:
            # a write of our audit is refused as the method it is (405), wherever it comes
            read_only = any(_read_only(e.resource_type) for e in entries)
            raise Refused(issues, 405 if read_only and self.api else 400)

    def _import_unit(self, entries: list[Entry], ctx: ImportContext) -> None:
        self._validate(entries, ctx)
        self._write_unit(entries, ctx)

    def _write_unit(self, entries: list[Entry], ctx: ImportContext, plan: UnitPlan | None = None) -> None:
        """Identify, resolve and write validated entries; a `plan` (a Bulk Data set, ADR 0016) gives
        new entries the ids it planned for them and resolves references to the rest of the set."""
        issues: list[Issue] = []
        live = [e for e in entries if e.outcome != "skipped"]
        for entry in live:
            identity.identify(entry, ctx, api=self.api is not None, issues=issues)
        identity.drop_repeats(live, ctx, issues)
        if issues:
            raise Refused(issues)
        live = [e for e in live if e.outcome != "skipped"]
        if self.api:
            identity.find_put_targets(live)
            identity.posts_create(live)
        identity.find_existing(live, api=self.api is not None)
        if plan is None:
            identity.assign_logical_ids(live)
        else:
            plan.assign(live)
        local = local_reference_map(live)
        writes = [e for e in live if e.method != "DELETE"]
        if plan is not None:
            local.update(plan.targets(writes))
        self.references.prefetch(writes, local, ctx.source)
        warnings: list[Issue] = []
        for entry in writes:
            self.references.rewrite(entry, local, ctx, issues, warnings)
        if issues:
            raise Refused(issues)
        if self.api:
            check_api_writes(live, ctx, self.api, self.keys.person_pks)
        writer = Writer(keys=self.keys, api=self.api, summary=self.summary)
        with transaction.atomic():
            for entry in (e for e in live if e.method == "DELETE"):
                writer.delete(entry, ctx)
            writer.write(sorted(writes, key=lambda e: resource_types.write_rank(e.resource_type)), ctx)
        self.summary.warnings.extend(warnings)
        for entry in entries:
            self.summary.add(entry.resource_type or "(request)", entry.outcome)


def _read_only(kind: str) -> bool:
    """The audit is ours alone: an AuditEvent sent to us is never stored, or it could be served as ours."""
    registered = resource_types.get(kind)
    return registered is not None and registered.read_only


def _never_written(entry: Entry, ctx: ImportContext) -> Issue:
    message = f"{entry.resource_type} is read-only: CareWeave writes its own audit and accepts none"
    return ctx.issue(entry, "not-supported", message, "" if entry.method != "DELETE" else None)


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

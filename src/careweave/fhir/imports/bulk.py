"""A Bulk Data set: NDJSON files whose references cross files in both directions, in any order and
including cycles (Condition.encounter -> Encounter while Encounter.diagnosis -> Condition), loaded
as a whole (ADR 0016).

- Plan (pass 1) reads every line of every file: JSON, validation, source identity, and the logical
  id each new resource will get. Every reference must resolve within the set (in the identity space
  of the system that sent the entry) or to the record. Any problem refuses the whole set before
  anything is written, naming file, line and element.
- Load (pass 2) writes the set in batches, each in its own short transaction, in write-rank order
  across the files, so the rows the record's projections point at exist first; a reference to a
  resource of a later batch is written with the id planned for it. A load stopped midway is
  completed by running it again: what was written is recognised by its source identity (unchanged)
  and the rest gets the same ids, so nothing is duplicated.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
from django.db import transaction

from careweave.fhir import resource_types
from careweave.fhir.imports import identity, parallel
from careweave.fhir.imports.pipeline import Importer, refresh_planner_statistics
from careweave.fhir.imports.references import resolve_conditional, walk_references
from careweave.fhir.imports.unit import LITERAL_REF, Entry, ImportContext
from careweave.fhir.imports.writer import WrittenMeanwhile
from careweave.fhir.outcome import Issue, Refused
from careweave.record import models as rm

Key = tuple[str, str, str]  # (source system, resource type, id there)
MAX_ISSUES = 1000
# a batch that another load wrote some of first is planned and written again
RETRIES = 5


@dataclass(frozen=True)
class SetFile:
    """One NDJSON file of a set: the name its issues carry, the type its manifest or name says it
    holds, and how to read its lines (the caller knows about disks and gzip; this module does not)."""

    name: str
    expected_type: str | None
    lines: Callable[[], Iterator[bytes]]


@dataclass
class SetPlan:
    """What pass 1 learnt: the id of every resource of the set, where each file's types come in the
    write order, the lines that are skipped, and the references still to be found."""

    ids: dict[Key, str] = field(default_factory=dict)
    claimed: set[tuple[str, str]] = field(default_factory=set)  # (type, logical id) given in this set
    ranks: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))  # rank -> file indexes
    skipped: set[tuple[int, int]] = field(default_factory=set)  # (file index, line)
    pending: dict[Key, tuple[int, int, str]] = field(default_factory=dict)  # -> first (file, line, element)
    mentions: dict[Key, int] = field(default_factory=lambda: defaultdict(int))

    def target(self, source: str, value: str) -> str | None:
        match = LITERAL_REF.match(value)
        if not match or match.group("base"):
            return None
        kind, rid = match.group("type"), match.group("id")
        lid = self.ids.get((source, kind, rid))
        if lid is not None:
            return f"{kind}/{lid}"
        return f"{kind}/{rid}" if (kind, rid) in self.claimed else None

    # -- the UnitPlan of careweave.fhir.imports.pipeline --------------------------------------
    def assign(self, entries: list[Entry]) -> None:
        for entry in entries:
            key = (entry.source_system, entry.resource_type, entry.source_id)
            if entry.existing is not None:
                entry.logical_id = entry.existing.logical_id
                self.ids[key] = entry.logical_id  # another load may have written it meanwhile
            else:
                entry.logical_id = self.ids[key]

    def targets(self, entries: list[Entry]) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in entries:
            for node, _path in walk_references(entry.resource or {}, ""):
                value = node["reference"]
                target = self.target(entry.source_system, value)
                if target is not None:
                    found[value] = target
        return found


class BulkLoad:
    """Plans and loads one set of NDJSON files for an importer (the CLI's system actor)."""

    def __init__(self, importer: Importer, files: list[SetFile], *, batch_size: int = 2000) -> None:
        self.importer = importer
        self.files = files
        self.batch_size = max(1, batch_size)
        self.plan = SetPlan()
        self.issues: list[Issue] = []
        self.committed = 0  # batches committed: after one, a failure leaves a load to complete by re-running
        strict = True if importer.strict_references is None else importer.strict_references
        self.contexts = [
            ImportContext(
                file=f.name, source=importer.default_source, strict=strict, expected_type=f.expected_type
            )
            for f in files
        ]

    def run(self) -> None:
        """Raises Refused (nothing written) when the set does not hold together."""
        refresh_planner_statistics()
        for index in range(len(self.files)):
            self._plan_file(index)
        self._check_references()
        if self.issues:
            raise Refused(self.issues[:MAX_ISSUES])
        for rank in sorted(self.plan.ranks):
            for index in sorted(self.plan.ranks[rank]):
                for batch in self._batches(index, rank):
                    self._write(batch, index)
        refresh_planner_statistics()

    # -- pass 1 --------------------------------------------------------------------------------
    def _read(self, index: int) -> Iterator[tuple[int, bytes]]:
        for line_no, line in enumerate(self.files[index].lines(), start=1):
            if line.strip():
                yield line_no, line

    def _plan_file(self, index: int) -> None:
        try:
            self._plan_lines(index)
        except (OSError, EOFError, zlib.error) as error:  # a truncated or corrupt .gz, an unreadable file
            self._issue(Issue("fatal", "exception", f"cannot read the file: {error}", self.files[index].name))

    def _plan_lines(self, index: int) -> None:
        name, expected = self.files[index].name, self.files[index].expected_type
        for lines, validated in parallel.validated_chunks(self._read(index), name, expected):
            chunk: list[Entry] = []
            for (line_no, line), checked in zip(lines, validated, strict=True):
                try:
                    resource = orjson.loads(line)
                except orjson.JSONDecodeError as error:
                    self._issue(Issue("error", "structure", f"broken JSON: {error}", name, line_no))
                    continue
                entry = Entry(index=line_no, resource=resource)
                if checked is not None:
                    entry.resource_type, entry.problems = checked
                chunk.append(entry)
            if chunk:
                self._plan_chunk(chunk, index)

    def _plan_chunk(self, chunk: list[Entry], index: int) -> None:
        ctx = self.contexts[index]
        bad: set[int | None] = set()
        try:
            self.importer._validate(chunk, ctx)
        except Refused as refused:
            for issue in refused.issues:
                self._issue(issue)
                bad.add(issue.entry)
        plan = self.plan
        live = []
        for entry in chunk:
            if entry.resource_type:
                plan.ranks[resource_types.write_rank(entry.resource_type)].add(index)
            if entry.outcome == "skipped":
                plan.skipped.add((index, entry.index or 0))
            elif entry.index not in bad:
                live.append(entry)
        issues: list[Issue] = []
        for entry in live:
            identity.identify(entry, ctx, api=False, issues=issues)
        fresh = []
        for entry in live:
            key = (entry.source_system, entry.resource_type, entry.source_id)
            if key in plan.ids and entry.resource_type == "Task":
                # A Task's history: its versions, one line each, in any order and any file. They are
                # one resource: the writer keeps the latest by the Task's own dates (ADR 0012).
                self._plan_references(entry, index, ctx, issues)
            elif key in plan.ids:
                message = f"{entry.resource_type}/{entry.source_id} appears twice in this set of files"
                issues.append(ctx.issue(entry, "duplicate", message, "id"))
            else:
                plan.ids[key] = ""
                fresh.append(entry)
        identity.find_existing(fresh, api=False)
        identity.assign_logical_ids(fresh, plan.claimed)
        for entry in fresh:
            key = (entry.source_system, entry.resource_type, entry.source_id)
            plan.ids[key] = entry.logical_id
            plan.pending.pop(key, None)
            self._plan_references(entry, index, ctx, issues)
        for issue in issues:
            self._issue(issue)

    def _plan_references(self, entry: Entry, index: int, ctx: ImportContext, issues: list[Issue]) -> None:
        """Note each literal reference the set does not hold yet; refuse what can never resolve."""
        for node, path in walk_references(entry.resource or {}, ""):
            value: str = node["reference"]
            problem = ""
            if value.startswith(("urn:uuid:", "urn:oid:")):
                problem = f"dangling reference {value}: an NDJSON line has no fullUrl to refer to"
            elif "?" in value:
                try:
                    problem = resolve_conditional(value)[1]
                except Refused as refused:
                    problem = "; ".join(i.message for i in refused.issues)
            elif (match := LITERAL_REF.match(value)) and not match.group("base"):
                key = (entry.source_system, match.group("type"), match.group("id"))
                if key not in self.plan.ids:
                    self.plan.mentions[key] += 1
                    self.plan.pending.setdefault(
                        key, (index, entry.index or 0, entry.expr(f"{path}.reference"))
                    )
            if problem:
                issues.append(ctx.issue(entry, "not-found", problem, f"{path}.reference"))

    def _check_references(self) -> None:
        """What the set refers to and does not hold must be in the record (the sender's id, an alias
        of it, or our id)."""
        plan = self.plan
        waiting = {
            k: v for k, v in plan.pending.items() if k not in plan.ids and (k[1], k[2]) not in plan.claimed
        }
        by_type: dict[tuple[str, str], set[str]] = defaultdict(set)
        for source, kind, rid in waiting:
            by_type[(source, kind)].add(rid)
        found: set[Key] = set()
        for (source, kind), ids in by_type.items():
            listed = sorted(ids)
            for start in range(0, len(listed), 500):
                part = listed[start : start + 500]
                found.update(
                    (source, kind, sid)
                    for sid in rm.StoredResource.objects.filter(
                        source_system=source, resource_type=kind, source_id__in=part
                    ).values_list("source_id", flat=True)
                )
                found.update(
                    (source, kind, sid)
                    for sid in rm.SourceAlias.objects.filter(
                        source_system=source, resource_type=kind, source_id__in=part
                    ).values_list("source_id", flat=True)
                )
                found.update(
                    (source, kind, lid)
                    for lid in rm.StoredResource.objects.filter(
                        resource_type=kind, logical_id__in=part
                    ).values_list("logical_id", flat=True)
                )
        for key, (index, line, element) in sorted(waiting.items(), key=lambda kv: kv[1][:2]):
            if key in found:
                continue
            ctx = self.contexts[index]
            _source, kind, rid = key
            more = plan.mentions[key] - 1
            message = f"dangling reference {kind}/{rid}: no such resource in this set of files or the record"
            if more:
                message += f" ({more} more reference{'s' if more > 1 else ''} to it)"
            issue = Issue("error" if ctx.strict else "warning", "not-found", message, ctx.file, line, element)
            if ctx.strict:
                self._issue(issue)
            else:
                self.importer.summary.warnings.append(issue)

    def _issue(self, issue: Issue) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)

    # -- pass 2 --------------------------------------------------------------------------------
    def _batches(self, index: int, rank: int) -> Iterator[list[tuple[int, bytes]]]:
        """The file's lines of this write rank (a file normally holds one type, so one rank)."""
        single = all(index not in files for r, files in self.plan.ranks.items() if r != rank)
        batch: list[tuple[int, bytes]] = []
        for line_no, line in self._read(index):
            if not single:
                kind = orjson.loads(line).get("resourceType")
                if resource_types.write_rank(kind if isinstance(kind, str) else "") != rank:
                    continue
            batch.append((line_no, line))
            if len(batch) >= self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _entries(self, batch: list[tuple[int, bytes]], index: int) -> list[Entry]:
        entries = []
        for line_no, line in batch:
            resource = orjson.loads(line)
            entry = Entry(index=line_no, resource=resource, resource_type=resource["resourceType"])
            if (index, line_no) in self.plan.skipped:
                entry.outcome = "skipped"
            entries.append(entry)
        return entries

    def _write(self, batch: list[tuple[int, bytes]], index: int) -> None:
        """One batch in one transaction; planned again (from its lines) if another load wrote some
        of it first (WrittenMeanwhile), never for a conflict in the data."""
        for attempt in range(RETRIES):
            before = self.importer.checkpoint()
            try:
                with transaction.atomic():
                    self.importer._write_unit(self._entries(batch, index), self.contexts[index], self.plan)
                self.committed += 1
                return
            except Refused as refused:
                self.importer.rollback_to(before)
                if not isinstance(refused, WrittenMeanwhile) or attempt == RETRIES - 1:
                    raise

"""Resolving a unit's references: to entries of the same unit (fullUrl, Type/id), to the record
(the sender's ids, then ours), by conditional query; and the person each entry belongs to.

Files from other systems keep a literal reference we cannot resolve (with a warning); the API and
bulk NDJSON loads refuse it. urn:uuid references must always resolve (ADR 0002).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from careweave.fhir import projection as proj
from careweave.fhir.imports.identity import search_by_params
from careweave.fhir.imports.unit import LITERAL_REF, PERSON_REF_ELEMENTS, Entry, ImportContext
from careweave.fhir.outcome import Issue
from careweave.record import models as rm

Target = tuple[int, str, int | None]  # (stored pk, logical id, person pk)
# targets that many resources point at, cached across the units of a bulk load
CACHED_TARGET_TYPES = frozenset({"Patient", "Organization", "Practitioner", "Medication"})


def walk_references(node: Any, path: str) -> Iterator[tuple[dict[str, Any], str]]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node, path
        for key, value in node.items():
            if key == "contained":
                continue
            if isinstance(value, dict | list):
                yield from walk_references(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk_references(item, f"{path}[{i}]")


def local_reference_map(entries: list[Entry]) -> dict[str, str]:
    local: dict[str, str] = {}
    for entry in entries:
        target = f"{entry.resource_type}/{entry.logical_id}"
        if entry.full_url:
            local[entry.full_url] = target
        local[f"{entry.resource_type}/{entry.source_id}"] = target
        if entry.resource and entry.resource.get("id"):
            local[f"{entry.resource_type}/{entry.resource['id']}"] = target
    return local


class References:
    """Reference resolution for one importer, with its caches of targets."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str, str], Target] = {}
        # reference targets of the chunk being imported, looked up in one query per type
        self.chunk: dict[tuple[str, str, str], Target] = {}

    def clear(self) -> None:
        self.cache.clear()
        self.chunk.clear()

    def prefetch(self, entries: list[Entry], local: dict[str, str], source: str) -> None:
        """Resolve every literal reference of a chunk in one query per source and type (the bulk
        path). A reference is in the identity space of the system that sent the entry (issue 11)."""
        wanted: dict[tuple[str, str], set[str]] = defaultdict(set)
        for entry in entries:
            sender = entry.source_system or source
            for node, _path in walk_references(entry.resource or {}, ""):
                value = node["reference"]
                if value in local or value.startswith(("#", "urn:")) or "?" in value:
                    continue
                match = LITERAL_REF.match(value)
                if (
                    match
                    and not match.group("base")
                    and (sender, match.group("type"), match.group("id")) not in self.cache
                ):
                    wanted[(sender, match.group("type"))].add(match.group("id"))
        self.chunk = {}
        for (sender, kind), ids in wanted.items():
            for pk, lid, person, sid in rm.StoredResource.objects.filter(
                source_system=sender, resource_type=kind, source_id__in=ids
            ).values_list("pk", "logical_id", "person_id", "source_id"):
                self.chunk[(sender, kind, sid)] = (pk, lid, person)
            missing = ids - {sid for (s, k, sid) in self.chunk if k == kind and s == sender}
            if missing:  # the sender's id for something another system sent first (matched by identifier)
                for pk, lid, person, sid in rm.SourceAlias.objects.filter(
                    source_system=sender, resource_type=kind, source_id__in=missing
                ).values_list("resource_id", "resource__logical_id", "resource__person_id", "source_id"):
                    self.chunk[(sender, kind, sid)] = (pk, lid, person)
                missing -= {sid for (s, k, sid) in self.chunk if k == kind and s == sender}
            if missing:
                for pk, lid, person in rm.StoredResource.objects.filter(
                    resource_type=kind, logical_id__in=missing
                ).values_list("pk", "logical_id", "person_id"):
                    self.chunk[(sender, kind, lid)] = (pk, lid, person)

    def resolve_stored(self, source: str, kind: str, rid: str) -> str | None:
        key = (source, kind, rid)
        cached = self.cache.get(key) or self.chunk.get(key)
        if cached:
            return cached[1]
        row = (
            rm.StoredResource.objects.filter(source_system=source, resource_type=kind, source_id=rid)
            .values_list("pk", "logical_id", "person_id")
            .first()
            or rm.SourceAlias.objects.filter(source_system=source, resource_type=kind, source_id=rid)
            .values_list("resource_id", "resource__logical_id", "resource__person_id")
            .first()
            or rm.StoredResource.objects.filter(resource_type=kind, logical_id=rid)
            .values_list("pk", "logical_id", "person_id")
            .first()
        )
        if row is None:
            return None
        if kind in CACHED_TARGET_TYPES:
            self.cache[key] = row
        return str(row[1])

    def rewrite(
        self,
        entry: Entry,
        local: dict[str, str],
        ctx: ImportContext,
        issues: list[Issue],
        warnings: list[Issue],
    ) -> None:
        """Point the entry's references at our ids, and note the person it belongs to."""
        resource = entry.resource or {}
        for node, path in walk_references(resource, ""):
            value: str = node["reference"]
            at = f"{path}.reference"
            if value.startswith("#"):
                continue
            if value in local:
                node["reference"] = local[value]
                continue
            if value.startswith(("urn:uuid:", "urn:oid:")):
                message = f"dangling reference {value}: no entry in this bundle has that fullUrl"
                issues.append(ctx.issue(entry, "not-found", message, at))
                continue
            if "?" in value:
                target, why = resolve_conditional(value)
                if target is not None:
                    node["reference"] = target
                else:
                    issues.append(ctx.issue(entry, "not-found", why, at))
                continue
            match = LITERAL_REF.match(value)
            if not match:
                continue  # a logical or external reference we cannot resolve; keep as sent
            kind, rid = match.group("type"), match.group("id")
            short = f"{kind}/{rid}"
            if short in local:
                node["reference"] = local[short]
                continue
            found = self.resolve_stored(entry.source_system or ctx.source, kind, rid)
            if found is not None:
                node["reference"] = f"{kind}/{found}"
            elif match.group("base"):
                continue  # an absolute URL on another server: an external reference
            elif ctx.strict:
                message = f"dangling reference {value}: no such resource in this bundle or the record"
                issues.append(ctx.issue(entry, "not-found", message, at))
            else:
                warnings.append(
                    ctx.warning(entry, "not-found", f"reference {value} not found; kept as sent", at)
                )
        if entry.resource_type != "Patient":
            entry.person_logical_id = person_of(resource, entry.resource_type)


def resolve_conditional(value: str) -> tuple[str | None, str]:
    """A conditional reference (`Type?identifier=...`): `Type/<our id>` when exactly one resource
    matches, else None and why. Raises Refused for a search parameter it cannot use."""
    kind, _, query = value.partition("?")
    matches = search_by_params(kind, query)
    if len(matches) == 1:
        return f"{kind}/{matches[0].logical_id}", ""
    return None, f"conditional reference {value} matched {len(matches)} resources (needs exactly one)"


def person_of(resource: dict[str, Any], resource_type: str) -> str | None:
    """The Patient id whose record a resource belongs to (its references already rewritten)."""
    for element in PERSON_REF_ELEMENTS:
        target = proj.ref_id(resource.get(element), "Patient")
        if target:
            return target
    if resource_type == "Appointment":
        # an Appointment names its patient only as a participant (FHIR R4 compartment rule)
        return proj.appointment_participant(resource, "Patient")
    if resource_type == "Task":  # a Task names its patient in `for` (FHIR R4)
        return proj.ref_id(resource.get("for"), "Patient")
    return None

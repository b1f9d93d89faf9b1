"""Which stored resource each entry is, and the logical id it gets.

An entry is the same resource again when its source system sent that id before (or an alias of it),
when an API `PUT Type/id` names it, when a conditional create or update finds it, or, for the types
the registry matches by identifier (the NHS number for a Patient), when a business identifier does.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import parse_qsl

from django.db.models import QuerySet

from careweave.fhir import resource_types
from careweave.fhir.conventions import NHS_NUMBER_SYSTEM
from careweave.fhir.imports.unit import FHIR_ID, LITERAL_REF, Entry, ImportContext, canonical_hash
from careweave.fhir.outcome import Issue, Refused
from careweave.record import models as rm


def identify(entry: Entry, ctx: ImportContext, *, api: bool, issues: list[Issue]) -> None:
    """The entry's source system and id there, and what a conditional request matches."""
    if entry.method == "DELETE":
        entry.source_system = ctx.source
        entry.source_id = (entry.url or "").partition("/")[2].split("?")[0]
        return
    resource = entry.resource or {}
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else None
    # an API caller cannot speak for another system's identity space (issue 8, finding 2)
    entry.source_system = ctx.source if api else (meta or {}).get("source") or ctx.source
    put_target = LITERAL_REF.match(entry.url or "") if entry.method == "PUT" else None
    if put_target:
        kind, rid = put_target.group("type"), put_target.group("id")
        if kind != entry.resource_type or (resource.get("id") and resource.get("id") != rid):
            issues.append(
                ctx.issue(entry, "invalid", f"request.url {entry.url} does not match the resource", "id")
            )
        entry.source_id = rid
    elif resource.get("id"):
        entry.source_id = str(resource["id"])
    elif entry.full_url:
        entry.source_id = entry.full_url.rsplit("/", 1)[-1].removeprefix("urn:uuid:").removeprefix("urn:oid:")
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
            where = entry.prefix.replace(".resource", ".request") or None
            message = f"conditional '{conditional}' matched {len(matches)} resources"
            issues.append(ctx.issue(entry, "multiple-matches", message, None, expression=where))
        elif matches:
            entry.existing = matches[0]
            if entry.if_none_exist:
                entry.outcome = "unchanged"  # conditional create: it exists, so nothing is created


def drop_repeats(live: list[Entry], ctx: ImportContext, issues: list[Issue]) -> None:
    """The same resource twice in a unit: refused when strict; otherwise the later copy stands."""
    seen: dict[tuple[str, str, str], Entry] = {}
    for entry in live:
        key = (entry.source_system, entry.resource_type, entry.source_id)
        earlier = seen.get(key)
        if earlier is not None and entry.resource_type == "Task":
            # a Task's versions sent together, in any order: the latest by its own dates stands and
            # carries the others, whose states its history keeps (ADR 0012)
            seen[key] = later_task_version(earlier, entry)
            continue
        if earlier is not None:
            if ctx.strict:
                message = f"{entry.resource_type}/{entry.source_id} appears twice in this bundle (also entry {earlier.index})"
                issues.append(ctx.issue(entry, "duplicate", message, "id"))
            else:  # a collection may repeat a resource
                earlier.outcome = "skipped"
        seen[key] = entry


def later_task_version(one: Entry, other: Entry) -> Entry:
    """Of two copies of a Task, the one its own dates (then its state) say is later; the other is
    skipped and its body kept on the later one's `versions`."""
    from careweave.fhir.workflow import version_order

    later, earlier = (
        (other, one) if version_order(other.resource) >= version_order(one.resource) else (one, other)
    )
    earlier.outcome = "skipped"
    later.versions.extend([*earlier.versions, earlier.resource or {}])
    earlier.versions = []
    return later


def posts_create(entries: list[Entry]) -> None:
    """An API POST creates a new resource (FHIR R4 3.1.0.5): it is never the one an earlier POST with
    the same fullUrl or id made, so its source id is new. A client that means "the same one again"
    sends a conditional create (ifNoneExist) or a PUT. The record's identity rule still applies: a
    Patient whose NHS number is held (or an organisation or practitioner whose identifier is) is the
    one held (ADR 0002)."""
    for entry in entries:
        if entry.method == "POST" and entry.existing is None and entry.outcome != "unchanged":
            entry.source_id = uuid.uuid4().hex


def find_put_targets(entries: list[Entry]) -> None:
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


def find_existing(entries: list[Entry], *, api: bool) -> None:
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
        registered = resource_types.get(kind)
        for entry in group:
            entry.existing = found.get(entry.source_id)
            if entry.existing is None and entry.method == "PUT" and api:
                continue  # a PUT to an unknown id creates it; it is not redirected by identifier
            if entry.existing is None and registered and registered.match_by_identifier and entry.resource:
                entry.existing = match_by_identifier(kind, entry.resource)
                entry.matched_by_identifier = entry.existing is not None


def assign_logical_ids(entries: list[Entry], claimed: set[tuple[str, str]] | None = None) -> None:
    """The id a new resource gets here: the sender's when it is free, else one derived from its source
    identity, so a load that is run again after a failure gives the same resource the same id (ADR 0016).
    `claimed` carries the ids already given across the units of one load."""
    candidates: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        if entry.existing is None:
            if FHIR_ID.match(entry.source_id):
                candidates[entry.resource_type].add(entry.source_id)
            candidates[entry.resource_type].add(derived_id(entry))
    taken = {
        (kind, lid)
        for kind, ids in candidates.items()
        for lid in rm.StoredResource.objects.filter(resource_type=kind, logical_id__in=ids).values_list(
            "logical_id", flat=True
        )
    }
    claimed = set() if claimed is None else claimed
    for entry in entries:
        if entry.existing is not None:
            entry.logical_id = entry.existing.logical_id
            continue
        key = (entry.resource_type, entry.source_id)
        derived = (entry.resource_type, derived_id(entry))
        if FHIR_ID.match(entry.source_id) and key not in taken and key not in claimed:
            entry.logical_id = entry.source_id
        elif derived not in taken and derived not in claimed:
            entry.logical_id = derived[1]
        else:
            entry.logical_id = uuid.uuid4().hex
        claimed.add((entry.resource_type, entry.logical_id))


def derived_id(entry: Entry) -> str:
    """A logical id that depends only on the entry's source identity."""
    return uuid.uuid5(
        uuid.NAMESPACE_URL, f"{entry.source_system}|{entry.resource_type}|{entry.source_id}"
    ).hex


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
            qs = qs.filter(pk__in=identified(kind, value))
        elif name == "_id":
            qs = qs.filter(logical_id=value)
        else:
            message = f"conditional search parameter '{name}' is not supported (use identifier or _id)"
            raise Refused([Issue("error", "not-supported", message)])
    return list(qs[:2])


def identified(kind: str, token: str) -> QuerySet[rm.ResourceIdentifier, Any]:
    """The stored resources of a type with an identifier `system|value` (or any system's `value`)."""
    system, sep, value = token.rpartition("|")
    idents = rm.ResourceIdentifier.objects.filter(resource_type=kind, value=value if sep else token)
    if sep and system:
        idents = idents.filter(system=system)
    return idents.values("resource_id")


def nhs_numbers(identifiers: Any) -> set[str]:
    if not isinstance(identifiers, list):
        return set()
    return {
        str(i.get("value"))
        for i in identifiers
        if isinstance(i, dict) and i.get("system") == NHS_NUMBER_SYSTEM and i.get("value")
    }


def nhs_number_change(entry: Entry, existing: rm.StoredResource) -> str | None:
    """Why an API write of this Patient would change whose record it is, or None."""
    sent = nhs_numbers((entry.resource or {}).get("identifier"))
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

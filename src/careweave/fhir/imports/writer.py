"""Writing a planned unit: stored resources (new, new versions, unchanged), their identifiers and
aliases, deletes, then the record's rows by write rank so the rows others point at exist first."""

from __future__ import annotations

from collections import defaultdict

import orjson
from django.utils import timezone

from careweave.fhir import resource_types
from careweave.fhir.imports.records import Item, Keys, RecordRows
from careweave.fhir.imports.unit import ApiWriter, Entry, ImportContext, ImportSummary, canonical_hash
from careweave.fhir.models import ResourceVersion
from careweave.fhir.outcome import Refused
from careweave.record import models as rm
from careweave.record.bulk import allocate_ids, insert_rows
from careweave.record.relationships import refresh_care_relationships

Rows = list[tuple[Entry, rm.StoredResource]]


class WrittenMeanwhile(Refused):
    """Another import or request created some of a unit's resources after they were looked up: the
    unit can be planned again (it will find them), unlike a conflict in the data itself."""


class Writer:
    def __init__(self, *, keys: Keys, api: ApiWriter | None, summary: ImportSummary) -> None:
        self.keys = keys
        self.api = api
        self.summary = summary

    def delete(self, entry: Entry, ctx: ImportContext) -> None:
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
            message = "cannot delete a Patient whose record holds other resources"
            raise Refused([ctx.issue(entry, "conflict", message, None)], 409)
        person_pk = target.person_id
        version = _earlier_version(target)
        version.deleted = True
        ResourceVersion.objects.bulk_create([version], ignore_conflicts=True)
        target.delete()
        registered = resource_types.get(entry.resource_type)
        if (
            registered
            and registered.care_relationship
            and entry.resource_type != "Patient"
            and person_pk is not None
        ):
            refresh_care_relationships([person_pk])
        entry.outcome = "deleted"

    def write(self, entries: list[Entry], ctx: ImportContext) -> None:
        by_rank: dict[int, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.outcome == "unchanged" and entry.if_none_exist:
                continue
            by_rank[resource_types.write_rank(entry.resource_type)].append(entry)
        for rank in sorted(by_rank):
            group = by_rank[rank]
            person_pks = self.keys.person_pks({e.person_logical_id for e in group if e.person_logical_id})
            new_rows, changed = self._store(group, person_pks, ctx)
            self._write_identifiers(new_rows, changed)
            self._project(new_rows, changed, person_pks, ctx)

    def _store(self, group: list[Entry], person_pks: dict[str, int], ctx: ImportContext) -> tuple[Rows, Rows]:
        now = timezone.now()
        author = self.api.organisation_id if self.api is not None else None
        new_rows: Rows = []
        changed: Rows = []
        earlier: list[ResourceVersion] = []
        for entry in group:
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
                earlier.append(_earlier_version(existing))
                existing.superseded_hashes = f"{existing.superseded_hashes} {existing.content_hash}".strip()
                existing.version += 1
                meta.update({"versionId": str(existing.version), "lastUpdated": now.isoformat()})
                existing.body = orjson.dumps({**body, "meta": meta}).decode()
                existing.content_hash = digest
                existing.last_updated = now
                existing.author_organisation = author
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
                    modelled=entry.resource_type in resource_types.modelled(),
                    author_organisation=author,
                    written_under_break_glass=entry.break_glass,
                )
                entry.outcome = "created"
                new_rows.append((entry, row))
        if earlier:
            ResourceVersion.objects.bulk_create(earlier, ignore_conflicts=True)
        if new_rows:
            for (_, row), pk in zip(new_rows, allocate_ids(rm.StoredResource, len(new_rows)), strict=True):
                row.pk = pk
            if insert_rows(rm.StoredResource, [r for _, r in new_rows], skip_conflicts=True) < len(new_rows):
                raise self._written_meanwhile(new_rows, ctx)
        return new_rows, changed

    @staticmethod
    def _written_meanwhile(new_rows: Rows, ctx: ImportContext) -> WrittenMeanwhile:
        """A resource another request created (same id or source identity) after we looked."""
        present = set(
            rm.StoredResource.objects.filter(pk__in=[r.pk for _, r in new_rows]).values_list("pk", flat=True)
        )
        entry = next((e for e, r in new_rows if r.pk not in present), new_rows[0][0])
        message = f"{entry.resource_type} was created by another request at the same time; send it again"
        return WrittenMeanwhile([ctx.issue(entry, "conflict", message, "id")], 409)

    @staticmethod
    def _add_alias(entry: Entry, existing: rm.StoredResource, digest: str) -> None:
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

    @staticmethod
    def _write_identifiers(new_rows: Rows, changed: Rows) -> None:
        if changed:
            rm.ResourceIdentifier.objects.filter(resource__in=[r for _, r in changed]).delete()
        rows = []
        for entry, stored in [*new_rows, *changed]:
            identifiers = (entry.resource or {}).get("identifier")
            for ident in identifiers if isinstance(identifiers, list) else []:
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

    def _project(self, new_rows: Rows, changed: Rows, person_pks: dict[str, int], ctx: ImportContext) -> None:
        """Create or refresh the record rows for stored resources, as the registry says."""
        rows = RecordRows(ctx=ctx, keys=self.keys, api=self.api)
        changed_pks = {r.pk for _, r in changed}
        for entry, stored in [*new_rows, *changed]:
            registered = resource_types.get(entry.resource_type)
            if registered is None or registered.model is None:
                continue
            person_pk = person_pks.get(entry.person_logical_id or "")
            if registered.compartment and entry.resource_type != "Patient" and person_pk is None:
                # a clinical resource about no known person: kept as a resource, not in anyone's record
                message = "not linked to a person in the record (no resolvable subject/patient)"
                self.summary.warnings.append(ctx.warning(entry, "informational", message))
                continue
            item = Item(entry, stored, orjson.loads(stored.body), person_pk, stored.pk in changed_pks)
            if registered.project is not None:
                registered.project(rows, item)
            elif registered.fields is not None:
                rows.upsert(registered.model, item, {"person_id": person_pk, **registered.fields(item.body)})
        rows.finish()


def _earlier_version(stored: rm.StoredResource) -> ResourceVersion:
    """The stored resource as it is now, kept for `_history` before it changes or goes."""
    return ResourceVersion(
        resource_type=stored.resource_type,
        logical_id=stored.logical_id,
        version=stored.version,
        body=stored.body,
        last_updated=stored.last_updated,
        person_id=stored.person_id,
    )

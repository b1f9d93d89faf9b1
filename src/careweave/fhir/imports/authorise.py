"""An API write authorised on what it changes, not on its URL (issue 8): every person it touches
before and after identity matching, no move of a resource to another person, no change of an NHS
number. Moves and merges are an administrator's explicit operation."""

from __future__ import annotations

from collections.abc import Callable

from careweave.fhir.imports.identity import nhs_number_change
from careweave.fhir.imports.unit import ApiWriter, Entry, ImportContext, person_element
from careweave.fhir.outcome import Issue, Refused
from careweave.record import models as rm


def check_api_writes(
    entries: list[Entry],
    ctx: ImportContext,
    api: ApiWriter,
    person_pks: Callable[[set[str]], dict[str, int]],
) -> None:
    conflicts: list[Issue] = []
    refusals: list[tuple[Issue, int]] = []
    after_pks = person_pks({e.person_logical_id for e in entries if e.person_logical_id})
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
                problem = nhs_number_change(entry, existing)
                if problem:
                    conflicts.append(ctx.issue(entry, "conflict", problem, "identifier"))
        else:
            before = existing.person_id if existing is not None else None
            if entry.method == "DELETE":
                after = before
            else:
                after = after_pks.get(entry.person_logical_id) if entry.person_logical_id else None
                if before is not None and after != before:
                    message = (
                        f"this would move {entry.resource_type}/{entry.logical_id} to another person's record; "
                        "moving a resource between records is an administrator's $move operation"
                    )
                    conflicts.append(ctx.issue(entry, "conflict", message, person_element(entry)))
        for pk, is_before in ((before, True), (after, False)):
            if is_before and existing is None:
                continue
            verdict = api.allow(entry, pk)
            if verdict.allowed:
                entry.break_glass = entry.break_glass or verdict.break_glass
                continue
            if verdict.hide and is_before:
                # the resource at this URL belongs to someone the caller may not know of: as unknown
                message = f"{entry.resource_type}/{entry.source_id} is not known"
                refusals.append((ctx.issue(entry, "not-found", message, None), 404))
            elif verdict.hide and entry.person_logical_id:
                # the same answer as for a person who does not exist (no existence oracle)
                message = (
                    f"dangling reference Patient/{entry.person_logical_id}: "
                    "no such resource in this bundle or the record"
                )
                refusals.append(
                    (ctx.issue(entry, "not-found", message, f"{person_element(entry)}.reference"), 422)
                )
            else:
                refusals.append((ctx.issue(entry, "forbidden", verdict.reason), 403))
            break
    if refusals:
        raise Refused([i for i, _ in refusals], max(status for _, status in refusals))
    if conflicts:
        raise Refused(conflicts, 409)

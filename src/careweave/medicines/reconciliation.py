"""Medicines reconciliation after discharge (issue 13, item 5): a hospital's discharge medication List
(its MedicationStatements, as imported into the record) compared with the pre-admission list (the
person's current prescriptions when the discharge arrived); each change kept with the reason the
reconciling clinician records; a reconciliation task on the care plan due within 2 working days of
the discharge arriving; the result as a FHIR List with mode "changes". Writes under one transaction,
the record opened through governance (care planning)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Final

import orjson
from django.db import transaction

from careweave.care import services as care
from careweave.medicines.models import Reconciliation, ReconciliationChange
from careweave.medicines.services import ReviewError, open_review, task_owner
from careweave.population.features import months_before
from careweave.population.medicines.reconcile import ListedMedicine, add_working_days, compare
from careweave.record import models as rm

NOT_CURRENT: Final = ("stopped", "cancelled", "entered-in-error", "draft", "on-hold", "completed")
DUE_WORKING_DAYS: Final = 2
FLAG_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/list-item-flag"
FLAGS: Final = {
    "unchanged": ("01", "Unchanged"),
    "changed": ("02", "Changed"),
    "stopped": ("03", "Cancelled"),
    "started": ("04", "Prescribed"),
}


def _listed(row: rm.Medication) -> ListedMedicine:
    return ListedMedicine(row.system, row.code, row.display or row.code, row.dose_text)


def _discharge_rows(person: rm.Person, list_id: str) -> list[rm.Medication]:
    stored = rm.StoredResource.objects.filter(resource_type="List", logical_id=list_id, person=person).first()
    if stored is None:
        raise ReviewError({"discharge_list": f"No List/{list_id} in this person's record"})
    try:
        body = orjson.loads(stored.body)
    except orjson.JSONDecodeError:
        raise ReviewError({"discharge_list": f"List/{list_id} is not valid JSON"}) from None
    ids = []
    for index, entry in enumerate(body.get("entry") or []):
        reference = str(((entry or {}).get("item") or {}).get("reference") or "")
        kind, _, logical_id = reference.partition("/")
        if kind not in ("MedicationStatement", "MedicationRequest") or not logical_id:
            raise ReviewError(
                {"discharge_list": f"List/{list_id} entry[{index}].item is not a medication reference"}
            )
        ids.append(logical_id)
    rows = list(rm.Medication.objects.filter(person=person, resource__logical_id__in=ids))
    if len(rows) != len(set(ids)):
        raise ReviewError({"discharge_list": f"List/{list_id} names medications that are not in the record"})
    return rows


def _pre_admission(person: rm.Person, received_on: dt.date, exclude: set[int]) -> list[ListedMedicine]:
    since = months_before(received_on, 3)
    latest: dict[tuple[str, str], rm.Medication] = {}
    rows = (
        rm.Medication.objects.filter(person=person, kind="MedicationRequest", authored_on__gte=since)
        .filter(authored_on__lte=received_on)
        .exclude(status__in=NOT_CURRENT)
        .exclude(pk__in=exclude)
        .order_by("authored_on", "pk")
    )
    for row in rows:
        latest[(row.system, row.code)] = row
    return [_listed(r) for r in latest.values()]


def reconcile_discharge(
    *, user: Any, person: rm.Person, discharge_list: str, received_on: dt.date
) -> Reconciliation:
    access = open_review(user=user, person=person, action="update", audit=False)
    discharge = _discharge_rows(person, discharge_list)
    before = _pre_admission(person, received_on, {r.pk for r in discharge})
    changes = compare(before, [_listed(r) for r in discharge])
    owner = task_owner(user, person)
    due = add_working_days(received_on, DUE_WORKING_DAYS)
    with transaction.atomic():
        made = Reconciliation.objects.create(
            person=person, discharge_list=discharge_list, received_on=received_on, due_on=due, started_by=user
        )
        ReconciliationChange.objects.bulk_create(
            ReconciliationChange(
                reconciliation=made,
                kind=c.kind,
                name=c.name,
                before=c.before.__dict__ if c.before else None,
                after=c.after.__dict__ if c.after else None,
            )
            for c in changes
        )
        to_explain = sum(1 for c in changes if c.needs_reason)
        plan = care.plan_data_from(care.current_care_plan(person))
        task = care.ActionData(
            f"Medicines reconciliation after discharge: {to_explain} change(s) to confirm with a reason",
            owner,
            due,
        )
        care.save_care_plan(user=user, person=person, data=replace(plan, actions=(*plan.actions, task)))
        access.audit(action="create", resource_type="List", resource_id=f"medrec-{made.pk}")
    return made


def record_reason(*, user: Any, change: ReconciliationChange, reason: str) -> ReconciliationChange:
    person = change.reconciliation.person
    access = open_review(user=user, person=person, action="update", audit=False)
    if not reason.strip():
        raise ReviewError({f"reason-{change.pk}": "Give the reason for the change"})
    with transaction.atomic():
        change.reason, change.reason_by = reason.strip(), user
        change.save(update_fields=["reason", "reason_by"])
        access.audit(action="update", resource_type="List", resource_id=f"medrec-{change.reconciliation_id}")
    return change


def unexplained(reconciliation: Reconciliation) -> list[ReconciliationChange]:
    """Starts, stops and changes without a reason yet: highlighted until the clinician explains them."""
    return [c for c in reconciliation.changes.all() if c.kind != "unchanged" and not c.reason]


def changes_list(reconciliation: Reconciliation) -> dict[str, Any]:
    """The reconciliation as a FHIR R4 List, mode "changes": a flag per entry (list-item-flag), the
    stopped ones marked deleted, the reason (or that none is recorded) in the flag's text."""
    person = reconciliation.person
    entries = []
    for change in reconciliation.changes.all():
        code, display = FLAGS[change.kind]
        text = change.reason or ("" if change.kind == "unchanged" else "No reason recorded yet")
        entry: dict[str, Any] = {
            "flag": {
                "coding": [{"system": FLAG_SYSTEM, "code": code, "display": display}],
                **({"text": text} if text else {}),
            },
            "item": {"display": change.name},
        }
        if change.kind == "stopped":
            entry["deleted"] = True
        entries.append(entry)
    return {
        "resourceType": "List",
        "id": f"medrec-{reconciliation.pk}",
        "status": "retired" if reconciliation.completed_at else "current",
        "mode": "changes",
        "title": "Medicines reconciliation after discharge",
        "code": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/list-example-use-codes",
                    "code": "medications",
                }
            ]
        },
        "subject": {"reference": f"Patient/{person.resource.logical_id}"},
        "date": reconciliation.started_at.isoformat(),
        "source": {"display": "CareWeave medicines reconciliation"},
        "note": [
            {
                "text": f"Discharge list List/{reconciliation.discharge_list}, received {reconciliation.received_on.isoformat()}; reconciliation due {reconciliation.due_on.isoformat()}."
            }
        ],
        "entry": entries,
    }

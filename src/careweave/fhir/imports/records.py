"""The record's typed rows from stored resources: one projector per resource type that needs more
than one person item row (the registry, `careweave.fhir.resource_types`, names them). The field
values come from the pure functions in `careweave.fhir.projection`; this module finds the keys of
what they refer to, writes the rows, and collects the care relationships they create."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from careweave.fhir import projection as proj
from careweave.fhir.imports.unit import ApiWriter, Entry, ImportContext
from careweave.fhir.outcome import Refused
from careweave.governance import consent as sharing
from careweave.record import models as rm
from careweave.record.bulk import insert_rows
from careweave.record.relationships import add_care_relationships, refresh_care_relationships

_KEYED = {
    "Organization": rm.Organisation,
    "Practitioner": rm.Practitioner,
    "ServiceRequest": rm.Referral,
    "Patient": rm.Person,
}


class Keys:
    """Primary keys of the record rows that resources refer to, cached for one importer."""

    def __init__(self) -> None:
        self.pks: dict[tuple[str, str], int | None] = {}

    def person_pks(self, logical_ids: set[str]) -> dict[str, int]:
        result: dict[str, int] = {}
        missing = []
        for lid in logical_ids:
            pk = self.pks.get(("Patient", lid))
            if pk is not None:
                result[lid] = pk
            else:
                missing.append(lid)
        if missing:
            for lid, pk in rm.Person.objects.filter(
                resource__logical_id__in=missing, resource__resource_type="Patient"
            ).values_list("resource__logical_id", "pk"):
                result[lid] = pk
                self.pks[("Patient", lid)] = pk
        return result

    def of(self, kind: str, lid: str | None) -> int | None:
        if not lid:
            return None
        key = (kind, lid)
        if key not in self.pks:
            self.pks[key] = (
                _KEYED[kind]
                ._default_manager.filter(resource__resource_type=kind, resource__logical_id=lid)
                .values_list("pk", flat=True)
                .first()
            )
        return self.pks[key]


@dataclass(frozen=True)
class Item:
    """One stored resource to project."""

    entry: Entry
    stored: rm.StoredResource
    body: dict[str, Any]
    person_pk: int | None
    is_update: bool

    @property
    def person(self) -> int:
        """The person a clinical item belongs to (the writer projects none without one)."""
        assert self.person_pk is not None
        return self.person_pk


@dataclass
class RecordRows:
    """The rows of one write rank, inserted together, and the care relationships they give."""

    ctx: ImportContext
    keys: Keys
    api: ApiWriter | None
    creates: dict[type[Any], list[Any]] = field(default_factory=lambda: defaultdict(list))
    related: set[tuple[int, int]] = field(default_factory=set)  # new (person, organisation) pairs
    recheck: set[int] = field(default_factory=set)  # people whose relationships an update may change

    def upsert(self, model: type[Any], item: Item, fields: dict[str, Any], cache: str | None = None) -> None:
        if item.is_update and model.objects.filter(resource=item.stored).update(**fields):
            return
        if cache is not None:
            # rows others refer to in the same unit need their key now
            row = model.objects.create(resource=item.stored, **fields)
            self.keys.pks[(cache, item.entry.logical_id)] = row.pk
            return
        self.creates[model].append(model(resource=item.stored, **fields))

    def grants(self, entry: Entry, organisation_id: int | None) -> bool:
        """Whether this write gives `organisation_id` the person in its care (ADR 0006): not under
        break-glass, and not a member of staff's write about their own organisation."""
        if organisation_id is None or entry.break_glass:
            return False
        return self.api is None or self.api.organisation_id != organisation_id

    def relate(self, item: Item, organisations: list[int | None]) -> None:
        if item.is_update:
            self.recheck.add(item.person)
        else:
            self.related.update(
                (item.person, org)
                for org in organisations
                if org is not None and self.grants(item.entry, org)
            )

    def social(self, item: Item) -> None:
        if item.is_update:
            rm.SocialCircumstance.objects.filter(resource=item.stored).delete()
        for row in proj.social_circumstance_rows(item.body):
            self.creates[rm.SocialCircumstance].append(
                rm.SocialCircumstance(resource=item.stored, person_id=item.person, **row)
            )

    def finish(self) -> None:
        for model, rows in self.creates.items():
            insert_rows(model, rows)
        add_care_relationships(self.related)
        refresh_care_relationships(self.recheck)


Projector = Callable[[RecordRows, Item], None]


def organisation(rows: RecordRows, item: Item) -> None:
    rows.upsert(rm.Organisation, item, proj.organisation_fields(item.body), cache="Organization")


def practitioner(rows: RecordRows, item: Item) -> None:
    rows.upsert(rm.Practitioner, item, proj.practitioner_fields(item.body), cache="Practitioner")


def practitioner_role(rows: RecordRows, item: Item) -> None:
    body = item.body
    role = proj.first_coding((body.get("code") or [None])[0])
    fields = {
        "practitioner_id": rows.keys.of(
            "Practitioner", proj.ref_id(body.get("practitioner"), "Practitioner")
        ),
        "organisation_id": rows.keys.of(
            "Organization", proj.ref_id(body.get("organization"), "Organization")
        ),
        "role_code": (role.get("code") or "")[:64],
        "role_display": (role.get("display") or "")[:255],
    }
    rows.upsert(rm.PractitionerRole, item, fields)


def patient(rows: RecordRows, item: Item) -> None:
    stored, entry = item.stored, item.entry
    fields = proj.patient_fields(item.body)
    fields["registered_practice_id"] = rows.keys.of("Organization", proj.registered_practice_id(item.body))
    person = rm.Person.objects.filter(resource=stored).first() if item.is_update else None
    duplicate = Refused(
        [
            rows.ctx.issue(
                entry, "duplicate", "another Patient resource already holds this NHS number", "identifier"
            )
        ],
        409,
    )
    # checked on updates too: saving a taken NHS number is a unique violation, whose message in the
    # database server's log carries the number
    if (
        fields["nhs_number"]
        and rm.Person.objects.filter(nhs_number=fields["nhs_number"]).exclude(resource=stored).exists()
    ):
        raise duplicate
    if person is None:
        # a concurrent import of the same person may commit between the check and here: ON CONFLICT
        # DO NOTHING waits for it and then inserts nothing, instead of a unique violation (and the
        # NHS number in the server log)
        if not insert_rows(rm.Person, [rm.Person(resource=stored, **fields)], skip_conflicts=True):
            raise duplicate
        person = rm.Person.objects.get(resource=stored)
    else:
        for name, value in fields.items():
            setattr(person, name, value)
        person.save()
    # the national data opt-out is the person's Consent once they have one (ADR 0021)
    opted_out = sharing.opt_out_of(person.pk)
    if opted_out is not None and person.national_data_opt_out != opted_out:
        rm.Person.objects.filter(pk=person.pk).update(national_data_opt_out=opted_out)
    rows.keys.pks[("Patient", entry.logical_id)] = person.pk
    if item.is_update:
        rows.recheck.add(person.pk)
    elif person.registered_practice_id is not None and rows.grants(entry, person.registered_practice_id):
        rows.related.add((person.pk, person.registered_practice_id))
    rm.StoredResource.objects.filter(pk=stored.pk).update(person=person)


def condition(rows: RecordRows, item: Item) -> None:
    rows.upsert(rm.Condition, item, {"person_id": item.person_pk, **proj.condition_fields(item.body)})
    rows.social(item)


def _medication_body(lid: str) -> dict[str, Any] | None:
    body = (
        rm.StoredResource.objects.filter(resource_type="Medication", logical_id=lid)
        .values_list("body", flat=True)
        .first()
    )
    return orjson.loads(body) if body else None


def medication(rows: RecordRows, item: Item) -> None:
    fields = proj.medication_fields(item.body, _medication_body)
    fields["prescriber_id"] = rows.keys.of(
        "Practitioner", proj.ref_id(item.body.get("requester"), "Practitioner")
    )
    rows.upsert(rm.Medication, item, {"person_id": item.person_pk, **fields})


def observation(rows: RecordRows, item: Item) -> None:
    if item.is_update:
        rm.Observation.objects.filter(resource=item.stored).delete()
    rows.creates[rm.Observation].extend(
        rm.Observation(resource=item.stored, person_id=item.person, **row)
        for row in proj.observation_rows(item.body)
    )
    rows.social(item)


def encounter(rows: RecordRows, item: Item) -> None:
    body = item.body
    fields = proj.encounter_fields(body)
    fields["organisation_id"] = rows.keys.of(
        "Organization", proj.ref_id(body.get("serviceProvider"), "Organization")
    )
    fields["practitioner_id"] = rows.keys.of("Practitioner", proj.encounter_practitioner_id(body))
    rows.upsert(rm.Encounter, item, {"person_id": item.person_pk, **fields})
    rows.relate(item, [fields["organisation_id"]])


def appointment(rows: RecordRows, item: Item) -> None:
    body = item.body
    fields = proj.appointment_fields(body)
    fields["practitioner_id"] = rows.keys.of(
        "Practitioner", proj.appointment_participant(body, "Practitioner")
    )
    # FHIR R4 Appointment has no organisation element: it is the one a PractitionerRole participant
    # works for, when there is one
    role = proj.appointment_participant(body, "PractitionerRole")
    fields["organisation_id"] = (
        rm.PractitionerRole.objects.filter(
            resource__resource_type="PractitionerRole", resource__logical_id=role
        )
        .values_list("organisation_id", flat=True)
        .first()
        if role
        else None
    )
    rows.upsert(rm.Appointment, item, {"person_id": item.person_pk, **fields})
    rows.relate(item, [fields["organisation_id"]])


def referral(rows: RecordRows, item: Item) -> None:
    body = item.body
    fields = proj.referral_fields(body)
    requester = body.get("requester")
    fields["from_practitioner_id"] = rows.keys.of("Practitioner", proj.ref_id(requester, "Practitioner"))
    fields["from_organisation_id"] = rows.keys.of("Organization", proj.ref_id(requester, "Organization"))
    fields["to_organisation_id"] = next(
        (
            pk
            for p in body.get("performer") or []
            if (pk := rows.keys.of("Organization", proj.ref_id(p, "Organization")))
        ),
        None,
    )
    replaces = next((proj.ref_id(r, "ServiceRequest") for r in body.get("replaces") or []), None)
    fields["replaces_id"] = rows.keys.of("ServiceRequest", replaces)
    rows.upsert(rm.Referral, item, {"person_id": item.person_pk, **fields}, cache="ServiceRequest")
    rows.relate(item, [fields["from_organisation_id"], fields["to_organisation_id"]])


def consent(rows: RecordRows, item: Item) -> None:
    """A person's sharing choices or national data opt-out (ADR 0021): projected by governance,
    which enforces them from the next request; one it cannot enforce is refused, naming the element."""
    try:
        sharing.project(stored=item.stored, person_pk=item.person, body=item.body)
    except sharing.ConsentError as error:
        raise Refused([rows.ctx.issue(item.entry, "invalid", error.message, error.path)]) from None

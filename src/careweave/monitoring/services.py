"""Home readings in: who may send them (a device's or the person's token), the service the person's
reading form calls, and what happens once one is in the record (indexed, and its alert evaluation
enqueued). Every reading, from the API or the form, goes through the FHIR importer, so it is
validated the same way (structure, LOINC code, UCUM unit, plausible range: ADR 0018) and refused
whole with an OperationOutcome naming the element.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Final

import orjson
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend

from careweave.fhir.importer import ApiWriter, Entry, Importer, Verdict
from careweave.fhir.outcome import Refused
from careweave.governance.access import RecordAccess
from careweave.governance.audit import record_access
from careweave.governance.models import ApiToken
from careweave.monitoring.models import HomeReading, ReadingSource
from careweave.record import models as rm
from careweave.terminology.home_readings import (
    CATEGORY_SYSTEM,
    LOINC,
    UCUM,
    is_home_reading,
    load_home_readings,
    reading_values,
)

READING_SOURCE_PREFIX: Final = "urn:careweave:reading-source:"  # + the source's username
DEVICE_SYSTEM: Final = "https://fhir.careweave.org/Id/home-device"
ONLY_READINGS: Final = (
    "this token sends home readings only: vital-signs Observations with `device` or a Patient or "
    "RelatedPerson `performer` (ADR 0018)"
)
ONLY_OWN: Final = "this token sends readings for its own person only"


class ReadingError(ValueError):
    """A reading the person can correct: `field` names the form field (or FHIR element) it is about."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# -- who may send readings ---------------------------------------------------------------------------


def reading_source_for(user: Any) -> ReadingSource | None:
    """The person a device's or a person's account sends readings for, or None for anyone else (staff
    are never reading sources: `register_reading_source` refuses them)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return ReadingSource.objects.select_related("user", "person__resource").filter(user_id=user.pk).first()


def register_reading_source(*, user: Any, person: rm.Person, kind: str, label: str = "") -> ReadingSource:
    """Let an account (a person's, a carer's, a device's) send home readings for this one person.
    Not a member of staff's: their writes are decided by governance as every other write is."""
    if getattr(user, "staff_profile", None) is not None:
        raise ReadingError("a member of staff's account cannot be a reading source", "user")
    source, _ = ReadingSource.objects.update_or_create(
        user=user, defaults={"person": person, "kind": kind, "label": label[:128]}
    )
    return source


@transaction.atomic
def create_device(*, person: rm.Person, label: str) -> tuple[ReadingSource, str]:
    """A device (or app) account for one person and its bearer token, shown once."""
    user = get_user_model().objects.create_user(username=f"device-{uuid.uuid4().hex[:12]}")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    source = register_reading_source(user=user, person=person, kind=ReadingSource.Kind.DEVICE, label=label)
    return source, ApiToken.issue(user, label=f"home readings: {label}"[:128])


def source_writer(source: ReadingSource) -> ApiWriter:
    """The write policy of a reading source: home readings about its own person, nothing else."""

    def allow(entry: Entry, person_pk: int | None) -> Verdict:
        if entry.resource_type != "Observation" or not is_home_reading(entry.resource):
            return Verdict(False, reason=ONLY_READINGS)
        if person_pk != source.person_id:
            return Verdict(False, reason=ONLY_OWN)
        return Verdict(True)

    return ApiWriter(organisation_id=None, allow=allow)


def source_importer(source: ReadingSource) -> Importer:
    return Importer(
        source_system=READING_SOURCE_PREFIX + source.user.get_username(),
        strict_references=True,
        api=source_writer(source),
    )


# -- after a reading is in the record ----------------------------------------------------------------


def _effective(body: dict[str, Any]) -> dt.datetime:
    raw = (
        body.get("effectiveDateTime")
        or (body.get("effectivePeriod") or {}).get("start")
        or body.get("issued")
    )
    when = parse_datetime(raw) if isinstance(raw, str) else None
    if when is None and isinstance(raw, str) and (day := parse_date(raw)) is not None:
        when = dt.datetime.combine(day, dt.time(12))
    if when is None:
        return timezone.now()
    return when if timezone.is_aware(when) else timezone.make_aware(when)


def index_reading(stored: rm.StoredResource, body: dict[str, Any] | None = None) -> list[HomeReading]:
    """The HomeReading rows of a stored home reading (replaced on each new version)."""
    body = body if body is not None else orjson.loads(stored.body)
    if stored.person_id is None or not is_home_reading(body):
        return []
    rules = load_home_readings()
    effective = _effective(body)
    by_device = bool(body.get("device"))
    if stored.version > 1:  # a new version of the reading replaces its rows
        HomeReading.objects.filter(resource=stored).delete()
    rows = [
        HomeReading(
            person_id=stored.person_id,
            resource=stored,
            measurement=measurement,
            value=value,
            unit=rules.measurements[measurement].unit,
            effective=effective,
            by_device=by_device,
        )  # fmt: skip
        for measurement, value in reading_values(body, rules)
    ]
    # indexed twice (a caller calling after_import again) leaves the same rows
    return HomeReading.objects.bulk_create(rows, ignore_conflicts=True)


def _enqueue(stored_pk: int) -> None:
    from careweave.monitoring.tasks import evaluate_reading

    if isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend):
        evaluate_reading.enqueue(resource_pk=stored_pk)  # a row in the same transaction (ADR 0015)
    else:  # another service's queue: once the reading is committed and visible to its workers
        transaction.on_commit(lambda: evaluate_reading.enqueue(resource_pk=stored_pk))


@transaction.atomic
def after_import(stored: rm.StoredResource) -> bool:
    """Called on every Observation written through /fhir and the reading form: a home reading is
    indexed and its alert evaluation enqueued (the worker evaluates it within its interval). True if
    it was a home reading."""
    if not index_reading(stored):
        return False
    _enqueue(stored.pk)
    return True


def after_entries(entries: list[Entry]) -> int:
    """:func:`after_import` for the Observations a bundle created or updated; how many were home readings."""
    ids = [
        str(e.logical_id)
        for e in entries
        if e.resource_type == "Observation" and e.outcome in ("created", "updated")
    ]
    return sum(
        after_import(stored)
        for stored in rm.StoredResource.objects.filter(resource_type="Observation", logical_id__in=ids)
    )


# -- the person's reading form ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    observation_id: str


def reading_resource(
    *,
    person: rm.Person,
    measurement: str,
    values: dict[str, float],
    effective: dt.datetime | None = None,
    performer: str | None = None,
) -> dict[str, Any]:
    """A vital-signs Observation for a measurement of home_readings.yaml: `values` by measurement id
    (a blood pressure: systolic and diastolic), `performer` a "Patient/.." or "RelatedPerson/.."
    reference (default: the person)."""
    rules = load_home_readings()
    found = rules.measurements.get(measurement)
    if found is None:
        raise ReadingError("Choose what you measured", "measurement")

    def coded(code: str, name: str) -> dict[str, Any]:
        return {"coding": [{"system": LOINC, "code": code, "display": name}], "text": name}

    def quantity(mid: str) -> dict[str, Any]:
        if mid not in values:
            raise ReadingError(f"Enter your {rules.measurements[mid].name.lower()}", mid)
        unit = rules.measurements[mid].unit
        return {"value": values[mid], "unit": unit, "system": UCUM, "code": unit}

    when = effective or timezone.now()
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {"coding": [{"system": CATEGORY_SYSTEM, "code": "vital-signs", "display": "Vital Signs"}]}
        ],
        "subject": {"reference": f"Patient/{person.resource.logical_id}"},
        "effectiveDateTime": when.isoformat(),
        "performer": [{"reference": performer or f"Patient/{person.resource.logical_id}"}],
    }
    if found.panel:
        body["code"] = coded(found.panel, found.name)
        body["component"] = [
            {
                "code": coded(rules.measurements[c].codes[0], rules.measurements[c].name),
                "valueQuantity": quantity(c),
            }
            for c in found.components
        ]
    else:
        body["code"] = coded(found.codes[0], found.name)
        body["valueQuantity"] = quantity(measurement)
    return body


def _field(refused: Refused, measurement: str) -> str:
    """The form field a refusal is about: the component's measurement, or the measurement."""
    expression = next((i.expression for i in refused.issues if i.expression), "") or ""
    rules = load_home_readings()
    found = rules.measurements.get(measurement)
    if found is not None and found.components and "component[" in expression:
        index = int(expression.split("component[", 1)[1].split("]", 1)[0])
        if index < len(found.components):
            return found.components[index]
    return measurement


def record_reading(
    *,
    user: Any,
    person: rm.Person,
    measurement: str,
    values: dict[str, float],
    effective: dt.datetime | None = None,
    performer: str | None = None,
    opened: RecordAccess | None = None,
) -> Recorded:
    """The person's (or carer's) reading form: the same Observation a device would POST to
    /fhir/Observation, through the same importer, checks and evaluation. `user` must be a reading
    source for `person`, or `opened` the person's view's access to this person's record for this
    user (governance `decide_own`: the person, or a carer the person shared their readings with);
    ReadingError otherwise. Audited as the user (through `opened`: as the person, or the carer acting
    for them); refused readings are not stored."""
    source = reading_source_for(user)
    if source is None or source.person_id != person.pk:
        source = _opened_source(user, person, opened)
    if source is None:
        raise ReadingError(ONLY_OWN, "measurement")
    resource = reading_resource(
        person=person, measurement=measurement, values=values, effective=effective, performer=performer
    )
    if source.kind == ReadingSource.Kind.CARER:  # taken by the carer: said, as a display (no resource)
        resource["performer"].append({"type": "RelatedPerson", "display": "Their carer"})
    with transaction.atomic():
        try:
            entry = source_importer(source).import_resource(
                resource, method="POST", url="Observation", expected_type="Observation"
            )
        except Refused as refused:
            raise ReadingError(refused.issues[0].message, _field(refused, measurement)) from None
        stored = rm.StoredResource.objects.get(resource_type="Observation", logical_id=entry.logical_id)
        after_import(stored)
        if opened is not None:
            opened.audit(
                action="create", resource_type="Observation", resource_id=stored.logical_id, channel="portal"
            )
        else:
            record_access(
                actor=user,
                action="create",
                resource_type="Observation",
                resource_id=stored.logical_id,
                person_id=person.pk,
                purpose="self-care",
                channel="web",
            )
    return Recorded(observation_id=str(stored.logical_id))


def _opened_source(user: Any, person: rm.Person, opened: RecordAccess | None) -> ReadingSource | None:
    """An unsaved source for a record the person's view opened for this very user and person."""
    if (
        opened is None
        or not opened.decision.allowed
        or opened.decision.on_behalf not in ("self", "proxy")
        or opened.person.pk != person.pk
        or getattr(opened.user, "pk", None) != getattr(user, "pk", None)
    ):
        return None
    kind = ReadingSource.Kind.CARER if opened.decision.on_behalf == "proxy" else ReadingSource.Kind.PERSON
    return ReadingSource(user=user, person=person, kind=kind)

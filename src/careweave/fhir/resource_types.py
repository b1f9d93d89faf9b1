"""The registry of FHIR resource types: what each type means to CareWeave, in one entry.

An entry says which record model holds the type's rows and how they are projected from the stored
resource, its search parameters and the columns they search, where it comes in a unit's write order,
whether an identifier alone says two resources are the same, whether it belongs to a person's
compartment (their record) or is shared reference data, and whether its rows give an organisation
the person in its care (ADR 0005). The importer, the API, `$everything` and the CapabilityStatement
read it; nothing else lists types. Adding a type is one entry here, one projection
(`careweave.fhir.projection`) and one model (`careweave.record.models`). See ADR 0007.

Another app serves a type by registering a `Provider` (CarePlan, Goal and CareTeam by `care`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from careweave.fhir import projection as proj
from careweave.fhir import workflow
from careweave.fhir.imports import records
from careweave.fhir.imports.records import Projector
from careweave.governance.models import SharingConsent
from careweave.record import models as rm
from careweave.referrals.models import ReferralTask

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class SearchParam:
    """A search parameter and what it searches. Without `columns`, a reference searches the person
    (the compartment) and a token `_id` or `identifier` the stored resource; otherwise the columns
    of the type's record rows: a token matches `system|code` when `system` names the system column."""

    type: str  # FHIR search type: token | reference | date | string
    columns: tuple[str, ...] = ()
    system: str = ""
    is_datetime: bool = False
    lookup: str = "istartswith"  # a string's match without a modifier (:exact, :contains)


@dataclass(frozen=True)
class Provider:
    """Another app serving a type at /fhir: `read` answers None for an id that is not its own (the
    record's stored copy is then read), `search` answers every search."""

    search: Callable[[HttpRequest, str], HttpResponse]
    read: Callable[[HttpRequest, str, str, str | None], HttpResponse | None]
    search_params: tuple[str, ...] = ()
    search_include: tuple[str, ...] = ()
    versioned: bool = False


@dataclass(frozen=True)
class ResourceType:
    name: str
    model: type[Any] | None = None  # the record rows; None: kept as a stored resource only
    fixed: Mapping[str, Any] = field(default_factory=dict)  # which of the model's rows are this type's
    fields: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # a person item's row
    project: Projector | None = None  # anything other than one person item row
    search: Mapping[str, SearchParam] = field(default_factory=dict)
    write_rank: int = 9  # write order in a unit: the rows that others point at first
    match_by_identifier: bool = False  # an identifier says it is the same thing, whoever sent it
    compartment: bool = True  # in a person's record; False: shared reference data
    care_relationship: bool = False  # its rows put the person in an organisation's care (ADR 0005)
    read_only: bool = False
    operations: tuple[tuple[str, str], ...] = ()  # (name, definition) for the CapabilityStatement
    provider: Provider | None = None

    @property
    def modelled(self) -> bool:
        return self.model is not None


def _compartment(*names: str) -> dict[str, SearchParam]:
    return {"_id": SearchParam("token"), **{n: SearchParam("reference") for n in names}}


def _code() -> SearchParam:
    return SearchParam("token", ("code",), system="system")


_TYPES = [
    ResourceType(
        "Organization",
        rm.Organisation,
        project=records.organisation,
        search={
            "_id": SearchParam("token"),
            "identifier": SearchParam("token"),
            "name": SearchParam("string", ("name",), lookup="icontains"),
        },
        write_rank=0,
        match_by_identifier=True,
        compartment=False,
    ),
    ResourceType("Location", write_rank=1, compartment=False),
    ResourceType(
        "Practitioner",
        rm.Practitioner,
        project=records.practitioner,
        search={
            "_id": SearchParam("token"),
            "identifier": SearchParam("token"),
            "name": SearchParam("string", ("name",), lookup="icontains"),
        },
        write_rank=1,
        match_by_identifier=True,
        compartment=False,
    ),
    ResourceType(
        "PractitionerRole",
        rm.PractitionerRole,
        project=records.practitioner_role,
        search={
            "_id": SearchParam("token"),
            "practitioner": SearchParam("reference", ("practitioner__resource__logical_id",)),
            "organization": SearchParam("reference", ("organisation__resource__logical_id",)),
        },
        write_rank=2,
        compartment=False,
    ),
    ResourceType(
        "Patient",
        rm.Person,
        project=records.patient,
        search={
            "_id": SearchParam("token"),
            "identifier": SearchParam("token"),
            "name": SearchParam("string", ("given_name", "family_name")),
            "family": SearchParam("string", ("family_name",)),
            "given": SearchParam("string", ("given_name",)),
            "birthdate": SearchParam("date", ("birth_date",)),
            "gender": SearchParam("token", ("sex",)),
        },
        write_rank=3,
        match_by_identifier=True,
        care_relationship=True,  # the registered practice
        operations=(
            ("everything", "http://hl7.org/fhir/OperationDefinition/Patient-everything"),
            # administrators only (careweave.fhir.operations): R5's Patient $merge shape
            ("merge", "http://hl7.org/fhir/OperationDefinition/Patient-merge"),
        ),
    ),
    ResourceType("Medication", write_rank=3, compartment=False),
    ResourceType(
        "RelatedPerson",
        rm.RelatedPerson,
        fields=proj.related_person_fields,
        search=_compartment("patient"),
        write_rank=4,
    ),
    ResourceType(
        "Condition",
        rm.Condition,
        project=records.condition,
        search={
            **_compartment("patient", "subject"),
            "code": _code(),
            "clinical-status": SearchParam("token", ("clinical_status",)),
            "onset-date": SearchParam("date", ("onset",)),
        },
        write_rank=5,
    ),
    ResourceType(
        "ServiceRequest",
        rm.Referral,
        project=records.referral,
        search={
            **_compartment("patient", "subject"),
            "status": SearchParam("token", ("status",)),
            "authored": SearchParam("date", ("authored_on",)),
        },
        write_rank=6,
        care_relationship=True,
    ),
    ResourceType(
        "Appointment",
        rm.Appointment,
        project=records.appointment,
        search={
            **_compartment("patient", "actor"),
            "date": SearchParam("date", ("start",), is_datetime=True),
            "status": SearchParam("token", ("status",)),
        },
        write_rank=7,  # after ServiceRequest, which an Appointment's basedOn names (issue 15)
        care_relationship=True,
    ),
    ResourceType(
        "Encounter",
        rm.Encounter,
        project=records.encounter,
        search={
            **_compartment("patient", "subject"),
            "date": SearchParam("date", ("start",), is_datetime=True),
            "status": SearchParam("token", ("status",)),
            "class": SearchParam("token", ("class_code",)),
        },
        write_rank=7,
        care_relationship=True,
    ),
    *(
        ResourceType(
            kind,
            rm.Medication,
            fixed={"kind": kind},
            project=records.medication,
            search={
                **_compartment("patient", "subject"),
                "code": _code(),
                "status": SearchParam("token", ("status",)),
                date_param: SearchParam("date", ("authored_on",)),
            },
        )
        for kind, date_param in (("MedicationRequest", "authoredon"), ("MedicationStatement", "effective"))
    ),
    ResourceType(
        "Observation",
        rm.Observation,
        fixed={"component_of": ""},
        project=records.observation,
        search={
            **_compartment("patient", "subject"),
            "code": _code(),
            "date": SearchParam("date", ("effective",), is_datetime=True),
            "status": SearchParam("token", ("status",)),
            "category": SearchParam("token", ("category",)),
        },
    ),
    # As FHIR R4 defines their search parameters (AllergyIntolerance: patient, code, clinical-status,
    # date = recordedDate; Flag: patient/subject, code, status, date = period)
    ResourceType(
        "AllergyIntolerance",
        rm.Allergy,
        fields=proj.allergy_fields,
        search={
            **_compartment("patient"),
            "code": _code(),
            "clinical-status": SearchParam("token", ("clinical_status",)),
            "criticality": SearchParam("token", ("criticality",)),
            "date": SearchParam("date", ("recorded_date",)),
        },
    ),
    ResourceType(
        "Flag",
        rm.Flag,
        fields=proj.flag_fields,
        search={
            **_compartment("patient", "subject"),
            "code": _code(),
            "status": SearchParam("token", ("status",)),
            "date": SearchParam("date", ("start",)),
        },
    ),
    # A referral's business state (HL7 Clinical Order Workflows, BSeR; ADR 0012), after the
    # ServiceRequests it names. Search parameters as FHIR R4 defines them for Task.
    ResourceType(
        "Task",
        ReferralTask,
        project=workflow.task,
        search={
            **_compartment("patient", "subject"),
            "focus": SearchParam("reference", ("focus_id",)),
            "based-on": SearchParam("reference", ("focus_id",)),
            "status": SearchParam("token", ("status",)),
            "business-status": SearchParam("token", ("business_status",)),
            "code": SearchParam("token", ("code",), system="code_system"),
            "modified": SearchParam("date", ("last_modified",)),
        },
        write_rank=8,
    ),
    # The person's sharing choices and national data opt-out, enforced by governance (ADR 0021)
    ResourceType(
        "Consent",
        SharingConsent,
        project=records.consent,
        search={
            **_compartment("patient"),
            "status": SearchParam("token", ("status",)),
            "scope": SearchParam("token", ("scope",)),
            "date": SearchParam("date", ("given_on",), is_datetime=True),
        },
    ),
    # CareWeave's own audit, served from governance: never written by anyone else
    ResourceType(
        "AuditEvent",
        search={
            "patient": SearchParam("reference"),
            "date": SearchParam("date"),
            "agent": SearchParam("reference"),
        },
        compartment=False,
        read_only=True,
    ),
]

REGISTRY: dict[str, ResourceType] = {t.name: t for t in _TYPES}


def get(name: str) -> ResourceType | None:
    return REGISTRY.get(name)


def register_provider(name: str, provider: Provider) -> None:
    """Let another app serve a type at /fhir (idempotent: URL modules may be imported twice)."""
    REGISTRY[name] = ResourceType(name, provider=provider)


def modelled() -> frozenset[str]:
    return frozenset(n for n, t in REGISTRY.items() if t.modelled)


def write_rank(name: str) -> int:
    entry = REGISTRY.get(name)
    return entry.write_rank if entry is not None else 9


def in_compartment(name: str) -> bool:
    """Whether resources of this type belong to a person's record (unknown types do: kept as sent)."""
    entry = REGISTRY.get(name)
    return entry is None or entry.compartment


def searchable() -> tuple[str, ...]:
    """The record's types served by search at /fhir, in registry order."""
    return tuple(n for n, t in REGISTRY.items() if t.search and not t.read_only and t.provider is None)


def record_models() -> tuple[type[Any], ...]:
    """Every record model the registry projects into, once each."""
    return tuple(dict.fromkeys(t.model for t in REGISTRY.values() if t.model is not None))
